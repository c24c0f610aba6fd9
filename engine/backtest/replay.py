"""Drive the real ``Ledger`` over a history, event by event, in a scratch ledger.

The ledger's clock is set to each event's own time, so everything it dates (redemptions,
adjustments, journal rows) is dated as it was. An event the version refuses (a redemption
beyond a smaller balance, a return of a sale that was refused) is recorded as refused with
its reason and the replay goes on: that is a finding, not a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.backtest.history import Event
from engine.backtest.scratch import Scratch
from engine.errors import LoyaltyError
from engine.ledger import jobs
from engine.ledger.service import Ledger
from engine.pricing import Evaluator

Progress = Callable[[int, int], None]
ZERO = Decimal(0)


@dataclass
class Result:
    """What one event did under one version."""

    id: str
    kind: str
    member_id: str | None
    at: datetime
    ok: bool = True
    code: str | None = None  # why it was refused
    earned: int = 0  # points added (negative: clawed back)
    redeemed: int = 0  # points spent (negative: refunded)
    amount: Decimal = ZERO  # sales: the basket's amount
    discounts: Decimal = ZERO
    tier: str | None = None  # sales: the member's tier when buying
    store: str = ""
    lines: list[tuple[str, Decimal, Decimal]] = field(
        default_factory=list
    )  # category, amount, discounts
    response: dict[str, Any] | None = None


class _Clock:
    def __init__(self) -> None:
        self.now = datetime.min

    def __call__(self) -> datetime:
        return self.now


def replay(
    scratch: Scratch,
    evaluator: Evaluator,
    events: Sequence[Event],
    *,
    keep_responses: bool = False,
    progress: Progress | None = None,
) -> list[Result]:
    """Replay ``events`` in order under ``evaluator`` into ``scratch``; one result each."""
    clock = _Clock()
    ledger = Ledger(scratch.engine, {evaluator.programme.id: evaluator}, clock=clock)
    results: list[Result] = []
    total = len(events)
    for index, event in enumerate(events, 1):
        clock.now = event.at
        results.append(_one(ledger, scratch, evaluator, event, keep_responses))
        if progress is not None and (index % 500 == 0 or index == total):
            progress(index, total)
    return results


def _one(
    ledger: Ledger, scratch: Scratch, evaluator: Evaluator, event: Event, keep: bool
) -> Result:
    result = Result(event.id, event.kind, event.member_id, event.at)
    try:
        response = _apply(ledger, scratch, evaluator, event)
    except LoyaltyError as exc:
        result.ok = False
        result.code = getattr(exc, "code", None) or type(exc).__name__
        return result
    _read(result, event, response)
    if keep:
        result.response = response
    return result


def _apply(ledger: Ledger, scratch: Scratch, evaluator: Evaluator, event: Event) -> dict[str, Any]:
    programme, request = evaluator.programme.id, event.request
    if event.kind == "sale":
        return ledger.commit_sale(programme, str(event.member_id), request).response
    if event.kind == "return":
        return ledger.return_items(programme, str(event.original_id), request).response
    if event.kind == "redeem":
        return ledger.redeem(programme, str(event.member_id), request, key=event.id).response
    if event.kind == "adjust":
        return ledger.adjust(
            programme,
            str(event.member_id),
            int(request["points"]),
            reason=request["reason"],
            actor=request["actor"],
            key=event.id,
        ).response
    if event.kind == "merge":
        return ledger.merge(
            programme, request["source"], request["target"], actor=request["actor"], key=event.id
        ).response
    if event.kind == "review":
        period_end = date.fromisoformat(event.id.removeprefix("review:"))
        jobs.tier_review(scratch.engine, evaluator, period_end, now=event.at)
        return {}
    raise ValueError(f"unknown event kind {event.kind!r}")  # a bug: history reads only these


def _read(result: Result, event: Event, response: dict[str, Any]) -> None:
    if event.kind == "sale":
        totals = response["totals"]
        result.earned = int(response["points"]["total"])
        result.redeemed = int(response["redemption"]["points"])
        result.amount = Decimal(totals["amount"])
        result.discounts = Decimal(totals["discounts"])
        result.tier = response["tier"]["before"]
        result.store = str(event.request.get("store") or "")
        result.lines = [
            (
                str(line.get("category") or ""),
                Decimal(line["amount"]),
                sum((Decimal(d["amount"]) for d in line["discounts"]), ZERO),
            )
            for line in response["lines"]
        ]
    elif event.kind == "return":
        refund = response["refund"]
        result.earned = -int(refund["points_clawed_back"])
        result.redeemed = -int(refund["points_refunded"])
    elif event.kind == "redeem":
        result.redeemed = int(response["points"])
    elif event.kind == "adjust":
        result.earned = int(response["points"])
