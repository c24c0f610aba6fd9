"""The tier review at the end of a qualifying period, set-based over the members table.

The plan (``review_plan``) says which period closes, which members it concerns and the status
rules; thresholds are resolved in SQL over the whole population (a top-percent boundary is a
ranking); then every member's new state is one SQL expression (``_transition``) written in
member batches, with a ``tier_history`` row per change. Rerunning a finished review changes
nothing: only members whose tier or status end differs from what the review gives are written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Integer,
    and_,
    case,
    extract,
    func,
    literal,
    not_,
    null,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from engine.calendar import period_bounds, start_of_day, status_valid_until
from engine.errors import InputError
from engine.ledger import dialect
from engine.ledger.jobs.batches import (
    BATCH,
    Condition,
    Progress,
    lock_members,
    member_batches,
    silent,
)
from engine.ledger.jobs.metric_review import metric_review
from engine.ledger.jobs.tier_changes import TierChange, write_tier_changes
from engine.ledger.tables import MONEY, Moment, members, tier_history, transactions
from engine.ledger.thresholds import store as store_thresholds
from engine.pricing import Evaluator


@dataclass(frozen=True)
class ReviewPlan:
    """What the review of the period ending ``end`` looks at and what it may give."""

    programme: str
    start: date  # first day of the reviewed period
    end: date
    window: tuple[datetime, datetime] | None  # rolling: spend summed from transactions
    population: Condition  # the members reviewed
    order: tuple[str, ...]  # level ids, lowest first
    downgrade: str
    valid_new: date | None  # how long status earned on the reviewed spend lasts (None: not)
    courtesy_until: date  # a one_level drop lasts to the end of the next period

    @property
    def reason(self) -> str:
        return f"tier review {self.end.isoformat()}"


def review_plan(evaluator: Evaluator, period_end: date) -> ReviewPlan:
    """The period ``period_end`` closes, the members it concerns, and the status rules.

    ``calendar_year``: ``period_end`` must be 31 December. ``anniversary_year``: any day; the
    members reviewed are those whose membership year ends on it. Fixed periods read each
    member's running total (``qualifying_spend`` of ``period_start``); ``rolling_12_months``
    sums the ``qualifying`` amounts of the member's transactions in the 12 months ending on
    ``period_end`` (local days), as the ledger does for a rolling window.
    """
    tiers = evaluator.model.tiers
    kind = tiers.period
    programme = evaluator.programme.id
    scope = and_(
        members.c.programme == programme,
        members.c.merged_into.is_(None),
        members.c.joined <= period_end,
    )
    joined = None
    if kind == "anniversary_year":
        days = _anniversary_days(period_end)
        joined = date(2000, *days[0])
        scope = and_(scope, or_(*(_joined_on(month, day) for month, day in days)))
    start, end = period_bounds(kind, period_end, joined=joined)
    if end != period_end:
        raise InputError(f"{period_end} is not the last day of a {kind.replace('_', ' ')}")
    window = None
    if kind == "rolling_12_months":
        window = (start_of_day(start, evaluator.tz), start_of_day(end + timedelta(1), evaluator.tz))
    rule = tiers.status_lasts
    through = tiers.status_through
    valid = status_valid_until(end, rule, kind, joined=joined, through=through)
    following = end + timedelta(days=1)
    return ReviewPlan(
        programme=programme,
        start=start,
        end=end,
        window=window,
        population=scope,
        order=tuple(level["id"] for level in evaluator.levels),
        downgrade=tiers.downgrade,
        valid_new=valid if valid > end else None,
        courtesy_until=status_valid_until(following, "end_of_period", kind, joined=joined),
    )


def _anniversary_days(period_end: date) -> list[tuple[int, int]]:
    """The (month, day) of joining whose membership year ends on ``period_end``."""
    days = []
    for offset in range(366):  # every day of the leap year 2000
        joined = date(2000, 1, 1) + timedelta(days=offset)
        if (
            joined <= period_end
            and period_bounds("anniversary_year", period_end, joined=joined)[1] == period_end
        ):
            days.append((joined.month, joined.day))
    if not days:
        raise InputError(f"no membership year ends on {period_end}")
    return days


def _joined_on(month: int, day: int) -> Condition:
    return and_(
        extract("month", members.c.joined) == month, extract("day", members.c.joined) == day
    )


def period_spend(plan: ReviewPlan) -> ColumnElement[Any]:
    """A member's qualifying spend in the reviewed period, as SQL over the members table."""
    if plan.window is None:
        counted = members.c.period_start == plan.start
        return case((counted, members.c.qualifying_spend), else_=literal(0, MONEY))
    since, until = plan.window
    summed = (
        select(func.coalesce(func.sum(transactions.c.qualifying), literal(0, MONEY)))
        .where(
            transactions.c.programme == members.c.programme,
            transactions.c.member_id == members.c.id,
            transactions.c.at >= literal(since, Moment()),
            transactions.c.at < literal(until, Moment()),
        )
        .scalar_subquery()
    )
    return summed


