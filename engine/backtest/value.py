"""What points are worth: at the burn value and at the domain's real cost.

``facts`` is the one place this package reads the programme's sections.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from engine.pricing import Evaluator
from engine.pricing.points import real_cost_of_points, redemption_value
from engine.review.assumptions import assumptions_of

RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Facts:
    """The numbers of a programme version a backtest values points with."""

    burn_points: int | None  # None: points cannot be redeemed (worth nothing at burn value)
    worth: Decimal
    cost_ratio: Decimal  # 0..1, from review.assumptions.cost_of_goods_percent (default 75)
    assumed_redemption_rate: Decimal  # 0..1, from review.assumptions (default 80)
    period_kind: str  # the tier qualifying period


def facts(evaluator: Evaluator) -> Facts:
    model = evaluator.model
    assumed = assumptions_of(model.review.assumptions)
    return Facts(
        burn_points=model.burn.points if model.burn else None,
        worth=model.burn.worth if model.burn else Decimal(0),
        cost_ratio=assumed.cost_of_goods_percent / 100,
        assumed_redemption_rate=assumed.redemption_rate_percent / 100,
        period_kind=model.tiers.period,
    )


def burn_value(evaluator: Evaluator, known: Facts, points: int) -> Decimal:
    """Face value of ``points`` (negative for debt), cut toward zero to minor units."""
    zero = Decimal(0).quantize(evaluator.currency.quantum)
    if known.burn_points is None or points == 0:
        return zero
    value = redemption_value(abs(points), known.burn_points, known.worth, evaluator.currency)
    return value if points > 0 else -value


def real_cost(evaluator: Evaluator, known: Facts, points: int, rate: Decimal) -> Decimal:
    """(face value / 2) x redemption rate x cost-of-goods ratio, to minor units (half even)."""
    if known.burn_points is None or points <= 0:
        return Decimal(0).quantize(evaluator.currency.quantum)
    cost = real_cost_of_points(points, known.burn_points, known.worth, rate, known.cost_ratio)
    return cost.quantize(evaluator.currency.quantum, rounding=ROUND_HALF_EVEN)


def rate(part: int, whole: int) -> Decimal:
    """``part / whole`` as a fraction in 0..1 to four places (0 when nothing was issued)."""
    if whole <= 0:
        return Decimal(0)
    return min(max(Decimal(part) / Decimal(whole), Decimal(0)), Decimal(1)).quantize(RATE_PLACES)
