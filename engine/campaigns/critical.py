"""Audiences relative to the detected points critical point (``audience.critical_point``).

``critical_point: {below: 300}`` targets balances from 300 points below the critical point up
to it (``above: N`` reaches N points past it). The band is resolved at preview and launch time
from the latest analysis of the ledger (``analysis.analyse`` on the history up to the moment
of the preview or launch), and recorded with the launch: a launched campaign keeps the band it
was launched with. A campaign that types its band by hand (``audience.balance``) is checked
against the latest detected point: the preview warns when they disagree by more than one
analysis bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from engine.campaigns.analysis import ACTIVE_KINDS, Analysis, Options, analyse
from engine.campaigns.model import Context
from engine.errors import ConflictError, InputError
from engine.ledger.tables import campaign_critical_points, transactions
from engine.review.reading import lower_bound, upper_bound


class NoCriticalPoint(ConflictError):
    """The ledger's history shows no critical point, so a relative audience has no band."""


@dataclass(frozen=True)
class Band:
    """The balances a critical-point audience targets, and where they came from."""

    critical_point: int
    low: int
    high: int
    source: str  # "analysis" (resolved now) or "launch" (recorded when it was launched)
    analysis: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "balance": self.critical_point,
            "band": [self.low, self.high],
            "source": self.source,
            "analysis": dict(self.analysis),
        }


def relative(campaign: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The campaign's ``audience.critical_point`` block, if it has one."""
    return campaign.get("audience", {}).get("critical_point")


def latest(conn: Connection, context: Context, at: datetime) -> Analysis:
    """The analysis of the history up to ``at`` (or all of it, when ``at`` is later)."""
    last = conn.execute(
        select(func.max(transactions.c.at)).where(
            transactions.c.programme == context.programme,
            transactions.c.kind.in_(ACTIVE_KINDS),
        )
    ).scalar()
    until = at if last is not None and at < last else None
    return analyse(conn, context, Options(until=until))


def _summary(analysis: Analysis) -> dict[str, Any]:
    found = analysis.critical
    return {
        "snapshots": [t.isoformat() for t in analysis.snapshots[:1]],
        "width": analysis.options.width,
        "rate_below": None if found is None else round(found.rate_below, 4),
        "rate_above": None if found is None else round(found.rate_above, 4),
    }


def resolve(conn: Connection, context: Context, campaign: Mapping[str, Any], at: datetime) -> Band:
    """The band of a critical-point audience: as recorded at launch, else from the latest
    analysis. No critical point in the history is a conflict with a plain reason."""
    block = relative(campaign)
    assert block is not None
    recorded = _recorded(conn, context.programme, campaign["id"])
    if recorded is not None:
        return recorded
    try:
        analysis = latest(conn, context, at)
    except InputError as error:
        raise NoCriticalPoint(
            f"campaign '{campaign['id']}' targets balances relative to the critical point, "
            f"but it cannot be detected: {error}"
        ) from error
    if analysis.critical is None:
        raise NoCriticalPoint(
            f"campaign '{campaign['id']}' targets balances relative to the critical point, "
            "but the history shows none (no balance where members clearly turn active); "
            "type the band by hand (audience.balance) or wait for more history"
        )
    point = analysis.critical.balance
    low = max(point - int(block["below"]), 0)
    high = point + int(block.get("above", 0)) - 1
    return Band(point, low, high, "analysis", _summary(analysis))


def _recorded(conn: Connection, programme: str, campaign_id: str) -> Band | None:
    row = conn.execute(
        select(campaign_critical_points).where(
            campaign_critical_points.c.programme == programme,
            campaign_critical_points.c.campaign_id == campaign_id,
        )
    ).first()
    if row is None:
        return None
    return Band(row.balance, row.band_low, row.band_high, "launch", row.analysis)


def record(conn: Connection, context: Context, campaign_id: str, band: Band, at: datetime) -> None:
    """Keep the band a launch used: relaunching and previewing later reuse it."""
    conn.execute(
        insert(campaign_critical_points).values(
            programme=context.programme,
            campaign_id=campaign_id,
            balance=band.critical_point,
            band_low=band.low,
            band_high=band.high,
            analysis=dict(band.analysis),
            resolved_at=at,
        )
    )


def hand_band_warning(
    conn: Connection, context: Context, campaign: Mapping[str, Any], at: datetime
) -> tuple[int | None, str | None]:
    """(the latest detected critical point, a warning) for a hand-typed balance band that
    does not end at that point within one analysis bucket; (None, None) when nothing to say."""
    test = campaign.get("audience", {}).get("balance")
    if test is None:
        return None, None
    try:
        analysis = latest(conn, context, at)
    except InputError:
        return None, None  # no history to compare with
    if analysis.critical is None:
        return None, None
    point, width = analysis.critical.balance, analysis.options.width
    low, high = lower_bound(test), upper_bound(test)
    top = None if high is None else int(high)
    if top is not None and isinstance(test, Mapping) and test.get("lt") == high:
        top -= 1  # {lt: 1500} ends at 1,499
    shown = f"{'' if low is None else f'{int(low):,}'} to {'' if top is None else f'{top:,}'}"
    if top is None or abs((top + 1) - point) > width or (low is not None and low > point):
        return point, (
            f"the audience's balance band {shown} does not end at the latest detected critical "
            f"point ({point:,} points, within one bucket of {width}): the targets are not the "
            f"members just below it; consider audience.critical_point: {{below: ...}}"
        )
    return point, None
