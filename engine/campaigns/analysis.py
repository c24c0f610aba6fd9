"""Detect the points critical point: the balance at which members turn active.

**Observations.** At each snapshot instant t (``snapshots`` of them, ``every_days`` apart,
the latest ``horizon_days`` before the last sale or redemption in the ledger) every member
who had joined is one observation: their balance at t (the sum of their journal movements up
to t) and whether they bought or redeemed in (t, t + horizon]. One SQL statement computes
every snapshot at once with conditional sums over the journal and the transactions, and
returns counts per balance bucket [k x width, (k + 1) x width); no member is read in Python.

**The critical point.** For each bucket edge e, pool the ``window`` buckets just below and
the ``window`` buckets just above it: rates p_below and p_above from n_below and n_above
observations. The rise d = p_above - p_below has the Wald standard error
se = sqrt(p_a(1 - p_a)/n_a + p_b(1 - p_b)/n_b). Edges with fewer than ``min_count``
observations on either side are skipped; among the rest the critical point is the edge whose
rise is largest *with confidence*, i.e. the largest lower bound d - 1.96 se (ties: the lowest
balance). Pooling and the lower bound make the answer robust to sparse buckets: a bucket of
five members who all happened to buy cannot win. No edge with a positive lower bound means no
critical point is reported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    and_,
    case,
    cast,
    func,
    select,
    union_all,
)

from engine.calendar import local_date
from engine.campaigns.model import Context
from engine.campaigns.svg import BLUE, GREY, RED, Canvas, nice_top
from engine.errors import InputError
from engine.ledger.kinds import ACTIVE_KINDS
from engine.ledger.tables import journal, members, transactions

Z95 = 1.959963984540054
LIMITS = {
    "width": 1_000_000,
    "horizon_days": 3650,
    "snapshots": 120,
    "every_days": 3650,
    "window": 100,
    "min_count": 1_000_000,
}


@dataclass(frozen=True)
class Options:
    width: int = 100
    horizon_days: int = 30
    snapshots: int = 6
    every_days: int = 30
    window: int = 3
    min_count: int = 30
    until: datetime | None = None

    def check(self) -> None:
        for name, most in LIMITS.items():
            if not 1 <= getattr(self, name) <= most:
                raise InputError(f"{name} must be from 1 to {most:,}, not {getattr(self, name)}")
        if self.until is not None and not 1900 <= self.until.year <= 2200:
            raise InputError(f"until must be between 1900 and 2200, not {self.until.isoformat()}")


@dataclass(frozen=True)
class Bucket:
    low: int  # the least balance in the bucket
    observations: int
    active: int

    @property
    def rate(self) -> float:
        return self.active / self.observations if self.observations else 0.0


@dataclass(frozen=True)
class CriticalPoint:
    balance: int
    rate_below: float
    rate_above: float
    observations_below: int
    observations_above: int
    rise: float
    rise_low: float  # the 95% Wald interval of the rise
    rise_high: float


@dataclass(frozen=True)
class Analysis:
    programme: str
    options: Options
    snapshots: list[datetime]
    buckets: list[Bucket]
    critical: CriticalPoint | None

    def as_dict(self) -> dict[str, Any]:
        options = {k: v for k, v in asdict(self.options).items() if k != "until"}
        return {
            "programme": self.programme,
            "options": options,
            "snapshots": [t.isoformat() for t in self.snapshots],
            "method": "largest lower 95% bound of the rise between pooled windows of buckets",
            "critical_point": None if self.critical is None else asdict(self.critical),
            "buckets": [
                {
                    "balance_from": b.low,
                    "balance_to": b.low + self.options.width - 1,
                    "observations": b.observations,
                    "active": b.active,
                    "rate": round(b.rate, 4),
                    "sparse": b.observations < self.options.min_count,
                }
                for b in self.buckets
            ],
        }


# --- observations -----------------------------------------------------------------------------


def snapshot_times(conn: Connection, context: Context, options: Options) -> list[datetime]:
    """The snapshot instants, latest first, each with a full horizon of history after it."""
    scope = and_(
        transactions.c.programme == context.programme, transactions.c.kind.in_(ACTIVE_KINDS)
    )
    last = options.until or conn.execute(select(func.max(transactions.c.at)).where(scope)).scalar()
    first = conn.execute(
        select(func.min(journal.c.at)).where(journal.c.programme == context.programme)
    ).scalar()
    if last is None or first is None:
        raise InputError(f"programme '{context.programme}' has no history in this ledger")
    latest = last - timedelta(days=options.horizon_days)
    times = [latest - timedelta(days=j * options.every_days) for j in range(options.snapshots)]
    kept = [t for t in times if t > first]
    if not kept:
        raise InputError(
            f"the history ({first.date()} to {last.date()}) is shorter than the horizon of "
            f"{options.horizon_days} days"
        )
    return kept


def observe(
    conn: Connection, context: Context, times: Sequence[datetime], options: Options
) -> list[Bucket]:
    """Observations and active members per balance bucket, over every snapshot (one query)."""
    observed = _observed(context, times, timedelta(days=options.horizon_days))
    per_snapshot = [
        select(
            (observed.c[f"b{i}"] // options.width).label("bucket"),
            cast(observed.c[f"a{i}"], Integer).label("active"),
        ).where(observed.c.joined <= local_date(t, context.tz), observed.c[f"b{i}"] >= 0)
        for i, t in enumerate(times)
    ]
    stacked = union_all(*per_snapshot).subquery("stacked")
    rows = conn.execute(
        select(stacked.c.bucket, func.count(), func.sum(stacked.c.active))
        .group_by(stacked.c.bucket)
        .order_by(stacked.c.bucket)
    )
    found = {int(bucket): (int(n), int(active or 0)) for bucket, n, active in rows}
    top = max(found, default=-1)
    return [Bucket(k * options.width, *found.get(k, (0, 0))) for k in range(top + 1)]


def _observed(context: Context, times: Sequence[datetime], horizon: timedelta) -> Any:
    """Per member: join date, balance ``b<i>`` at and activity ``a<i>`` after each snapshot."""
    balances, activity = _balances(context, times), _activity(context, times, horizon)
    columns: list[ColumnElement[Any]] = [members.c.joined]
    for i in range(len(times)):
        columns.append(func.coalesce(balances.c[f"b{i}"], 0).label(f"b{i}"))
        columns.append(func.coalesce(activity.c[f"a{i}"], 0).label(f"a{i}"))
    return (
        select(*columns)
        .select_from(members)
        .outerjoin(balances, balances.c.member_id == members.c.id)
        .outerjoin(activity, activity.c.member_id == members.c.id)
        .where(members.c.programme == context.programme, members.c.merged_into.is_(None))
        .cte("observed")
    )


def _balances(context: Context, times: Sequence[datetime]) -> Any:
    """Each member's journal summed up to each snapshot: one pass with conditional sums."""
    sums = (
        cast(func.sum(case((journal.c.at <= t, journal.c.points), else_=0)), BigInteger).label(
            f"b{i}"
        )
        for i, t in enumerate(times)
    )
    return (
        select(journal.c.member_id, *sums)
        .where(journal.c.programme == context.programme, journal.c.at <= max(times))
        .group_by(journal.c.member_id)
        .subquery("balances")
    )


