"""One ``INSERT … SELECT … ON CONFLICT DO NOTHING`` per outreach trigger.

Every statement selects ``(member_id, cycle, payload)`` rows for the members the trigger finds
on the run's date, keeps only members who consented to the trigger's channel and have an
address for it, and inserts them into ``outreach_tasks``. ``cycle`` is the *occasion* a task is
about (an expiry date, a birthday, a lapse since a last purchase…): the unique key
``(programme, trigger_id, member_id, cycle)`` makes a rerun on the same day a no-op. The
cool-down is exact: no task is created while the same trigger has a task for the member due
less than ``cooldown_days`` days before the run's date. Triggers on a standing condition
(lapse, near upgrade) add a cool-down bucket to the occasion, so they fire again after the
cool-down while the condition lasts.
"""

from __future__ import annotations

import calendar as _stdcal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    tuple_,
    union_all,
)

from engine.calendar import add_months, end_of_day, start_of_day
from engine.ledger.idempotency import jsonable
from engine.ledger.kinds import PURCHASE_KINDS
from engine.ledger.state import MONTHLY_WINDOWS
from engine.ledger.tables import (
    MONEY,
    Moment,
    lots,
    member_metrics,
    members,
    outreach_tasks,
    paid_levels,
    tier_history,
    transactions,
)
from engine.outreach.sql import Expr, Sql, day_number
from engine.policy.model import ProgrammeModel
from engine.tiering.model import TierModel
from engine.tiering.requirements import AllOf, AnyOf, Leaf, Requirement
from engine.tiering.sql import met_sql
from engine.tiering.windows import window_of

