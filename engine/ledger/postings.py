"""Writing a quote's consequences: every point movement goes through the journal.

Invariant (checked by ``ledger check``): for every member,
``balance = sum(points_left of lots) - debt = sum(journal points)``.

This is the only module that writes lots and journal rows (``tests/test_rooms.py`` checks it):
sales and returns, adjustments and merges (``new_lot``, ``shift_lot``, ``reassign_lots``),
the expiry jobs (``lapse_lots``), the conversion jobs (``take_points``) and transaction
imports (``earn_imported_lots``) call it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    MetaData,
    RowMapping,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from engine.calendar import local_date, status_valid_until
from engine.errors import ConflictError
from engine.ledger import dialect
from engine.ledger.db import inserted_id
from engine.ledger.offers import use_member_offers
from engine.ledger.state import (
    Needs,
    anchors_of,
    counted_model,
    current_period_start,
    metric_row_start,
    period_starts,
)
from engine.ledger.tables import (
    Moment,
    journal,
    lots,
    member_metrics,
    member_stays,
    members,
    offer_uses,
    period_points,
    sale_attributions,
    sale_metrics,
    tier_history,
    transactions,
)
from engine.ledger.vouchers import use_vouchers
from engine.pricing import Evaluator, Quote
from engine.pricing.model import Transaction
from engine.pricing.result import remainder_units
from engine.tiering.model import TierModel
from engine.tiering.quantities import counted_stays
from engine.tiering.status import valid_until as tier_valid_until


def post_quote(
    conn: Connection,
    evaluator: Evaluator,
    row: RowMapping,
    quote: Quote,
    at: datetime,
    transaction: Transaction | None = None,
) -> int:
    """Write a committed sale; returns the member's balance afterwards."""
    programme, member_id = row["programme"], row["id"]
    balance, debt = row["balance"], row["debt"]
    for lot_id, taken in quote.redeemed_lots:
        burn_lot(conn, programme, member_id, int(lot_id), taken, quote.transaction_id, at)
        balance -= taken
    if quote.earned.total:
        debt, balance = earn(conn, row, quote.earned.total, debt, balance, quote, at)
        if Needs.of(evaluator.model).period_points:
            add_period_points(conn, evaluator, programme, member_id, quote.earned.total, at)
    for applied in quote.applied:
        bonus = quote.earned.rule_bonus.get(
            applied.offer.source, 0
        ) + quote.earned.campaign_bonus.get(applied.offer.source, 0)
        conn.execute(
            OFFER_USE_INSERT,
            {
                "programme": programme,
                "member_id": member_id,
                "offer_id": applied.offer.id,
                "transaction_id": quote.transaction_id,
                "points": bonus,
                "at": at,
                "reverted": False,
            },
        )
    use_member_offers(conn, programme, member_id, quote, at)
    use_vouchers(conn, programme, member_id, quote, at)
    conn.execute(
        ATTRIBUTION_INSERT,
        {
            "programme": programme,
            "sale_id": quote.transaction_id,
            "member_id": member_id,
            "attribution": evaluator.attribution(quote),
        },
    )
    today = local_date(at, evaluator.tz)
    model = counted_model(evaluator.model)
    if model is not None and quote.tier.added_by_line:
        start = metric_row_start(model, row, today)
        record_sale_metrics(conn, programme, quote.transaction_id, start, quote.tier.added_by_line)
        add_metric_totals(conn, programme, member_id, start, quote.tier.added)
    if model is not None and transaction is not None:
        start = metric_row_start(model, row, today)
        record_stays(conn, row, quote.transaction_id, start, model, transaction)
    values: dict[str, Any] = {
        "balance": balance,
        "debt": debt,
        "qualifying_spend": quote.tier.qualifying_after,
        "period_start": current_period_start(evaluator.model, row, today),
        "last_purchase_at": at,
        "last_activity_at": at,
        "updated_at": at,
    }
    if quote.earned.remainder is not None:  # earn.remainders: carry
        values["points_remainder"] = remainder_units(quote.earned.remainder)
    if quote.tier.upgraded:
        values |= change_tier(
            conn,
            evaluator,
            row,
            quote.tier.tier_after,
            today,
            at,
            "upgrade: the tier requirement is met"
            if model is not None
            else "upgrade: qualifying spend crossed the threshold",
        )
    conn.execute(MEMBER_UPDATE, {**values, "b_programme": programme, "b_member": member_id})
    return balance


