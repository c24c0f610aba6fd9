"""The outreach bench's code path with a few hundred members (no speed asserted here)."""

from __future__ import annotations

import pytest

from bench.outreach import main

pytestmark = pytest.mark.db  # the benchmark writes to both backends


def test_the_bench_runs_on_both_backends(capsys):
    assert main(["--members", "300", "--backend", "both"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| backend | members | step | tasks | seconds |")
    for step in (
        "day 1 run (backlog), total",
        "bare SELECT of",
        "day 2 rerun (no-op), total | 0 |",
    ):
        assert step in out
    assert "| sqlite | 300 |" in out and "| postgresql | 300 |" in out
