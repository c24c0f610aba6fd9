"""A redemption or adjustment may carry a past ``at``, within the back-dating window, and is
recorded as back-dated: its journal rows carry that time and it spends only what was there."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.errors import InputError
from engine.ledger.check import check
from engine.ledger.service import Ledger
from engine.ledger.tables import journal, transactions

SHOP = "coffee-shop"


@pytest.fixture
def member(ledger):
    ledger.enrol(SHOP, "m1", {"joined": "2026-01-05"})
    return "m1"


def journal_of(database, key):
    with database.connect() as conn:
        return conn.execute(select(journal).where(journal.c.transaction_id == key)).mappings().all()


def test_a_back_dated_adjustment_and_redemption_carry_their_time(ledger, database, member):
    # the ledger's clock says 2026-11-24 00:00 UTC
    credit = ledger.adjust(SHOP, member, 500, reason="missed stamp", actor="a", key="j1",
                           at="2026-11-20T10:00:00+08:00")  # fmt: skip
    assert credit.response["back_dated"] is True
    assert credit.response["at"] == "2026-11-20T10:00:00+08:00"
    debit = ledger.adjust(SHOP, member, -100, reason="double stamp", actor="a", key="j2",
                          at="2026-11-21T10:00:00+08:00")  # fmt: skip
    assert debit.response["balance_after"] == 400
    redeemed = ledger.redeem(SHOP, member, {"points": 200, "at": "2026-11-22T09:00:00+08:00"},
                             key="r1")  # fmt: skip
    assert redeemed.response["back_dated"] is True and redeemed.response["points"] == 200
    assert [e["at"].date().isoformat() for e in journal_of(database, "r1")] == ["2026-11-22"]
    assert journal_of(database, "j2")[0]["points"] == -100
    with database.connect() as conn:
        stored = conn.execute(
            select(transactions.c.at, transactions.c.response).where(transactions.c.id == "r1")
        ).one()
    assert stored.at.date().isoformat() == "2026-11-22" and stored.response["back_dated"]
    again = ledger.redeem(SHOP, member, {"points": 200, "at": "2026-11-22T09:00:00+08:00"},
                          key="r1")  # fmt: skip
    assert again.response == redeemed.response  # the body id is the identity: replayed
    assert check(database) == []


def test_a_back_dated_redemption_spends_only_points_earned_by_then(ledger, member):
    ledger.adjust(SHOP, member, 500, reason="welcome", actor="a", key="j1",
                  at="2026-11-22T10:00:00+08:00")  # fmt: skip
    with pytest.raises(InputError) as refused:
        ledger.redeem(SHOP, member, {"points": 200, "at": "2026-11-21T10:00:00+08:00"}, key="r1")
    assert "only 0 points were spendable at 2026-11-21" in str(refused.value.problems[0].message)


@pytest.mark.parametrize(
    ("at", "says"),
    [
        ("2026-11-01T10:00:00+08:00", "more than 7 day(s) ago"),
        ("2026-11-30T10:00:00+08:00", "must not be in the future"),
        ("2026-11-22T10:00:00", "with its offset"),
        ("yesterday", "with its offset"),
    ],
)
def test_a_back_dated_time_outside_the_window_is_refused(ledger, member, at, says):
    with pytest.raises(InputError) as refused:
        ledger.adjust(SHOP, member, 5, reason="x", actor="a", key="j1", at=at)
    problem = refused.value.problems[0]
    assert says in problem.message and problem.path == ("at",)


def test_a_window_of_zero_days_forbids_back_dating(database, coffee, member):
    strict = Ledger(database, {coffee.programme.id: coffee},
                    clock=lambda: datetime(2026, 11, 24, tzinfo=UTC), back_dating_days=0)  # fmt: skip
    with pytest.raises(InputError):
        strict.redeem(SHOP, member, {"points": 100, "at": "2026-11-23T10:00:00+08:00"}, key="r9")


def test_a_back_dated_write_replays_after_its_window_has_passed(database, coffee, member):
    now = [datetime(2026, 11, 24, tzinfo=UTC)]
    ledger = Ledger(database, {coffee.programme.id: coffee}, clock=lambda: now[0])
    first = ledger.adjust(SHOP, member, 5, reason="x", actor="a", key="j1",
                          at="2026-11-20T10:00:00+08:00")  # fmt: skip
    now[0] = datetime(2026, 12, 24, tzinfo=UTC)  # the window no longer reaches 20 November
    again = ledger.adjust(SHOP, member, 5, reason="x", actor="a", key="j1",
                          at="2026-11-20T10:00:00+08:00")  # fmt: skip
    assert again.response == first.response