# Built once, bound per call: rebuilding a statement and its cache key costs more CPU than
# the database spends running it (issue 15). The SET of an UPDATE follows the keys passed.
JOURNAL_INSERT = insert(journal)  # the hottest statement of every posting
ATTRIBUTION_INSERT = insert(sale_attributions)  # once per sale: what its returns reverse
OFFER_USE_INSERT = insert(offer_uses)
LOT_INSERT = insert(lots)
TIER_INSERT = insert(tier_history)
TRANSACTION_INSERT = insert(transactions)
MEMBER_UPDATE = update(members).where(
    members.c.programme == bindparam("b_programme"), members.c.id == bindparam("b_member")
)
LOT_BURN = (
    update(lots)
    .where(
        lots.c.id == bindparam("b_lot"),
        lots.c.member_id == bindparam("b_member"),
        lots.c.points_left >= bindparam("b_points"),
    )
    .values(points_left=lots.c.points_left - bindparam("b_points"))
)
STORED_TRANSACTION = select(transactions).where(
    transactions.c.programme == bindparam("p"), transactions.c.id == bindparam("key")
)


def journal_entry(
    conn: Connection,
    programme: str,
    member_id: str,
    kind: str,
    points: int,
    transaction_id: str | None,
    at: datetime,
    *,
    lot_id: int | None = None,
    reason: str | None = None,
    actor: str | None = None,
) -> None:
    """Append one movement to the journal (the only way points move)."""
    conn.execute(
        JOURNAL_INSERT,
        {
            "programme": programme,
            "member_id": member_id,
            "kind": kind,
            "points": points,
            "lot_id": lot_id,
            "transaction_id": transaction_id,
            "at": at,
            "reason": reason,
            "actor": actor,
        },
    )


def burn_lot(
    conn: Connection,
    programme: str,
    member_id: str,
    lot_id: int,
    points: int,
    transaction_id: str,
    at: datetime,
) -> None:
    """Take points from a lot; refuse if another writer took them first."""
    done = conn.execute(LOT_BURN, {"b_lot": lot_id, "b_member": member_id, "b_points": points})
    if done.rowcount != 1:
        raise ConflictError(
            "the points were spent by another transaction at the same moment; retry"
        )
    journal_entry(conn, programme, member_id, "burn", -points, transaction_id, at, lot_id=lot_id)


def earn(
    conn: Connection,
    row: RowMapping,
    points: int,
    debt: int,
    balance: int,
    quote: Quote,
    at: datetime,
) -> tuple[int, int]:
    """New points pay off any debt first; the rest becomes a lot with its own expiry."""
    repaid = min(debt, points)
    lot_id = None
    if points - repaid:
        lot_id = inserted_id(
            conn.execute(
                LOT_INSERT,
                {
                    "programme": row["programme"],
                    "member_id": row["id"],
                    "points": points - repaid,
                    "points_left": points - repaid,
                    "earned_at": at,
                    "expires_at": quote.expires_at,
                    "pending_until": quote.pending_until,
                    "transaction_id": quote.transaction_id,
                },
            )
        )
    reason = f"repaid debt {repaid}" if repaid else None
    journal_entry(
        conn,
        row["programme"],
        row["id"],
        "earn",
        points,
        quote.transaction_id,
        at,
        lot_id=lot_id,
        reason=reason,
    )
    return debt - repaid, balance + points


def new_lot(
    conn: Connection,
    programme: str,
    member_id: str,
    points: int,
    transaction_id: str,
    earned_at: datetime,
    expires_at: datetime | None,
) -> int:
    """A new lot of ``points`` (its journal row is the caller's, which knows the kind)."""
    return inserted_id(
        conn.execute(
            insert(lots).values(
                programme=programme,
                member_id=member_id,
                points=points,
                points_left=points,
                earned_at=earned_at,
                expires_at=expires_at,
                transaction_id=transaction_id,
            )
        )
    )


