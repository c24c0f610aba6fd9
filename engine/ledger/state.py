"""A member's state, read from the ledger, in the shape the engine quotes on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, RowMapping, and_, case, func, or_, select

from engine.calendar import local_date, period_bounds
from engine.errors import UnknownMember
from engine.ledger.offers import held_offers
from engine.ledger.tables import (
    campaign_assignments,
    lots,
    members,
    offer_uses,
    period_points,
    transactions,
)
from engine.model import Lot, Member
from engine.money import currency

PERIODS = ("day", "week", "month", "year")


def period_starts(on: date) -> dict[str, date]:
    """The first day of the day, ISO week, month and year containing ``on``."""
    return {
        "day": on,
        "week": on - timedelta(days=on.weekday()),
        "month": on.replace(day=1),
        "year": on.replace(month=1, day=1),
    }


def member_row(
    conn: Connection, programme: str, member_id: str, *, lock: bool = False
) -> RowMapping:
    """The member's row; ``lock`` takes a row lock on PostgreSQL (SQLite is locked already)."""
    query = select(members).where(members.c.programme == programme, members.c.id == member_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
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
    def of(cls, programme: Mapping[str, Any]) -> Needs:
        offers = [*programme.get("rules", []), *programme.get("campaigns", [])]
        return cls(
            usage=any("limit" in offer for offer in offers),
            period_points="per_period" in programme["earn"].get("caps", {}),
            campaigns=any(c["kind"] == "downpour" for c in programme.get("campaigns", [])),
            member_offers=any("grants" in t for t in programme.get("outreach", [])),
        )


def load_member(
    conn: Connection,
    programme: Mapping[str, Any],
    row: RowMapping,
    at: datetime,
) -> Member:
    """The engine's view of a member at ``at``; history the rules never read is not loaded."""
    pid, mid = row["programme"], row["id"]
    tz = ZoneInfo(programme["programme"]["timezone"])
    today = local_date(at, tz)
    needs = Needs.of(programme)
    spendable, pending = _lots(conn, pid, mid, at)
    return Member(
        id=mid,
        tier=row["tier"],
        tier_since=row["tier_since"],
        lots=spendable,
        pending_points=pending,
        qualifying_spend=current_spend(programme, row, today, conn),
        earned_in_period=_earned_in_period(conn, pid, mid, today) if needs.period_points else {},
        tags={k: tuple(v) if isinstance(v, list) else (v,) for k, v in row["tags"].items()},
        birthday=row["birthday"],
        joined=row["joined"],
        last_purchase_at=row["last_purchase_at"],
        campaigns=_campaigns(conn, pid, mid) if needs.campaigns else {},
        usage=_usage(conn, pid, mid, today, tz) if needs.usage else {},
        offers=held_offers(conn, pid, mid, at) if needs.member_offers else (),
    )


def current_period_start(programme: Mapping[str, Any], row: Mapping[str, Any], today: date) -> date:
    return period_bounds(_period_kind(programme), today, joined=row["joined"])[0]  # type: ignore[arg-type]


def current_spend(
    programme: Mapping[str, Any],
    row: Mapping[str, Any],
    today: date,
    conn: Connection | None = None,
) -> Decimal:
    """Qualifying spend of the current period.

    Fixed periods (calendar or membership year) keep a running total that a new
    period resets; a rolling window moves every day, so it is summed from the
    transactions inside it (``conn`` is needed then).
    """
    exponent = Decimal(1).scaleb(-currency(programme["programme"]["currency"]).exponent)
    start = current_period_start(programme, row, today)
    if _period_kind(programme) == "rolling_12_months" and conn is not None:
        return _spend_between(conn, programme, row, start, today).quantize(exponent)
    if row["period_start"] != start:
        return Decimal(0).quantize(exponent)
    return Decimal(row["qualifying_spend"]).quantize(exponent)


def _period_kind(programme: Mapping[str, Any]) -> str:
    return str(programme.get("tiers", {}).get("qualifying", {}).get("period", "calendar_year"))


def _spend_between(
    conn: Connection, programme: Mapping[str, Any], row: Mapping[str, Any], first: date, last: date
) -> Decimal:
    """Qualifying spend recorded from the start of ``first`` to the end of ``last`` (local)."""
    tz = ZoneInfo(programme["programme"]["timezone"])
    since = datetime.combine(first, datetime.min.time(), tz)
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), tz)
    total = conn.execute(
        select(func.coalesce(func.sum(transactions.c.qualifying), 0)).where(
            transactions.c.programme == row["programme"],
            transactions.c.member_id == row["id"],
            transactions.c.at >= since,
            transactions.c.at < until,
        )
    ).scalar_one()
    return Decimal(total)


def _lots(
    conn: Connection, programme: str, member_id: str, at: datetime
) -> tuple[tuple[Lot, ...], int]:
    rows = conn.execute(
        select(lots).where(
            lots.c.programme == programme,
            lots.c.member_id == member_id,
            lots.c.points_left > 0,
            or_(lots.c.expires_at.is_(None), lots.c.expires_at >= at),
        )
    ).mappings()
    spendable, pending = [], 0
    for lot in rows:
        if lot["pending_until"] is not None and lot["pending_until"] > at:
            pending += lot["points_left"]
        else:
            spendable.append(
                Lot(str(lot["id"]), lot["points_left"], lot["earned_at"], lot["expires_at"])
            )
    return tuple(spendable), pending


def _earned_in_period(
    conn: Connection, programme: str, member_id: str, today: date
) -> dict[str, int]:
    starts = period_starts(today)
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
    return {period: points for period, points in rows}


def _campaigns(conn: Connection, programme: str, member_id: str) -> dict[str, str]:
    rows = conn.execute(
        select(campaign_assignments.c.campaign_id, campaign_assignments.c.group_id).where(
            campaign_assignments.c.programme == programme,
            campaign_assignments.c.member_id == member_id,
        )
    )
    return {campaign: group for campaign, group in rows}


def _usage(
    conn: Connection, programme: str, member_id: str, today: date, tz: ZoneInfo
) -> dict[str, dict[str, int]]:
    """How often each offer was used by the member, per period (for per-member limits)."""
    starts = {
        p: datetime.combine(s, datetime.min.time(), tz) for p, s in period_starts(today).items()
    }
    columns = [
        func.sum(case((offer_uses.c.at >= start, 1), else_=0)).label(period)
        for period, start in starts.items()
    ]
    rows = conn.execute(
        select(offer_uses.c.offer_id, func.count().label("ever"), *columns)
        .where(
            offer_uses.c.programme == programme,
            offer_uses.c.member_id == member_id,
            offer_uses.c.reverted.is_(False),
        )
        .group_by(offer_uses.c.offer_id)
    ).mappings()
    usage = {}
    for row in rows:
        counts = {p: int(row[p] or 0) for p in PERIODS}
        usage[row["offer_id"]] = {**counts, "ever": row["ever"], "campaign": row["ever"]}
    return usage
