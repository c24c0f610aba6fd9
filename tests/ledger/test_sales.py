"""Committing sales: postings, idempotency, conflicts; and ledger check after each."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import ConflictError, RedemptionError, UnknownMember
from engine.ledger.check import check
from engine.ledger.tables import journal, lots, transactions
from tests.ledger.conftest import BEANS, LATTE, sale

SHOP = "coffee-shop"


def enrolled(ledger, member="m1"):
    ledger.enrol(SHOP, member, {"name": "Ann", "joined": "2026-01-05"})
    return member


def count(database, table, **where):
    with database.connect() as conn:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        return conn.execute(query).scalar_one()


def test_a_sale_creates_a_lot_and_a_journal_entry_and_keeps_the_ledger_sound(ledger, database):
    outcome = ledger.commit_sale(SHOP, enrolled(ledger), sale("t1", BEANS))
    assert (outcome.status, outcome.replayed) == (201, False)
    assert outcome.response["points"]["total"] == outcome.response["balance_after"] > 0
    assert count(database, lots) == 1 and count(database, journal, kind="earn") == 1
    assert check(database) == []


def test_a_retry_with_the_same_body_replays_the_stored_answer_without_posting_again(
    ledger, database
):
    member = enrolled(ledger)
    first = ledger.commit_sale(SHOP, member, sale("t1", BEANS))
    again = ledger.commit_sale(SHOP, member, sale("t1", BEANS))
    assert again.replayed and again.response == first.response
    assert count(database, journal) == 1
    assert check(database) == []


def test_the_same_id_with_a_different_body_is_a_conflict_and_changes_nothing(ledger, database):
    member = enrolled(ledger)
    ledger.commit_sale(SHOP, member, sale("t1", BEANS))
    with pytest.raises(ConflictError):
        ledger.commit_sale(SHOP, member, sale("t1", BEANS, LATTE))
    assert count(database, transactions) == 1 and count(database, journal) == 1


def test_redeeming_consumes_lots_and_the_balance_follows(ledger, database):
    member = enrolled(ledger)
    earned = ledger.commit_sale(
        SHOP, member, sale("t1", BEANS, BEANS, at="2026-11-20T12:00:00+08:00")
    )
    spent = ledger.commit_sale(SHOP, member, sale("t2", LATTE, redeem_points=250))
    assert spent.response["redemption"]["points"] == 250
    assert (
        spent.response["balance_after"]
        == earned.response["balance_after"] - 250 + spent.response["points"]["total"]
    )
    assert check(database) == []


def test_a_refused_redemption_writes_nothing(ledger, database):
    member = enrolled(ledger)
    ledger.commit_sale(SHOP, member, sale("t1", LATTE))
    with pytest.raises(RedemptionError):
        ledger.commit_sale(SHOP, member, sale("t2", LATTE, redeem_points=10_000))
    assert count(database, transactions) == 1
    assert check(database) == []


def test_an_unknown_member_is_refused(ledger):
    with pytest.raises(UnknownMember):
        ledger.commit_sale(SHOP, "nobody", sale("t1", LATTE))


def test_a_quote_on_a_stored_member_writes_nothing(ledger, database):
    member = enrolled(ledger)
    ledger.commit_sale(SHOP, member, sale("t1", BEANS))
    quote = ledger.quote(SHOP, member, sale("t2", LATTE, redeem_points=100))
    assert quote.redeemed_points == 100
    assert count(database, transactions) == 1


def test_rolling_qualifying_spend_carries_over_to_the_next_days(ledger, database):
    # coffee-shop qualifies on rolling 12 months: yesterday's sale still counts today.
    member = enrolled(ledger)
    ledger.commit_sale(SHOP, member, sale("t1", BEANS, at="2026-11-20T12:00:00+08:00"))
    later = ledger.quote(SHOP, member, sale("t2", LATTE, at="2026-11-24T12:00:00+08:00"))
    assert (
        later.tier.qualifying_before
        == ledger.quote(
            SHOP, member, sale("t3", LATTE, at="2026-11-20T13:00:00+08:00")
        ).tier.qualifying_before
        > 0
    )


def test_rolling_qualifying_spend_drops_sales_older_than_twelve_months(ledger, database):
    member = enrolled(ledger)
    ledger.commit_sale(SHOP, member, sale("t1", BEANS, at="2025-12-01T12:00:00+08:00"))
    ledger.commit_sale(SHOP, member, sale("t2", BEANS, at="2026-11-20T12:00:00+08:00"))
    both = ledger.quote(SHOP, member, sale("q1", LATTE, at="2026-11-24T12:00:00+08:00"))
    one = ledger.quote(SHOP, member, sale("q2", LATTE, at="2026-12-05T12:00:00+08:00"))
    before_second = ledger.quote(SHOP, member, sale("q3", LATTE, at="2026-11-19T12:00:00+08:00"))
    assert both.tier.qualifying_before == 2 * one.tier.qualifying_before > 0
    assert before_second.tier.qualifying_before == one.tier.qualifying_before  # t2 is later


def test_a_return_reduces_rolling_qualifying_spend(ledger, database):
    member = enrolled(ledger)
    ledger.commit_sale(SHOP, member, sale("t1", BEANS, at="2026-11-20T12:00:00+08:00"))
    ledger.return_items(SHOP, "t1", {"id": "r1", "at": "2026-11-21T12:00:00+08:00"})
    assert (
        ledger.quote(
            SHOP, member, sale("q", LATTE, at="2026-11-24T12:00:00+08:00")
        ).tier.qualifying_before
        == 0
    )