def shift_lot(
    conn: Connection,
    programme: str,
    member_id: str,
    lot_id: int,
    points: int,
    kind: str,
    transaction_id: str,
    at: datetime,
    *,
    reason: str | None = None,
    actor: str | None = None,
) -> None:
    """Add ``points`` to a lot's points left (negative: take them), with its journal row."""
    conn.execute(
        update(lots).where(lots.c.id == lot_id).values(points_left=lots.c.points_left + points)
    )
    journal_entry(
        conn,
        programme,
        member_id,
        kind,
        points,
        transaction_id,
        at,
        lot_id=lot_id,
        reason=reason,
        actor=actor,
    )


def reassign_lots(conn: Connection, programme: str, source: str, target: str) -> None:
    """Move the source member's open lots to the target member (a merge; the journal rows
    are the caller's: one per member for the net balance)."""
    conn.execute(
        update(lots)
        .where(lots.c.programme == programme, lots.c.member_id == source, lots.c.points_left > 0)
        .values(member_id=target)
    )


def add_period_points(
    conn: Connection,
    evaluator: Evaluator,
    programme: str,
    member_id: str,
    points: int,
    at: datetime,
) -> None:
    """Count points earned per day/week/month/year (and membership year, when the cap is per
    membership year) for per-period caps (an upsert)."""
    today = local_date(at, evaluator.tz)
    model = evaluator.model
    joined = None
    if model.earn.cap_period == "membership_year":
        joined = conn.execute(
            select(members.c.joined).where(
                members.c.programme == programme, members.c.id == member_id
            )
        ).scalar_one()
    rows = [
        {"programme": programme, "member_id": member_id, "period": p, "starts": s, "points": points}
        for p, s in period_starts(today, model, joined).items()
    ]
    conn.execute(PERIOD_POINTS_UPSERT[dialect.name(conn)], rows)


def _period_points_upsert(backend: Any) -> Any:
    upsert = backend.insert(period_points)
    return upsert.on_conflict_do_update(
        index_elements=["programme", "member_id", "period", "starts"],
        set_={"points": period_points.c.points + upsert.excluded.points},
    )


PERIOD_POINTS_UPSERT = {  # built once: a sale's upsert is compiled from the cache
    dialect.POSTGRESQL: _period_points_upsert(postgresql),
    dialect.SQLITE: _period_points_upsert(sqlite),
}


def record_stays(
    conn: Connection,
    row: RowMapping,
    sale_id: str,
    start: date,
    model: TierModel,
    transaction: Transaction,
) -> None:
    """Keep the stays the sale counted, for the next quote's ``Member.stays``."""
    stays = counted_stays(model, transaction.tier_view())
    if stays:
        conn.execute(
            insert(member_stays),
            [
                {
                    "programme": row["programme"],
                    "sale_id": sale_id,
                    "property": stay.property,
                    "first": stay.first,
                    "member_id": row["id"],
                    "window_start": start,
                    "nights": stay.nights,
                }
                for stay in stays
            ],
        )


def add_metric_totals(
    conn: Connection,
    programme: str,
    member_id: str,
    window_start: date,
    amounts: Mapping[str, Decimal],
) -> None:
    """Add each metric's amount to the member's window total (an upsert; a return passes
    negated amounts). Zero amounts write nothing."""
    rows = [
        {
            "programme": programme,
            "member_id": member_id,
            "window_start": window_start,
            "metric": metric,
            "total": amount,
        }
        for metric, amount in amounts.items()
        if amount
    ]
    if rows:
        conn.execute(METRIC_TOTALS_UPSERT[dialect.name(conn)], rows)


def record_sale_metrics(
    conn: Connection,
    programme: str,
    sale_id: str,
    window_start: date,
    by_line: Mapping[str, Mapping[str, Decimal]],
) -> None:
    """What the sale added per line and metric, and to which window: its returns' share."""
    conn.execute(
        insert(sale_metrics),
        [
            {
                "programme": programme,
                "sale_id": sale_id,
                "line_id": line_id,
                "metric": metric,
                "window_start": window_start,
                "amount": amount,
            }
            for line_id, amounts in by_line.items()
            for metric, amount in amounts.items()
        ],
    )