Trigger = Mapping[str, Any]
# The member's contact field that each channel needs (app pushes go to the member's app).
CONTACT_FIELD = {"sms": "phone", "call": "phone", "email": "email", "wechat": "wechat"}
LEARN_MIN_PURCHASES = 4  # a learned cycle needs this many purchase days (3 intervals)
HISTORY_YEARS = 10  # purchases older than this do not count for a learned cycle
UPGRADE_CATCH_UP_DAYS = 7  # an upgrade is welcomed if it happened in the last 7 days
DOWNGRADE_NOTICE_DAYS = 30  # a downgrade warning goes out 30 days before the review date
TASK_COLUMNS = (
    "programme",
    "trigger_id",
    "member_id",
    "channel",
    "cycle",
    "due",
    "status",
    "payload",
    "attempts",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Scope:
    """What every trigger's query needs: the programme, the run's date and the dialect."""

    programme: str
    model: ProgrammeModel
    thresholds: Mapping[str, Decimal]
    tz: ZoneInfo
    today: date
    now: datetime
    sql: Sql

    @property
    def today_number(self) -> int:
        return day_number(self.today)

    @property
    def levels(self) -> list[str]:
        return self.model.tiers.ids


def build(scope: Scope, trigger: Trigger) -> Any | None:
    """The INSERT statement for ``trigger``, or None when it cannot find anyone."""
    found = FINDERS[trigger["trigger"]](scope, trigger)
    if found is None:
        return None
    return insert_tasks(scope, trigger, found)


def insert_tasks(scope: Scope, trigger: Trigger, found: Select[Any]) -> Any:
    rows = found.subquery("found")
    query = select(
        literal(scope.programme, String),
        literal(trigger["id"], String),
        rows.c.member_id,
        literal(trigger["channel"], String),
        rows.c.cycle,
        literal(scope.today, Date),
        literal("new", String),
        scope.sql.with_constant(rows.c.payload, "offer", jsonable(list(trigger.get("offer", [])))),
        literal(0, Integer),
        literal(scope.now, Moment()),
        literal(scope.now, Moment()),
    ).where(true(), *_cooling_down(scope, trigger, rows.c.member_id))
    statement = scope.sql.insert(outreach_tasks).from_select(list(TASK_COLUMNS), query)
    return statement.on_conflict_do_nothing(
        index_elements=["programme", "trigger_id", "member_id", "cycle"]
    )


def _cooling_down(scope: Scope, trigger: Trigger, member_id: Expr) -> list[Expr]:
    days = trigger.get("cooldown_days", 0)
    if not days:
        return []
    prior = outreach_tasks.alias("prior")
    recent = exists().where(
        prior.c.programme == scope.programme,
        prior.c.trigger_id == trigger["id"],
        prior.c.member_id == member_id,
        prior.c.due > scope.today - timedelta(days=days),
    )
    return [~recent]


def reachable(scope: Scope, channel: str) -> list[Expr]:
    """The member is active, consented to ``channel`` and has an address for it."""
    conditions = [
        members.c.programme == scope.programme,
        members.c.merged_into.is_(None),
        scope.sql.json_true(members.c.consent, channel),
    ]
    field = CONTACT_FIELD.get(channel)
    if field:
        address = scope.sql.json_text(members.c.contact, field)
        conditions += [address.is_not(None), address != ""]
    return conditions


def _bucket(scope: Scope, trigger: Trigger) -> str:
    days = trigger.get("cooldown_days", 0)
    return f"#{scope.today_number // days}" if days else ""


def _member_join(scope: Scope, member_id: Expr) -> Expr:
    return and_(members.c.programme == scope.programme, members.c.id == member_id)


# --- points expiring ---------------------------------------------------------------------------


def points_expiring(scope: Scope, trigger: Trigger) -> Select[Any]:
    """Members with points expiring from today to ``days_before`` days on; the occasion is the
    first expiry date, the payload the points expiring in that window."""
    start = start_of_day(scope.today, scope.tz)
    end = end_of_day(scope.today + timedelta(days=trigger["days_before"]), scope.tz)
    expiring = (
        select(
            lots.c.member_id,
            func.min(lots.c.expires_at).label("first_at"),
            func.sum(lots.c.points_left).label("points"),
        )
        .where(
            lots.c.programme == scope.programme,
            lots.c.points_left > 0,
            lots.c.expires_at >= start,
            lots.c.expires_at <= end,
        )
        .group_by(lots.c.member_id)
        .subquery("expiring")
    )
    day = scope.sql.date_text(scope.sql.local_date(expiring.c.first_at, (start, end)))
    return (
        select(
            expiring.c.member_id.label("member_id"),
            day.label("cycle"),
            scope.sql.json_object(points=expiring.c.points, expiry_date=day).label("payload"),
        )
        .select_from(expiring.join(members, _member_join(scope, expiring.c.member_id)))
        .where(*reachable(scope, trigger["channel"]))
    )


# --- birthday ------------------------------------------------------------------------------


def birthday_days(today: date) -> list[str]:
    """The ``MM-DD`` birthdays celebrated on ``today``: 29 Feb falls on 28 Feb in common years."""
    days = [today.strftime("%m-%d")]
    if (today.month, today.day) == (2, 28) and not _stdcal.isleap(today.year):
        days.append("02-29")
    return days


def birthday(scope: Scope, trigger: Trigger) -> Select[Any]:
    """Members whose birthday is the run's date in the programme's time zone."""
    occasion = literal(scope.today.isoformat(), String)
    return select(
        members.c.id.label("member_id"),
        occasion.label("cycle"),
        scope.sql.json_object(birthday=occasion).label("payload"),
    ).where(
        *reachable(scope, trigger["channel"]),
        members.c.birthday.is_not(None),
        members.c.birthday <= scope.today,
        scope.sql.month_day(members.c.birthday).in_(birthday_days(scope.today)),
    )


# --- lapse ---------------------------------------------------------------------------------


def lapse(scope: Scope, trigger: Trigger) -> Select[Any]:
    """Members with no purchase for their expected cycle plus ``grace_days``.

    The expected cycle is, first found: the member's median interval between purchase days
    (``learn_cycle``, with enough history), the longest ``cycle_by_category`` cycle among the
    categories of their last purchase, or ``cycle_days``.
    """
    grace = trigger.get("grace_days", 0)
    by_category = trigger.get("cycle_by_category", {})
    learn = trigger.get("learn_cycle", False)
    shortest = 1 if learn else min([trigger["cycle_days"], *by_category.values()])
    span = (start_of_day(add_months(scope.today, -12 * HISTORY_YEARS), scope.tz), scope.now)
    span = (span[0], max(span[1], end_of_day(scope.today, scope.tz)))
    last_day = scope.sql.day_of(scope.sql.local_date(members.c.last_purchase_at, span))
    latest = start_of_day(scope.today - timedelta(days=grace + shortest), scope.tz)
    candidates = (
        select(
            members.c.id.label("member_id"),
            members.c.last_purchase_at.label("last_at"),
            last_day.label("last_day"),
        )
        .where(
            *reachable(scope, trigger["channel"]),
            members.c.last_purchase_at.is_not(None),
            members.c.last_purchase_at < latest,
        )
        .cte("candidates")
    )
    learned = _learned_cycles(scope, candidates, span) if learn else None
    category = _category_cycles(scope, candidates, by_category) if by_category else None
    return _lapsed(scope, trigger, candidates, learned, category)


def _lapsed(
    scope: Scope, trigger: Trigger, candidates: Any, learned: Any | None, category: Any | None
) -> Select[Any]:
    cycles = _per_member(candidates, {"learned": learned, "category": category})
    sources = [(cycles.c[name], name) for name in ("learned", "category") if name in cycles.c]
    declared = literal(trigger["cycle_days"], Integer)
    expected = func.coalesce(*[c for c, _ in sources], declared) if sources else declared
    source: Expr = literal("programme", String)
    if sources:
        source = case(*[(c.is_not(None), literal(n, String)) for c, n in sources], else_=source)
    since = scope.today_number - cycles.c.last_day
    last_date = scope.sql.day_text(cycles.c.last_day)
    payload = scope.sql.json_object(
        last_purchase_date=last_date,
        days_since=since,
        cycle_days=expected,
        cycle_source=source,
    )
    return select(
        cycles.c.member_id.label("member_id"),
        scope.sql.concat(last_date, _bucket(scope, trigger)).label("cycle"),
        payload.label("payload"),
    ).where(since > expected + trigger.get("grace_days", 0))


def _per_member(candidates: Any, parts: Mapping[str, Any | None]) -> Any:
    """One row per candidate with its last purchase day and each cycle found (or NULL).

    A UNION ALL grouped by member, not outer joins: SQLite would join the unindexed
    subqueries by nested loops, quadratic in the number of candidates.
    """
    found = {name: part for name, part in parts.items() if part is not None}
    if not found:
        return candidates
    nothing = cast(null(), Integer)
    rows = [
        select(
            candidates.c.member_id,
            candidates.c.last_day,
            *[nothing.label(name) for name in found],
        )
    ]
    for name, part in found.items():
        cycles = [(part.c.cycle if n == name else nothing).label(n) for n in found]
        rows.append(select(part.c.member_id, nothing.label("last_day"), *cycles))
    merged = union_all(*rows).subquery("merged")
    return (
        select(
            merged.c.member_id,
            func.max(merged.c.last_day).label("last_day"),
            *[func.max(merged.c[name]).label(name) for name in found],
        )
        .group_by(merged.c.member_id)
        .having(func.max(merged.c.last_day).is_not(None))
        .subquery("cycles")
    )


def _learned_cycles(scope: Scope, candidates: Any, span: tuple[datetime, datetime]) -> Any:
    """Median interval (days) between a candidate's distinct purchase days, in SQL."""
    day = scope.sql.day_of(scope.sql.local_date(transactions.c.at, span))
    days = (
        select(transactions.c.member_id, day.label("d"))
        .where(
            transactions.c.programme == scope.programme,
            transactions.c.member_id.in_(select(candidates.c.member_id)),
            transactions.c.kind.in_(PURCHASE_KINDS),
            transactions.c.at >= span[0],
        )
        .distinct()
        .subquery("purchase_days")
    )
    previous = func.lag(days.c.d).over(partition_by=days.c.member_id, order_by=days.c.d)
    gaps = select(days.c.member_id, (days.c.d - previous).label("gap")).subquery("gaps")
    least = LEARN_MIN_PURCHASES - 1
    if scope.sql.postgres:
        median = func.percentile_disc(0.5).within_group(gaps.c.gap)
        return (
            select(gaps.c.member_id, median.label("cycle"))
            .where(gaps.c.gap.is_not(None))
            .group_by(gaps.c.member_id)
            .having(func.count(gaps.c.gap) >= least)
            .subquery("learned")
        )
    ranked = (
        select(
            gaps.c.member_id,
            gaps.c.gap,
            func.row_number().over(partition_by=gaps.c.member_id, order_by=gaps.c.gap).label("rn"),
            func.count().over(partition_by=gaps.c.member_id).label("n"),
        )
        .where(gaps.c.gap.is_not(None))
        .subquery("ranked")
    )
    return (
        select(ranked.c.member_id, ranked.c.gap.label("cycle"))
        .where(ranked.c.n >= least, (ranked.c.rn * 2 - ranked.c.n).in_([0, 1]))
        .subquery("learned")
    )


def _category_cycles(scope: Scope, candidates: Any, by_category: Mapping[str, int]) -> Any:
    """The longest declared cycle among the categories of the candidate's last purchase."""
    if scope.sql.postgres:
        elements = func.json_array_elements(transactions.c.request.op("->")("lines"))
        line = elements.table_valued("value").lateral("line")
    else:
        line = func.json_each(transactions.c.request, "$.lines").table_valued("value").alias("line")
    category = scope.sql.json_text(line.c.value, "category")
    cycle = case(
        *[(category == name, literal(days, Integer)) for name, days in by_category.items()]
    )
    last_sale = tuple_(transactions.c.member_id, transactions.c.at).in_(
        select(candidates.c.member_id, candidates.c.last_at)
    )
    return (
        select(transactions.c.member_id, func.max(cycle).label("cycle"))
        .select_from(transactions.join(line, true()))
        .where(
            transactions.c.programme == scope.programme,
            last_sale,
            transactions.c.kind.in_(PURCHASE_KINDS),
            category.in_(list(by_category)),
        )
        .group_by(transactions.c.member_id)
        .subquery("by_category")
    )


# --- tiers ---------------------------------------------------------------------------------


def _current_period(scope: Scope) -> Expr:
    """The member's qualifying spend belongs to the period running on the run's date."""
    period = scope.model.tiers.period
    if period == "calendar_year":
        return members.c.period_start == date(scope.today.year, 1, 1)
    return members.c.period_start > add_months(scope.today, -12)


def next_tiers(levels: Sequence[str], amounts: Mapping[str, Decimal]) -> dict[str, str]:
    """For each tier, the next one up that has an amount threshold (as in engine.pricing.tiers)."""
    found = {}
    for rank, tier in enumerate(levels):
        upcoming = [t for t in levels[rank + 1 :] if t in amounts]
        if upcoming:
            found[tier] = upcoming[0]
    return found


def metric_columns(scope: Scope, model: TierModel) -> dict[str, Expr]:
    """Each declared metric's total in the window running on the run's date, per member (a
    scalar subquery over ``member_metrics``, as the tier review reads it)."""
    first, last = window_of(model.window, scope.today)
    rows = (first.replace(day=1), last) if model.window.kind in MONTHLY_WINDOWS else (first, first)
    return {
        metric: select(func.coalesce(func.sum(member_metrics.c.total), literal(0, MONEY)))
        .where(
            member_metrics.c.programme == members.c.programme,
            member_metrics.c.member_id == members.c.id,
            member_metrics.c.metric == metric,
            member_metrics.c.window_start.between(*rows),
        )
        .scalar_subquery()
        for metric in model.metrics
    }


def within_reach(requirement: Requirement, within: Mapping[str, Decimal]) -> Requirement:
    """``requirement`` with each leaf lowered by how close counts for its metric (a leaf of a
    metric without a ``within`` must already be met)."""
    if isinstance(requirement, Leaf):
        return Leaf(requirement.metric, requirement.at_least - within.get(requirement.metric, 0))
    items = tuple(within_reach(item, within) for item in requirement.items)
    return AnyOf(items) if isinstance(requirement, AnyOf) else AllOf(items)


def _near_by_metrics(scope: Scope, trigger: Trigger, model: TierModel) -> Select[Any] | None:
    """Members not yet at the next level whose totals reach it once lowered by ``within``
    (spend leaves by ``within_amount``): any path of an ``any_of`` within reach selects."""
    upward = {
        level.id: nxt
        for level in model.levels
        for nxt in [next((n for n in model.levels[level.rank + 1 :] if n.requires), None)]
        if nxt is not None and nxt.requires is not None
    }
    if not upward:
        return None
    within = {m: Decimal(str(v)) for m, v in trigger.get("within", {}).items()}
    spend = Decimal(str(trigger["within_amount"]))
    within |= {m.id: spend for m in model.metrics.values() if m.kind == "spend"}
    columns = metric_columns(scope, model)
    tier = func.coalesce(members.c.tier, literal(model.levels[0].id, String))
    near = [
        and_(
            tier == held,
            not_(met_sql(nxt.requires, columns)),
            met_sql(within_reach(nxt.requires, within), columns),
        )
        for held, nxt in upward.items()
        if nxt.requires is not None
    ]
    next_tier = case(*[(tier == t, literal(n.id, String)) for t, n in upward.items()])
    start = window_of(model.window, scope.today)[0].isoformat()
    totals = {metric: scope.sql.text(column) for metric, column in columns.items()}
    return select(
        members.c.id.label("member_id"),
        scope.sql.concat(literal(start, String), ":", next_tier, _bucket(scope, trigger)).label(
            "cycle"
        ),
        scope.sql.json_object(
            next_tier=next_tier, period_start=literal(start, String), **totals
        ).label("payload"),
    ).where(*reachable(scope, trigger["channel"]), or_(*near))


def near_upgrade(scope: Scope, trigger: Trigger) -> Select[Any] | None:
    """Members of the current period within ``within_amount`` of the next tier's threshold."""
    tiers = scope.model.tiers
    if tiers.counts_metrics and tiers.tiering is not None:
        return _near_by_metrics(scope, trigger, tiers.tiering)
    levels, amounts = scope.levels, scope.thresholds
    upward = next_tiers(levels, amounts)
    if not levels or not upward:
        return None
    tier = func.coalesce(members.c.tier, literal(levels[0], String))
    next_tier = case(*[(tier == t, literal(n, String)) for t, n in upward.items()])
    threshold = case(*[(tier == t, literal(amounts[n], MONEY)) for t, n in upward.items()])
    within = literal(Decimal(str(trigger["within_amount"])), Numeric(18, 4))
    period = scope.sql.date_text(members.c.period_start)
    return select(
        members.c.id.label("member_id"),
        scope.sql.concat(period, ":", next_tier, _bucket(scope, trigger)).label("cycle"),
        scope.sql.json_object(
            spend=scope.sql.text(members.c.qualifying_spend),
            next_tier=next_tier,
            period_start=period,
        ).label("payload"),
    ).where(
        *reachable(scope, trigger["channel"]),
        _current_period(scope),
        members.c.qualifying_spend < threshold,
        members.c.qualifying_spend >= threshold - within,
    )


def _rank(levels: Sequence[str], tier: Expr) -> Expr:
    return case(*[(tier == t, literal(i, Integer)) for i, t in enumerate(levels)])


def tier_change(scope: Scope, trigger: Trigger) -> Select[Any] | None:
    if trigger["change"] == "upgrade":
        return _upgrades(scope, trigger)
    return _downgrade_warnings(scope, trigger)


def _upgrades(scope: Scope, trigger: Trigger) -> Select[Any] | None:
    """Members who moved up a level in the last days and still hold it (a welcome)."""
    if len(scope.levels) < 2:
        return None
    change, before = tier_history.alias("change"), tier_history.alias("before")
    previous = (
        select(before.c.tier)
        .where(
            before.c.programme == change.c.programme,
            before.c.member_id == change.c.member_id,
            before.c.id < change.c.id,
        )
        .order_by(before.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    recent = (
        select(change.c.member_id, change.c.tier, change.c.since, previous.label("previous"))
        .where(
            change.c.programme == scope.programme,
            change.c.since > scope.today - timedelta(days=UPGRADE_CATCH_UP_DAYS),
            change.c.since <= scope.today,
        )
        .subquery("recent")
    )
    since = scope.sql.date_text(recent.c.since)
    return (
        select(
            recent.c.member_id.label("member_id"),
            scope.sql.concat(recent.c.tier, ":", since).label("cycle"),
            scope.sql.json_object(
                tier=recent.c.tier, previous_tier=recent.c.previous, since=since
            ).label("payload"),
        )
        .select_from(recent.join(members, _member_join(scope, recent.c.member_id)))
        .where(
            *reachable(scope, trigger["channel"]),
            members.c.tier == recent.c.tier,
            _rank(scope.levels, recent.c.tier) > _rank(scope.levels, recent.c.previous),
        )
    )


def _downgrade_warnings_by_metrics(
    scope: Scope, trigger: Trigger, model: TierModel
) -> Select[Any] | None:
    """Members whose status ends within the notice period and whose current-window totals
    do not meet what keeping their level needs (``requalify``, else ``requires``)."""
    kept = [level for level in model.levels[1:] if level.keep is not None]
    if model.downgrade.to == "never" or not kept:
        return None
    columns = metric_columns(scope, model)
    short = or_(
        *(
            and_(members.c.tier == level.id, not_(met_sql(level.keep, columns)))
            for level in kept
            if level.keep is not None
        )
    )
    review = scope.sql.date_text(members.c.tier_valid_until)
    totals = {metric: scope.sql.text(column) for metric, column in columns.items()}
    return select(
        members.c.id.label("member_id"),
        scope.sql.concat(review, ":", members.c.tier).label("cycle"),
        scope.sql.json_object(tier=members.c.tier, review_date=review, **totals).label("payload"),
    ).where(
        *reachable(scope, trigger["channel"]),
        members.c.tier_valid_until >= scope.today,
        members.c.tier_valid_until <= scope.today + timedelta(days=DOWNGRADE_NOTICE_DAYS),
        short,
    )


def _downgrade_warnings(scope: Scope, trigger: Trigger) -> Select[Any] | None:
    """Members whose tier is reviewed within the notice period and whose spend of the current
    period does not keep it."""
    tiers = scope.model.tiers
    if tiers.counts_metrics and tiers.tiering is not None:
        return _downgrade_warnings_by_metrics(scope, trigger, tiers.tiering)
    kept = [t for t in scope.levels[1:] if t in scope.thresholds]
    if scope.model.tiers.downgrade == "never" or not kept:
        return None
    threshold = case(*[(members.c.tier == t, literal(scope.thresholds[t], MONEY)) for t in kept])
    spend = case((_current_period(scope), members.c.qualifying_spend), else_=literal(0, MONEY))
    review = scope.sql.date_text(members.c.tier_valid_until)
    return select(
        members.c.id.label("member_id"),
        scope.sql.concat(review, ":", members.c.tier).label("cycle"),
        scope.sql.json_object(
            tier=members.c.tier, review_date=review, spend=scope.sql.text(spend)
        ).label("payload"),
    ).where(
        *reachable(scope, trigger["channel"]),
        members.c.tier.in_(kept),
        members.c.tier_valid_until >= scope.today,
        members.c.tier_valid_until <= scope.today + timedelta(days=DOWNGRADE_NOTICE_DAYS),
        spend < threshold,
    )


# --- never bought (activation) -----------------------------------------------------------------


def never_bought(scope: Scope, trigger: Trigger) -> Select[Any]:
    """Members who joined ``after_days`` days ago or more (at most ``until_days``, when given)
    and have not made a first purchase: "zombies" to activate. One task per member: the
    occasion is the day they joined."""
    latest = scope.today - timedelta(days=trigger["after_days"])
    joined = scope.sql.date_text(members.c.joined)
    conditions = [
        *reachable(scope, trigger["channel"]),
        members.c.last_purchase_at.is_(None),
        members.c.joined <= latest,
    ]
    if "until_days" in trigger:
        conditions.append(members.c.joined >= scope.today - timedelta(days=trigger["until_days"]))
    since = scope.today_number - scope.sql.day_of(members.c.joined)
    return select(
        members.c.id.label("member_id"),
        scope.sql.concat("joined:", joined).label("cycle"),
        scope.sql.json_object(joined=joined, days_since_joined=since).label("payload"),
    ).where(*conditions)


# --- holiday greetings -------------------------------------------------------------------------


def holiday_on(holiday: Mapping[str, Any], day: date) -> bool:
    """Whether a declared holiday falls on ``day``: a fixed ``MM-DD`` every year (29 February
    falls on 28 February in common years, like a birthday), or one of its listed dates."""
    if "date" in holiday:
        return holiday["date"] in birthday_days(day)
    return day.isoformat() in [str(d) for d in holiday.get("dates", [])]


def holiday(scope: Scope, trigger: Trigger) -> Select[Any] | None:
    """Every reachable member, on the day ``days_ahead`` days before a greeted holiday."""
    declared = {h["id"]: h for h in scope.model.holidays}
    day = scope.today + timedelta(days=trigger.get("days_ahead", 0))
    found = [
        declared[h] for h in trigger["holidays"] if h in declared and holiday_on(declared[h], day)
    ]
    if not found:
        return None
    greeted = found[0]
    occasion = literal(f"{greeted['id']}:{day.isoformat()}", String)
    return select(
        members.c.id.label("member_id"),
        occasion.label("cycle"),
        scope.sql.json_object(
            holiday=literal(greeted["id"], String), holiday_date=literal(day.isoformat(), String)
        ).label("payload"),
    ).where(*reachable(scope, trigger["channel"]))

# --- paid level ending ----------------------------------------------------------------------

PAID_LEVEL_NOTICE_DAYS = 30  # the renewal reminder's default lead, without days_before


def paid_level_ending(scope: Scope, trigger: Trigger) -> Select[Any]:
    """Members whose bought level (``engine.ledger.paid``) holds for the last time within
    ``days_before`` days and is not renewed: the renewal reminder; the occasion is the level
    and its last day, so each term is reminded once."""
    days = trigger.get("days_before", PAID_LEVEL_NOTICE_DAYS)
    later = paid_levels.alias("later")
    renewed = exists().where(
        later.c.programme == paid_levels.c.programme,
        later.c.member_id == paid_levels.c.member_id,
        later.c.ends_on > paid_levels.c.ends_on,
        later.c.starts_on <= later.c.ends_on,
    )
    ends = scope.sql.date_text(paid_levels.c.ends_on)
    return (
        select(
            paid_levels.c.member_id.label("member_id"),
            scope.sql.concat(paid_levels.c.level, ":", ends).label("cycle"),
            scope.sql.json_object(
                level=paid_levels.c.level, ends_on=ends, fee=scope.sql.text(paid_levels.c.fee)
            ).label("payload"),
        )
        .select_from(paid_levels.join(members, _member_join(scope, paid_levels.c.member_id)))
        .where(
            *reachable(scope, trigger["channel"]),
            paid_levels.c.programme == scope.programme,
            paid_levels.c.starts_on <= paid_levels.c.ends_on,
            paid_levels.c.ends_on >= scope.today,
            paid_levels.c.ends_on <= scope.today + timedelta(days=days),
            ~renewed,
        )
    )


FINDERS: dict[str, Callable[[Scope, Trigger], Select[Any] | None]] = {
    "points_expiring": points_expiring,
    "birthday": birthday,
    "lapse": lapse,
    "near_upgrade": near_upgrade,
    "tier_change": tier_change,
    "never_bought": never_bought,
    "holiday": holiday,
    "paid_level_ending": paid_level_ending,
}
