"""A member's state, read from the ledger, in the shape the engine quotes on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
)

from engine.calendar import PeriodKind, cap_period, local_date, period_bounds
from engine.errors import UnknownMember
from engine.ledger import dialect, paid
from engine.ledger.offers import held_offers
from engine.ledger.tables import (
    campaign_assignments,
    lots,
    member_metrics,
    member_stays,
    members,
    offer_uses,
    period_points,
    transactions,
)
from engine.ledger.vouchers import held_vouchers
from engine.money import currency
from engine.policy.model import ProgrammeLike, ProgrammeModel, model_of
from engine.pricing.model import Lot, Member
from engine.pricing.result import REMAINDER_UNITS
from engine.tiering.model import TierModel
from engine.tiering.quantities import Stay
from engine.tiering.windows import Anchors, window_of

PERIODS = ("day", "week", "month", "year")


MEMBERSHIP_YEAR_KEY = "myear"  # period_points.period holds 8 characters: membership_year


def period_starts(
    on: date, model: ProgrammeModel | None = None, joined: date | None = None
) -> dict[str, date]:
    """The first day of the day, ISO week, month and year containing ``on``, as
    period_points keys; with a model whose cap is per year from ``resets_on`` or per
    membership year, that period's start instead (``engine.calendar.cap_period``)."""
    starts = {
        "day": on,
        "week": on - timedelta(days=on.weekday()),
        "month": on.replace(day=1),
        "year": on.replace(month=1, day=1),
    }
    kind = model.earn.cap_period if model is not None else None
    if kind == "year" and model is not None and model.earn.cap_resets_on is not None:
        starts["year"] = cap_period("year", on, resets_on=model.earn.cap_resets_on)[0]
    elif kind == "membership_year" and joined is not None:
        # A sale dated before joining (an import) counts in the first membership year.
        starts[MEMBERSHIP_YEAR_KEY] = cap_period(kind, max(on, joined), joined=joined)[0]
    return starts


# Built once: SQLAlchemy then only binds values, instead of rebuilding the statement and its
# cache key on every call (issue 15: ~3x less CPU for a member read).
MEMBER = select(members).where(
    members.c.programme == bindparam("p"), members.c.id == bindparam("m")
)
MEMBER_LOCKED = MEMBER.with_for_update()


def member_row(
    conn: Connection, programme: str, member_id: str, *, lock: bool = False
) -> RowMapping:
    """The member's row; ``lock`` takes a row lock on PostgreSQL (SQLite is locked already)."""
    query = MEMBER_LOCKED if lock and dialect.is_postgres(conn) else MEMBER
    row = conn.execute(query, {"p": programme, "m": member_id}).mappings().first()
    if row is None or row["merged_into"]:
        raise UnknownMember(f"no member '{member_id}' in programme '{programme}'")
    return row


@dataclass(frozen=True)
class Needs:
    """Which parts of a member's history the programme's rules can look at at all."""

    usage: bool  # some rule or campaign has a per-member limit
    period_points: bool  # earning has a per-period cap
    campaigns: bool  # some campaign is a downpour (assigned groups)
    member_offers: bool = False  # some outreach trigger grants offers

    @classmethod
    def of(cls, programme: ProgrammeLike) -> Needs:
        model = model_of(programme)
        offers = [*model.rules, *model.campaigns]
        return cls(
            usage=any("limit" in offer for offer in offers),
            period_points="per_period" in model.earn.caps,
            campaigns=any(c["kind"] == "downpour" for c in model.campaigns),
            member_offers=any("grants" in t for t in model.outreach),
        )


@dataclass(frozen=True)
class StoredMember(Member):
    """A ledger member: its spendable balance is summed by the database, and ``lots`` holds
    only the soonest-spent lots a redemption needs (all of them if it needs more than
    there are), so a quote reads a few rows however long the member's history is."""

    spendable_points: int = 0

    def balance(self, at: datetime) -> int:
        return self.spendable_points


