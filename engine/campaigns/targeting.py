"""Who a downpour campaign targets, evaluated in the database (never member by member).

The campaign's ``audience`` and each group's ``filter`` are parsed by the rules' own parser
(``engine.rules.parser.parse_when``), so values, lists and operators mean exactly what they mean
in a rule's ``member`` block, and are then compiled to SQL on ``members`` by the rule tree's SQL
back end (``engine.rules.sql``, which says what each field means), in the programme's zone;
``days_inactive`` is ``days_since_last_purchase``.

A member in the audience joins the **first** group whose filter matches (lowest ``priority``,
then file order); members matching no group are not targeted. A targeted member is held out
when ``holdout_bucket(campaign, member) < round(holdout_percent * 100)``, where
``holdout_bucket`` is the first 8 bytes of ``sha256(campaign_id + NUL + member_id)`` (UTF-8)
read as a big-endian unsigned integer, modulo 10,000 — the same draw as
``engine.pricing.offers.in_holdout``. PostgreSQL computes it with its built-in ``sha256``;
SQLite calls the Python function registered on the connection by ``prepare``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    LargeBinary,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import BIT

from engine.calendar import local_date
from engine.campaigns import critical
from engine.campaigns.critical import Band
from engine.campaigns.model import Context, groups_by_priority
from engine.errors import InputError
from engine.ledger.dialect import is_postgres, is_sqlite
from engine.ledger.dialect import name as dialect_name
from engine.ledger.tables import campaign_assignments, campaign_budgets, members
from engine.pricing.offers import HOLDOUT, audience_as_member
from engine.rules.parser import parse_when
from engine.rules.sql import Clauses
from engine.rules.tree import Test

BUCKETS = 10_000
SQLITE_BUCKET = "loyalty_holdout_bucket"
_WORD = 2**32 % BUCKETS  # the high 32-bit word's weight, modulo BUCKETS
SAMPLE_SCAN = 40  # audience members read per sampled member before topping up

__all__ = [
    "HOLDOUT",
    "Preview",
    "Targeting",
    "holdout_bucket",
    "holdout_threshold",
    "prepare",
    "preview",
]


# --- the holdout draw -------------------------------------------------------------------------


def holdout_bucket(campaign_id: str, member_id: str) -> int:
    """0..9999: sha256(campaign_id NUL member_id), first 8 bytes big-endian, modulo 10,000."""
    digest = hashlib.sha256(f"{campaign_id}\0{member_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def holdout_threshold(percent: float) -> int:
    """Buckets below this are held out (10% → 1000), rounded as ``engine.pricing.offers`` rounds."""
    return round(percent * 100)


def prepare(conn: Connection) -> None:
    """Register the holdout function on a SQLite connection (PostgreSQL needs nothing)."""
    if is_sqlite(conn):
        raw = conn.connection.driver_connection
        raw.create_function(SQLITE_BUCKET, 2, holdout_bucket, deterministic=True)  # type: ignore[union-attr]


def bucket_sql(dialect: str, campaign_id: str, member_id: ColumnElement[Any]) -> ColumnElement[int]:
    """``holdout_bucket`` computed by the database."""
    if dialect == "sqlite":
        return func.loyalty_holdout_bucket(literal(campaign_id), member_id, type_=Integer)
    salt = literal(campaign_id.encode() + b"\0", LargeBinary)
    digest = func.sha256(salt.op("||")(func.convert_to(member_id, "UTF8")), type_=LargeBinary)
    high, low = _word(digest, 1), _word(digest, 5)
    return ((high % BUCKETS) * _WORD + low % BUCKETS) % BUCKETS


def _word(digest: ColumnElement[bytes], start: int) -> ColumnElement[int]:
    hexa = func.encode(func.substring(digest, start, 4), "hex")
    return cast(cast(literal("x").concat(hexa), BIT(32)), BigInteger)


# --- tests → SQL ----------------------------------------------------------------------------


def member_tests(block: Mapping[str, Any] | None, exponent: int, name: str) -> tuple[Test, ...]:
    """A member block (audience or group filter) parsed exactly as a rule's ``member`` block."""
    return parse_when(
        name, {"member": dict(block)} if block else {}, currency_exponent=exponent
    ).member


