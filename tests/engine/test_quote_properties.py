"""Properties of every quote, over random baskets, members and redemptions."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import RedemptionError
from engine.money import currency
from engine.pricing import Evaluator
from engine.pricing.model import parse_member, parse_transaction
from tests.engine.conftest import programme_from

PROGRAMME = """
earn: {points: 1, per: 1, multipliers: {gold: 1.5}, exclude: {categories: [tobacco]},
       overrides: [{category: beans, points: 2, per: 1}], caps: {per_transaction: 5000}}
burn: {points: 100, worth: 1, minimum: 100, step: 50, max_bill_percent: 50}
expiry: {rolling: {days: 365}}
tiers:
  qualifying: {period: calendar_year}
  levels:
    - {id: standard, name: Standard}
    - {id: gold, name: Gold, threshold: {amount: 1000},
       benefits: [{kind: discount, percent: 7, description: "7% off"}]}
rules:
  - {id: combo, name: Combo, when: {lines: [{category: coffee}, {category: pastry}]},
     then: [{discount: {amount: 3.33}}]}
  - {id: big, name: Big, when: {transaction: {amount: {gte: 100}}}, then: [{bonus_points: 50}]}
  - {id: coffee-off, name: Coffee off, when: {lines: [{category: coffee}]},
     then: [{discount: {percent: 15, apply_to: {category: coffee}}}, {points_multiplier: 3}]}
"""
CNY = currency("CNY")
SHARED = programme_from(PROGRAMME)
EVALUATORS = {kind: Evaluator(SHARED, matcher=kind) for kind in ("durable", "python")}
CATEGORIES = ["coffee", "pastry", "beans", "tobacco", ""]

prices = st.integers(min_value=1, max_value=50_000).map(lambda c: f"{Decimal(c) / 100:.2f}")
lines = st.lists(
    st.tuples(st.sampled_from(CATEGORIES), prices, st.integers(1, 5)), min_size=1, max_size=6
)
members = st.fixed_dictionaries(
    {
        "tier": st.sampled_from(["standard", "gold"]),
        "points": st.integers(0, 20_000),
    }
)
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(basket, member, redeem=0, scale=1):
    transaction = {
        "id": "t",
        "at": "2026-11-24T10:00:00+08:00",
        "lines": [
            {
                "id": str(i),
                "sku": f"s{i}",
                "category": c,
                "quantity": q,
                "unit_price": str(Decimal(p) * scale),
            }
            for i, (c, p, q) in enumerate(basket)
        ],
        "redeem_points": redeem,
    }
    state = {
        "id": "m",
        "tier": member["tier"],
        "lots": [
            {"id": "l1", "points": member["points"], "earned_at": "2026-01-01T00:00:00+08:00"}
        ],
    }
    return parse_member(state, CNY), parse_transaction(transaction, CNY)


def quote(kind, basket, member, redeem=0, scale=1):
    return EVALUATORS[kind].quote(*build(basket, member, redeem, scale))


@PROPERTY
@given(lines, members, st.sampled_from(["durable", "python"]))
def test_points_are_never_negative_and_add_up(basket, member, kind):
    earned = quote(kind, basket, member).earned
    parts = [
        earned.base,
        earned.tier_bonus,
        *earned.rule_bonus.values(),
        *earned.campaign_bonus.values(),
    ]
    assert all(p >= 0 for p in parts)
    assert earned.total == sum(parts) <= 5000


@PROPERTY
@given(lines, members, st.integers(0, 30_000), st.sampled_from(["durable", "python"]))
def test_rounding_never_creates_money(basket, member, redeem, kind):
    try:
        q = quote(kind, basket, member, redeem)
    except RedemptionError:
        return
    for state in q.lines:
        assert 0 <= state.payable <= state.after_discounts <= state.amount
    data = q.as_dict()["totals"]
    amount, discounts, redeemed, payable = (
        Decimal(data[k]) for k in ("amount", "discounts", "redeemed_value", "payable")
    )
    assert amount - discounts - redeemed == payable >= 0


@PROPERTY
@given(lines, members, st.integers(1, 30_000))
def test_a_redemption_never_exceeds_the_balance_or_the_bill_share(basket, member, redeem):
    try:
        q = quote("python", basket, member, redeem)
    except RedemptionError as refused:
        assert refused.code.startswith("redemption.")
        return
    bill = sum(s.after_discounts for s in q.lines)
    assert q.redeemed_points <= member["points"]
    assert sum(s.redeemed for s in q.lines) * 2 <= bill
    assert sum(n for _, n in q.redeemed_lots) == q.redeemed_points == redeem


@PROPERTY
@given(lines, members, st.integers(2, 5))
def test_earning_never_falls_when_every_price_rises(basket, member, scale):
    assert (
        quote("python", basket, member, scale=scale).earned.total
        >= quote("python", basket, member).earned.total
    )


@PROPERTY
@given(lines, members)
def test_both_matchers_give_the_same_quote(basket, member):
    assert quote("durable", basket, member).as_dict() == quote("python", basket, member).as_dict()