def load_member(
    conn: Connection,
    programme: ProgrammeLike,
    row: RowMapping,
    at: datetime,
    *,
    redeeming: int = 0,
    vouchers: Sequence[str] = (),
) -> StoredMember:
    """The engine's view of a member at ``at``; history the rules never read is not loaded.

    ``redeeming`` is how many points the operation may spend: that many (in spending order)
    are loaded as lots, none when it is 0. ``vouchers`` are the codes the sale presents.
    """
    pid, mid = row["programme"], row["id"]
    model = model_of(programme)
    tz = ZoneInfo(model.identity.timezone)
    today = local_date(at, tz)
    needs = Needs.of(model)
    expired, pending = conn.execute(LOTS_OUT_OF_REACH, {"p": pid, "m": mid, "at": at}).one()
    spendable = row["balance"] + row["debt"] - int(expired) - int(pending)
    return StoredMember(
        id=mid,
        tier=_tier_for_pricing(conn, model, row, today),
        tier_since=row["tier_since"],
        lots=spending_lots(conn, pid, mid, at, redeeming) if redeeming > 0 else (),
        pending_points=int(pending),
        qualifying_spend=current_spend(model, row, today, conn),
        earned_in_period=(
            _earned_in_period(conn, pid, mid, today, model, row["joined"])
            if needs.period_points
            else {}
        ),
        tags={k: tuple(v) if isinstance(v, list) else (v,) for k, v in row["tags"].items()},
        birthday=row["birthday"],
        joined=row["joined"],
        last_purchase_at=row["last_purchase_at"],
        campaigns=_campaigns(conn, pid, mid) if needs.campaigns else {},
        usage=_usage(conn, pid, mid, today, tz) if needs.usage else {},
        offers=held_offers(conn, pid, mid, at) if needs.member_offers else (),
        points_remainder=Fraction(row["points_remainder"], REMAINDER_UNITS),
        metric_totals=metric_totals(conn, model, row, today),
        stays=window_stays(conn, model, row, today),
        vouchers=held_vouchers(conn, pid, mid, vouchers),
        spendable_points=spendable,
    )


def _tier_for_pricing(
    conn: Connection, model: ProgrammeModel, row: RowMapping, today: date
) -> str | None:
    """The earned level, or a bought one holding today if higher (``engine.ledger.paid``);
    programmes with no paid level never read the bought levels."""
    levels = model.tiers.levels
    if not any("paid" in level for level in levels):
        return row["tier"]
    bought = paid.holding(conn, row["programme"], row["id"], today)
    return paid.effective_tier(
        [level["id"] for level in levels], row["tier"], bought["level"] if bought else None
    )


def points_to_redeem(programme: ProgrammeLike, redeem_points: Any, claim_reward: str | None) -> int:
    """How many points a sale or redemption asks to spend (0 if none or not a number):
    the lots to load for it."""
    if claim_reward:
        burn = model_of(programme).burn
        catalogue = burn.catalogue if burn is not None else ()
        return next((int(r["points"]) for r in catalogue if r["id"] == claim_reward), 0)
    if isinstance(redeem_points, int) and not isinstance(redeem_points, bool):
        return max(redeem_points, 0)
    return 0


# ``points_left > 0`` is written as a literal so both databases can use the partial indexes
# (ix_lots_unspent, ix_lots_pending, migration 0010) that hold only lots with points left.
_UNSPENT = lots.c.points_left > literal_column("0")
_MEMBER_LOTS = (lots.c.programme == bindparam("p"), lots.c.member_id == bindparam("m"), _UNSPENT)
_NOT_EXPIRED = or_(lots.c.expires_at.is_(None), lots.c.expires_at >= bindparam("at"))
_LEFT = func.coalesce(func.sum(lots.c.points_left), 0)

# ``members.balance`` holds every open lot less the debt; what is not spendable at ``at`` is
# the unswept expired lots and the pending ones, both few, both read through an index.
LOTS_OUT_OF_REACH = select(
    select(_LEFT).where(*_MEMBER_LOTS, lots.c.expires_at < bindparam("at")).scalar_subquery(),
    select(_LEFT)
    .where(*_MEMBER_LOTS, lots.c.pending_until > bindparam("at"), _NOT_EXPIRED)
    .scalar_subquery(),
)
_SPENDABLE = (
    *_MEMBER_LOTS,
    or_(lots.c.pending_until.is_(None), lots.c.pending_until <= bindparam("at")),
)
_COLUMNS = (lots.c.id, lots.c.points_left, lots.c.earned_at, lots.c.expires_at)
EXPIRING_LOTS = (
    select(*_COLUMNS)
    .where(*_SPENDABLE, lots.c.expires_at >= bindparam("at"))
    .order_by(lots.c.expires_at, lots.c.earned_at, lots.c.id)
    .limit(bindparam("n"))
)
LASTING_LOTS = (
    select(*_COLUMNS)
    .where(*_SPENDABLE, lots.c.expires_at.is_(None))
    .order_by(lots.c.earned_at, lots.c.id)
    .limit(bindparam("n"))
)
FIRST_PAGE = 16