def reverse_sale_metrics(
    conn: Connection,
    sale: RowMapping,
    counts: Mapping[str, int],
    left: Mapping[str, int],
    sold: Mapping[str, int],
) -> None:
    """Take back what the returned units added, from the window the sale counted in: each
    line's share by units (cumulative, so the last return takes the exact remainder); the
    whole-sale part (stays, per-sale quantities) with the last unit of the sale."""
    rows = conn.execute(
        select(sale_metrics).where(
            sale_metrics.c.programme == sale["programme"], sale_metrics.c.sale_id == sale["id"]
        )
    ).mappings()
    complete = all(left[k] - counts.get(k, 0) == 0 for k in sold)
    back: dict[date, dict[str, Decimal]] = {}
    for row in rows:
        line = row["line_id"]
        if line not in sold:
            share = row["amount"] if complete else Decimal(0)
        else:
            done, now = sold[line] - left[line], sold[line] - left[line] + counts.get(line, 0)
            share = _part(row["amount"], now, sold[line]) - _part(row["amount"], done, sold[line])
        totals = back.setdefault(row["window_start"], {})
        totals[row["metric"]] = totals.get(row["metric"], Decimal(0)) - share
    for start, amounts in back.items():
        add_metric_totals(conn, sale["programme"], sale["member_id"], start, amounts)
    if complete:  # the sale's stays no longer count, nor join a later folio
        conn.execute(
            delete(member_stays).where(
                member_stays.c.programme == sale["programme"], member_stays.c.sale_id == sale["id"]
            )
        )


def _part(amount: Decimal, units: int, of: int) -> Decimal:
    # Four places, as stored; ``units == of`` gives the amount exactly.
    return amount if units == of else (amount * units / of).quantize(Decimal("0.0001"))


def _metric_totals_upsert(backend: Any) -> Any:
    upsert = backend.insert(member_metrics)
    return upsert.on_conflict_do_update(
        index_elements=["programme", "member_id", "window_start", "metric"],
        set_={"total": member_metrics.c.total + upsert.excluded.total},
    )


METRIC_TOTALS_UPSERT = {
    dialect.POSTGRESQL: _metric_totals_upsert(postgresql),
    dialect.SQLITE: _metric_totals_upsert(sqlite),
}


def change_tier(
    conn: Connection,
    evaluator: Evaluator,
    row: RowMapping,
    tier: str | None,
    today: date,
    at: datetime,
    reason: str,
) -> dict[str, Any]:
    tiers = evaluator.model.tiers
    rule, period, through = tiers.status_lasts, tiers.period, tiers.status_through
    model = counted_model(evaluator.model)
    valid_until = None
    if tier and model is not None:  # §24 validity: fixed date, months from upgrade ...
        valid_until = tier_valid_until(model, today, anchors_of(row))
    elif tier:
        valid_until = status_valid_until(today, rule, period, joined=row["joined"], through=through)
    conn.execute(
        TIER_INSERT,
        {
            "programme": row["programme"],
            "member_id": row["id"],
            "tier": tier,
            "since": today,
            "valid_until": valid_until,
            "reason": reason,
            "at": at,
        },
    )
    return {"tier": tier, "tier_since": today, "tier_valid_until": valid_until}


@dataclass(frozen=True)
class Record:
    """One stored request and its answer (what a retry replays)."""

    programme: str
    key: str
    kind: str
    member_id: str | None
    digest: str
    request: Any
    response: Mapping[str, Any]
    at: datetime
    version: str | None = None
    original_id: str | None = None
    status: int = 201
    points_earned: int = 0
    points_redeemed: int = 0
    points_settled: int = 0
    qualifying: Decimal = Decimal(0)


def record_transaction(conn: Connection, record: Record, now: datetime) -> None:
    values = {field.name: getattr(record, field.name) for field in fields(record)}
    values["id"] = values.pop("key")
    values["request_hash"] = values.pop("digest")
    values["response"] = dict(record.response)
    conn.execute(TRANSACTION_INSERT, {**values, "created_at": now})


def stored_transaction(conn: Connection, programme: str, key: str) -> RowMapping | None:
    return conn.execute(STORED_TRANSACTION, {"p": programme, "key": key}).mappings().first()


def lapse_lots(
    conn: Connection,
    programme: str,
    due: ColumnElement[bool],
    at: ColumnElement[Any],
    reason: str,
    now: datetime,
) -> tuple[int, int, int]:
    """Empty the lots ``due`` selects, set-based: journal first, then balances, then the lots.

    Each lot gets an ``expire`` journal row dated ``at`` (an expression over ``lots``) with
    ``reason``. Returns (lots emptied, points lapsed, distinct members) of this statement.
    """
    count, points, owners = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(lots.c.points_left), 0),
            func.count(func.distinct(lots.c.member_id)),
        ).where(due)
    ).one()
    if not count:
        return 0, 0, 0
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
    return count, int(points), owners


