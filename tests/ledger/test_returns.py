"""Returns: clawback, refunds to the original lots, spend and tier, and idempotency."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import ConflictError, InputError, UnknownTransaction
from engine.ledger.check import check
from engine.ledger.tables import lots, members
from tests.ledger.conftest import BEANS, LATTE, sale

SHOP = "coffee-shop"
AT = "2026-11-25T10:00:00+08:00"


@pytest.fixture
def member(ledger):
    ledger.enrol(SHOP, "m1", {"joined": "2026-01-05"})
    return "m1"


def give_back(ledger, sale_id, return_id, *lines, at=AT):
    body = {"id": return_id, "at": at}
    if lines:
        body["lines"] = [{"line_id": line, "quantity": qty} for line, qty in lines]
    return ledger.return_items(SHOP, sale_id, body).response


def member_row(database, member="m1"):
    with database.connect() as conn:
        return conn.execute(select(members).where(members.c.id == member)).mappings().one()


def test_a_whole_return_takes_back_every_point_the_sale_earned(ledger, database, member):
    sold = ledger.commit_sale(SHOP, member, sale("s1", BEANS, LATTE)).response
    back = give_back(ledger, "s1", "r1")
    assert back["refund"]["points_clawed_back"] == sold["points"]["total"]
    assert back["refund"]["money"] == sold["totals"]["payable"]
    assert back["balance_after"] == 0 and back["complete"]
    assert check(database) == []


def test_partial_returns_add_up_to_the_whole(ledger, database, member):
    sold = ledger.commit_sale(
        SHOP, member, sale("s1", ("BEANS", "beans", "98.00", 3), LATTE)
    ).response
    first = give_back(ledger, "s1", "r1", ("1", 1))
    second = give_back(ledger, "s1", "r2", ("1", 1), ("2", 1))
    third = give_back(ledger, "s1", "r3", ("1", 1))
    clawed = sum(r["refund"]["points_clawed_back"] for r in (first, second, third))
    assert clawed == sold["points"]["total"]
    assert third["complete"] and third["balance_after"] == 0
    assert check(database) == []


def test_returning_more_than_was_sold_is_refused_and_changes_nothing(ledger, database, member):
    ledger.commit_sale(SHOP, member, sale("s1", BEANS))
    give_back(ledger, "s1", "r1", ("1", 1))
    with pytest.raises(InputError) as refused:
        give_back(ledger, "s1", "r2", ("1", 1))
    assert refused.value.problems[0].message == "only 0 of line '1' can still be returned"
    with pytest.raises(InputError):
        give_back(ledger, "s1", "r3", ("9", 1))
    assert check(database) == []


def test_redeemed_points_go_back_to_their_lot_with_its_expiry(ledger, database, member):
    ledger.commit_sale(SHOP, member, sale("s0", BEANS, BEANS, at="2026-11-01T10:00:00+08:00"))
    ledger.commit_sale(SHOP, member, sale("s1", LATTE, redeem_points=320))
    with database.connect() as conn:
        before = conn.execute(
            select(lots.c.points_left).where(lots.c.transaction_id == "s0")
        ).scalar_one()
    back = give_back(ledger, "s1", "r1")
    with database.connect() as conn:
        after = conn.execute(
            select(lots.c.points_left).where(lots.c.transaction_id == "s0")
        ).scalar_one()
    assert back["refund"]["points_refunded"] == 320
    assert after - before == 320
    assert check(database) == []


def test_clawing_back_spent_points_leaves_debt_by_default(ledger, database, member):
    ledger.commit_sale(
        SHOP, member, sale("s1", BEANS, BEANS, at="2026-11-01T10:00:00+08:00")
    )  # 392
    ledger.commit_sale(SHOP, member, sale("s2", ("TEA", "tea", "39.00", 1), redeem_points=390))
    back = give_back(ledger, "s1", "r1")
    assert back["refund"]["points_clawed_back"] == 392
    assert back["refund"]["debt_added"] == 390
    assert member_row(database)["debt"] == 390 and back["balance_after"] == -390
    assert check(database) == []


def test_a_return_undoes_the_upgrade_its_sale_caused(ledger, database, member):
    ledger.commit_sale(
        SHOP,
        member,
        sale("s0", ("MACHINE", "equipment", "1500.00", 1), at="2026-11-01T10:00:00+08:00"),
    )
    tiers = [member_row(database)["tier"]]
    give_back(ledger, "s0", "r0")
    tiers.append(member_row(database)["tier"])
    assert tiers[0] != tiers[1]
    assert member_row(database)["qualifying_spend"] == 0
    assert check(database) == []


def test_a_repeated_return_replays_and_a_changed_one_conflicts(ledger, database, member):
    ledger.commit_sale(SHOP, member, sale("s1", BEANS, LATTE))
    first = ledger.return_items(
        SHOP, "s1", {"id": "r1", "at": AT, "lines": [{"line_id": "1", "quantity": 1}]}
    )
    again = ledger.return_items(
        SHOP, "s1", {"id": "r1", "at": AT, "lines": [{"line_id": "1", "quantity": 1}]}
    )
    assert again.replayed and again.response == first.response
    with pytest.raises(ConflictError):
        ledger.return_items(
            SHOP, "s1", {"id": "r1", "at": AT, "lines": [{"line_id": "2", "quantity": 1}]}
        )
    assert check(database) == []


def test_a_return_of_an_unknown_sale_is_refused(ledger, member):
    with pytest.raises(UnknownTransaction):
        give_back(ledger, "nope", "r1")