def top_percent_boundary(
    conn: Connection, plan: ReviewPlan, percent: Any, *, method: str | None = None
) -> Decimal | None:
    """The spend of the member at the top-``percent``% boundary, computed in SQL.

    With N members ranked by spend (highest first) it is the spend of member
    k = ceil(N * percent / 100), in exact integer arithmetic. ``method`` ``percentile``
    (PostgreSQL's default) uses ``percentile_disc``; ``window`` (SQLite's, and valid on both)
    uses ``ROW_NUMBER()`` and ``COUNT(*)`` over the ranking. ``None`` if nobody is reviewed.
    """
    share = Fraction(Decimal(str(percent))) / 100
    method = method or ("percentile" if dialect.is_postgres(conn) else "window")
    spend = period_spend(plan)
    if method == "window":
        ranked = (
            select(
                spend.label("spend"),
                func.row_number().over(order_by=spend.desc()).label("rank"),
                func.count().over().label("n"),
            )
            .where(plan.population)
            .subquery()
        )
        num, den = literal(share.numerator, Integer), literal(share.denominator, Integer)
        nth = (ranked.c.n * num + den - 1) // den
        return conn.execute(select(ranked.c.spend).where(ranked.c.rank == nth)).scalar()
    n = conn.execute(select(func.count()).select_from(members).where(plan.population)).scalar_one()
    if not n:
        return None
    k = -(-n * share.numerator // share.denominator)  # ceil
    # percentile_disc(f) takes the first row whose position/N >= f; (k - 0.5)/N picks row k
    # exactly, whatever float rounding does to f.
    fraction = (k - 0.5) / n
    return conn.execute(
        select(func.percentile_disc(fraction).within_group(spend.desc())).where(plan.population)
    ).scalar()


def resolve_thresholds(
    conn: Connection, evaluator: Evaluator, plan: ReviewPlan
) -> dict[str, Decimal]:
    """Each level's threshold for the period: the stated amount, or the top-percent boundary
    never below the level's ``floor`` (nor one minor unit, so no spend never qualifies), and
    never below a lower level's. Levels with neither (paid, invitation-only) are left out."""
    quantum = evaluator.currency.quantum
    resolved: dict[str, Decimal] = {}
    previous = Decimal(0)
    for level in evaluator.levels[1:]:
        threshold = level.get("threshold", {})
        if "amount" in threshold:
            amount = Decimal(str(threshold["amount"]))
        elif "top_percent" in threshold:
            boundary = top_percent_boundary(conn, plan, threshold["top_percent"])
            floor = Decimal(str(level.get("floor", 0)))
            if boundary is None and not floor:
                continue
            amount = max(Decimal(str(boundary or 0)), floor, quantum)
        else:
            continue
        previous = max(amount, previous)
        resolved[level["id"]] = previous.quantize(quantum)
    return resolved


def _transition(plan: ReviewPlan, thresholds: Mapping[str, Decimal]) -> TierChange:
    """Upgrade to what the spend qualifies for; keep a status still valid; when it ran out
    (``tier_valid_until`` on or before the period's end) drop per ``downgrade``."""
    rank = {tier: index for index, tier in enumerate(plan.order)}
    current = case(rank, value=members.c.tier, else_=-1)
    qualified: ColumnElement[Any] = literal(0, Integer)
    if plan.valid_new is not None:
        spend = period_spend(plan)
        steps = sorted(((rank[t], amount) for t, amount in thresholds.items()), reverse=True)
        qualified = case(*((spend >= literal(a, MONEY), r) for r, a in steps), else_=0)
    held = members.c.tier_valid_until
    expired = and_(held.is_not(None), held <= plan.end)
    fallback = {"never": current, "one_level": current - 1}.get(plan.downgrade, qualified)
    new = case((qualified >= current, qualified), (not_(expired), current), else_=fallback)
    kept: ColumnElement[Any] = held
    if plan.valid_new is not None:
        renewed = case((held > plan.valid_new, held), else_=literal(plan.valid_new, Date))
        kept = case((qualified == current, renewed), else_=held)
    whens: list[tuple[Any, Any]] = [(new == 0, null()), (new == current, kept)]
    if plan.valid_new is not None:
        whens.append((new == qualified, literal(plan.valid_new, Date)))
    valid_until = case(*whens, else_=literal(plan.courtesy_until, Date))
    prefix = plan.reason
    reason = case(
        (current < 0, f"{prefix}: placed by qualifying spend"),
        (new > current, f"{prefix}: upgrade, qualifying spend reached the threshold"),
        (new < current, f"{prefix}: downgrade ({plan.downgrade}), status ran out"),
        else_=f"{prefix}: status renewed, qualifying spend reached the threshold again",
    )
    return TierChange(
        tier=case(dict(enumerate(plan.order)), value=new, else_=members.c.tier),
        since=case((new == current, members.c.tier_since), else_=plan.end + timedelta(days=1)),
        valid_until=valid_until,
        reason=reason,
        changed=or_(new != current, valid_until.is_distinct_from(held)),
    )


def tier_review(
    engine: Engine,
    evaluator: Evaluator,
    period_end: date,
    *,
    batch_size: int = BATCH,
    progress: Progress = silent,
    now: datetime | None = None,
) -> dict[str, Decimal]:
    """Review every member's tier at the end of the qualifying period ending ``period_end``.

    Thresholds are resolved first, in SQL over the whole population (see
    ``resolve_thresholds``), then members are reviewed in batches: a member whose spend
    qualifies for a higher level moves up; one who re-qualifies for their level has the status
    renewed (``status_lasts``, counted from ``period_end``); one whose status ran out without
    re-qualifying drops per ``downgrade`` (``one_level``: one level, kept to the end of the
    next period; ``to_qualified``: to what the spend qualifies for; ``never``). Changes take
    effect the day after ``period_end`` and each writes a ``tier_history`` row whose reason
    starts with ``tier review <period_end>``. A status without an end date
    (``tier_valid_until`` empty: the first level, or a level given by hand) never runs out.
    Returns the thresholds, for ``Evaluator(programme, resolved_thresholds=...)``.

    Run it at the end of the period, before the next period's first sale: the ledger caches
    only the current period's spend, so a member who already bought in the new period shows
    no spend for the reviewed one.
    """
    now = now or datetime.now(UTC)
    if evaluator.tier_model is not None:  # the programme declares tier metrics
        metric_review(
            engine,
            evaluator.programme.id,
            evaluator.tier_model,
            period_end,
            now,
            batch_size=batch_size,
            progress=progress,
        )
        return {}
    plan = review_plan(evaluator, period_end)
    if not plan.order:
        progress(0, 0)
        return {}
    with engine.begin() as conn:
        thresholds = resolve_thresholds(conn, evaluator, plan)
        store_thresholds(conn, plan.programme, thresholds, plan.end)
    change = _transition(plan, thresholds)

    def work(conn: Connection, bounds: Condition) -> None:
        batch = and_(plan.population, bounds)
        lock_members(conn, plan.programme, select(members.c.id).where(batch))
        write_tier_changes(conn, batch, change, now)

    member_batches(engine, plan.population, batch_size, work, progress)
    return thresholds


def review_changes(engine: Engine, programme: str, period_end: date) -> dict[str, int]:
    """How many members each kind of change of the review of ``period_end`` touched."""
    prefix = f"tier review {period_end.isoformat()}: "
    with engine.connect() as conn:
        rows = conn.execute(
            select(tier_history.c.reason, func.count())
            .where(
                tier_history.c.programme == programme,
                tier_history.c.reason.startswith(prefix, autoescape=True),
            )
            .group_by(tier_history.c.reason)
        ).all()
    return {reason.removeprefix(prefix): count for reason, count in rows}
