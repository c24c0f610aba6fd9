"""The fast paths of pricing agree with the plain exact formulas they replaced.

Each reference below is the straightforward version (Fractions, digit tuples, list scans)
that the engine used before its pricing was precomputed and moved to integers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.calendar import add_months, birthday_flags, expiry_of, local_date, pending_until
from engine.errors import InputError
from engine.money import Currency, allocate, from_minor, to_minor
from engine.policy.loader import validate_document
from engine.pricing import Evaluator, LineState
from engine.pricing.earning import Rates, line_rate, multiplier_bonus
from engine.pricing.model import Line
from engine.pricing.pipeline import _percent_of
from engine.pricing.plan import compile_selector
from engine.pricing.points import round_fraction, round_ratio
from engine.pricing.tiers import progress

SETTINGS = settings(max_examples=300, deadline=None)
numbers = st.one_of(
    st.integers(0, 1000),
    st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False, allow_infinity=False),
)


# --- money --------------------------------------------------------------------------------


def reference_to_minor(amount: Decimal, exponent: int) -> int | None:
    sign, digits, power = amount.as_tuple()
    assert isinstance(power, int)
    coefficient = int("".join(map(str, digits)))
    shift = power + exponent
    if shift >= 0:
        minor = coefficient * 10**shift
    else:
        minor, rest = divmod(coefficient, 10**-shift)
        if rest:
            return None
    return -minor if sign else minor


@SETTINGS
@given(st.integers(-(10**40), 10**40), st.integers(-8, 6), st.sampled_from([0, 2, 3, 4]))
def test_to_minor_is_exact_for_any_size_and_refuses_extra_decimals(coefficient, power, exponent):
    amount = Decimal(f"{coefficient}E{power}")
    cur = Currency("XXX", exponent)
    expected = reference_to_minor(amount, exponent)
    if expected is None:
        with pytest.raises(InputError, match="more decimals"):
            to_minor(amount, cur)
    else:
        assert to_minor(amount, cur) == expected


@SETTINGS
@given(st.integers(-(10**40), 10**40), st.sampled_from([0, 2, 3, 4]))
def test_from_minor_keeps_every_digit_and_the_currency_exponent(minor, exponent):
    cur = Currency("XXX", exponent)
    amount = from_minor(minor, cur)
    digits = tuple(int(c) for c in str(abs(minor)))
    assert repr(amount) == repr(Decimal((int(minor < 0), digits, -exponent)))
    assert to_minor(amount, cur) == minor


def reference_allocate(total: int, weights: list[int]) -> list[int]:
    if not any(weights):
        weights = [1] * len(weights)
    whole = sum(weights)
    parts = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for index in order[: total - sum(parts)]:
        parts[index] += 1
    return parts


@SETTINGS
@given(st.integers(0, 10_000), st.lists(st.integers(0, 5), min_size=1, max_size=8))
def test_allocate_gives_leftover_units_to_the_largest_remainders_ties_to_the_first(total, weights):
    assert allocate(total, weights) == reference_allocate(total, weights)


# --- points ---------------------------------------------------------------------------------


def reference_round(value: Fraction, mode: str) -> int:
    if mode == "floor":
        return math.floor(value)
    if mode == "ceil":
        return math.ceil(value)
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


@SETTINGS
@given(
    st.integers(-(10**12), 10**12),
    st.integers(1, 10**6),
    st.sampled_from(["floor", "ceil", "round_half_up"]),
)
def test_rounding_on_integers_is_rounding_the_exact_fraction(numerator, denominator, mode):
    exact = Fraction(numerator, denominator)
    assert round_ratio(numerator, denominator, mode) == reference_round(exact, mode)
    assert round_fraction(exact, mode) == reference_round(exact, mode)


@SETTINGS
@given(st.integers(-(10**9), 10**9), st.one_of(st.integers(0, 100), numbers))
def test_percent_of_is_the_exact_share_rounded_toward_zero(minor, percent):
    assert _percent_of(minor, percent) == int(Fraction(minor) * Fraction(percent) / 100)


@SETTINGS
@given(st.integers(0, 10**9), numbers.filter(lambda m: m >= 1))
def test_a_multiplier_bonus_is_the_exact_bonus_rounded_down(base, multiplier):
    assert multiplier_bonus(base, multiplier) == math.floor(
        Fraction(base) * (Fraction(multiplier) - 1)
    )


def reference_line_rate(earn: Mapping[str, Any], category: str, sku: str) -> Fraction:
    excluded = earn.get("exclude", {})
    if category in excluded.get("categories", ()) or sku in excluded.get("skus", ()):
        return Fraction(0)
    base = Fraction(earn["points"]) / Fraction(earn["per"])
    overrides = earn.get("overrides", [])
    chosen = next((o for o in overrides if o.get("sku") == sku), None) or next(
        (o for o in overrides if "category" in o and o["category"] == category), None
    )
    if chosen is None:
        return base
    if "multiplier" in chosen:
        return base * Fraction(chosen["multiplier"])
    return Fraction(chosen["points"]) / Fraction(chosen.get("per", 1))


NAMES = ["a", "b", "c", ""]
override = st.one_of(
    st.fixed_dictionaries({"sku": st.sampled_from(NAMES), "multiplier": numbers}),
    st.fixed_dictionaries({"category": st.sampled_from(NAMES), "multiplier": numbers}),
    st.fixed_dictionaries(
        {"category": st.sampled_from(NAMES), "points": st.integers(0, 9)},
        optional={"per": numbers.filter(bool)},
    ),
    st.fixed_dictionaries(
        {"sku": st.sampled_from(NAMES), "points": st.integers(0, 9)},
        optional={"per": numbers.filter(bool)},
    ),
)
earn_sections = st.fixed_dictionaries(
    {
        "points": st.integers(1, 9),
        "per": numbers.filter(bool),
        "overrides": st.lists(override, max_size=5),
        "exclude": st.fixed_dictionaries(
            {},
            optional={
                "categories": st.lists(st.sampled_from(NAMES), max_size=2),
                "skus": st.lists(st.sampled_from(NAMES), max_size=2),
            },
        ),
    }
)


@SETTINGS
@given(earn_sections)
def test_the_rate_table_gives_every_line_the_rate_the_earn_section_says(earn):
    rates = Rates(earn)
    for category in NAMES:
        for sku in NAMES:
            expected = reference_line_rate(earn, category, sku)
            assert line_rate(earn, category, sku) == expected
            assert Fraction(rates.weight(category, sku), rates.denominator) == expected


# --- selectors, line states -------------------------------------------------------------------


def reference_holds(test: Any, value: str) -> bool:
    if isinstance(test, list):
        return value in map(str, test)
    if isinstance(test, Mapping):
        checks = {
            "eq": lambda v: value == str(v),
            "ne": lambda v: value != str(v),
            "in": lambda v: value in map(str, v),
            "not_in": lambda v: value not in map(str, v),
        }
        return all(checks[op](v) for op, v in test.items() if op in checks)
    return value == str(test)


values = st.sampled_from(["a", "b", "42", "True", ""]) | st.integers(40, 43) | st.booleans()
tests = st.one_of(
    values,
    st.lists(values, min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(["eq", "ne", "gt", "between"]), values, min_size=1, max_size=2),
    st.dictionaries(
        st.sampled_from(["in", "not_in"]), st.lists(values, min_size=1, max_size=3), min_size=1
    ),
)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["category", "sku"]), tests, min_size=1))
def test_a_compiled_selector_picks_the_lines_the_selector_names(selector):
    compiled = compile_selector(selector)
    for category in ["a", "b", "42", "True", ""]:
        for sku in ["a", "42", "x"]:
            line = Line("1", sku, 1, Decimal(1), category)
            expected = all(reference_holds(t, getattr(line, k)) for k, t in selector.items())
            assert compiled(line) == expected


def test_after_discounts_follows_every_discount():
    state = LineState(0, Line("1", "s", 2, Decimal("5.00")), 1000, [("tier:gold", 50)])
    assert state.after_discounts == 950
    state.discount("rule:a", 100)
    state.redeemed = 25
    assert (state.after_discounts, state.payable) == (850, 825)
    assert state.discounts == [("tier:gold", 50), ("rule:a", 100)]
    assert state == LineState(0, state.line, 1000, list(state.discounts), 25)


# --- tiers and dates ------------------------------------------------------------------------


def reference_progress(levels, amounts, tier_before, qualifying_before, increment):
    order = [level["id"] for level in levels]
    after = qualifying_before + increment
    current = tier_before if tier_before in order else (order[0] if order else None)
    rank = order.index(current) if current in order else -1
    for index, tier in enumerate(order):
        if index > rank and tier in amounts and after >= amounts[tier]:
            current, rank = tier, index
    upcoming = [t for t in order[rank + 1 :] if t in amounts]
    next_tier = upcoming[0] if upcoming else None
    return (tier_before, current, after, next_tier, amounts[next_tier] if next_tier else None)


@SETTINGS
@given(
    st.lists(st.sampled_from(NAMES), max_size=5),
    st.dictionaries(st.sampled_from(NAMES), st.integers(0, 50).map(Decimal)),
    st.sampled_from([*NAMES, None, "zz"]),
    st.integers(0, 40).map(Decimal),
    st.integers(0, 20).map(Decimal),
)
def test_the_tier_ladder_moves_members_as_the_plain_scan_does(ids, amounts, before, spend, add):
    levels = [{"id": tier} for tier in ids]
    found = progress(levels, amounts, before, spend, add)
    assert (
        found.tier_before,
        found.tier_after,
        found.qualifying_after,
        found.next_tier,
        found.next_threshold,
    ) == reference_progress(levels, amounts, before, spend, add)


@SETTINGS
@given(st.dates(date(1900, 1, 1), date(2200, 12, 31)), st.dates(date(1, 1, 8), date(9999, 12, 24)))
@example(date(2000, 2, 29), date(2027, 2, 28))  # a leap-day birthday in a common year
@example(date(2000, 2, 29), date(2028, 2, 29))
@example(date(2000, 2, 29), date(2026, 3, 1))
@example(date(1999, 2, 28), date(2028, 2, 28))
def test_birthdays_fall_where_month_arithmetic_puts_them(birthday, on):
    monday = on - timedelta(days=on.weekday())
    sunday = monday + timedelta(days=6)

    def anniversary(year: int) -> date:
        return add_months(birthday, (year - birthday.year) * 12)

    this_year = anniversary(on.year)
    assert birthday_flags(birthday, on) == {
        "birthday_today": this_year == on,
        "birthday_this_week": any(
            monday <= anniversary(y) <= sunday for y in {monday.year, sunday.year}
        ),
        "birthday_this_month": this_year.month == on.month,
    }


DATED = """
programme: {id: dated, name: Dated, currency: CNY, timezone: TZ, pitch: "1 point per yuan"}
earn: {points: 1, per: 1, pending_days: 14}
expiry: {end_of_month: {months_after: 12}}
"""


@pytest.mark.parametrize("tz_name", ["Asia/Shanghai", "America/Santiago", "Europe/London"])
def test_expiry_and_pending_kept_per_local_day_match_the_calendar(tz_name):
    report = validate_document(DATED.replace("TZ", tz_name).encode(), f"dated-{tz_name}")
    assert report.ok, [p.render() for p in report.problems]
    programme = report.programmes[0]
    evaluator = Evaluator(programme, matcher="python")
    tz, policy = ZoneInfo(tz_name), programme.document["expiry"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for hours in range(0, 24 * 400, 7):  # every hour of the day, across DST changes
        at = (start + timedelta(hours=hours)).astimezone(tz)
        assert evaluator._expiry_on(local_date(at, tz)) == expiry_of(at, policy, tz)
        assert evaluator._pending(at) == pending_until(at, 14, tz)