# --- the campaign's assignment ---------------------------------------------------------------


@dataclass(frozen=True)
class Targeting:
    """One downpour campaign evaluated at ``at`` on one database dialect."""

    context: Context
    campaign_id: str
    at: datetime
    dialect: str
    band: Band | None = None  # the resolved band of an audience relative to the critical point
    campaign: Mapping[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "campaign", self.context.downpour(self.campaign_id))
        if not 1900 <= self.at.year <= 2200:
            raise InputError(f"evaluate a campaign at a date between 1900 and 2200, not {self.at}")

    @property
    def clauses(self) -> Clauses:
        today = local_date(self.at, self.context.tz)
        return Clauses(members, self.dialect, today, self.context.tz)

    @property
    def threshold(self) -> int:
        return holdout_threshold(self.campaign.get("holdout_percent", 0))

    def audience(self) -> ColumnElement[bool]:
        """Members of the programme (not merged away) whose state matches the audience."""
        audience = self.campaign.get("audience")
        block = audience_as_member(audience) if audience else None
        tests = member_tests(block, self.context.currency.exponent, f"{self.campaign_id}.audience")
        relative_band = []
        if critical.relative(self.campaign) is not None:
            if self.band is None:
                raise InputError(f"campaign '{self.campaign_id}': resolve the critical point first")
            relative_band = [members.c.balance.between(self.band.low, self.band.high)]
        return and_(
            members.c.programme == self.context.programme,
            members.c.merged_into.is_(None),
            self.clauses.all(tests),
            *relative_band,
        )

    def group_of(self) -> ColumnElement[Any]:
        """The first group (by priority) whose filter the member matches, else NULL."""
        whens = []
        exponent = self.context.currency.exponent
        for group in groups_by_priority(self.campaign):
            tests = member_tests(group.get("filter"), exponent, f"{self.campaign_id}/{group['id']}")
            whens.append((self.clauses.all(tests), literal(group["id"])))
        return case(*whens, else_=null())

    def assignment(self) -> Select[Any]:
        """Every audience member: id, tier, stratum (their group) and group_id (or holdout).

        ``stratum`` and ``group_id`` are NULL for audience members who match no group.
        """
        base = (
            select(
                members.c.id.label("member_id"),
                func.coalesce(members.c.tier, "").label("tier"),
                self.group_of().label("stratum"),
            )
            .where(self.audience())
            .subquery("audience")
        )
        group_id: ColumnElement[Any] = base.c.stratum
        if self.threshold > 0:
            drawn = bucket_sql(self.dialect, self.campaign_id, base.c.member_id) < self.threshold
            group_id = case(
                (base.c.stratum.is_(None), null()), (drawn, literal(HOLDOUT)), else_=base.c.stratum
            )
        return select(base.c.member_id, base.c.tier, base.c.stratum, group_id.label("group_id"))