def spending_lots(
    conn: Connection, programme: str, member_id: str, at: datetime, points: int
) -> tuple[Lot, ...]:
    """The spendable lots ``consume_lots`` takes ``points`` from, in its order: soonest-
    expiring first, never-expiring last. Lots tied with the last one needed on (expiry,
    earning time) come too, so the engine breaks those ties exactly as over all lots."""
    taken: list[Lot] = []
    for statement in (EXPIRING_LOTS, LASTING_LOTS):
        needed = points - sum(lot.points for lot in taken)
        more, enough = _enough(conn, statement, programme, member_id, at, needed)
        taken.extend(more)
        if enough:
            break
    return tuple(taken)


def _enough(
    conn: Connection, statement: Any, programme: str, member_id: str, at: datetime, points: int
) -> tuple[list[Lot], bool]:
    """The first lots of ``statement`` covering ``points`` (and their ties); whether they do.

    Pages grow fourfold, so a large redemption costs a few round trips, not one per lot.
    """
    page = FIRST_PAGE
    while True:
        rows = conn.execute(statement, {"p": programme, "m": member_id, "at": at, "n": page}).all()
        held, cut = 0, None
        for index, lot in enumerate(rows):
            held += lot.points_left
            if held >= points:
                cut = index
                break
        exhausted = len(rows) < page
        if cut is not None:
            tie = (rows[cut].expires_at, rows[cut].earned_at)
            end = cut + 1
            while end < len(rows) and (rows[end].expires_at, rows[end].earned_at) == tie:
                end += 1
            if end < len(rows) or exhausted:
                return [_lot(lot) for lot in rows[:end]], True
        elif exhausted:
            return [_lot(lot) for lot in rows], False
        page *= 4


def _lot(row: Any) -> Lot:
    return Lot(str(row.id), row.points_left, row.earned_at, row.expires_at)


def current_period_start(programme: ProgrammeLike, row: Mapping[Any, Any], today: date) -> date:
    return period_bounds(_period_kind(programme), today, joined=row["joined"])[0]


def current_spend(
    programme: ProgrammeLike,
    row: Mapping[Any, Any],
    today: date,
    conn: Connection | None = None,
) -> Decimal:
    """Qualifying spend of the current period.

    Fixed periods (calendar or membership year) keep a running total that a new
    period resets; a rolling window moves every day, so it is summed from the
    transactions inside it (``conn`` is needed then).
    """
    model = model_of(programme)
    exponent = Decimal(1).scaleb(-currency(model.identity.currency).exponent)
    start = current_period_start(model, row, today)
    if model.tiers.period == "rolling_12_months" and conn is not None:
        return _spend_between(conn, model, row, start, today).quantize(exponent)
    if row["period_start"] != start:
        return Decimal(0).quantize(exponent)
    return Decimal(row["qualifying_spend"]).quantize(exponent)


def _period_kind(programme: ProgrammeLike) -> PeriodKind:
    return model_of(programme).tiers.period


SPEND_BETWEEN = select(func.coalesce(func.sum(transactions.c.qualifying), 0)).where(
    transactions.c.programme == bindparam("p"),
    transactions.c.member_id == bindparam("m"),
    transactions.c.at >= bindparam("since"),
    transactions.c.at < bindparam("until"),
)


def _spend_between(
    conn: Connection, programme: ProgrammeModel, row: Mapping[str, Any], first: date, last: date
) -> Decimal:
    """Qualifying spend recorded from the start of ``first`` to the end of ``last`` (local)."""
    tz = ZoneInfo(programme.identity.timezone)
    since = datetime.combine(first, datetime.min.time(), tz)
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), tz)
    total = conn.execute(
        SPEND_BETWEEN, {"p": row["programme"], "m": row["id"], "since": since, "until": until}
    ).scalar_one()
    return Decimal(total)


OFFER_USES = (
    select(
        offer_uses.c.offer_id,
        func.count().label("ever"),
        *(
            func.sum(case((offer_uses.c.at >= bindparam(f"start_{period}"), 1), else_=0)).label(
                period
            )
            for period in PERIODS
        ),
    )
    .where(
        offer_uses.c.programme == bindparam("p"),
        offer_uses.c.member_id == bindparam("m"),
        offer_uses.c.reverted.is_(False),
    )
    .group_by(offer_uses.c.offer_id)
)


def _earned_in_period(
    conn: Connection,
    programme: str,
    member_id: str,
    today: date,
    model: ProgrammeModel | None = None,
    joined: date | None = None,
) -> dict[str, int]:
    """Points earned in each capped period containing ``today`` (calendar periods without a
    model; a model's cap year or membership year with one)."""
    starts = period_starts(today, model, joined)
    rows = conn.execute(
        select(period_points.c.period, period_points.c.points).where(
            period_points.c.programme == programme,
            period_points.c.member_id == member_id,
            or_(
                *(
                    and_(period_points.c.period == p, period_points.c.starts == s)
                    for p, s in starts.items()
                )
            ),
        )
    )
    names = {MEMBERSHIP_YEAR_KEY: "membership_year"}
    return {names.get(period, period): points for period, points in rows}


