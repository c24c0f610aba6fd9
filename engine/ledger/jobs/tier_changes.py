"""What a tier review writes, whichever review decided it: the spend review (``tier_review``)
and the metric review (``metric_review``) each give a ``TierChange``; ``write_tier_changes``
records it in ``tier_history`` and on the members, for one batch, set-based."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, literal, select, update
from sqlalchemy.sql.elements import ColumnElement

from engine.ledger.jobs.batches import Condition
from engine.ledger.tables import Moment, members, tier_history


@dataclass(frozen=True)
class TierChange:
    """A member's state after the review, as SQL expressions over the members table."""

    tier: ColumnElement[Any]
    since: ColumnElement[Any]
    valid_until: ColumnElement[Any]
    reason: ColumnElement[Any]
    changed: Condition


def write_tier_changes(
    conn: Connection, batch: Condition, change: TierChange, now: datetime
) -> None:
    """History first (it reads the state before the change), then the members."""
    moving = and_(batch, change.changed)
    columns = ["programme", "member_id", "tier", "since", "valid_until", "reason", "at"]
    rows = select(
        members.c.programme,
        members.c.id,
        change.tier,
        change.since,
        change.valid_until,
        change.reason,
        literal(now, Moment()),
    ).where(moving)
    conn.execute(insert(tier_history).from_select(columns, rows))
    conn.execute(
        update(members)
        .where(moving)
        .values(
            tier=change.tier,
            tier_since=change.since,
            tier_valid_until=change.valid_until,
            updated_at=now,
        )
    )