# Lots and ``earn`` journal rows of an import, set-based from its staging table (``{stage}``:
# one row a purchase, with ``lot_id`` taken already on SQLite, whose writer holds the lock).
INSERT_LOTS = """INSERT INTO lots (id, programme, member_id, points, points_left, earned_at,
        expires_at, pending_until, transaction_id)
    SELECT lot_id, ?, member_id, points, points, at, expires_at, pending_until, id
    FROM {stage} WHERE lot_id IS NOT NULL"""
INSERT_JOURNAL = """INSERT INTO journal (programme, member_id, kind, points, lot_id,
        transaction_id, at, reason, actor)
    SELECT ?, member_id, 'earn', points, lot_id, id, at, 'imported', 'import'
    FROM {stage} WHERE lot_id IS NOT NULL"""
# PostgreSQL: the lots take their ids from the sequence and hand them to the journal.
INSERT_LOTS_AND_JOURNAL = """WITH new_lots AS (
    INSERT INTO lots (programme, member_id, points, points_left, earned_at, expires_at,
        pending_until, transaction_id)
    SELECT ?, member_id, points, points, at, expires_at, pending_until, id
    FROM {stage} WHERE points > 0
    RETURNING id, member_id, points, transaction_id, earned_at)
INSERT INTO journal (programme, member_id, kind, points, lot_id, transaction_id, at, reason,
    actor)
SELECT ?, member_id, 'earn', points, id, transaction_id, earned_at, 'imported', 'import'
FROM new_lots"""


def earn_imported_lots(conn: Connection, stage: str, programme: str) -> None:
    """Write the lots and their ``earn`` journal rows for the imported purchases staged in the
    table ``stage`` (see ``engine.ledger.importer.transactions``), in one or two statements."""
    if dialect.is_postgres(conn):
        statement = INSERT_LOTS_AND_JOURNAL.format(stage=stage).replace("?", "%s")
        conn.exec_driver_sql(statement, (programme, programme))
        return
    conn.exec_driver_sql(INSERT_LOTS.format(stage=stage), (programme,))
    conn.exec_driver_sql(INSERT_JOURNAL.format(stage=stage), (programme,))