# --- preview ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """Counts per tier and group (holdout included), a sample, and the frozen state if launched."""

    programme: str
    campaign_id: str
    at: datetime
    groups: list[str]  # in assignment order, then "holdout"
    tiers: list[str]
    counts: dict[tuple[str, str | None], int]  # (tier, group or None for "in no group") → members
    sample: dict[str, list[dict[str, Any]]]
    launched: dict[str, Any] | None = None
    critical_point: dict[str, Any] | None = None  # the band resolved, or the latest point seen
    warnings: list[str] = field(default_factory=list)

    @property
    def audience(self) -> int:
        return sum(self.counts.values())

    def by_group(self) -> dict[str | None, int]:
        totals: dict[str | None, int] = {}
        for (_, group), count in self.counts.items():
            totals[group] = totals.get(group, 0) + count
        return totals

    def as_dict(self) -> dict[str, Any]:
        groups = self.by_group()
        return {
            "programme": self.programme,
            "campaign": self.campaign_id,
            "at": self.at.isoformat(),
            "audience": self.audience,
            "targeted": sum(n for g, n in groups.items() if g is not None),
            "in_no_group": groups.get(None, 0),
            "groups": {g: groups.get(g, 0) for g in self.groups},
            "tiers": [
                {
                    "tier": tier or None,
                    "groups": {g: self.counts.get((tier, g), 0) for g in self.groups},
                    "in_no_group": self.counts.get((tier, None), 0),
                }
                for tier in self.tiers
            ],
            "sample": self.sample,
            "launched": self.launched,
            "critical_point": self.critical_point,
            "warnings": self.warnings,
        }


def preview(
    conn: Connection, context: Context, campaign_id: str, at: datetime, *, sample: int = 5
) -> Preview:
    """What launching now would assign, counted in the database; nothing is written.

    The sample is each group's ``sample`` lowest member ids. PostgreSQL answers counts and
    sample in one statement over a materialised assignment (one scan of the members); SQLite
    materialises slowly, so it counts in one scan and picks the sample from a scan of the
    primary key that stops early (topped up group by group only for rare groups).
    """
    prepare(conn)
    campaign = context.downpour(campaign_id)
    band, point, warnings = _critical(conn, context, campaign, at)
    targeting = Targeting(context, campaign_id, at, dialect_name(conn), band)
    group_ids = [g["id"] for g in groups_by_priority(targeting.campaign)] + [HOLDOUT]
    if is_postgres(conn):
        counts, picked = _in_one_pass(conn, targeting, group_ids, sample)
    else:
        counts = _counts(conn, targeting)
        picked = _first_ids(conn, targeting, counts, sample)
    return Preview(
        context.programme,
        campaign_id,
        at,
        group_ids,
        _tier_order(context, {tier for tier, _ in counts}),
        counts,
        _sample(conn, targeting, picked),
        launched_summary(conn, context.programme, campaign_id),
        band.as_dict() if band else point,
        warnings,
    )


def _critical(
    conn: Connection, context: Context, campaign: Mapping[str, Any], at: datetime
) -> tuple[critical.Band | None, dict[str, Any] | None, list[str]]:
    """The resolved band of a relative audience; or, for a hand-typed balance band, the
    latest detected point and a warning when the band does not end there."""
    if critical.relative(campaign) is not None:
        return critical.resolve(conn, context, campaign, at), None, []
    point, warning = critical.hand_band_warning(conn, context, campaign, at)
    return (
        None,
        None if point is None else {"balance": point, "source": "analysis"},
        ([warning] if warning else []),
    )


Counts = dict[tuple[str, str | None], int]


def _in_one_pass(
    conn: Connection, targeting: Targeting, group_ids: list[str], size: int
) -> tuple[Counts, dict[str, list[str]]]:
    """Rows (tier, group, count, NULL) per tier and group, then (NULL, group, NULL, member)
    for the ``size`` lowest member ids of each group, from one materialised assignment."""
    assigned = targeting.assignment().cte("assigned").prefix_with("MATERIALIZED")
    parts: list[Any] = [
        select(
            assigned.c.tier, assigned.c.group_id, func.count().label("n"), null().label("member")
        ).group_by(assigned.c.tier, assigned.c.group_id)
    ]
    for group in group_ids if size > 0 else []:
        first = (
            select(assigned.c.member_id)
            .where(assigned.c.group_id == group)
            .order_by(assigned.c.member_id)
            .limit(size)
            .subquery()
        )
        parts.append(select(null(), literal(group), null(), first.c.member_id))
    counts: Counts = {}
    picked: dict[str, list[str]] = {}
    for tier, group, n, member in conn.execute(union_all(*parts)):
        if member is None:
            counts[(tier, group)] = n
        else:
            picked.setdefault(group, []).append(member)
    return counts, picked


