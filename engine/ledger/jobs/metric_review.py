"""The tier review of a programme that declares tier metrics (issue 12), set-based in SQL.

Each member's window totals are scalar subqueries over ``member_metrics`` (one row per
metric for a fixed window, a row per month for a rolling one); what they qualify for is
``engine.tiering.sql.qualified_rank_sql``, the same requirements the quote and
``engine.tiering.status.decide`` read. The decision is ``decide`` written as CASE
expressions: upgrade or renew on what the totals qualify for, keep a status still valid,
and when it ran out drop per ``downgrade`` (to the qualified level, one level at most with
a courtesy status to the end of the window the drop takes effect in, or never), the drop
taking effect ``grace_months`` after the status ended. Members are written in batches as
the spend review does (``tier_history`` row per change), so a killed run resumes and a
rerun changes nothing.

Not (yet) reviewed here: windows anchored on each member (``membership_year``,
``review_anchored``) and top-percent levels (refused with a plain message).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Integer,
    String,
    and_,
    case,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from engine.calendar import add_months
from engine.errors import InputError
from engine.ledger.jobs.batches import BATCH, Condition, Progress, lock_members, member_batches
from engine.ledger.jobs.tier_changes import TierChange, write_tier_changes
from engine.ledger.state import MONTHLY_WINDOWS
from engine.ledger.tables import MONEY, member_metrics, members
from engine.tiering.model import TierModel
from engine.tiering.sql import met_sql, qualified_rank_sql
from engine.tiering.status import valid_until
from engine.tiering.windows import window_of

ONE_DAY = timedelta(days=1)
MEMBER_ANCHORED = ("membership_year", "review_anchored")


@dataclass(frozen=True)
class MetricPlan:
    """The window the review of ``end`` closes and the dates its decisions give."""

    programme: str
    model: TierModel
    start: date
    end: date
    rows: tuple[date, date]  # the ``member_metrics.window_start`` values the window sums
    population: Condition
    valid_new: date  # status earned on this window lasts to this day

    @property
    def reason(self) -> str:
        return f"tier review {self.end.isoformat()}"

    def effective(self, ran_out: date) -> date:
        """The day a drop takes effect for a status that ended on ``ran_out`` (grace)."""
        grace = add_months(ran_out + ONE_DAY, self.model.downgrade.grace_months)
        return max(self.end + ONE_DAY, grace)


def metric_plan(programme: str, model: TierModel, period_end: date) -> MetricPlan:
    """The window ending ``period_end``, or a plain refusal when it does not end there."""
    kind = model.window.kind
    if kind in MEMBER_ANCHORED:
        raise InputError(
            f"the tier review of a '{kind}' window (anchored on each member) is not available yet"
        )
    if any(level.top_percent is not None for level in model.levels):
        raise InputError(
            "the tier review of top-percent levels by tier metrics is not available yet"
        )
    start, end = window_of(model.window, period_end)
    if end != period_end:
        raise InputError(
            f"{period_end} is not the last day of a qualifying window ({kind.replace('_', ' ')})"
        )
    rows = (start.replace(day=1), end) if kind in MONTHLY_WINDOWS else (start, start)
    scope = and_(
        members.c.programme == programme,
        members.c.merged_into.is_(None),
        members.c.joined <= period_end,
    )
    return MetricPlan(programme, model, start, end, rows, scope, valid_until(model, end))


def _totals(plan: MetricPlan, *, lifetime: bool = False) -> dict[str, ColumnElement[Any]]:
    """Each metric's window (or lifetime) total for the member of the outer row, as SQL."""
    columns: dict[str, ColumnElement[Any]] = {}
    for metric in plan.model.metrics:
        where = [
            member_metrics.c.programme == members.c.programme,
            member_metrics.c.member_id == members.c.id,
            member_metrics.c.metric == metric,
        ]
        if not lifetime:
            where.append(member_metrics.c.window_start.between(*plan.rows))
        total = func.coalesce(func.sum(member_metrics.c.total), literal(0, MONEY))
        columns[metric] = select(total).where(*where).scalar_subquery()
    return columns


def _grace_case(plan: MetricPlan, ran_out: ColumnElement[Any], value: Any) -> ColumnElement[Any]:
    """``value(effective)`` by the day status ran out: only the last ``grace_months`` of
    days before the review move the effective day; every earlier day takes the day after."""
    following = plan.end + ONE_DAY
    months = plan.model.downgrade.grace_months
    whens = []
    day = add_months(following, -months) - ONE_DAY if months else following
    while day <= plan.end:
        effective = plan.effective(day)
        if effective != following:
            whens.append((ran_out == literal(day, Date), value(effective)))
        day += ONE_DAY
    default = value(following)
    return case(*whens, else_=default) if whens else default


