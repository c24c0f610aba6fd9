"""What happened in a ledger, read once, in the order the replay needs it.

Reads only: a backtest must never write to the ledger it studies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from engine.ledger.db import reading
from engine.ledger.tables import (
    campaign_assignments,
    campaign_budgets,
    member_offers,
    members,
    tier_history,
    transactions,
)

REPLAYED = ("sale", "return", "redeem", "adjust", "merge")
_REVIEW = re.compile(r"^tier review (\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class Event:
    """One thing to do again: a stored request (sale, return, …) or a tier review."""

    at: datetime
    kind: str  # sale return redeem adjust merge review
    id: str
    member_id: str | None = None
    request: Any = None
    original_id: str | None = None
    # The order the ledger processed it in: when it was written, then its time. A sale a
    # till sent late was posted late; replaying in this order reproduces the ledger.
    order: tuple[Any, ...] = ()

    def sort_key(self) -> tuple[Any, ...]:
        return self.order


@dataclass
class History:
    """A programme's members, the things that seed their state, and every event in order."""

    programme: str
    members: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    budgets: list[dict[str, Any]] = field(default_factory=list)
    offers: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def before(self, instant: datetime) -> list[Event]:
        return [e for e in self.events if e.at < instant]

    def between(self, start: datetime, end: datetime) -> list[Event]:
        return [e for e in self.events if start <= e.at < end]


def read_history(
    source: Engine, programme: str, tz: Any, *, until: datetime | None = None
) -> History:
    """Everything of ``programme`` in ``source`` up to ``until`` (everything when None)."""
    history = History(programme)
    with reading(source) as conn:
        history.members = _rows(conn, members, members.c.programme == programme)
        history.assignments = _rows(
            conn, campaign_assignments, campaign_assignments.c.programme == programme
        )
        history.budgets = _rows(conn, campaign_budgets, campaign_budgets.c.programme == programme)
        history.offers = _rows(conn, member_offers, member_offers.c.programme == programme)
        events = list(_stored_events(conn, programme))
        events.extend(_reviews(conn, programme, tz))
    events.sort(key=Event.sort_key)
    history.events = [e for e in events if until is None or e.at < until]
    return history


def _rows(conn: Any, table: Any, where: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(select(table).where(where)).mappings()]


def _stored_events(conn: Any, programme: str) -> Iterator[Event]:
    query = (
        select(
            transactions.c.id,
            transactions.c.kind,
            transactions.c.member_id,
            transactions.c.request,
            transactions.c.original_id,
            transactions.c.at,
            transactions.c.created_at,
        )
        .where(
            transactions.c.programme == programme,
            transactions.c.kind.in_(REPLAYED),
            transactions.c.status < 400,
        )
        .execution_options(yield_per=10_000)
    )
    for row in conn.execute(query):
        yield Event(
            row.at,
            row.kind,
            row.id,
            row.member_id,
            row.request,
            row.original_id,
            (row.created_at, row.at, 1, row.id),
        )


def _reviews(conn: Any, programme: str, tz: Any) -> Iterator[Event]:
    """The tier reviews the ledger ran, each dated at the start of the day after its period
    and ordered when it first ran."""
    runs = conn.execute(
        select(tier_history.c.reason, func.min(tier_history.c.at))
        .where(
            tier_history.c.programme == programme,
            tier_history.c.reason.startswith("tier review ", autoescape=True),
        )
        .group_by(tier_history.c.reason)
    ).all()
    ends: dict[str, datetime] = {}
    for reason, ran in runs:
        if m := _REVIEW.match(reason):
            ends[m.group(1)] = min(ran, ends.get(m.group(1), ran))
    for end, ran in sorted(ends.items()):
        period_end = date.fromisoformat(end)
        at = datetime.combine(period_end + timedelta(days=1), time(), tz)
        yield Event(at, "review", f"review:{end}", order=(ran, at, 0, end))
