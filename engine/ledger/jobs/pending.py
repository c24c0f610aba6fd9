"""Pending points that became spendable: a count, nothing written (see ``release_pending``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, or_, select

from engine.ledger.jobs.batches import Progress, aware, silent
from engine.ledger.tables import lots


@dataclass(frozen=True)
class Released:
    """Pending points that became spendable (counted; nothing is written)."""

    lots: int
    points: int
    members: int


def release_pending(
    engine: Engine,
    programme: str,
    as_of: datetime,
    *,
    since: datetime | None = None,
    progress: Progress = silent,
) -> Released:
    """Count the pending points that are spendable at ``as_of`` (released after ``since``).

    Nothing is written, on purpose. A pending lot is already in the member's balance and in
    the journal (``earn``) from the sale on; ``state.py`` decides at every read whether it is
    spendable (``pending_until <= at``), so there is no flag to flip and no balance to move.
    Clearing ``pending_until`` would lose when the points became spendable and would change
    what a quote dated before that instant sees. The job's use is the count, e.g. to tell
    members "your points can now be spent": lots still open and not expired whose
    ``pending_until`` is in ``(since, as_of]`` (any time up to ``as_of`` without ``since``).
    """
    aware("as_of", as_of)
    conditions = [
        lots.c.programme == programme,
        lots.c.points_left > 0,
        lots.c.pending_until.is_not(None),
        lots.c.pending_until <= as_of,
        or_(lots.c.expires_at.is_(None), lots.c.expires_at >= as_of),
    ]
    if since is not None:
        aware("since", since)
        conditions.append(lots.c.pending_until > since)
    with engine.connect() as conn:
        count, points, owners = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(lots.c.points_left), 0),
                func.count(func.distinct(lots.c.member_id)),
            ).where(*conditions)
        ).one()
    progress(count, count)
    return Released(count, int(points), owners)
