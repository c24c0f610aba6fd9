"""Manual adjustments, redemptions without a sale, and merging duplicate members."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import InputError, RedemptionError, UnknownMember
from engine.ledger.check import check
from engine.ledger.tables import journal, members
from tests.ledger.conftest import BEANS, sale

SHOP = "coffee-shop"


@pytest.fixture
def member(ledger):
    ledger.enrol(SHOP, "m1", {"joined": "2026-01-05", "tags": {"gender": "female"}})
    return "m1"


def test_an_adjustment_records_its_reason_and_actor(ledger, database, member):
    outcome = ledger.adjust(
        SHOP, member, 500, reason="apology for a late order", actor="agent-7", key="adj-1"
    )
    assert outcome.response["balance_after"] == 500
    with database.connect() as conn:
        entry = (
            conn.execute(select(journal).where(journal.c.transaction_id == "adj-1"))
            .mappings()
            .one()
        )
    assert (entry["kind"], entry["points"], entry["reason"], entry["actor"]) == (
        "adjust",
        500,
        "apology for a late order",
        "agent-7",
    )
    assert check(database) == []


def test_a_negative_adjustment_cannot_take_more_than_is_spendable(ledger, database, member):
    ledger.adjust(SHOP, member, 100, reason="goodwill", actor="a", key="adj-1")
    with pytest.raises(InputError):
        ledger.adjust(SHOP, member, -101, reason="fix", actor="a", key="adj-2")
    assert (
        ledger.adjust(SHOP, member, -100, reason="fix", actor="a", key="adj-3").response[
            "balance_after"
        ]
        == 0
    )
    assert check(database) == []


def test_a_repeated_adjustment_is_applied_once(ledger, database, member):
    ledger.adjust(SHOP, member, 50, reason="r", actor="a", key="adj-1")
    again = ledger.adjust(SHOP, member, 50, reason="r", actor="a", key="adj-1")
    assert again.replayed and again.response["balance_after"] == 50
    assert check(database) == []


def test_redeeming_without_a_sale_spends_points_by_the_programme_rules(ledger, database, member):
    ledger.commit_sale(SHOP, member, sale("s1", BEANS, BEANS, at="2026-11-01T10:00:00+08:00"))
    outcome = ledger.redeem(SHOP, member, {"points": 200}, key="red-1")
    assert (outcome.response["points"], outcome.response["value"]) == (200, "20.00")
    with pytest.raises(RedemptionError) as refused:
        ledger.redeem(SHOP, member, {"points": 50}, key="red-2")
    assert refused.value.code == "redemption.below_minimum"
    assert check(database) == []


def test_merging_moves_points_and_closes_the_duplicate(ledger, database, member):
    ledger.enrol(SHOP, "m2", {"joined": "2026-03-01"})
    ledger.commit_sale(SHOP, member, sale("s1", BEANS))
    ledger.commit_sale(SHOP, "m2", sale("s2", BEANS))
    outcome = ledger.merge(SHOP, "m2", member, actor="crm", key="merge-1")
    assert outcome.response["balance_after"] == 2 * 196
    with database.connect() as conn:
        closed = conn.execute(select(members).where(members.c.id == "m2")).mappings().one()
    assert (closed["merged_into"], closed["balance"]) == (member, 0)
    with pytest.raises(UnknownMember):
        ledger.commit_sale(SHOP, "m2", sale("s3", BEANS))
    assert check(database) == []
