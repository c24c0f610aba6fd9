"""``ledger check``: the ledger's invariants, each one set-based SQL.

For every member: balance = sum of open lots - debt = sum of journal movements;
no lot is negative or holds more than it was given; every transaction's points
appear in the journal exactly as recorded, once; every member offer has as many uses left
as it was given less the sales that hold a use of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Column, ColumnElement, Connection, Engine, func, literal, or_, select

from engine.ledger.tables import (
    journal,
    lots,
    member_offer_uses,
    member_offers,
    members,
    transactions,
)


@dataclass(frozen=True)
class Inconsistency:
    programme: str
    subject: str  # member or transaction id
    message: str


def check(database: Engine, programme: str | None = None) -> list[Inconsistency]:
    """Every inconsistency in the ledger (an empty list means it is sound)."""
    with database.connect() as conn:
        return [
            *_balances(conn, programme),
            *_lots(conn, programme),
            *_transactions(conn, programme),
            *_member_offers(conn, programme),
        ]


def _scope(column: Column[str], programme: str | None) -> ColumnElement[bool]:
    return literal(True) if programme is None else column == programme


def _balances(conn: Connection, programme: str | None) -> Iterator[Inconsistency]:
    open_lots = (
        select(lots.c.programme, lots.c.member_id, func.sum(lots.c.points_left).label("points"))
        .group_by(lots.c.programme, lots.c.member_id)
        .subquery()
    )
    moves = (
        select(journal.c.programme, journal.c.member_id, func.sum(journal.c.points).label("points"))
        .group_by(journal.c.programme, journal.c.member_id)
        .subquery()
    )
    in_lots = func.coalesce(open_lots.c.points, 0) - members.c.debt
    in_journal = func.coalesce(moves.c.points, 0)
    query = (
        select(
            members.c.programme,
            members.c.id,
            members.c.balance,
            in_lots.label("lots"),
            in_journal.label("journal"),
        )
        .outerjoin(
            open_lots,
            (open_lots.c.programme == members.c.programme)
            & (open_lots.c.member_id == members.c.id),
        )
        .outerjoin(
            moves, (moves.c.programme == members.c.programme) & (moves.c.member_id == members.c.id)
        )
        .where(
            _scope(members.c.programme, programme),
            or_(members.c.balance != in_lots, members.c.balance != in_journal),
        )
    )
    for row in conn.execute(query):
        yield Inconsistency(
            row.programme,
            row.id,
            f"balance {row.balance} but open lots - debt = {row.lots} "
            f"and the journal sums to {row.journal}",
        )


def _lots(conn: Connection, programme: str | None) -> Iterator[Inconsistency]:
    query = select(
        lots.c.programme, lots.c.member_id, lots.c.id, lots.c.points, lots.c.points_left
    ).where(
        _scope(lots.c.programme, programme),
        or_(lots.c.points_left < 0, lots.c.points_left > lots.c.points),
    )
    for row in conn.execute(query):
        yield Inconsistency(
            row.programme,
            row.member_id,
            f"lot {row.id} holds {row.points_left} of {row.points} points",
        )


def _transactions(conn: Connection, programme: str | None) -> Iterator[Inconsistency]:
    per_kind = (
        select(
            journal.c.programme,
            journal.c.transaction_id,
            func.sum(func.coalesce(journal.c.points, 0))
            .filter(journal.c.kind.in_(("earn", "clawback")))
            .label("earned"),
            func.sum(journal.c.points)
            .filter(journal.c.kind.in_(("burn", "refund")))
            .label("redeemed"),
            func.count().filter(journal.c.kind == "earn").label("earn_rows"),
        )
        .where(journal.c.transaction_id.is_not(None))
        .group_by(journal.c.programme, journal.c.transaction_id)
        .subquery()
    )
    earned = func.coalesce(per_kind.c.earned, 0)
    redeemed = -func.coalesce(per_kind.c.redeemed, 0)
    query = (
        select(
            transactions.c.programme,
            transactions.c.id,
            transactions.c.points_earned,
            transactions.c.points_redeemed,
            earned.label("earned"),
            redeemed.label("redeemed"),
            per_kind.c.earn_rows,
        )
        .outerjoin(
            per_kind,
            (per_kind.c.programme == transactions.c.programme)
            & (per_kind.c.transaction_id == transactions.c.id),
        )
        .where(
            _scope(transactions.c.programme, programme),
            or_(
                transactions.c.points_earned != earned,
                transactions.c.points_redeemed != redeemed,
                func.coalesce(per_kind.c.earn_rows, 0) > 1,
            ),
        )
    )
    for row in conn.execute(query):
        yield Inconsistency(
            row.programme,
            row.id,
            f"recorded {row.points_earned} earned / {row.points_redeemed} redeemed but the "
            f"journal shows {row.earned} / {row.redeemed} ({row.earn_rows or 0} earn entries)",
        )


def _member_offers(conn: Connection, programme: str | None) -> Iterator[Inconsistency]:
    held = (
        select(member_offer_uses.c.offer_id, func.count().label("held"))
        .where(member_offer_uses.c.returned.is_(False))
        .group_by(member_offer_uses.c.offer_id)
        .subquery()
    )
    used = func.coalesce(held.c.held, 0)
    query = (
        select(
            member_offers.c.programme,
            member_offers.c.member_id,
            member_offers.c.id,
            member_offers.c.uses,
            member_offers.c.uses_left,
            used.label("used"),
        )
        .outerjoin(held, held.c.offer_id == member_offers.c.id)
        .where(
            _scope(member_offers.c.programme, programme),
            or_(
                member_offers.c.uses_left < 0,
                member_offers.c.uses_left != member_offers.c.uses - used,
            ),
        )
    )
    for row in conn.execute(query):
        yield Inconsistency(
            row.programme,
            row.member_id,
            f"member offer {row.id} has {row.uses_left} of {row.uses} uses left"
            f" but {row.used} sales hold a use of it",
        )
