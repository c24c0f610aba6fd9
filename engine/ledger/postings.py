"""Writing a quote's consequences: every point movement goes through the journal.

Invariant (checked by ``ledger check``): for every member,
``balance = sum(points_left of lots) - debt = sum(journal points)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, CursorResult, RowMapping, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from engine.calendar import local_date, status_valid_until
from engine.errors import ConflictError
from engine.ledger.offers import use_member_offers
from engine.ledger.state import Needs, current_period_start, period_starts
from engine.ledger.tables import (
    journal,
    lots,
    members,
    offer_uses,
    period_points,
    sale_attributions,
    tier_history,
    transactions,
)
from engine.quote import Evaluator, Quote


def post_quote(
    conn: Connection, evaluator: Evaluator, row: RowMapping, quote: Quote, at: datetime
) -> int:
    """Write a committed sale; returns the member's balance afterwards."""
    programme, member_id = row["programme"], row["id"]
    balance, debt = row["balance"], row["debt"]
    for lot_id, taken in quote.redeemed_lots:
        burn_lot(conn, programme, member_id, int(lot_id), taken, quote.transaction_id, at)
        balance -= taken
    if quote.earned.total:
        debt, balance = earn(conn, row, quote.earned.total, debt, balance, quote, at)
        if Needs.of(evaluator.document).period_points:
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
    values: dict[str, Any] = {
        "balance": balance,
        "debt": debt,
        "qualifying_spend": quote.tier.qualifying_after,
        "period_start": current_period_start(evaluator.document, row, today),
        "last_purchase_at": at,
        "last_activity_at": at,
        "updated_at": at,
    }
    if quote.tier.upgraded:
        values |= change_tier(
            conn,
            evaluator,
            row,
            quote.tier.tier_after,
            today,
            at,
            "upgrade: qualifying spend crossed the threshold",
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


def inserted_id(result: CursorResult[Any]) -> int:
    """The id of the row a single-row INSERT made (SQLAlchemy reports it for every dialect)."""
    key = result.inserted_primary_key
    if key is None:  # only for executemany or INSERT .. FROM SELECT, never used here
        raise TypeError("the INSERT reported no primary key")
    return int(key[0])


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


def add_period_points(
    conn: Connection,
    evaluator: Evaluator,
    programme: str,
    member_id: str,
    points: int,
    at: datetime,
) -> None:
    """Count points earned per day/week/month/year for per-period caps (an upsert)."""
    today = local_date(at, evaluator.tz)
    rows = [
        {"programme": programme, "member_id": member_id, "period": p, "starts": s, "points": points}
        for p, s in period_starts(today).items()
    ]
    conn.execute(PERIOD_POINTS_UPSERT[conn.dialect.name], rows)


def _period_points_upsert(dialect: Any) -> Any:
    upsert = dialect.insert(period_points)
    return upsert.on_conflict_do_update(
        index_elements=["programme", "member_id", "period", "starts"],
        set_={"points": period_points.c.points + upsert.excluded.points},
    )


PERIOD_POINTS_UPSERT = {
    "postgresql": _period_points_upsert(postgresql),
    "sqlite": _period_points_upsert(sqlite),
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
    tiers = evaluator.document.get("tiers", {})
    rule = tiers.get("status_lasts", "end_of_next_period")
    period = tiers.get("qualifying", {}).get("period", "calendar_year")
    through = tiers.get("status_through", "day_before")
    valid_until = (
        status_valid_until(today, rule, period, joined=row["joined"], through=through)
        if tier
        else None
    )
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