# Points a batch job takes from members (a conversion to vouchers): one row a member, then
# one row a lot taken from, computed set-based in spending order (soonest expiry first).
_work = MetaData()
WANTS = Table(
    "take_wants",
    _work,
    Column("member_id", String(128), primary_key=True),
    Column("points", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
)
TAKES = Table(
    "take_lots",
    _work,
    Column("lot_id", BigInteger, primary_key=True),
    Column("member_id", String(128), nullable=False),
    Column("take", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
)


def take_points(
    conn: Connection,
    programme: str,
    wants: Mapping[str, int],
    at: datetime,
    kind: str,
    reason: str,
    now: datetime,
) -> int:
    """Take ``wants[member]`` points from each member's spendable lots at ``at`` in spending
    order (soonest expiry first, never-expiring last, then oldest), set-based: a temporary
    table of the wants, one ``INSERT … SELECT`` with a running sum picks the lots, then the
    journal (``kind`` rows, one a lot), the balances and the lots follow from it.

    The caller has locked the members and checked each has the points. Returns the points
    taken in all."""
    for table in (WANTS, TAKES):
        table.create(conn, checkfirst=True)
        conn.execute(table.delete())
    if not wants:
        return 0
    conn.execute(insert(WANTS), [{"member_id": m, "points": p} for m, p in wants.items()])
    spending = (lots.c.expires_at.is_(None), lots.c.expires_at, lots.c.earned_at, lots.c.id)
    running = func.sum(lots.c.points_left).over(
        partition_by=lots.c.member_id, order_by=spending, rows=(None, 0)
    )
    ordered = (
        select(
            lots.c.id,
            lots.c.member_id,
            lots.c.points_left,
            (running - lots.c.points_left).label("before"),
            WANTS.c.points.label("want"),
        )
        .join(WANTS, WANTS.c.member_id == lots.c.member_id)
        .where(
            lots.c.programme == programme,
            lots.c.points_left > 0,
            or_(lots.c.expires_at.is_(None), lots.c.expires_at >= at),
            or_(lots.c.pending_until.is_(None), lots.c.pending_until <= at),
        )
        .subquery()
    )
    rest = ordered.c.want - ordered.c.before
    take = case((ordered.c.points_left < rest, ordered.c.points_left), else_=rest)
    conn.execute(
        insert(TAKES).from_select(
            ["lot_id", "member_id", "take"],
            select(ordered.c.id, ordered.c.member_id, take).where(
                ordered.c.before < ordered.c.want
            ),
        )
    )
    columns = ["programme", "member_id", "kind", "points", "lot_id", "at", "reason"]
    rows = select(
        literal(programme, String),
        TAKES.c.member_id,
        literal(kind, String),
        -TAKES.c.take,
        TAKES.c.lot_id,
        literal(at, Moment()),
        literal(reason, String),
    )
    conn.execute(insert(journal).from_select(columns, rows))
    per_member = (
        select(TAKES.c.member_id, func.sum(TAKES.c.take).label("points"))
        .group_by(TAKES.c.member_id)
        .subquery()
    )
    conn.execute(
        update(members)
        .where(members.c.programme == programme, members.c.id == per_member.c.member_id)
        .values(balance=members.c.balance - per_member.c.points, updated_at=now)
    )
    conn.execute(
        update(lots)
        .where(lots.c.id == TAKES.c.lot_id)
        .values(points_left=lots.c.points_left - TAKES.c.take)
    )
    return int(conn.execute(select(func.coalesce(func.sum(TAKES.c.take), 0))).scalar_one())


GRANTS = Table(
    "grant_points",
    _work,
    Column("member_id", String(128), primary_key=True),
    Column("points", BigInteger, nullable=False),
    Column("transaction_id", String(128), nullable=False),  # the grant's identity per member
    prefixes=["TEMPORARY"],
)


def grant_points(
    conn: Connection,
    programme: str,
    grants: Sequence[tuple[str, int, str]],
    at: datetime,
    expires_at: datetime | None,
    kind: str,
    reason: str,
    now: datetime,
) -> int:
    """Give each ``(member, points, transaction_id)`` a new lot and its journal row,
    set-based: the lots from a temporary table, the journal rows by joining the lots back on
    their transaction id (unique per member and grant), then the balances. New points do not
    repay debt here (a bonus, unlike a purchase, is not a payment). Returns the points given."""
    GRANTS.create(conn, checkfirst=True)
    conn.execute(GRANTS.delete())
    if not grants:
        return 0
    conn.execute(
        insert(GRANTS), [{"member_id": m, "points": p, "transaction_id": t} for m, p, t in grants]
    )
    conn.execute(
        insert(lots).from_select(
            [
                "programme",
                "member_id",
                "points",
                "points_left",
                "earned_at",
                "expires_at",
                "transaction_id",
            ],
            select(
                literal(programme, String),
                GRANTS.c.member_id,
                GRANTS.c.points,
                GRANTS.c.points,
                literal(at, Moment()),
                literal(expires_at, Moment()),
                GRANTS.c.transaction_id,
            ),
        )
    )
    new = (
        select(
            literal(programme, String),
            lots.c.member_id,
            literal(kind, String),
            lots.c.points,
            lots.c.id,
            lots.c.transaction_id,
            literal(at, Moment()),
            literal(reason, String),
        )
        .join(
            GRANTS,
            (GRANTS.c.member_id == lots.c.member_id)
            & (GRANTS.c.transaction_id == lots.c.transaction_id),
        )
        .where(lots.c.programme == programme)
    )
    columns = [
        "programme",
        "member_id",
        "kind",
        "points",
        "lot_id",
        "transaction_id",
        "at",
        "reason",
    ]
    conn.execute(insert(journal).from_select(columns, new))
    conn.execute(
        update(members)
        .where(members.c.programme == programme, members.c.id == GRANTS.c.member_id)
        .values(balance=members.c.balance + GRANTS.c.points, updated_at=now)
    )
    return int(conn.execute(select(func.coalesce(func.sum(GRANTS.c.points), 0))).scalar_one())
