"""Launching a downpour campaign: its assignment frozen in the ledger, in one transaction.

``launch`` writes the campaign's budget row and one ``campaign_assignments`` row per targeted
member (group id, or ``holdout``) with a single ``INSERT … SELECT``. From then on the engine
reads the frozen group (``Member.campaigns``), so eligibility during the window is stable and
auditable whatever happens to balances or tags. Launching again is idempotent when it would
assign exactly the same members to the same groups, and refused (``ConflictError``) otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Select, except_, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from engine.campaigns import critical
from engine.campaigns.model import Context, campaign_window
from engine.campaigns.targeting import Targeting, prepare
from engine.errors import ConflictError
from engine.ledger import dialect
from engine.ledger.budgets import open_budget
from engine.ledger.tables import campaign_assignments, campaign_budgets


@dataclass(frozen=True)
class Launch:
    """The frozen assignment: when, how many per group, and whether this call created it."""

    programme: str
    campaign_id: str
    launched_at: datetime
    groups: dict[str, int]
    created: bool
    critical_point: dict[str, Any] | None = None  # the band a relative audience launched with

    @property
    def assigned(self) -> int:
        return sum(self.groups.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "programme": self.programme,
            "campaign": self.campaign_id,
            "launched_at": self.launched_at.isoformat(),
            "assigned": self.assigned,
            "groups": self.groups,
            "created": self.created,
            "critical_point": self.critical_point,
        }


def launch(database: Engine, context: Context, campaign_id: str, at: datetime) -> Launch:
    """Freeze the campaign's assignment as evaluated at ``at`` (see the module docstring)."""
    campaign = context.downpour(campaign_id)
    _, ends = campaign_window(campaign, context.tz)
    if at > ends:
        raise ConflictError(
            f"campaign '{campaign_id}' ended at {ends.isoformat()}; it cannot be launched now"
        )
    try:
        return _launch(database, context, campaign_id, at)
    except IntegrityError:  # another launch committed first: compare with what it froze
        return _launch(database, context, campaign_id, at)


def _launch(database: Engine, context: Context, campaign_id: str, at: datetime) -> Launch:
    with database.begin() as conn:
        prepare(conn)
        campaign = context.downpour(campaign_id)
        launched_at = _launched_at(conn, context.programme, campaign_id)
        # A relative audience is resolved from the latest analysis at the first launch and
        # recorded; a launched campaign keeps the band it was launched with.
        band = (
            critical.resolve(conn, context, campaign, at) if critical.relative(campaign) else None
        )
        targeting = Targeting(context, campaign_id, at, dialect.name(conn), band)
        if launched_at is not None:
            _refuse_changes(conn, targeting, launched_at)
            when = launched_at.astimezone(context.tz)
            counts = _counts(conn, targeting)
            return Launch(context.programme, campaign_id, when, counts, False, _shown(band))
        budget = targeting.campaign.get("budget", {})
        money = budget.get("money")
        open_budget(
            conn,
            context.programme,
            campaign_id,
            at=at,
            points=budget.get("points"),
            money=None if money is None else Decimal(str(money)),
        )
        if band is not None:
            critical.record(conn, context, campaign_id, band, at)
        conn.execute(_freeze(targeting, at))
        counts = _counts(conn, targeting)
        conn.execute(
            update(campaign_budgets)
            .where(
                campaign_budgets.c.programme == context.programme,
                campaign_budgets.c.campaign_id == campaign_id,
            )
            .values(audience_size=sum(counts.values()))
        )
        return Launch(context.programme, campaign_id, at, counts, True, _shown(band))


def _shown(band: critical.Band | None) -> dict[str, Any] | None:
    return None if band is None else {**band.as_dict(), "source": "launch"}


def _launched_at(conn: Connection, programme: str, campaign_id: str) -> datetime | None:
    query = select(campaign_budgets.c.launched_at).where(
        campaign_budgets.c.programme == programme, campaign_budgets.c.campaign_id == campaign_id
    )
    return conn.execute(dialect.for_update(conn, query)).scalar_one_or_none()


def _targets(targeting: Targeting) -> Select[Any]:
    assigned = targeting.assignment().subquery("assigned")
    return select(assigned).where(assigned.c.group_id.is_not(None))


def _freeze(targeting: Targeting, at: datetime) -> Any:
    targets = _targets(targeting).subquery("targets")
    columns = [
        literal(targeting.context.programme).label("programme"),
        literal(targeting.campaign_id).label("campaign_id"),
        targets.c.member_id,
        targets.c.group_id,
        literal(at, campaign_assignments.c.assigned_at.type).label("assigned_at"),
    ]
    names = ["programme", "campaign_id", "member_id", "group_id", "assigned_at"]
    if "stratum" in campaign_assignments.c:  # the group a holdout member was drawn from
        columns.append(targets.c.stratum)
        names.append("stratum")
    return insert(campaign_assignments).from_select(names, select(*columns))


def _stored(targeting: Targeting) -> Select[Any]:
    return select(campaign_assignments.c.member_id, campaign_assignments.c.group_id).where(
        campaign_assignments.c.programme == targeting.context.programme,
        campaign_assignments.c.campaign_id == targeting.campaign_id,
    )


def _refuse_changes(conn: Connection, targeting: Targeting, launched_at: datetime) -> None:
    targets = _targets(targeting).subquery("targets")
    fresh = select(targets.c.member_id, targets.c.group_id)
    added = _count(conn, except_(fresh, _stored(targeting)))
    removed = _count(conn, except_(_stored(targeting), fresh))
    if added or removed:
        raise ConflictError(
            f"campaign '{targeting.campaign_id}' was launched at {launched_at.isoformat()}; "
            f"launching it again at {targeting.at.isoformat()} would change its assignment "
            f"({added:,} member-group pairs new, {removed:,} gone): the frozen one stands"
        )


def _count(conn: Connection, query: Any) -> int:
    return conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def _counts(conn: Connection, targeting: Targeting) -> dict[str, int]:
    stored = _stored(targeting).subquery()
    rows = conn.execute(select(stored.c.group_id, func.count()).group_by(stored.c.group_id)).all()
    return dict(sorted((group, count) for group, count in rows))
