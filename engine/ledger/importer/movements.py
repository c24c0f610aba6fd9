"""Imported redemptions, returns and adjustments: each written at its own ``at``.

They are few beside purchases and each depends on the member's lots at that moment, so they
are written one by one (one transaction each), after the batch's purchases, oldest first:
points are taken only from lots earned by then, not pending and not expired then. A row the
member's lots cannot cover is rejected with the reason. Each is stored as what it was: a
``redeem`` row, an ``adjust`` row, or an ``import_return`` (no sale of this ledger to point
at), its response's status ``imported``; its journal rows carry the original ``at``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, RowMapping, update

from engine.calendar import expiry_of, period_bounds
from engine.errors import InputError, UnknownMember
from engine.ledger import paid
from engine.ledger.importer.reader import Movement
from engine.ledger.importer.rows import ImportReport, Rejected
from engine.ledger.postings import (
    Record,
    journal_entry,
    new_lot,
    record_transaction,
    stored_transaction,
)
from engine.ledger.spending import take_points
from engine.ledger.state import member_row
from engine.ledger.tables import members

if TYPE_CHECKING:
    from engine.pricing import Evaluator

STORED_KIND = {
    "redemption": "redeem",
    "return": "import_return",
    "adjustment": "adjust",
    "paid_level": "paid_level",
}
ACTOR = "import"


def write_movements(
    engine: Engine,
    evaluator: Evaluator,
    moves: list[tuple[int, Movement]],
    report: ImportReport,
    now: datetime,
) -> None:
    for line, move in sorted(moves, key=lambda pair: (pair[1].at, pair[0])):
        try:
            with engine.begin() as conn:
                written = _write(conn, evaluator, move, now)
        except (InputError, UnknownMember) as exc:
            report.rejected.append(Rejected(line, _reason(exc)))
            continue
        if written:
            report.imported += 1
        else:
            report.skipped += 1


def _reason(exc: Exception) -> str:
    problems = getattr(exc, "problems", None)
    return "; ".join(p.message for p in problems) if problems else str(exc)


def _write(conn: Connection, evaluator: Evaluator, move: Movement, now: datetime) -> bool:
    programme = evaluator.programme.id
    if stored_transaction(conn, programme, move.id) is not None:
        return False  # a re-import
    row = member_row(conn, programme, move.member_id, lock=True)
    if move.kind == "paid_level":
        return _bought(conn, evaluator, row, move, now)
    reason = move.reason or f"imported {move.kind}"
    if move.points < 0 or move.kind != "adjustment":
        kind = {"redemption": "burn", "return": "clawback"}.get(move.kind, "adjust")
        take_points(conn, row, abs(move.points), move.id, move.at, kind, reason, ACTOR)
        balance = row["balance"] - abs(move.points)
    else:
        balance = _credit(conn, evaluator, row, move, reason)
    values: dict[str, object] = {"balance": balance, "updated_at": now}
    if move.kind == "return":
        values.update(_spend_returned(evaluator, row, move))
    last = row["last_activity_at"]
    if move.kind == "redemption" and (last is None or last < move.at):
        values["last_activity_at"] = move.at  # redeeming is activity; an older one changes nothing
    conn.execute(
        update(members)
        .where(members.c.programme == programme, members.c.id == row["id"])
        .values(**values)
    )
    response = {
        "status": "imported",
        "kind": move.kind,
        "points": move.points,
        "amount": str(move.amount),
        "at": move.at.isoformat(),
    }
    record_transaction(
        conn,
        Record(
            programme,
            move.id,
            STORED_KIND[move.kind],
            row["id"],
            move.digest,
            {"imported": move.request},
            response,
            move.at,
            points_earned=-move.points if move.kind == "return" else 0,
            points_redeemed=move.points if move.kind == "redemption" else 0,
            qualifying=-move.qualifying,
        ),
        now,
    )
    return True


def _bought(
    conn: Connection, evaluator: Evaluator, row: RowMapping, move: Movement, now: datetime
) -> bool:
    """A paid level bought in the old system: its term runs from its own day, at the fee
    it was sold for (which may be an older price than the declared one)."""
    body = {"level": move.level, "fee": str(move.amount)}
    response = paid.buy(conn, evaluator, row, body, move.id, move.at, declared_fee=False)
    response["status"] = "imported"
    record = Record(
        evaluator.programme.id, move.id, "paid_level", row["id"], move.digest,
        {"imported": move.request}, response, move.at,
    )  # fmt: skip
    record_transaction(conn, record, now)
    return True


def _credit(
    conn: Connection, evaluator: Evaluator, row: RowMapping, move: Movement, reason: str
) -> int:
    """Points added by an imported adjustment: a lot expiring as earned points would."""
    expires = expiry_of(move.at, evaluator.model.expiry.section, evaluator.tz)
    lot_id = new_lot(conn, row["programme"], row["id"], move.points, move.id, move.at, expires)
    journal_entry(
        conn, row["programme"], row["id"], "adjust", move.points, move.id, move.at,
        lot_id=lot_id, reason=reason, actor=ACTOR,
    )  # fmt: skip
    return int(row["balance"]) + move.points


def _spend_returned(evaluator: Evaluator, row: RowMapping, move: Movement) -> dict[str, object]:
    """A return takes its qualifying amount off the member's running spend if it falls in
    the period that spend belongs to (the transactions row carries it for rolling windows)."""
    day = move.at.astimezone(evaluator.tz).date()
    kind = evaluator.model.tiers.period
    joined = row["joined"]
    starts = period_bounds(kind, day, joined=joined)[0]
    if row["period_start"] != starts or not move.qualifying:
        return {}
    left = max(Decimal(row["qualifying_spend"]) - move.qualifying, Decimal(0))
    return {"qualifying_spend": left}