def _activity(context: Context, times: Sequence[datetime], horizon: timedelta) -> Any:
    """1 if the member bought or redeemed within ``horizon`` after each snapshot, else 0."""
    at = transactions.c.at
    flags = (
        func.max(case((and_(at > t, at <= t + horizon), 1), else_=0)).label(f"a{i}")
        for i, t in enumerate(times)
    )
    return (
        select(transactions.c.member_id, *flags)
        .where(
            transactions.c.programme == context.programme,
            transactions.c.kind.in_(ACTIVE_KINDS),
            at > min(times),
            at <= max(times) + horizon,
        )
        .group_by(transactions.c.member_id)
        .subquery("activity")
    )


# --- the critical point -----------------------------------------------------------------------


def find_critical_point(
    buckets: Sequence[Bucket], *, window: int, min_count: int
) -> CriticalPoint | None:
    """The edge with the largest lower 95% bound of the rise (see the module docstring)."""
    best: tuple[float, CriticalPoint] | None = None
    for edge in range(1, len(buckets)):
        below = buckets[max(edge - window, 0) : edge]
        above = buckets[edge : edge + window]
        candidate = _rise(buckets[edge].low, below, above, min_count)
        if candidate is not None and (best is None or candidate.rise_low > best[0]):
            best = (candidate.rise_low, candidate)
    if best is None or best[0] <= 0:
        return None
    return best[1]


