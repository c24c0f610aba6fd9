"""What one transaction contributes to each metric, from its lines and its own quantities.

Spend and points are not in the raw transaction: the quote computes them per line (after
discounts and points, 0 on lines ``earn.exclude`` leaves out), so they come in as
``LineFigures``. Today's single-metric syntax keeps today's meaning: nights or segments count
each line's ``quantity``, visits count one per sale. Nights, segments, distance and
counters are read from ``quantities`` on each line (``per: line``) or on the transaction
(``per: transaction``). Excluded lines (category, SKU or flag) count nothing; a multiplier
(first match in declared order) scales what a line counts.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from engine.tiering.model import Metric, TierModel

ZERO = Decimal(0)


@dataclass(frozen=True)
class LineFigures:
    """What the quote computed for one line."""

    spend: Decimal = ZERO
    base_points: int = 0
    bonus_points: int = 0


@dataclass(frozen=True)
class Stay:
    """Consecutive nights at one property: ``first`` night, ``nights`` long."""

    property: str
    first: date
    nights: int

    @builtins.property  # the field ``property`` shadows the builtin in this class body
    def checkout(self) -> date:
        return self.first + timedelta(days=self.nights)


def contributions(
    model: TierModel,
    transaction: Mapping[str, Any],
    figures: Mapping[str, LineFigures] | None = None,
    earlier: Iterable[Stay] = (),
) -> dict[str, Decimal]:
    """Every metric's contribution from one transaction (``earlier``: the member's stays in
    the window before it, so a stay continued on a new folio is not counted twice)."""
    return {
        metric.id: contribution(metric, transaction, figures or {}, earlier)
        for metric in model.metrics.values()
    }


def contribution(
    metric: Metric,
    transaction: Mapping[str, Any],
    figures: Mapping[str, LineFigures],
    earlier: Iterable[Stay] = (),
) -> Decimal:
    if metric.exclude_flags & set(transaction.get("flags", ())):
        return ZERO
    lines = [line for line in transaction.get("lines", ()) if _counts(metric, line)]
    if metric.legacy == "one_per_transaction":
        return Decimal(1)
    if metric.kind == "stays":
        return Decimal(new_stays(earlier, stays_of(lines)))
    if metric.per == "transaction":
        return Decimal(str(transaction.get("quantities", {}).get(metric.quantity, 0)))
    return sum((_line(metric, line, figures) * _factor(metric, line) for line in lines), ZERO)


def _line(metric: Metric, line: Mapping[str, Any], figures: Mapping[str, LineFigures]) -> Decimal:
    figure = figures.get(line["id"], LineFigures())
    if metric.legacy == "line_quantity":
        return Decimal(line["quantity"])
    if metric.kind == "spend":
        return figure.spend
    if metric.kind == "points":
        bonus = figure.bonus_points if metric.points == "with_bonuses" else 0
        return Decimal(figure.base_points + bonus)
    if (
        metric.kind == "nights"
        and "stay" in line
        and metric.quantity not in line.get("quantities", {})
    ):
        return Decimal(line["stay"]["nights"])
    return Decimal(str(line.get("quantities", {}).get(metric.quantity, 0)))


def _counts(metric: Metric, line: Mapping[str, Any]) -> bool:
    return not (
        line.get("category") in metric.exclude_categories
        or line.get("sku") in metric.exclude_skus
        or metric.exclude_flags & set(line.get("flags", ()))
    )


def _factor(metric: Metric, line: Mapping[str, Any]) -> Decimal:
    attributes = line.get("attributes", {})
    for rule in metric.multipliers:
        if rule.category is not None and line.get("category") != rule.category:
            continue
        if rule.sku is not None and line.get("sku") != rule.sku:
            continue
        if rule.attribute is not None and attributes.get(rule.attribute) not in rule.values:
            continue
        return rule.by
    return Decimal(1)


def counted_stays(model: TierModel, transaction: Mapping[str, Any]) -> list[Stay]:
    """The stays a sale counts towards its programme's stays metrics (none if it has none,
    or the sale or line is excluded): what the ledger keeps for the next sale's quote."""
    found: list[Stay] = []
    for metric in model.metrics.values():
        if metric.kind != "stays" or metric.exclude_flags & set(transaction.get("flags", ())):
            continue
        found += stays_of(line for line in transaction.get("lines", ()) if _counts(metric, line))
    return merge_stays(found)


def stays_of(lines: Iterable[Mapping[str, Any]]) -> list[Stay]:
    """The stays the lines describe, back-to-back nights at one property joined into one."""
    raw = [
        Stay(line["stay"]["property"], _day(line["stay"]["check_in"]), line["stay"]["nights"])
        for line in lines
        if "stay" in line
    ]
    return merge_stays(raw)


def merge_stays(stays: Iterable[Stay]) -> list[Stay]:
    """Join stays at one property where one checks out the day the next checks in (or they
    overlap): a stay is consecutive nights at one place, however many folios it took."""
    merged: list[Stay] = []
    for stay in sorted(stays, key=lambda s: (s.property, s.first)):
        last = merged[-1] if merged else None
        if last and last.property == stay.property and stay.first <= last.checkout:
            end = max(last.checkout, stay.checkout)
            merged[-1] = Stay(last.property, last.first, (end - last.first).days)
        else:
            merged.append(stay)
    return merged


def new_stays(earlier: Iterable[Stay], added: Iterable[Stay]) -> int:
    """How many stays ``added`` adds to ``earlier``: extending a stay adds none, joining two
    removes one (the count never goes below what was there)."""
    before = list(earlier)
    return max(0, len(merge_stays([*before, *added])) - len(merge_stays(before)))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
