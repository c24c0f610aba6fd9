"""What each line of a sale earned: exact, integer, and adding up to the quote (issue 19)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.policy.loader import load_programme
from engine.pricing import Evaluator, Quote
from engine.pricing.attribution import cumulative, is_basket_level, split
from engine.pricing.model import parse_member, parse_transaction
from tests.engine.conftest import line, programme_from, sale

ROOT = Path(__file__).resolve().parents[2]


def priced(yaml_text: str, *lines: dict, member: dict | None = None, **extra: Any):
    evaluator = Evaluator(programme_from(yaml_text), matcher="python")
    quote = evaluator.quote(
        parse_member(member or {"id": "m1"}, evaluator.currency),
        parse_transaction(sale(*lines, **extra), evaluator.currency),
    )
    return quote, evaluator.attribution(quote)


def by_line(attribution: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {record["id"]: record["points"] for record in attribution["lines"]}


# --- the arithmetic -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (10, [1, 1, 1], [4, 3, 3]),  # the unit left over goes to the earlier line on a tie
        (1, [150, 150, 150], [1, 0, 0]),
        (7, [0, 5, 0], [0, 7, 0]),
        (0, [0, 0], [0, 0]),
        (-10, [1, 1, 1], [-4, -3, -3]),  # a multiplier below 1 takes points away
        (5, [], []),
    ],
)
def test_split_gives_each_line_its_largest_remainder_share(total, weights, parts):
    assert split(total, weights) == parts


@given(st.integers(-10_000, 10_000), st.lists(st.integers(0, 10_000), min_size=1, max_size=6))
def test_split_always_adds_up_exactly(total, weights):
    parts = split(total, weights)
    assert sum(parts) == total
    if any(weights):
        assert all(
            abs(p * sum(weights) - total * w) < sum(weights)
            for p, w in zip(parts, weights, strict=True)
        )


@given(
    total=st.integers(-5000, 5000),
    whole=st.integers(1, 12),
    data=st.data(),
)
def test_cumulative_shares_of_any_split_of_the_units_add_up_to_the_total(total, whole, data):
    cuts = sorted(data.draw(st.lists(st.integers(1, whole - 1), unique=True)) if whole > 1 else [])
    steps = [0, *cuts, whole]
    taken = [
        cumulative(total, b, whole) - cumulative(total, a, whole)
        for a, b in itertools.pairwise(steps)
    ]
    assert sum(taken) == total
    assert all((t >= 0) if total >= 0 else (t <= 0) for t in taken)


def test_cumulative_rounds_half_away_from_zero():
    assert cumulative(99, 1, 3) == 33
    assert cumulative(5, 1, 2) == 3 and cumulative(5, 2, 2) == 5
    assert cumulative(-5, 1, 2) == -3


@pytest.mark.parametrize(
    ("when", "effects", "basket"),
    [
        ({"transaction": {"amount": {"gte": 100}}}, [{"points_multiplier": 2}], True),
        ({"transaction": {"item_count": {"gte": 3}}}, [{"bonus_points": 5}], True),
        ({"lines": [{"category": "a"}, {"category": "b"}]}, [{"bonus_points": 5}], True),
        ({}, [{"bonus_points": 5}], True),  # a per-order bonus
        ({"member": {"tier": "gold"}}, [{"bonus_points": 5}], True),
        ({"lines": [{"category": "a"}]}, [{"bonus_points": 5}], False),
        ({}, [{"points_multiplier": 2}], False),  # double points: each line's own
        ({"transaction": {"weekday": ["wed"]}}, [{"points_multiplier": 2}], False),
    ],
)
def test_what_counts_as_a_basket_level_bonus(when, effects, basket):
    assert is_basket_level(when, effects) is basket


# --- attribution of a quote -----------------------------------------------------------------


def test_a_basket_rounded_base_goes_to_the_lines_by_largest_remainder():
    # 3 x 0.50 at 1 point per yuan: floor(1.50) = 1 point, each line's exact share 0.5.
    quote, attribution = priced(
        "earn: {points: 1, per: 1}",
        line("a", "A", "0.50"),
        line("b", "B", "0.50"),
        line("c", "C", "0.50"),
    )
    assert quote.earned.base == 1
    assert by_line(attribution) == {"a": {"base": 1}, "b": {}, "c": {}}


def test_per_line_rounding_keeps_each_lines_own_points():
    _, attribution = priced(
        "earn: {points: 1, per: 1, rounding_scope: line}",
        line("a", "A", "0.50"),
        line("b", "B", "1.90"),
    )
    assert by_line(attribution) == {"a": {}, "b": {"base": 1}}


def test_rates_exclusions_tier_and_line_bonuses_stay_with_their_lines():
    yaml_text = """
    tiers:
      qualifying: {metric: spend, period: calendar_year}
      levels: [{id: standard, name: Standard}]
    earn:
      points: 1
      per: 1
      multipliers: {standard: 1.5}
      exclude: {categories: [gift_card]}
      overrides: [{sku: MUG, multiplier: 3}]
    rules:
      - id: mug-bonus
        name: Mug bonus
        when: {lines: [{sku: MUG}]}
        then: [{bonus_points: 100}]
    """
    quote, attribution = priced(
        yaml_text,
        line("mug", "MUG", "10.00"),
        line("tea", "TEA", "20.00"),
        line("card", "GC", "50.00", category="gift_card"),
        member={"id": "m1", "tier": "standard"},
    )
    assert by_line(attribution) == {
        "mug": {"base": 30, "tier": 15, "rule:mug-bonus": 100},
        "tea": {"base": 20, "tier": 10},
        "card": {},
    }
    assert quote.earned.total == 175
    qualifying = {r["id"]: r["qualifying"] for r in attribution["lines"]}
    assert qualifying == {"mug": 1000, "tea": 2000, "card": 0}


def test_a_basket_bonus_is_kept_apart_with_the_condition_a_return_rechecks():
    _, attribution = priced(
        """
        tiers:
          qualifying: {metric: spend, period: calendar_year}
          levels: [{id: standard, name: Standard}]
        earn: {points: 1, per: 1}
        rules:
          - id: spend-100
            name: Spend 100
            when: {transaction: {amount: {gte: 100}}, member: {tier: [standard]}}
            then: [{bonus_points: 500}]
        """,
        line("a", "A", "120.00"),
        member={"id": "m1", "tier": "standard"},
    )
    assert attribution["basket"] == [
        {
            "source": "rule:spend-100",
            "points": 500,
            "when": {"transaction": {"amount": {"gte": 100}}},
        }
    ]
    assert attribution["policy"] == "keep_while_qualifies"


def test_caps_cut_each_part_and_the_lines_still_add_up():
    quote, attribution = priced(
        """
        earn: {points: 1, per: 1, caps: {per_transaction: 100}}
        rules:
          - id: double
            name: Double
            then: [{points_multiplier: 2}]
        """,
        line("a", "A", "70.00"),
        line("b", "B", "30.00"),
    )
    assert quote.earned.total == 100 and quote.earned.rule_bonus == {"rule:double": 0}
    assert by_line(attribution) == {"a": {"base": 70}, "b": {"base": 30}}


# --- the property: on the example programmes, the lines always add up -----------------------

EXAMPLES = {
    name: Evaluator(load_programme(ROOT / "rules" / name / "programme.yaml"), matcher="python")
    for name in ("coffee-shop", "recommended", "calendar-retail")
}
CATEGORIES = ("coffee", "pastry", "beans", "fresh", "tobacco", "gift_cards", "electronics", "")
baskets = st.lists(
    st.tuples(st.sampled_from(CATEGORIES), st.integers(1, 50_000), st.integers(1, 4)),
    min_size=1,
    max_size=5,
)


def adds_up(quote: Quote, attribution: dict[str, Any]) -> None:
    lines = attribution["lines"]
    parts: dict[str, int] = {}
    for record in lines:
        for name, points in record["points"].items():
            parts[name] = parts.get(name, 0) + points
    for item in attribution["basket"]:
        parts[item["source"]] = parts.get(item["source"], 0) + item["points"]
    earned = quote.earned
    expected = {"base": earned.base, "tier": earned.tier_bonus}
    expected |= earned.rule_bonus | earned.campaign_bonus
    assert {k: v for k, v in parts.items() if v} == {k: v for k, v in expected.items() if v}
    assert sum(r["redeemed_points"] for r in lines) == quote.redeemed_points
    if quote.tier.qualifying_after - quote.tier.qualifying_before:
        increment = quote.tier.qualifying_after - quote.tier.qualifying_before
        exponent = quote.exponent
        assert sum(r["qualifying"] for r in lines) == int(increment * 10**exponent)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(EXAMPLES)),
    drawn=baskets,
    tier=st.sampled_from([None, "gold", "platinum"]),
    day=st.integers(1, 28),
)
def test_on_the_example_programmes_the_lines_add_up_to_the_quote(name, drawn, tier, day):
    evaluator = EXAMPLES[name]
    tiers = {level["id"] for level in evaluator.levels}
    member = {"id": "m1", **({"tier": tier} if tier in tiers else {})}
    lines = [
        line(f"l{i}", f"SKU{i}", str(Decimal(cents) / 100), quantity, category=category)
        for i, (category, cents, quantity) in enumerate(drawn)
    ]
    quote = evaluator.quote(
        parse_member(member, evaluator.currency),
        parse_transaction(sale(*lines, at=f"2026-11-{day:02d}T10:00:00+08:00"), evaluator.currency),
    )
    attribution = evaluator.attribution(quote)
    adds_up(quote, attribution)
    assert [r["value"] for r in attribution["lines"]] == [s.after_discounts for s in quote.lines]
