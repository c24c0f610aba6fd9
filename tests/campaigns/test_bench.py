"""The campaign bench's code path on a tiny SQLite ledger (no speed asserted here)."""

from __future__ import annotations

import pytest

from bench.campaigns import main

pytestmark = pytest.mark.db  # the benchmark fills a ledger


def test_the_bench_runs_and_prints_its_table(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'bench.sqlite'}"
    main(["--members", "3000", "--rounds", "1", "--backend", "sqlite", "--sqlite-url", url])
    out = capsys.readouterr().out
    assert "bare count" in out and "sqlite" in out and "3,000" in out
