"""Scheduled issuing jobs: points converted to vouchers, the anniversary bonus, the yearly
reward certificate (the programme's ``vouchers:`` section, rules/README.md, "Vouchers").

Each job works through member batches (``member_batches``: one transaction per batch, the
members locked first) and is idempotent per period: every voucher carries its period's batch
key (``conversion:<id>:2027-Q1``, ``certificate:<id>:2027-03-05``), unique with the member,
and the anniversary bonus's lot and journal rows carry ``anniversary:<member>:<date>`` as their
transaction id. A job killed half-way, run again, does the rest; run twice, changes nothing.

Per batch the reads and writes are set-based SQL; the only Python per member is date
arithmetic (each member's renewal) and drawing voucher codes (``secrets``). Points leave and
arrive through ``engine.ledger.postings`` (``take_points``, ``grant_points``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    true,
)

from engine.calendar import end_of_day, expiry_on, local_date, start_of_day
from engine.errors import InputError
from engine.ledger.jobs.batches import (
    BATCH,
    Condition,
    Progress,
    aware,
    lock_members,
    member_batches,
    silent,
)
from engine.ledger.postings import grant_points, take_points
from engine.ledger.tables import Moment, journal, lots, members, transactions, vouchers
from engine.ledger.vouchers import Issue, issue_many
from engine.policy.model import Certificate, Conversion, VoucherTerms
from engine.pricing import Evaluator


@dataclass(frozen=True)
class Issued:
    """What an issuing job did over its whole run."""

    members: int = 0  # members who got something
    points: int = 0  # points converted (taken) or granted
    value: Decimal = Decimal(0)  # money value of the vouchers issued

    def __add__(self, other: Issued) -> Issued:
        return Issued(
            self.members + other.members, self.points + other.points, self.value + other.value
        )


def period_label(every: str, day: date) -> str:
    """The period of ``every`` holding ``day``: ``2027-03``, ``2027-Q1`` or ``2027``."""
    if every == "month":
        return f"{day.year}-{day.month:02d}"
    if every == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def expiry_of(terms: VoucherTerms, issued: date, tz: Any) -> datetime | None:
    """The last instant of the local day ``expires_in_days`` after issue (None: no end)."""
    if terms.expires_in_days is None:
        return None
    return end_of_day(issued + timedelta(days=terms.expires_in_days), tz)


# --- conversion ----------------------------------------------------------------------------


def convert_points(
    engine: Engine,
    evaluator: Evaluator,
    conversion_id: str,
    as_of: datetime,
    *,
    batch_size: int = BATCH,
    progress: Progress = silent,
    now: datetime | None = None,
) -> Issued:
    """Convert, for the last period of the schedule that ended by ``as_of``, each member's
    spendable points (less any debt) into one voucher: every ``step`` points are worth
    ``worth``; members below ``minimum`` convert nothing; the remainder stays as points."""
    aware("as_of", as_of)
    conversion = _conversion(evaluator, conversion_id)
    now = now or datetime.now(UTC)
    programme, tz = evaluator.programme.id, evaluator.tz
    today = local_date(as_of, tz)
    batch = f"conversion:{conversion.id}:{period_label(conversion.every, today - timedelta(1))}"
    terms = Issue(
        Decimal(0),
        f"conversion:{conversion.id}",
        batch,
        expiry_of(conversion.terms, today, tz),
        conversion.terms.channels,
    )
    total = Issued()

    def work(conn: Connection, bounds: Condition) -> None:
        nonlocal total
        ids = select(members.c.id).where(members.c.programme == programme, bounds)
        lock_members(conn, programme, ids)
        wants = _convertible(conn, programme, ids, batch, conversion, as_of)
        values = {m: conversion.worth * (p // conversion.step) for m, p in wants.items()}
        issued = issue_many(conn, programme, terms, values, wants, as_of)
        wants = {m: p for m, p in wants.items() if m in issued}
        reason = f"converted to a voucher ({batch})"
        taken = take_points(conn, programme, wants, as_of, "convert", reason, now)
        total += Issued(len(wants), taken, sum((values[m] for m in wants), Decimal(0)))

    scope = and_(
        members.c.programme == programme,
        members.c.merged_into.is_(None),
        members.c.balance >= conversion.minimum,
    )
    member_batches(engine, scope, batch_size, work, progress)
    return total


def _conversion(evaluator: Evaluator, conversion_id: str) -> Conversion:
    found = evaluator.model.vouchers.conversion(conversion_id)
    if found is None:
        known = ", ".join(c.id for c in evaluator.model.vouchers.conversions) or "none"
        raise InputError(
            f"'{conversion_id}' is not a conversion of {evaluator.programme.id} (known: {known})"
        )
    return found


def _convertible(
    conn: Connection,
    programme: str,
    ids: Any,
    batch: str,
    conversion: Conversion,
    at: datetime,
) -> dict[str, int]:
    """Per member of ``ids`` without this period's voucher: the whole steps of points
    spendable at ``at`` (less debt), if at least ``minimum`` are spendable."""
    spendable = (
        select(lots.c.member_id, func.sum(lots.c.points_left).label("points"))
        .where(
            lots.c.programme == programme,
            lots.c.member_id.in_(ids),
            lots.c.points_left > 0,
            or_(lots.c.expires_at.is_(None), lots.c.expires_at >= at),
            or_(lots.c.pending_until.is_(None), lots.c.pending_until <= at),
        )
        .group_by(lots.c.member_id)
        .subquery()
    )
    done = exists().where(
        vouchers.c.programme == programme,
        vouchers.c.batch == batch,
        vouchers.c.member_id == spendable.c.member_id,
    )
    available = spendable.c.points - members.c.debt
    rows = conn.execute(
        select(spendable.c.member_id, available)
        .join(
            members,
            and_(members.c.programme == programme, members.c.id == spendable.c.member_id),
        )
        .where(available >= conversion.minimum, ~done)
    ).all()
    step = conversion.step
    return {member: int(points) // step * step for member, points in rows if points >= step}


# --- renewals: the anniversary bonus and the reward certificate ------------------------------


def last_renewal(joined: date, today: date) -> date | None:
    """The latest anniversary of ``joined`` on or before ``today`` (29 February: the 28th in
    other years); None in the first membership year."""
    for year in (today.year, today.year - 1):
        try:
            renewal = joined.replace(year=year)
        except ValueError:
            renewal = date(year, 2, 28)
        if joined < renewal <= today:
            return renewal
    return None


def _renewals(
    conn: Connection, programme: str, ids: Any, today: date, delay: int
) -> dict[str, date]:
    """Members of ``ids`` whose last renewal (``delay`` days later) has come by ``today``."""
    rows = conn.execute(select(members.c.id, members.c.joined).where(members.c.id.in_(ids)))
    due = {}
    for member, joined in rows:
        renewal = last_renewal(joined, today - timedelta(days=delay))
        if renewal is not None:
            due[member] = renewal
    return due


# Each member's membership year in a batch (one row a member): what the year's sums join on.
WINDOWS = Table(
    "renewal_windows",
    MetaData(),
    Column("member_id", String(128), primary_key=True),
    Column("starts", Moment(), nullable=False),
    Column("ends", Moment(), nullable=False),
    prefixes=["TEMPORARY"],
)


def _year_sums(
    conn: Connection,
    programme: str,
    renewals: Mapping[str, date],
    tz: Any,
    amount: Any,
    table: Any,
    extra: Condition,
) -> dict[str, Any]:
    """Per member, ``sum(amount)`` of ``table``'s rows in the membership year that ended at
    their renewal: one statement for the batch, the windows from a temporary table."""
    if not renewals:
        return {}
    WINDOWS.create(conn, checkfirst=True)
    conn.execute(WINDOWS.delete())
    conn.execute(
        insert(WINDOWS),
        [
            {
                "member_id": m,
                "starts": start_of_day(_year_before(r), tz),
                "ends": start_of_day(r, tz),
            }
            for m, r in renewals.items()
        ],
    )
    windows = WINDOWS
    rows = conn.execute(
        select(windows.c.member_id, func.coalesce(func.sum(amount), 0))
        .select_from(windows)
        .join(
            table,
            and_(
                table.c.programme == programme,
                table.c.member_id == windows.c.member_id,
                table.c.at >= windows.c.starts,
                table.c.at < windows.c.ends,
                extra,
            ),
        )
        .group_by(windows.c.member_id)
    ).all()
    return {member: total for member, total in rows}


def _year_before(renewal: date) -> date:
    try:
        return renewal.replace(year=renewal.year - 1)
    except ValueError:
        return date(renewal.year - 1, 2, 28)


def reward_certificates(
    engine: Engine,
    evaluator: Evaluator,
    as_of: datetime,
    *,
    batch_size: int = BATCH,
    progress: Progress = silent,
    now: datetime | None = None,
) -> Issued:
    """Issue each member whose renewal (plus ``days_after_renewal``) has come its certificate
    for the membership year that ended: ``percent`` of that year's qualifying spend (sales
    less returns), rounded down to the currency's unit, at most ``cap``; none below
    ``minimum``. Once per member and renewal."""
    aware("as_of", as_of)
    certificate = evaluator.model.vouchers.certificate
    if certificate is None:
        raise InputError(f"{evaluator.programme.id} declares no vouchers.certificate")
    programme, tz = evaluator.programme.id, evaluator.tz
    today = local_date(as_of, tz)
    quantum = evaluator.currency.quantum
    total = Issued()

    def work(conn: Connection, bounds: Condition) -> None:
        nonlocal total
        ids = select(members.c.id).where(members.c.programme == programme, bounds)
        lock_members(conn, programme, ids)
        due = _renewals(conn, programme, ids, today, certificate.days_after_renewal)
        spend = _year_sums(
            conn, programme, due, tz, transactions.c.qualifying, transactions, true()
        )
        made = Issued()
        by_renewal: dict[date, dict[str, Decimal]] = {}
        for member, renewal in due.items():
            value = _certificate_value(certificate, Decimal(spend.get(member, 0)), quantum)
            if value is not None:
                by_renewal.setdefault(renewal, {})[member] = value
        for renewal, worth in by_renewal.items():
            terms = Issue(
                Decimal(0),
                f"certificate:{certificate.id}",
                f"certificate:{certificate.id}:{renewal.isoformat()}",
                expiry_of(certificate.terms, today, tz),
                certificate.terms.channels,
            )
            issued = issue_many(conn, programme, terms, worth, {}, as_of)
            made += Issued(len(issued), 0, sum((worth[m] for m in issued), Decimal(0)))
        total += made

    scope = and_(members.c.programme == programme, members.c.merged_into.is_(None))
    member_batches(engine, scope, batch_size, work, progress)
    return total


def _certificate_value(
    certificate: Certificate, spend: Decimal, quantum: Decimal
) -> Decimal | None:
    value = (spend * certificate.percent / 100).quantize(quantum, rounding=ROUND_DOWN)
    if certificate.cap is not None:
        value = min(value, certificate.cap)
    return value if value >= certificate.minimum and value > 0 else None


def anniversary_bonus(
    engine: Engine,
    evaluator: Evaluator,
    as_of: datetime,
    *,
    batch_size: int = BATCH,
    progress: Progress = silent,
    now: datetime | None = None,
) -> Issued:
    """Give each member whose renewal has come bonus points: ``percent`` of the points they
    earned in the membership year that ended (``earn`` journal rows; returns' clawbacks
    taken off), rounded down, at most ``cap``. Once per member and renewal: the bonus's lot
    and journal row carry ``anniversary:<member>:<renewal date>``."""
    aware("as_of", as_of)
    policy = evaluator.model.vouchers
    if policy.anniversary_percent is None:
        raise InputError(f"{evaluator.programme.id} declares no vouchers.anniversary_bonus")
    percent, cap = policy.anniversary_percent, policy.anniversary_cap
    now = now or datetime.now(UTC)
    programme, tz = evaluator.programme.id, evaluator.tz
    today = local_date(as_of, tz)
    # the bonus lot expires as points earned today do
    expires = expiry_on(today, policy=evaluator.model.expiry.section, tz=tz)
    total = Issued()

    def work(conn: Connection, bounds: Condition) -> None:
        nonlocal total
        ids = select(members.c.id).where(members.c.programme == programme, bounds)
        lock_members(conn, programme, ids)
        due = _renewals(conn, programme, ids, today, 0)
        keys = {m: f"anniversary:{m}:{r.isoformat()}" for m, r in due.items()}
        given = set(
            conn.execute(
                select(journal.c.member_id).where(
                    journal.c.programme == programme,
                    journal.c.transaction_id.in_(list(keys.values())),
                )
            ).scalars()
        )
        due = {m: r for m, r in due.items() if m not in given}
        kinds = journal.c.kind.in_(("earn", "clawback"))
        earned = _year_sums(conn, programme, due, tz, journal.c.points, journal, kinds)
        grants = []
        for member in due:
            bonus = int(Decimal(int(earned.get(member, 0))) * percent / 100)
            bonus = min(bonus, cap) if cap is not None else bonus
            if bonus > 0:
                grants.append((member, bonus, keys[member]))
        reason = f"anniversary bonus: {percent}% of the year's points"
        points = grant_points(conn, programme, grants, as_of, expires, "bonus", reason, now)
        total += Issued(len(grants), points, Decimal(0))

    scope = and_(members.c.programme == programme, members.c.merged_into.is_(None))
    member_batches(engine, scope, batch_size, work, progress)
    return total
