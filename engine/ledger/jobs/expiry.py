"""Expiry jobs: lots past the end of their validity, and the balances of inactive members.

Every statement selects only what still needs doing (a lot with points left past its expiry;
an inactive member with points left), so a job killed half-way leaves whole batches done and,
run again, does the rest; rerunning a finished job changes nothing. The lots are emptied by
``engine.ledger.postings.lapse_lots``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, literal, or_, select

from engine.calendar import InactivityLapse, inactivity_lapse_day, local_date, start_of_day
from engine.ledger.jobs.batches import (
    BATCH,
    Condition,
    Progress,
    aware,
    lock_members,
    member_batches,
    silent,
)
from engine.ledger.postings import lapse_lots
from engine.ledger.tables import Moment, lots, members, transactions
from engine.policy.model import INACTIVITY_RESETS, ExpiryPolicy
from engine.pricing import Evaluator

LOT_EXPIRED = "expired: the end of the lot's validity passed"
INACTIVE = "expired: no {activities} for {months} months"
# What each declared activity is in the ledger's transactions table.
ACTIVITY_KINDS = {
    "purchase": "sale",
    "return": "return",
    "redemption": "redeem",
    "adjustment": "adjust",
    "merge": "merge",
}


@dataclass(frozen=True)
class Expired:
    """What an expiry job took: lots emptied, points lapsed, distinct members touched over
    the whole run (a member whose lots fall in several batches counts once)."""

    lots: int = 0
    points: int = 0
    members: int = 0

    def __add__(self, other: Expired) -> Expired:
        return Expired(
            self.lots + other.lots, self.points + other.points, self.members + other.members
        )


def expire_lots(
    engine: Engine,
    programme: str,
    as_of: datetime,
    *,
    batch_size: int = BATCH,
    progress: Progress = silent,
    now: datetime | None = None,
) -> Expired:
    """Lapse every lot with points left whose ``expires_at`` is before ``as_of``.

    ``expires_at`` is the last instant the points can be spent, so a lot expiring exactly at
    ``as_of`` is kept. Each lot gets an ``expire`` journal row dated at its own expiry (the
    same history however late the sweep runs) and its member's balance goes down by as much.
    Batches are ranges of lot ids.
    """
    aware("as_of", as_of)
    now = now or datetime.now(UTC)
    base = and_(lots.c.programme == programme, lots.c.points_left > 0, lots.c.expires_at < as_of)
    with engine.connect() as conn:
        low, high, total = conn.execute(
            select(func.min(lots.c.id), func.max(lots.c.id), func.count()).where(base)
        ).one()
    done = Expired()
    progress(0, total)
    if not total:
        return done
    # Batches are lot ranges and one member's lots can fall in several: the members are
    # counted as a set of ids over the run (a few MB for a million members), not per batch.
    owners: set[str] = set()
    for start in range(low, high + 1, batch_size):
        due = and_(base, lots.c.id.between(start, start + batch_size - 1))
        with engine.begin() as conn:
            lock_members(conn, programme, select(lots.c.member_id).where(due))
            owners.update(conn.execute(select(lots.c.member_id).where(due).distinct()).scalars())
            done += Expired(*lapse_lots(conn, programme, due, lots.c.expires_at, LOT_EXPIRED, now))
        progress(min(done.lots, total), total)
    return replace(done, members=len(owners))


def inactivity_cutoff(
    as_of: datetime, months: int, tz: Any, lapse: InactivityLapse = "same_day"
) -> datetime:
    """The instant before which a member's last activity means their balance has lapsed.

    ``engine.calendar.inactivity_deadline(last, months, lapse)`` is the end of the local day
    ``months`` after ``last`` (or of that month's last day); it is before ``as_of`` exactly when
    that day is before ``as_of``'s local date. That day never decreases as ``last`` grows, so
    the lapsed last-activity days are all days up to some day D: the cutoff is the start of the
    day after D. Turning the rule into one instant lets SQL compare a column, with no time
    zone or calendar in SQL.
    """
    aware("as_of", as_of)
    today = local_date(as_of, tz)
    day = today - timedelta(days=31 * (months + 1))
    while inactivity_lapse_day(day, months, lapse) >= today:
        day -= timedelta(days=1)
    while inactivity_lapse_day(day + timedelta(days=1), months, lapse) < today:
        day += timedelta(days=1)
    return start_of_day(day + timedelta(days=1), tz)


def last_activity(programme: str, expiry: ExpiryPolicy) -> ColumnElement[Any]:
    """When each member last did something that resets inactivity, as a SQL expression.

    All activities (the default) is the member row's ``last_activity_at``; a narrower
    ``reset_by`` reads the latest such transaction. A sale that redeemed points is a
    redemption too. A member with none counts from joining (``created_at``).
    """
    resets = expiry.inactivity_resets
    if set(resets) == set(INACTIVITY_RESETS):
        return func.coalesce(members.c.last_activity_at, members.c.created_at)
    kinds = transactions.c.kind.in_([ACTIVITY_KINDS[r] for r in resets])
    counted = (
        or_(kinds, and_(transactions.c.kind == "sale", transactions.c.points_redeemed > 0))
        if "redemption" in resets
        else kinds
    )
    latest = (
        select(func.max(transactions.c.at))
        .where(
            transactions.c.programme == programme,
            transactions.c.member_id == members.c.id,
            transactions.c.status < 300,
            counted,
        )
        .scalar_subquery()
    )
    return func.coalesce(latest, members.c.created_at)


def expire_inactive(
    engine: Engine,
    evaluator: Evaluator,
    as_of: datetime,
    *,
    batch_size: int = BATCH,
    progress: Progress = silent,
    now: datetime | None = None,
) -> Expired:
    """``expiry.inactivity``: the whole balance of members inactive that long lapses.

    Activity is what ``inactivity.reset_by`` lists (default: every purchase, return,
    redemption, adjustment and merge), or joining for a member who never had any; the balance
    lapses at the end of the day N months later, or of that month (``lapse``). Members with an
    exempt tier or tag never lapse. Every open lot (pending ones too) of a lapsed member gets
    an ``expire`` journal row dated ``as_of``; debt stays owed. Programmes without
    ``inactivity`` expire nothing. Batches are ranges of member ids.
    """
    policy = evaluator.model.expiry
    months = policy.inactivity_months
    aware("as_of", as_of)
    if months is None:
        progress(0, 0)
        return Expired()
    now = now or datetime.now(UTC)
    programme = evaluator.programme.id
    cutoff = inactivity_cutoff(as_of, months, evaluator.tz, policy.inactivity_lapse)
    inactive = and_(
        members.c.programme == programme,
        members.c.merged_into.is_(None),
        last_activity(programme, policy) < literal(cutoff, Moment()),
    )
    *others, last = policy.inactivity_resets
    activities = f"{', '.join(others)} or {last}" if others else last
    reason = INACTIVE.format(activities=activities, months=months)
    total = Expired()

    def work(conn: Connection, bounds: Condition) -> None:
        nonlocal total
        # Not the batch scope: its balance test turns false once balances are written, and
        # the lots are emptied after that.
        lapsed = select(members.c.id).where(inactive, bounds)
        if policy.exempt_tags or policy.exempt_tiers:
            lapsed = select(members.c.id).where(
                members.c.programme == programme,
                members.c.id.in_(_not_exempt(conn, programme, policy, lapsed)),
            )
        lock_members(conn, programme, lapsed)
        due = and_(
            lots.c.programme == programme, lots.c.points_left > 0, lots.c.member_id.in_(lapsed)
        )
        total += Expired(*lapse_lots(conn, programme, due, literal(as_of, Moment()), reason, now))

    # members.balance + debt = the points left in open lots: only those members are batched
    scope = and_(inactive, members.c.balance + members.c.debt > 0)
    member_batches(engine, scope, batch_size, work, progress)
    return total


def _not_exempt(conn: Connection, programme: str, policy: ExpiryPolicy, ids: Any) -> list[str]:
    """The members of one batch whose tier and tags do not exempt them (tags are JSON, read
    here rather than in SQL so both backends agree)."""
    rows = conn.execute(
        select(members.c.id, members.c.tier, members.c.tags).where(
            members.c.programme == programme, members.c.id.in_(ids)
        )
    )
    return [row.id for row in rows if not policy.exempt(row.tier, row.tags or {})]
