"""A paid tier at run time: buying, renewing and cancelling a bought level.

A level declared with ``paid: {fee, term_months}`` can be bought. A purchase holds from the
local day of payment for ``term_months`` (to the day before the same date that many months
later); buying the level again while it holds is a renewal, whose term starts the day after
the current one ends. While a bought level holds, the member's level for pricing is the
higher of the earned and the bought one (``effective_tier``). A cancellation ends the level
the day before it is made (or drops a renewal not yet started) and may give back part of the
fee. Each write is keyed by its body's id, like every other write: a retry replays it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, RowMapping, func, insert, select, update

from engine.calendar import add_months, local_date
from engine.errors import InputError
from engine.ledger.tables import paid_levels
from engine.policy.problems import Problem

if TYPE_CHECKING:
    from engine.pricing import Evaluator

DAY = timedelta(days=1)


def paid_offer(levels: Sequence[Mapping[str, Any]], level_id: object) -> Mapping[str, Any]:
    """The ``paid`` mapping of the level ``level_id``; refused if it cannot be bought."""
    for level in levels:
        if level["id"] == level_id:
            if "paid" not in level:
                raise _invalid(f"level '{level_id}' cannot be bought (it declares no paid)")
            return level["paid"]
    buyable = ", ".join(level["id"] for level in levels if "paid" in level) or "none"
    raise _invalid(f"no level '{level_id}' (levels that can be bought: {buyable})", "level")


def buy(
    conn: Connection, evaluator: Evaluator, row: RowMapping, body: Mapping[str, Any], key: str,
    now: datetime, *, declared_fee: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Buy or renew a level: ``{"level", "fee"?}`` (a fee sent must be the declared one,
    unless ``declared_fee`` is False: an imported purchase keeps the price it was sold at)."""
    offer = paid_offer(evaluator.model.tiers.levels, body.get("level"))
    fee = Decimal(str(offer["fee"])).quantize(evaluator.currency.quantum)
    if not declared_fee:
        fee = _money(body["fee"], "fee", evaluator)
    elif "fee" in body and _money(body["fee"], "fee", evaluator) != fee:
        raise _invalid(f"the fee of level '{body['level']}' is {fee}, not {body['fee']}", "fee")
    today = local_date(now, evaluator.tz)
    current = holding(conn, row["programme"], row["id"], today, latest=True)
    renewal = current is not None and current["level"] == body["level"]
    if current is not None and not renewal:
        raise _invalid(
            f"the member holds level '{current['level']}' until {current['ends_on']}: "
            "cancel it before buying another", "level",
        )  # fmt: skip
    starts = current["ends_on"] + DAY if renewal and current else today
    ends = add_months(starts, int(offer["term_months"])) - DAY
    conn.execute(
        insert(paid_levels).values(
            programme=row["programme"], id=key, member_id=row["id"], level=body["level"],
            fee=fee, starts_on=starts, ends_on=ends, renewal=renewal, paid_at=now,
        )
    )  # fmt: skip
    return {
        "status": "renewed" if renewal else "bought",
        "member_id": row["id"],
        "level": body["level"],
        "fee": str(fee),
        "starts_on": starts.isoformat(),
        "ends_on": ends.isoformat(),
    }


def cancel(
    conn: Connection, evaluator: Evaluator, row: RowMapping, body: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """Cancel a purchase: ``{"purchase", "refund"?}``; the level no longer holds from today."""
    bought = conn.execute(
        select(paid_levels).where(
            paid_levels.c.programme == row["programme"],
            paid_levels.c.id == body.get("purchase"),
            paid_levels.c.member_id == row["id"],
        )
    ).mappings().first()  # fmt: skip
    if bought is None:
        raise _invalid(f"member '{row['id']}' has no purchase '{body.get('purchase')}'", "purchase")
    if bought["cancelled_at"] is not None:
        raise _invalid(f"purchase '{bought['id']}' is already cancelled", "purchase")
    refund = _money(body.get("refund", "0"), "refund", evaluator)
    if refund > bought["fee"]:
        raise _invalid(f"the refund {refund} is more than the fee {bought['fee']}", "refund")
    today = local_date(now, evaluator.tz)
    ends = max(min(bought["ends_on"], today - DAY), bought["starts_on"] - DAY)
    conn.execute(
        update(paid_levels)
        .where(paid_levels.c.programme == row["programme"], paid_levels.c.id == bought["id"])
        .values(ends_on=ends, cancelled_at=now, refunded=refund)
    )
    return {
        "status": "cancelled",
        "member_id": row["id"],
        "purchase": bought["id"],
        "level": bought["level"],
        "refunded": str(refund),
        "ends_on": ends.isoformat(),
    }


def holding(
    conn: Connection, programme: str, member_id: str, day: date, *, latest: bool = False
) -> RowMapping | None:
    """The purchase holding on ``day`` (``latest``: the term that ends last from then on,
    a renewal included)."""
    query = select(paid_levels).where(
        paid_levels.c.programme == programme,
        paid_levels.c.member_id == member_id,
        paid_levels.c.ends_on >= day,
        paid_levels.c.starts_on <= paid_levels.c.ends_on,
    )
    if not latest:
        query = query.where(paid_levels.c.starts_on <= day)
    return conn.execute(query.order_by(paid_levels.c.ends_on.desc()).limit(1)).mappings().first()


def effective_tier(level_ids: Sequence[str], earned: str | None, bought: str | None) -> str | None:
    """The higher of the earned and the bought level (by the levels' order)."""
    if bought is None or bought not in level_ids:
        return earned
    if earned is None or earned not in level_ids:
        return bought
    return max(earned, bought, key=level_ids.index)


def revenue(conn: Connection, programme: str, since: datetime, until: datetime) -> dict[str, Any]:
    """Fees taken and refunds given in [since, until), per level: the paid tier's revenue."""
    paid = conn.execute(
        select(paid_levels.c.level, func.count(), func.sum(paid_levels.c.fee))
        .where(paid_levels.c.programme == programme, paid_levels.c.paid_at >= since,
               paid_levels.c.paid_at < until)
        .group_by(paid_levels.c.level)
    ).all()  # fmt: skip
    refunds = conn.execute(
        select(paid_levels.c.level, func.count(), func.sum(paid_levels.c.refunded))
        .where(paid_levels.c.programme == programme, paid_levels.c.cancelled_at >= since,
               paid_levels.c.cancelled_at < until)
        .group_by(paid_levels.c.level)
    ).all()  # fmt: skip
    levels: dict[str, dict[str, Any]] = {}
    for level, n, fees in paid:
        levels.setdefault(level, _zero())
        levels[level].update(purchases=int(n), fees=Decimal(fees or 0))
    for level, n, given in refunds:
        levels.setdefault(level, _zero())
        levels[level].update(cancellations=int(n), refunds=Decimal(given or 0))
    for figures in levels.values():
        figures["net"] = figures["fees"] - figures["refunds"]
    return levels


def _zero() -> dict[str, Any]:
    return {"purchases": 0, "fees": Decimal(0), "cancellations": 0, "refunds": Decimal(0)}


def _money(value: object, field: str, evaluator: Evaluator) -> Decimal:
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool | float) else None
    except InvalidOperation:
        amount = None
    quantum = evaluator.currency.quantum
    if amount is None or not amount.is_finite() or amount < 0 or amount != amount.quantize(quantum):
        raise _invalid(f'{field} must be an amount of 0 or more like "12.50", not {value!r}', field)
    return amount.quantize(quantum)


def _invalid(message: str, field: str = "level") -> InputError:
    return InputError("the paid level write is invalid", [Problem(message, (field,))])
