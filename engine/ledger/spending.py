"""Taking points at a past moment (an imported or back-dated redemption, return or debit).

A movement dated ``at`` may only spend what the member could spend then: lots earned by
``at``, not pending then and not expired then, soonest-expiring first, never-expiring last
(the order ``consume_lots`` uses for a sale). The engine's own loader reads the lots as of
now, which would let a back-dated redemption spend points earned after it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, RowMapping, and_, or_, select

from engine.errors import InputError
from engine.ledger.postings import burn_lot, shift_lot
from engine.ledger.tables import lots
from engine.policy.problems import Problem


def lots_spendable_at(
    conn: Connection, programme: str, member_id: str, at: datetime
) -> list[tuple[int, int]]:
    """(lot id, points left) of the lots spendable at ``at``, in spending order."""
    query = (
        select(lots.c.id, lots.c.points_left)
        .where(
            lots.c.programme == programme,
            lots.c.member_id == member_id,
            lots.c.points_left > 0,
            lots.c.earned_at <= at,
            or_(lots.c.pending_until.is_(None), lots.c.pending_until <= at),
            or_(lots.c.expires_at.is_(None), lots.c.expires_at >= at),
        )
        .order_by(and_(lots.c.expires_at.is_(None)), lots.c.expires_at, lots.c.earned_at, lots.c.id)
    )
    return [(int(lot), int(left)) for lot, left in conn.execute(query)]


def take_points(
    conn: Connection,
    row: RowMapping,
    points: int,
    key: str,
    at: datetime,
    kind: str,
    reason: str | None,
    actor: str | None,
) -> None:
    """Take ``points`` from the lots spendable at ``at`` (journal rows of ``kind``, dated
    ``at``); refuse, naming what was spendable, when they do not cover it."""
    found = lots_spendable_at(conn, row["programme"], row["id"], at)
    available = sum(left for _, left in found)
    if points > available:
        raise InputError(
            "the points are not there",
            [
                Problem(
                    f"cannot take {points:,} points at {at.isoformat()}: only {available:,} "
                    "were spendable then",
                    ("points",),
                )
            ],
        )
    for lot_id, left in found:
        if points <= 0:
            break
        taken = min(left, points)
        points -= taken
        if kind == "burn":
            burn_lot(conn, row["programme"], row["id"], lot_id, taken, key, at)
        else:
            shift_lot(
                conn, row["programme"], row["id"], lot_id, -taken, kind, key, at,
                reason=reason, actor=actor,
            )  # fmt: skip


DEFAULT_BACK_DATING_DAYS = 7


def back_dated(value: object, now: datetime, days: int) -> datetime | None:
    """A redemption's or adjustment's ``at``: None when absent (it happens now); else an
    ISO 8601 instant with its offset, not in the future and at most ``days`` days ago."""
    if value is None:
        return None
    at = None
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            at = None
    if at is None or at.tzinfo is None:
        message = "at must be a date and time with its offset, like 2026-03-05T14:30:00+08:00"
        raise InputError("the back-dated time is invalid", [Problem(message, ("at",))])
    if at > now:
        raise InputError(
            "the back-dated time is invalid", [Problem("at must not be in the future", ("at",))]
        )
    if now - at > timedelta(days=days):
        raise InputError(
            "the back-dated time is invalid",
            [
                Problem(
                    f"at is more than {days} day(s) ago: the back-dating window "
                    "(setting back_dating_days) does not reach it",
                    ("at",),
                )
            ],
        )
    return at