def _counts(conn: Connection, targeting: Targeting) -> Counts:
    assigned = targeting.assignment().subquery("assigned")
    query = select(assigned.c.tier, assigned.c.group_id, func.count()).group_by(
        assigned.c.tier, assigned.c.group_id
    )
    return {(tier, group): n for tier, group, n in conn.execute(query)}


def _first_ids(
    conn: Connection, targeting: Targeting, counts: Counts, size: int
) -> dict[str, list[str]]:
    """Each group's ``size`` lowest member ids: the audience's first ids, then per group."""
    picked: dict[str, list[str]] = {}
    if size <= 0:
        return picked
    first = targeting.assignment().order_by("member_id").limit(size * SAMPLE_SCAN)
    for row in conn.execute(first):
        if row.group_id is not None and len(picked.setdefault(row.group_id, [])) < size:
            picked[row.group_id].append(row.member_id)
    wanted: dict[str, int] = {}
    for (_, group), n in counts.items():
        if group is not None:
            wanted[group] = wanted.get(group, 0) + n
    for group, n in wanted.items():
        if len(picked.get(group, [])) < min(size, n):
            assigned = targeting.assignment().subquery("assigned")
            query = (
                select(assigned.c.member_id)
                .where(assigned.c.group_id == group)
                .order_by(assigned.c.member_id)
                .limit(size)
            )
            picked[group] = list(conn.execute(query).scalars())
    return picked


def _tier_order(context: Context, seen: set[str]) -> list[str]:
    known = context.tiers()
    return [t for t in known if t in seen] + sorted(seen - set(known))


def _sample(
    conn: Connection, targeting: Targeting, picked: Mapping[str, list[str]]
) -> dict[str, list[dict[str, Any]]]:
    """The picked members' tier, balance, days inactive and tags, lowest ids first."""
    ids = [member for group in picked.values() for member in group]
    if not ids:
        return {}
    query = select(
        members.c.id, members.c.tier, members.c.balance, members.c.tags, members.c.last_purchase_at
    ).where(members.c.programme == targeting.context.programme, members.c.id.in_(ids))
    found = {row.id: row for row in conn.execute(query)}
    return {
        group: [_sample_row(found[m], targeting) for m in sorted(chosen)]
        for group, chosen in sorted(picked.items())
    }


def _sample_row(row: Any, targeting: Targeting) -> dict[str, Any]:
    today = targeting.clauses.today
    bought = row.last_purchase_at
    return {
        "member_id": row.id,
        "tier": row.tier,
        "balance": row.balance,
        "days_inactive": None
        if bought is None
        else (today - local_date(bought, targeting.context.tz)).days,
        "tags": row.tags,
    }


def launched_summary(conn: Connection, programme: str, campaign_id: str) -> dict[str, Any] | None:
    """The frozen assignment's counts and the budget, if the campaign was launched."""
    budget = (
        conn.execute(
            select(campaign_budgets).where(
                campaign_budgets.c.programme == programme,
                campaign_budgets.c.campaign_id == campaign_id,
            )
        )
        .mappings()
        .first()
    )
    if budget is None:
        return None
    counts = conn.execute(
        select(campaign_assignments.c.group_id, func.count())
        .where(
            campaign_assignments.c.programme == programme,
            campaign_assignments.c.campaign_id == campaign_id,
        )
        .group_by(campaign_assignments.c.group_id)
    )
    return {
        "launched_at": budget["launched_at"].isoformat(),
        "assigned": budget["audience_size"],
        "groups": dict(sorted((g, n) for g, n in counts)),
        "budget_points": budget["budget_points"],
        "budget_money": None if budget["budget_money"] is None else str(budget["budget_money"]),
        "spent_points": budget["spent_points"],
        "spent_money": str(budget["spent_money"]),
    }
