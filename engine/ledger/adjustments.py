"""Manual adjustments, redemptions outside a sale, and member merges."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from engine.calendar import expiry_of
from engine.errors import InputError, RedemptionError
from engine.ledger.postings import burn_lot, inserted_id, journal_entry
from engine.ledger.state import load_member, points_to_redeem
from engine.ledger.tables import campaign_assignments, lots, members
from engine.points import consume_lots, redemption_value, validate_redemption
from engine.policy.problems import Problem
from engine.quote import Evaluator


def credit(
    conn: Connection,
    evaluator: Evaluator,
    row: RowMapping,
    points: int,
    key: str,
    at: datetime,
    reason: str,
    actor: str,
) -> int:
    """Add points as a new lot that expires like earned points; returns the new balance."""
    repaid = min(row["debt"], points)
    lot_id = None
    if points > repaid:
        lot_id = inserted_id(
            conn.execute(
                insert(lots).values(
                    programme=row["programme"],
                    member_id=row["id"],
                    points=points - repaid,
                    points_left=points - repaid,
                    earned_at=at,
                    expires_at=expiry_of(at, evaluator.document.get("expiry", {}), evaluator.tz),
                    transaction_id=key,
                )
            )
        )
    _journal(conn, row, "adjust", points, key, at, reason, actor, lot_id)
    _set(conn, row, balance=row["balance"] + points, debt=row["debt"] - repaid, last_activity_at=at)
    return row["balance"] + points


def debit(
    conn: Connection,
    evaluator: Evaluator,
    row: RowMapping,
    points: int,
    key: str,
    at: datetime,
    reason: str,
    actor: str,
) -> int:
    """Remove points from the soonest-expiring lots; never below zero."""
    member = load_member(conn, evaluator.document, row, at, redeeming=points)
    available = member.balance(at)
    if points > available:
        raise InputError(
            "the adjustment is invalid",
            [
                Problem(
                    f"cannot remove {points:,} points: only {available:,} are spendable",
                    ("points",),
                )
            ],
        )
    for lot_id, taken in consume_lots(member.lots, points):
        conn.execute(
            update(lots)
            .where(lots.c.id == int(lot_id))
            .values(points_left=lots.c.points_left - taken)
        )
        _journal(conn, row, "adjust", -taken, key, at, reason, actor, int(lot_id))
    _set(conn, row, balance=row["balance"] - points, last_activity_at=at)
    return row["balance"] - points


def redeem(
    conn: Connection,
    evaluator: Evaluator,
    row: RowMapping,
    body: dict[str, Any],
    key: str,
    at: datetime,
) -> dict[str, Any]:
    """Spend points without a basket: a number of points, or a voucher from the catalogue."""
    burn = evaluator.document.get("burn")
    if burn is None:
        raise RedemptionError(
            "redemption.not_offered", "This programme does not let members redeem points."
        )
    wanted = points_to_redeem(evaluator.document, body.get("points"), body.get("reward"))
    member = load_member(conn, evaluator.document, row, at, redeeming=wanted)
    balance = member.balance(at)
    points, reward = _redemption_points(burn, body, balance)
    value = _value(evaluator, burn, points, balance, reward)
    taken = consume_lots(member.lots, points)
    for lot_id, n in taken:
        burn_lot(conn, row["programme"], row["id"], int(lot_id), n, key, at)
    _set(conn, row, balance=row["balance"] - points, last_activity_at=at)
    return {
        "status": "redeemed",
        "points": points,
        "value": str(value),
        "reward": reward["id"] if reward else None,
        "lots": [{"lot_id": lot, "points": n} for lot, n in taken],
        "balance_after": row["balance"] - points,
    }


def _redemption_points(
    burn: dict[str, Any], body: dict[str, Any], balance: int
) -> tuple[int, dict[str, Any] | None]:
    if body.get("reward"):
        reward = next((r for r in burn.get("catalogue", []) if r["id"] == body["reward"]), None)
        if reward is None:
            raise RedemptionError(
                "redemption.unknown_reward",
                f"There is no reward '{body['reward']}' in the catalogue.",
            )
        if reward["points"] > balance:
            raise RedemptionError(
                "redemption.exceeds_balance",
                f"'{reward['name']}' needs {reward['points']:,} points; "
                f"the balance is {balance:,}.",
            )
        return reward["points"], reward
    points = body.get("points")
    if isinstance(points, bool) or not isinstance(points, int):
        raise InputError(
            "the redemption is invalid",
            [Problem("give points (a whole number) or a reward id", ("points",))],
        )
    return points, None


def _value(
    evaluator: Evaluator,
    burn: dict[str, Any],
    points: int,
    balance: int,
    reward: dict[str, Any] | None,
) -> Decimal:
    if reward is not None:
        return Decimal(reward.get("voucher", 0))
    return validate_redemption(
        points,
        balance=balance,
        value_of=lambda n: redemption_value(
            n, burn["points"], Decimal(burn["worth"]), evaluator.currency
        ),
        minimum=burn.get("minimum", 0),
        step=burn.get("step"),
    )


def merge(
    conn: Connection, source: RowMapping, target: RowMapping, key: str, at: datetime, actor: str
) -> int:
    """Move everything the source member holds to the target; the source is closed."""
    conn.execute(
        update(lots)
        .where(
            lots.c.programme == source["programme"],
            lots.c.member_id == source["id"],
            lots.c.points_left > 0,
        )
        .values(member_id=target["id"])
    )
    net = source["balance"]
    reason = f"merged {source['id']} into {target['id']}"
    _journal(conn, source, "merge", -net, key, at, reason, actor, None)
    _journal(conn, target, "merge", net, key, at, reason, actor, None)
    _move_assignments(conn, source, target)
    spend = Decimal(source["qualifying_spend"]) + Decimal(target["qualifying_spend"])
    _set(
        conn,
        target,
        balance=target["balance"] + net,
        debt=target["debt"] + source["debt"],
        qualifying_spend=spend,
        last_activity_at=at,
    )
    _set(conn, source, balance=0, debt=0, merged_into=target["id"])
    return target["balance"] + net


def _move_assignments(conn: Connection, source: RowMapping, target: RowMapping) -> None:
    taken = select(campaign_assignments.c.campaign_id).where(
        campaign_assignments.c.programme == target["programme"],
        campaign_assignments.c.member_id == target["id"],
    )
    conn.execute(
        update(campaign_assignments)
        .where(
            campaign_assignments.c.programme == source["programme"],
            campaign_assignments.c.member_id == source["id"],
            campaign_assignments.c.campaign_id.not_in(taken),
        )
        .values(member_id=target["id"])
    )


def _journal(
    conn: Connection,
    row: RowMapping,
    kind: str,
    points: int,
    key: str,
    at: datetime,
    reason: str,
    actor: str,
    lot_id: int | None,
) -> None:
    journal_entry(
        conn,
        row["programme"],
        row["id"],
        kind,
        points,
        key,
        at,
        lot_id=lot_id,
        reason=reason,
        actor=actor,
    )


def _set(conn: Connection, row: RowMapping, **values: Any) -> None:
    conn.execute(
        update(members)
        .where(members.c.programme == row["programme"], members.c.id == row["id"])
        .values(**values)
    )
