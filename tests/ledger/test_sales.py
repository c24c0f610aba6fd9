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
