"""What each line of a sale earned, exactly: the record a return reverses.

A quote rounds some things once per basket (base points under ``rounding_scope: basket``,
the tier bonus, multipliers, caps). The rounded totals are attributed to lines with
``allocate`` (largest remainder, ties to the earlier line), so the lines' parts always add up
exactly to the quote's totals:

* **base**: the rounded base over the lines' exact weighted amounts (per-line rounding needs
  no attribution: each line has its own);
* **tier bonus** and **line-level multipliers**: over the lines' base points (before caps);
* **line-level bonus points** (a rule or campaign whose ``lines`` has one entry): to the line
  the condition bound;
* **caps**: each capped component's final total over its uncapped split.

An offer whose condition is about the basket as a whole (``transaction.amount`` or
``item_count``, two or more ``lines`` entries) or that gives ``bonus_points`` with no line
condition (a per-order bonus) is **basket-level**: its points are not given to lines but kept
as one item that a return treats by the programme's ``earn.on_return.basket_bonuses`` policy
(``engine.ledger.returns``).

Besides points, each line records its qualifying amount (the tier metric, in hundredths —
the currency's minor units — so spend and quantities share one integer form), the redeemed
points it was paid with (attributed over the lines' redeemed value) and each campaign's money
(discounts) on it, for budgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from engine.money import allocate

BasketPolicy = Literal["keep_while_qualifies", "claw_back", "prorate"]
BASKET_FIELDS = ("amount", "item_count")  # transaction facts that depend on the whole basket


def split(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` over ``weights`` by largest remainder, summing exactly; a negative total
    (a tier multiplier below 1) is split as its magnitude and negated."""
    if not weights:
        return []
    if total < 0:
        return [-part for part in split(-total, weights)]
    if total == 0:
        return [0] * len(weights)
    return allocate(total, [max(w, 0) for w in weights])


def is_basket_level(when: Mapping[str, Any], effects: Sequence[Mapping[str, Any]]) -> bool:
    """Whether an offer's points belong to the basket rather than to lines."""
    transaction = when.get("transaction", {})
    if any(name in transaction for name in BASKET_FIELDS):
        return True
    entries = len(when.get("lines", []))
    if entries >= 2:
        return True
    return entries == 0 and any("bonus_points" in effect for effect in effects)


def basket_condition(when: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a condition a smaller basket can stop meeting (member facts, windows and
    limits held at the sale and do not change with a return)."""
    return {part: when[part] for part in ("transaction", "lines") if part in when}


def cumulative(total: int, part: int, whole: int) -> int:
    """``total * part / whole`` rounded half up (away from zero): what ``part`` of ``whole``
    units carries. Evaluated on the cumulative quantity, several partial returns add up to
    exactly what one return of the same units gives, and all units give back ``total``."""
    if whole == 0:
        return 0
    numerator = abs(total) * part
    magnitude = (2 * numerator + whole) // (2 * whole)
    return magnitude if total >= 0 else -magnitude


def redeemed_by_line(points: int, values: Sequence[int]) -> list[int]:
    """Redeemed points attributed to lines by the value they paid on each."""
    return split(points, values)
