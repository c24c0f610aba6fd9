"""A member's state costs the same few rows however long their history (issue 15).

The spendable balance comes from ``members.balance`` less what is out of reach (unswept
expired and pending lots); lots are read only for a redemption, and only enough of them.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, event, insert, update

from engine.ledger.state import load_member, member_row
from engine.ledger.tables import lots, members
from engine.pricing import Evaluator
from engine.pricing.model import Lot
from engine.pricing.points import consume_lots

SHOP = "coffee-shop"
AT = datetime(2026, 11, 24, 12, tzinfo=UTC)


@pytest.fixture
def member(ledger) -> str:
    ledger.enrol(SHOP, "m1", {"joined": "2026-01-05"})
    return "m1"


def add_lot(
    conn: Connection,
    points: int,
    *,
    earned: datetime,
    expires: datetime | None,
    pending: datetime | None = None,
    member_id: str = "m1",
) -> int:
    """A lot written the way postings do: ``members.balance`` grows with it."""
    lot_id = conn.execute(
        insert(lots).values(
            programme=SHOP,
            member_id=member_id,
            points=points,
            points_left=points,
            earned_at=earned,
            expires_at=expires,
            pending_until=pending,
        )
    ).inserted_primary_key[0]
    conn.execute(
        update(members)
        .where(members.c.programme == SHOP, members.c.id == member_id)
        .values(balance=members.c.balance + points)
    )
    return int(lot_id)


def every_spendable_lot(conn: Connection, at: datetime) -> list[Lot]:
    """What the ledger loaded before issue 15: every open lot, filtered in Python."""
    rows = conn.execute(
        lots.select().where(lots.c.programme == SHOP, lots.c.points_left > 0)
    ).mappings()
    return [
        Lot(str(r["id"]), r["points_left"], r["earned_at"], r["expires_at"])
        for r in rows
        if (r["expires_at"] is None or r["expires_at"] >= at)
        and (r["pending_until"] is None or r["pending_until"] <= at)
    ]


def loaded(database: Engine, coffee: Evaluator, at: datetime, redeeming: int = 0):
    with database.connect() as conn:
        row = member_row(conn, SHOP, "m1")
        return load_member(conn, coffee.document, row, at, redeeming=redeeming)


def test_the_balance_leaves_out_expired_unswept_and_pending_lots_and_owes_no_debt(
    database, coffee, member
):
    with database.begin() as conn:
        add_lot(conn, 100, earned=AT - timedelta(days=400), expires=AT - timedelta(days=1))
        add_lot(conn, 40, earned=AT - timedelta(days=2), expires=None, pending=AT + timedelta(1))
        add_lot(conn, 7, earned=AT - timedelta(days=2), expires=AT + timedelta(days=300))
        add_lot(conn, 5, earned=AT - timedelta(days=3), expires=None)
        conn.execute(update(members).values(debt=3, balance=members.c.balance - 3))
    member_state = loaded(database, coffee, AT)
    assert member_state.balance(AT) == 12
    assert member_state.pending_points == 40
    assert member_state.lots == ()  # nothing to redeem: no lot is read


def test_a_quote_without_redemption_reads_no_lot_rows(ledger, database, coffee, member):
    with database.begin() as conn:
        for day in range(50):
            add_lot(conn, 10, earned=AT - timedelta(days=day + 1), expires=None)
    fetched: list[int] = []

    @event.listens_for(database, "after_cursor_execute")
    def count(_conn, cursor, statement, *_args) -> None:
        if "FROM lots" in statement and "sum(" not in statement:
            fetched.append(1)

    ledger.quote(
        SHOP,
        member,
        {
            "id": "q1",
            "at": "2026-11-24T12:00:00Z",
            "lines": [{"id": "1", "sku": "x", "quantity": 1, "unit_price": "3.00"}],
        },
    )
    event.remove(database, "after_cursor_execute", count)
    assert fetched == []


def test_a_redemption_loads_only_the_soonest_expiring_lots_it_needs(database, coffee, member):
    with database.begin() as conn:
        for day in range(100):
            add_lot(conn, 10, earned=AT - timedelta(days=200), expires=AT + timedelta(days=day))
    member_state = loaded(database, coffee, AT, redeeming=25)
    assert [lot.points for lot in member_state.lots] == [10, 10, 10]
    assert [lot.expires_at for lot in member_state.lots] == [
        AT + timedelta(days=day) for day in range(3)
    ]
    assert member_state.balance(AT) == 1000


def test_lots_tied_on_expiry_and_earning_are_all_loaded_so_the_engine_breaks_ties(
    database, coffee, member
):
    with database.begin() as conn:
        for _ in range(40):  # ids 1..40 sort as text: "1", "10", "11", ... as before
            add_lot(conn, 100, earned=AT - timedelta(days=5), expires=AT + timedelta(days=9))
    member_state = loaded(database, coffee, AT, redeeming=150)
    with database.connect() as conn:
        everything = every_spendable_lot(conn, AT)
    assert consume_lots(member_state.lots, 150) == consume_lots(everything, 150)


@pytest.mark.parametrize("seed", range(4))
def test_the_lots_a_redemption_takes_are_those_it_took_from_all_lots(
    database, coffee, member, seed
):
    rng = random.Random(seed)
    with database.begin() as conn:
        for _ in range(120):
            earned = AT - timedelta(days=rng.randrange(1, 30))
            expires = rng.choice([None, earned + timedelta(days=rng.randrange(0, 60))])
            pending = rng.choice([None, None, AT + timedelta(days=rng.randrange(-3, 3))])
            add_lot(conn, rng.randrange(1, 50), earned=earned, expires=expires, pending=pending)
    with database.connect() as conn:
        everything = every_spendable_lot(conn, AT)
    held = sum(lot.points for lot in everything)
    for wanted in (1, 37, held // 2, held - 1, held):
        member_state = loaded(database, coffee, AT, redeeming=wanted)
        assert member_state.balance(AT) == held
        assert consume_lots(member_state.lots, wanted) == consume_lots(everything, wanted)
    assert sum(lot.points for lot in loaded(database, coffee, AT, redeeming=held + 1).lots) == held
