"""The ledger benchmark's code paths run end to end on tiny sizes (speeds are not asserted)."""

from __future__ import annotations

import pytest

from bench.ledger import main

pytestmark = pytest.mark.db  # the benchmark writes to both backends


def test_the_ledger_benchmark_runs_on_both_backends(capsys):
    assert main(["--rows", "300", "--commits", "5"]) == 0
    table = capsys.readouterr().out
    for figure in ("commits", "10,000 prior sales", "expire", "tier", "import"):
        assert figure in table.lower()
