"""The backtest benchmark runs end to end on a tiny history (speeds are not asserted)."""

from __future__ import annotations

import pytest

from bench.backtest import main

pytestmark = pytest.mark.db  # the replay writes scratch SQLite ledgers


def test_the_backtest_benchmark_prints_the_replay_rate_beside_the_quote_rate(capsys):
    assert main(["--members", "10", "--sales", "40"]) == 0
    table = capsys.readouterr().out
    assert "plain quote" in table and "replay through the ledger" in table
    assert "projected: 1,000,000 sales" in table
