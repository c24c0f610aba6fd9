"""Batch jobs on the ledger: lot expiry, pending release, the tier review, inactivity.

Every job is set-based SQL: ``INSERT … SELECT`` and ``UPDATE … FROM`` over a whole batch of
lots or members at once, never a Python loop over members. A job works through id ranges
(lot ids, or member ids in keyset order), one database transaction per range, committed
before the next starts, and reports ``progress(done, total)`` after each. Every statement
selects only what still needs doing (a lot with points left past its expiry; a member whose
tier differs from what the review gives), so a job killed half-way leaves whole batches done
and, run again, does the rest; rerunning a finished job changes nothing.

Concurrency: on SQLite each batch holds the database write lock (``BEGIN IMMEDIATE``); on
PostgreSQL each batch first locks its members' rows in id order, as the service does before
it touches a member's lots, so a till never sees half a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Integer,
    Select,
    String,
    and_,
    case,
    extract,
    func,
    insert,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from engine.calendar import add_months, local_date, period_bounds, start_of_day, status_valid_until
from engine.errors import InputError
from engine.ledger.tables import (
    MONEY,
    Moment,
    journal,
    lots,
    members,
    tier_history,
    transactions,
)
from engine.quote import Evaluator
from engine.tiering.model import downgrade_word

Progress = Callable[[int, int], None]
Condition = ColumnElement[bool]
BATCH = 50_000
LOT_EXPIRED = "expired: the end of the lot's validity passed"
INACTIVE = "expired: no purchase or redemption for {months} months"


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


@dataclass(frozen=True)
class Released:
    """Pending points that became spendable (counted; nothing is written)."""

    lots: int
    points: int
    members: int


def _silent(_done: int, _total: int) -> None:
    """The default progress callback."""


def _aware(name: str, at: datetime) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"{name} must be a date and time with a time zone, not {at!r}")


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _lock_members(conn: Connection, programme: str, ids: Select[Any]) -> None:
    """On PostgreSQL, lock the members whose ids ``ids`` selects, in id order (no deadlock)."""
    if _postgres(conn):
        conn.execute(
            select(members.c.id)
            .where(members.c.programme == programme, members.c.id.in_(ids))
            .order_by(members.c.id)
            .with_for_update()
        )


# --- expiry -----------------------------------------------------------------------------------


def expire_lots(
    engine: Engine,
    programme: str,
    as_of: datetime,
    *,
    batch_size: int = BATCH,
    progress: Progress = _silent,
    now: datetime | None = None,
) -> Expired:
    """Lapse every lot with points left whose ``expires_at`` is before ``as_of``.

    ``expires_at`` is the last instant the points can be spent, so a lot expiring exactly at
    ``as_of`` is kept. Each lot gets an ``expire`` journal row dated at its own expiry (the
    same history however late the sweep runs) and its member's balance goes down by as much.
    Batches are ranges of lot ids.
    """
    _aware("as_of", as_of)
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
            _lock_members(conn, programme, select(lots.c.member_id).where(due))
            owners.update(conn.execute(select(lots.c.member_id).where(due).distinct()).scalars())
            done += _lapse(conn, programme, due, lots.c.expires_at, LOT_EXPIRED, now)
        progress(min(done.lots, total), total)
    return replace(done, members=len(owners))


def inactivity_cutoff(as_of: datetime, months: int, tz: Any) -> datetime:
    """The instant before which a member's last activity means their balance has lapsed.

    ``engine.calendar.inactivity_deadline(last, months)`` is the end of the local day
    ``months`` after ``last``; it is before ``as_of`` exactly when that day is before
    ``as_of``'s local date. Month arithmetic never decreases, so the lapsed last-activity days
    are all days up to some day D: the cutoff is the start of the day after D. Turning the
    rule into one instant lets SQL compare a column, with no time zone or calendar in SQL.
    """
    _aware("as_of", as_of)
    today = local_date(as_of, tz)
    day = add_months(today, -months)
    while add_months(day, months) >= today:
        day -= timedelta(days=1)
    while add_months(day + timedelta(days=1), months) < today:
        day += timedelta(days=1)
    return start_of_day(day + timedelta(days=1), tz)


def expire_inactive(
    engine: Engine,
    evaluator: Evaluator,
    as_of: datetime,
    *,
    batch_size: int = BATCH,
    progress: Progress = _silent,
    now: datetime | None = None,
) -> Expired:
    """``expiry.inactivity.months``: the whole balance of members inactive that long lapses.

    Activity is ``last_activity_at`` (a purchase, a return, a redemption, an adjustment), or
    ``created_at`` for a member who never had any. Every open lot (pending ones too) of such a
    member gets an ``expire`` journal row dated ``as_of``; debt stays owed. Programmes without
    ``inactivity`` expire nothing. Batches are ranges of member ids.
    """
    months = evaluator.document.get("expiry", {}).get("inactivity", {}).get("months")
    _aware("as_of", as_of)
    if months is None:
        progress(0, 0)
        return Expired()
    now = now or datetime.now(UTC)
    programme = evaluator.programme.id
    cutoff = inactivity_cutoff(as_of, months, evaluator.tz)
    last = func.coalesce(members.c.last_activity_at, members.c.created_at)
    inactive = and_(
        members.c.programme == programme,
        members.c.merged_into.is_(None),
        last < literal(cutoff, Moment()),
    )
    reason = INACTIVE.format(months=months)
    total = Expired()

    def work(conn: Connection, bounds: Condition) -> None:
        nonlocal total
        # Not the batch scope: its balance test turns false once balances are written, and
        # the lots are emptied after that.
        lapsed = select(members.c.id).where(inactive, bounds)
        _lock_members(conn, programme, lapsed)
        due = and_(
            lots.c.programme == programme, lots.c.points_left > 0, lots.c.member_id.in_(lapsed)
        )
        total += _lapse(conn, programme, due, literal(as_of, Moment()), reason, now)

    # members.balance + debt = the points left in open lots: only those members are batched
    scope = and_(inactive, members.c.balance + members.c.debt > 0)
    _member_batches(engine, scope, batch_size, work, progress)
    return total


def _lapse(
    conn: Connection,
    programme: str,
    due: Condition,
    at: ColumnElement[Any],
    reason: str,
    now: datetime,
) -> Expired:
    """Empty the lots ``due`` selects: journal first, then balances, then the lots."""
    count, points, owners = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(lots.c.points_left), 0),
            func.count(func.distinct(lots.c.member_id)),
        ).where(due)
    ).one()
    if not count:
        return Expired()
    columns = ["programme", "member_id", "kind", "points", "lot_id", "at", "reason"]
    rows = select(
        lots.c.programme,
        lots.c.member_id,
        literal("expire", String),
        -lots.c.points_left,
        lots.c.id,
        at,
        literal(reason, String),
    ).where(due)
    conn.execute(insert(journal).from_select(columns, rows))
    per_member = (
        select(lots.c.member_id, func.sum(lots.c.points_left).label("points"))
        .where(due)
        .group_by(lots.c.member_id)
        .subquery()
    )
    conn.execute(
        update(members)
        .where(members.c.programme == programme, members.c.id == per_member.c.member_id)
        .values(balance=members.c.balance - per_member.c.points, updated_at=now)
    )
    conn.execute(update(lots).where(due).values(points_left=0))
    return Expired(count, int(points), owners)


def _member_batches(
    engine: Engine,
    scope: Condition,
    size: int,
    work: Callable[[Connection, Condition], None],
    progress: Progress,
) -> int:
    """Run ``work`` on the members ``scope`` selects, ``size`` at a time in id order.

    Each batch is a range ``(after, upper]`` of member ids (keyset order on the primary key)
    holding ``size`` members of ``scope``, found and worked on in one transaction, committed
    before the next. ``work`` gets the range as a condition on ``members.id``.
    """
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(members).where(scope)).scalar_one()
    done, after = 0, None
    progress(0, total)
    while done < total:
        with engine.begin() as conn:
            window = scope if after is None else and_(scope, members.c.id > after)
            upper = conn.execute(
                select(members.c.id).where(window).order_by(members.c.id).offset(size - 1).limit(1)
            ).scalar()
            bounds = [members.c.id > after] if after is not None else []
            if upper is not None:
                bounds.append(members.c.id <= upper)
            work(conn, and_(true(), *bounds))
        done = total if upper is None else min(done + size, total)
        progress(done, total)
        after = upper
    return total


# --- pending points -------------------------------------------------------------------------


def release_pending(
    engine: Engine,
    programme: str,
    as_of: datetime,
    *,
    since: datetime | None = None,
    progress: Progress = _silent,
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
    _aware("as_of", as_of)
    conditions = [
        lots.c.programme == programme,
        lots.c.points_left > 0,
        lots.c.pending_until.is_not(None),
        lots.c.pending_until <= as_of,
        or_(lots.c.expires_at.is_(None), lots.c.expires_at >= as_of),
    ]
    if since is not None:
        _aware("since", since)
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


# --- the tier review --------------------------------------------------------------------------


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
    tiers = evaluator.document.get("tiers", {})
    kind = tiers.get("qualifying", {}).get("period", "calendar_year")
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
    rule = tiers.get("status_lasts", "end_of_next_period")
    through = tiers.get("status_through", "day_before")
    valid = status_valid_until(end, rule, kind, joined=joined, through=through)
    following = end + timedelta(days=1)
    return ReviewPlan(
        programme=programme,
        start=start,
        end=end,
        window=window,
        population=scope,
        order=tuple(level["id"] for level in evaluator.levels),
        downgrade=downgrade_word(tiers.get("downgrade", "to_qualified")),
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
    method = method or ("percentile" if _postgres(conn) else "window")
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
        k = (ranked.c.n * num + den - 1) // den
        return conn.execute(select(ranked.c.spend).where(ranked.c.rank == k)).scalar()
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


@dataclass(frozen=True)
class _Transition:
    """A member's state after the review, as SQL expressions over the members table."""

    tier: ColumnElement[Any]
    since: ColumnElement[Any]
    valid_until: ColumnElement[Any]
    reason: ColumnElement[Any]
    changed: Condition


def _transition(plan: ReviewPlan, thresholds: Mapping[str, Decimal]) -> _Transition:
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
    kept = held
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
    return _Transition(
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
    progress: Progress = _silent,
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
    plan = review_plan(evaluator, period_end)
    if not plan.order:
        progress(0, 0)
        return {}
    with engine.connect() as conn:
        thresholds = resolve_thresholds(conn, evaluator, plan)
    change = _transition(plan, thresholds)

    def work(conn: Connection, bounds: Condition) -> None:
        batch = and_(plan.population, bounds)
        _lock_members(conn, plan.programme, select(members.c.id).where(batch))
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

    _member_batches(engine, plan.population, batch_size, work, progress)
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
