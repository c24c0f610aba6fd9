"""Valuing points: burn value cut toward zero, real cost by the domain's formula, rates."""

from __future__ import annotations

from decimal import Decimal

from engine.backtest.value import burn_value, facts, rate, real_cost
from tests.backtest.conftest import COFFEE_EVALUATOR as COFFEE


def test_the_coffee_shops_facts_come_from_its_burn_rule_and_review_assumptions():
    known = facts(COFFEE)
    assert (known.burn_points, known.worth) == (10, Decimal("1.00"))
    assert (known.cost_ratio, known.assumed_redemption_rate) == (Decimal("0.3"), Decimal("0.85"))
    assert known.period_kind == "rolling_12_months"


def test_burn_value_is_cut_toward_zero_and_debt_is_negative():
    known = facts(COFFEE)
    assert burn_value(COFFEE, known, 1234) == Decimal("123.40")
    assert burn_value(COFFEE, known, 7) == Decimal("0.70")
    assert burn_value(COFFEE, known, -15) == Decimal("-1.50")
    assert burn_value(COFFEE, known, 0) == Decimal("0.00")


def test_real_cost_is_half_the_face_value_times_the_redemption_rate_and_cost_ratio():
    known = facts(COFFEE)
    # 1,000 points at 10 = 1 yuan: 100 yuan perceived; / 2 x 0.8 x 0.3 = 12 yuan.
    assert real_cost(COFFEE, known, 1000, Decimal("0.8")) == Decimal("12.00")
    # 1 point: 0.10 / 2 x 0.85 x 0.3 = 0.01275, half-even to 0.01.
    assert real_cost(COFFEE, known, 1, Decimal("0.85")) == Decimal("0.01")
    assert real_cost(COFFEE, known, -5, Decimal("0.8")) == Decimal("0.00")


def test_a_rate_is_a_fraction_clipped_to_0_and_1_and_0_when_nothing_was_issued():
    assert rate(1, 3) == Decimal("0.3333")
    assert rate(5, 4) == Decimal("1.0000")
    assert rate(-1, 4) == Decimal("0.0000")
    assert rate(3, 0) == Decimal("0")