ASSIGNMENTS = select(campaign_assignments.c.campaign_id, campaign_assignments.c.group_id).where(
    campaign_assignments.c.programme == bindparam("p"),
    campaign_assignments.c.member_id == bindparam("m"),
)


def _campaigns(conn: Connection, programme: str, member_id: str) -> dict[str, str]:
    rows = conn.execute(ASSIGNMENTS, {"p": programme, "m": member_id})
    return {campaign: group for campaign, group in rows}


def _usage(
    conn: Connection, programme: str, member_id: str, today: date, tz: ZoneInfo
) -> dict[str, dict[str, int]]:
    """How often each offer was used by the member, per period (for per-member limits)."""
    starts = {
        f"start_{p}": datetime.combine(s, datetime.min.time(), tz)
        for p, s in period_starts(today).items()
    }
    rows = conn.execute(OFFER_USES, {"p": programme, "m": member_id, **starts}).mappings()
    usage = {}
    for row in rows:
        counts = {p: int(row[p] or 0) for p in PERIODS}
        usage[row["offer_id"]] = {**counts, "ever": row["ever"], "campaign": row["ever"]}
    return usage


# Rolling windows move every day: their totals are kept by month and summed at read time.
MONTHLY_WINDOWS = ("rolling_months", "calendar_months")


def counted_model(programme: ProgrammeLike) -> TierModel | None:
    """The tier model when the programme counts declared metrics (``tiers.metrics``)."""
    tiers = model_of(programme).tiers
    return tiers.tiering if tiers.counts_metrics else None


def anchors_of(row: Mapping[Any, Any]) -> Anchors:
    return Anchors(joined=row["joined"], upgraded=row["tier_since"])


def metric_row_start(model: TierModel, row: Mapping[Any, Any], today: date) -> date:
    """The ``member_metrics.window_start`` a posting on ``today`` adds to: the window's first
    day, or for rolling windows the month's first day."""
    if model.window.kind in MONTHLY_WINDOWS:
        return today.replace(day=1)
    return window_of(model.window, today, anchors_of(row))[0]


TOTALS_FROM = (
    select(member_metrics.c.metric, func.sum(member_metrics.c.total))
    .where(
        member_metrics.c.programme == bindparam("p"),
        member_metrics.c.member_id == bindparam("m"),
        member_metrics.c.window_start >= bindparam("first"),
        member_metrics.c.window_start <= bindparam("last"),
    )
    .group_by(member_metrics.c.metric)
)


def metric_totals(
    conn: Connection, programme: ProgrammeLike, row: Mapping[Any, Any], today: date
) -> dict[str, Decimal]:
    """The member's current-window total of each declared metric ({} for programmes that do
    not declare metrics). A fixed window is one row per metric; a rolling one at most a row
    per month in it (the month the window starts in counts whole: totals are kept by month)."""
    model = counted_model(programme)
    if model is None:
        return {}
    first, last = window_of(model.window, today, anchors_of(row))
    if model.window.kind in MONTHLY_WINDOWS:
        first = first.replace(day=1)
    else:
        last = first
    rows = conn.execute(
        TOTALS_FROM, {"p": row["programme"], "m": row["id"], "first": first, "last": last}
    )
    return {metric: Decimal(total) for metric, total in rows}


STAYS_FROM = select(member_stays.c.property, member_stays.c.first, member_stays.c.nights).where(
    member_stays.c.programme == bindparam("p"),
    member_stays.c.member_id == bindparam("m"),
    member_stays.c.window_start >= bindparam("first"),
    member_stays.c.window_start <= bindparam("last"),
)


def window_stays(
    conn: Connection, programme: ProgrammeLike, row: Mapping[Any, Any], today: date
) -> tuple[Stay, ...]:
    """The stays counted in the member's current window (programmes counting stays only)."""
    model = counted_model(programme)
    if model is None or not any(m.kind == "stays" for m in model.metrics.values()):
        return ()
    first, last = window_of(model.window, today, anchors_of(row))
    if model.window.kind in MONTHLY_WINDOWS:
        first = first.replace(day=1)
    else:
        last = first
    rows = conn.execute(
        STAYS_FROM, {"p": row["programme"], "m": row["id"], "first": first, "last": last}
    )
    return tuple(Stay(prop, day, nights) for prop, day, nights in rows)
