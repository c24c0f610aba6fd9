"""Read models: what a till, a marketer or a member sees of a member."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, select

from engine.ledger import paid
from engine.ledger.state import current_spend, load_member, member_row
from engine.ledger.tables import journal, lots, member_profile_history
from engine.ledger.vouchers import member_vouchers
from engine.pricing import Evaluator
from engine.pricing.tiers import Progress, metric_json, metric_progress, progress

NO_SALE: dict[str, Any] = {"lines": []}  # the member view's progress: totals as they stand

HISTORY_PAGE = 20


def _bought(
    conn: Connection, evaluator: Evaluator, member_id: str, at: datetime, priced_as: str | None
) -> dict[str, Any] | None:
    """The bought level holding now (``engine.ledger.paid``) and the level the member is
    priced at; None when none holds."""
    if not any("paid" in level for level in evaluator.model.tiers.levels):
        return None
    today = at.astimezone(evaluator.tz).date()
    bought = paid.holding(conn, evaluator.programme.id, member_id, today)
    if bought is None:
        return None
    return {
        "level": bought["level"],
        "purchase": bought["id"],
        "starts_on": _iso(bought["starts_on"]),
        "ends_on": _iso(bought["ends_on"]),
        "priced_as": priced_as,
    }


def member_view(
    conn: Connection,
    evaluator: Evaluator,
    member_id: str,
    at: datetime,
    *,
    before: int | None = None,
    limit: int = HISTORY_PAGE,
) -> dict[str, Any]:
    """Profile, balance, tier with validity and progress, lots, and a page of history."""
    programme = evaluator.programme.id
    row = member_row(conn, programme, member_id)
    member = load_member(conn, evaluator.model, row, at)
    spend = current_spend(evaluator.model, row, at.astimezone(evaluator.tz).date(), conn)
    if evaluator.tier_model is not None:
        standing = metric_progress(
            evaluator.tier_model, row["tier"], member.metric_totals, NO_SALE, {}, (spend, spend)
        )
    else:
        standing = progress(evaluator.levels, evaluator.thresholds, row["tier"], spend, Decimal(0))
    spendable = member.balance(at)
    return {
        "programme": programme,
        "version": evaluator.programme.version,
        "id": member_id,
        "name": row["name"],
        "tags": row["tags"],
        "birthday": _iso(row["birthday"]),
        "joined": _iso(row["joined"]),
        "contact": row["contact"],
        "consent": row["consent"],
        "balance": {
            "total": row["balance"],
            "spendable": spendable,
            "pending": member.pending_points,
            "debt": row["debt"],
        },
        "tier": {
            "id": row["tier"],
            "since": _iso(row["tier_since"]),
            "valid_until": _iso(row["tier_valid_until"]),
            "qualifying_spend": str(spend),
            "next": standing.next_tier,
            "next_threshold": _money(standing.next_threshold),
            "remaining_to_next": _money(standing.remaining),
            "paid": _bought(conn, evaluator, member_id, at, member.tier),
        }
        | _metrics(standing),
        "lots": _lots(conn, programme, member_id),
        "vouchers": member_vouchers(conn, programme, member_id, at, evaluator.currency.quantum),
        "history": _history(conn, programme, member_id, before, limit),
    }


def _metrics(standing: Progress) -> dict[str, Any]:
    """Programmes counting tier metrics: the current-window totals ("metrics") and the closest
    path to the next tier, as the till's quote shows them."""
    shown = metric_json(standing)
    if "totals" in shown:
        shown["metrics"] = shown.pop("totals")
    return shown


def _lots(conn: Connection, programme: str, member_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(lots)
        .where(lots.c.programme == programme, lots.c.member_id == member_id, lots.c.points_left > 0)
        .order_by(lots.c.expires_at, lots.c.id)
    ).mappings()
    return [
        {
            "id": str(lot["id"]),
            "points": lot["points_left"],
            "earned_at": _iso(lot["earned_at"]),
            "expires_at": _iso(lot["expires_at"]),
            "pending_until": _iso(lot["pending_until"]),
        }
        for lot in rows
    ]


def _history(
    conn: Connection, programme: str, member_id: str, before: int | None, limit: int
) -> dict[str, Any]:
    page, next_before = _newest_first(conn, journal, programme, member_id, before, limit)
    return {
        "entries": [
            {
                "id": entry["id"],
                "kind": entry["kind"],
                "points": entry["points"],
                "transaction_id": entry["transaction_id"],
                "at": _iso(entry["at"]),
                "reason": entry["reason"],
            }
            for entry in page
        ],
        "next_before": next_before,
    }


def profile_history(
    conn: Connection,
    programme: str,
    member_id: str,
    *,
    before: int | None = None,
    limit: int = HISTORY_PAGE,
) -> dict[str, Any]:
    """A page of the member's profile changes, newest first: when, who, ``{field: [old, new]}``."""
    member_row(conn, programme, member_id)  # 404 for no such member
    page, next_before = _newest_first(
        conn, member_profile_history, programme, member_id, before, limit
    )
    return {
        "member_id": member_id,
        "entries": [
            {
                "id": row["id"],
                "at": _iso(row["at"]),
                "actor": row["actor"],
                "changes": row["changes"],
            }
            for row in page
        ],
        "next_before": next_before,
    }


def _newest_first(
    conn: Connection,
    table: Table,
    programme: str,
    member_id: str,
    before: int | None,
    limit: int,
) -> tuple[list[RowMapping], int | None]:
    """One page of a member's rows by descending id, and the ``before`` of the next page."""
    query = (
        select(table)
        .where(table.c.programme == programme, table.c.member_id == member_id)
        .order_by(table.c.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(table.c.id < before)
    rows = list(conn.execute(query).mappings())
    page = rows[:limit]
    return page, page[-1]["id"] if len(rows) > limit else None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _money(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None