def _rise(
    balance: int, below: Sequence[Bucket], above: Sequence[Bucket], min_count: int
) -> CriticalPoint | None:
    n_b, a_b = sum(b.observations for b in below), sum(b.active for b in below)
    n_a, a_a = sum(b.observations for b in above), sum(b.active for b in above)
    if n_b < min_count or n_a < min_count:
        return None
    p_b, p_a = a_b / n_b, a_a / n_a
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    rise = p_a - p_b
    return CriticalPoint(balance, p_b, p_a, n_b, n_a, rise, rise - Z95 * se, rise + Z95 * se)


def analyse(conn: Connection, context: Context, options: Options | None = None) -> Analysis:
    """Snapshots, buckets and the critical point of ``context.programme``'s history."""
    options = options or Options()
    options.check()
    times = snapshot_times(conn, context, options)
    buckets = observe(conn, context, times, options)
    critical = find_critical_point(buckets, window=options.window, min_count=options.min_count)
    return Analysis(context.programme, options, times, buckets, critical)


# --- rendering --------------------------------------------------------------------------------


def table(analysis: Analysis) -> str:
    """The buckets as a terminal table, with the critical point marked."""
    width, minimum = analysis.options.width, analysis.options.min_count
    mark = analysis.critical.balance if analysis.critical else None
    rows = [f"{'balance':>15}  {'members':>8}  {'active':>7}  {'rate':>6}", "-" * 44]
    for bucket in analysis.buckets:
        label = f"{bucket.low:,}-{bucket.low + width - 1:,}"
        note = "  (sparse)" if bucket.observations < minimum else ""
        if bucket.low == mark:
            note += "  <- critical point"
        rows.append(
            f"{label:>15}  {bucket.observations:>8,}  {bucket.active:>7,}  "
            f"{bucket.rate:>6.1%}{note}"
        )
    rows.append("")
    rows.append(summary(analysis))
    return "\n".join(rows)


def summary(analysis: Analysis) -> str:
    point = analysis.critical
    if point is None:
        return "No critical point: no balance where the activity rate rises with confidence."
    return (
        f"Critical point: {point.balance:,} points. Activity within "
        f"{analysis.options.horizon_days} days rises from {point.rate_below:.1%} just below to "
        f"{point.rate_above:.1%} from there (rise {point.rise:+.1%}, 95% CI "
        f"{point.rise_low:+.1%} to {point.rise_high:+.1%})."
    )


def chart(analysis: Analysis) -> str:
    """An SVG bar chart of the activity rate by balance, the critical point marked in red."""
    width = analysis.options.width
    shown = analysis.buckets or [Bucket(0, 0, 0)]
    top = nice_top(max(b.rate for b in shown))
    canvas = Canvas(
        f"{analysis.programme}: share of members active within "
        f"{analysis.options.horizon_days} days, by points balance",
        0,
        shown[-1].low + width,
        top,
    )
    canvas.share_axis("active")
    for bucket in shown:
        colour = GREY if bucket.observations < analysis.options.min_count else BLUE
        canvas.bar(canvas.x(bucket.low) + 1, canvas.x(bucket.low + width) - 1, bucket.rate, colour)
    _x_labels(canvas, shown[-1].low + width)
    point = analysis.critical
    if point is not None:
        x = canvas.x(point.balance)
        canvas.line(x, canvas.y(top), x, canvas.y(0), colour=RED, width=2, dashed=True)
        canvas.text(
            x + 6,
            canvas.y(top) + 14,
            f"critical point {point.balance:,}",
            anchor="start",
            colour=RED,
            bold=True,
        )
    canvas.text(
        canvas.x(0) + 4,
        470,
        f"grey: fewer than {analysis.options.min_count} observations",
        size=10,
        anchor="start",
    )
    return canvas.render()


def _x_labels(canvas: Canvas, end: int) -> None:
    step = max(_round_step(end / 10), 1)
    for value in range(0, end + 1, step):
        canvas.text(canvas.x(value), canvas.y(0) + 18, f"{value:,}", size=11)
    canvas.text(canvas.x(end / 2), canvas.y(0) + 40, "points balance", size=12)


def _round_step(raw: float) -> int:
    magnitude = 10 ** max(int(math.log10(raw)) if raw >= 1 else 0, 0)
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return int(factor * magnitude)
    return int(10 * magnitude)


__all__ = [
    "Analysis",
    "Bucket",
    "CriticalPoint",
    "Options",
    "analyse",
    "chart",
    "find_critical_point",
    "table",
]
