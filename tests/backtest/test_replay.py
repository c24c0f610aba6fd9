"""A replay reproduces the ledger exactly under the live version, and a known change moves
exactly the sales and members it should (each on a SQLite and a PostgreSQL source)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.backtest.diff import compare
from engine.backtest.liability import liability
from engine.backtest.run import backtest
from engine.ledger.check import check
from engine.ledger.tables import transactions
from tests.backtest.conftest import PERIOD, SHOP

pytestmark = pytest.mark.db  # a history made in a real ledger (tests/backtest/conftest.py)


def stored_responses(database, start, end):
    with database.connect() as conn:
        rows = conn.execute(
            select(transactions.c.id, transactions.c.response).where(
                transactions.c.programme == SHOP,
                transactions.c.at >= start,
                transactions.c.at < end,
            )
        ).all()
    return dict(rows)


@pytest.fixture(scope="module")
def result(source, live, half_beans):
    before = stored_responses(source.engine, *PERIOD)
    test = backtest(
        source.engine,
        [("live", live), ("same", live), ("half-beans", half_beans)],
        *PERIOD,
        keep_responses=True,
    )
    return before, test


def test_replaying_a_period_under_the_live_version_reproduces_every_answer_the_ledger_gave(
    source, result
):
    stored, test = result
    assert test.events == len(stored) > 50 and test.warmup_events > 50
    for run in test.runs[:2]:
        assert all(r.ok for r in run.results)
        assert {r.id: r.response for r in run.results} == stored


def test_the_liability_at_the_period_end_matches_the_ledger_to_the_point(source, live, result):
    _, test = result
    replayed, real = test.runs[0].figures.end, liability(source.engine, live, PERIOD[1])
    assert check(source.engine) == []
    assert replayed.as_dict() == real.as_dict()
    assert real.total > 0 and real.issued > real.redeemed > 0
    assert liability(source.engine, live, PERIOD[1] + timedelta(days=30)).total != real.total


def test_the_source_ledger_is_not_touched_by_a_backtest(source, result):
    before, _ = result
    assert stored_responses(source.engine, *PERIOD) == before


def test_halving_the_beans_earn_rate_changes_exactly_the_beans_sales_by_half_their_points(
    source, result
):
    _, test = result
    comparison = compare(test, test.runs[2])
    live = {r.id: r for r in test.runs[0].results}
    beans = set(source.made["beans"]) & set(live)
    changed = {s.id: s for s in comparison.sales}
    returns = {
        r.id for r in live.values() if r.kind == "return" and r.id.removeprefix("r") in beans
    }
    assert beans and returns and set(changed) == beans | returns
    # Beans earn 2 points per yuan live, 1 in the proposal: a 98-yuan bag earns half as many
    # (98 fewer for a standard member), and its return takes half as many back.
    for item in beans | returns:
        half = live[item].earned // 2
        assert changed[item].points == -half != 0
        assert changed[item].discounts == 0
        assert changed[item].impact == Decimal(-half) / 10  # at 10 points = 1 yuan
    buyers = {live[i].member_id for i in beans}
    assert {m.member_id for m in comparison.worse_off} == buyers
    losses = {m.member_id: m.impact for m in comparison.members}
    for member in buyers:
        assert losses[member] == sum(c.impact for c in changed.values() if c.member_id == member)
    assert comparison.as_dict()["devaluation"]["no_member_worse_off"] is False
    assert test.runs[2].figures.points_issued == test.runs[0].figures.points_issued - sum(
        live[i].earned // 2 for i in beans | returns
    )
    assert test.runs[2].figures.amount == test.runs[0].figures.amount > Decimal(0)


def test_the_same_version_twice_shows_no_change_and_no_member_worse_off(result):
    _, test = result
    comparison = compare(test, test.runs[1])
    assert comparison.sales == [] and comparison.members == []
    assert comparison.as_dict()["devaluation"]["no_member_worse_off"] is True
    assert test.runs[0].figures.as_dict() == test.runs[1].figures.as_dict()