def _decision(plan: MetricPlan) -> TierChange:
    """``engine.tiering.status.decide`` for every member at once."""
    model = plan.model
    rank = {level.id: level.rank for level in model.levels}
    current = case(rank, value=members.c.tier, else_=-1)
    totals = _totals(plan)
    has_lifetime = any(level.lifetime is not None for level in model.levels)
    lifetime = _totals(plan, lifetime=True) if has_lifetime else None
    qualified = qualified_rank_sql(model, current, totals, lifetime)
    forever: ColumnElement[bool] = or_(
        false(),
        *(
            and_(qualified == level.rank, met_sql(level.lifetime, lifetime))
            for level in model.levels
            if level.lifetime is not None and lifetime is not None
        ),
    )
    if plan.valid_new <= plan.end:  # status earned now would end with the window: base level
        qualified = case((forever, qualified), else_=literal(0, Integer))
    held = members.c.tier_valid_until
    following = literal(plan.end + ONE_DAY, Date)
    valid_new = literal(plan.valid_new, Date)
    until_new = case((or_(qualified == 0, forever), null()), else_=valid_new)
    renewed = case(
        (or_(held.is_(None), and_(until_new.is_not(None), held > until_new)), held),
        else_=until_new,
    )
    drop_tier, drop_until, drop_since = _drop(plan, current, qualified)
    still_valid = or_(held.is_(None), held > plan.end)
    up = or_(current < 0, qualified >= current)
    new = case((up, qualified), (still_valid, current), else_=drop_tier)
    until = case(
        (and_(up, forever), null()),
        (and_(up, or_(current < 0, qualified > current)), until_new),
        (up, renewed),
        (still_valid, held),
        else_=drop_until,
    )
    since = case(
        (new == current, members.c.tier_since),
        (up, following),
        (still_valid, following),
        else_=drop_since,
    )
    prefix = plan.reason
    reason = case(
        (and_(up, forever), f"{prefix}: lifetime status reached"),
        (and_(up, current < 0), f"{prefix}: placed by the tier metrics"),
        (and_(up, qualified > current), f"{prefix}: upgrade, the tier requirement is met"),
        (up, f"{prefix}: status renewed, the requalification requirement is met"),
        (new < current, f"{prefix}: downgrade ({model.downgrade.to}), status ran out"),
        else_=f"{prefix}: status kept",
    )
    return TierChange(
        tier=case(
            {r: literal(t, String) for t, r in rank.items()}, value=new, else_=members.c.tier
        ),
        since=since,
        valid_until=until,
        reason=reason,
        changed=or_(new != current, until.is_distinct_from(held)),
    )


def _drop(
    plan: MetricPlan, current: ColumnElement[Any], qualified: ColumnElement[Any]
) -> tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]]:
    """(tier, valid_until, since) of a member whose status ran out without requalifying."""
    model, held = plan.model, members.c.tier_valid_until
    rule = model.downgrade.to
    effective = _grace_case(plan, held, lambda day: literal(day, Date))
    if rule == "never":
        return current, null(), literal(plan.end + ONE_DAY, Date)
    kept_until = case((qualified == 0, null()), else_=literal(plan.valid_new, Date))
    if rule == "one_level":
        soft = current - 1 > qualified
        courtesy = _grace_case(
            plan, held, lambda day: literal(window_of(model.window, day)[1], Date)
        )
        return (
            case((soft, current - 1), else_=qualified),
            case((soft, courtesy), else_=kept_until),
            effective,
        )
    return qualified, kept_until, effective


def metric_review(
    engine: Engine,
    programme: str,
    model: TierModel,
    period_end: date,
    now: datetime,
    *,
    batch_size: int = BATCH,
    progress: Progress,
) -> None:
    """Review every member's tier on the metric totals of the window ending ``period_end``."""
    plan = metric_plan(programme, model, period_end)
    change = _decision(plan)

    def work(conn: Connection, bounds: Condition) -> None:
        batch = and_(plan.population, bounds)
        lock_members(conn, plan.programme, select(members.c.id).where(batch))
        write_tier_changes(conn, batch, change, now)

    member_batches(engine, and_(true(), plan.population), batch_size, work, progress)
