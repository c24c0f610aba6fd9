"""Match semantics, the same for both matchers (every test runs on durable and python)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from engine.rules import Match, Matcher, build_matcher
from tests.rules.helpers import condition, facts, line, unique_name

Build = Callable[..., Matcher]


def ids(matcher: Matcher, **parts: Any) -> list[str]:
    return [m.rule_id for m in matcher.match(facts(**parts))]


# --- transaction and member tests ---------------------------------------------------------


@pytest.mark.parametrize(
    ("operators", "amount", "expected"),
    [
        ({"eq": 50}, 5000, True),
        ({"eq": 50}, 5001, False),
        ({"ne": 50}, 5000, False),
        ({"ne": 50}, 4999, True),
        ({"gt": 50}, 5000, False),
        ({"gt": 50}, 5001, True),
        ({"gte": 50}, 5000, True),
        ({"gte": 50}, 4999, False),
        ({"lt": 50}, 5000, False),
        ({"lt": 50}, 4999, True),
        ({"lte": 50}, 5000, True),
        ({"lte": 50}, 5001, False),
        ({"in": [10, 50]}, 5000, True),
        ({"in": [10, 20]}, 5000, False),
        ({"not_in": [10, 50]}, 5000, False),
        ({"not_in": [10, 20]}, 5000, True),
        ({"between": [10, 50]}, 5000, True),
        ({"between": [50, 60]}, 5000, True),
        ({"between": [10, Decimal("49.99")]}, 5000, False),
        ({"gte": 10, "lt": 50}, 5000, False),
        ({"gte": 10, "lt": 60}, 5000, True),
    ],
)
def test_each_operator_compares_money_in_minor_units(
    matcher: Build, operators: dict[str, Any], amount: int, expected: bool
) -> None:
    rules = matcher(rule={"transaction": {"amount": operators}})
    assert ids(rules, transaction={"amount": amount}) == (["rule"] if expected else [])


def test_a_scalar_matches_equal_text_only(matcher: Build) -> None:
    rules = matcher(gold={"member": {"tier": "gold"}})
    assert ids(rules, member={"tier": "gold"}) == ["gold"]
    assert ids(rules, member={"tier": "Gold"}) == []


def test_a_list_matches_any_of_its_values(matcher: Build) -> None:
    rules = matcher(weekend={"transaction": {"weekday": ["sat", "sun"]}})
    assert ids(rules, transaction={"weekday": "sun"}) == ["weekend"]
    assert ids(rules, transaction={"weekday": "mon"}) == []


def test_not_in_refuses_every_listed_value(matcher: Build) -> None:
    rules = matcher(not_web={"transaction": {"channel": {"not_in": ["web", "app"]}}})
    assert ids(rules, transaction={"channel": "pos"}) == ["not_web"]
    assert ids(rules, transaction={"channel": "app"}) == []


def test_dates_compare_as_yyyymmdd(matcher: Build) -> None:
    rules = matcher(december={"transaction": {"date": {"between": ["2026-12-01", "2026-12-31"]}}})
    assert ids(rules, transaction={"date": 20261231}) == ["december"]
    assert ids(rules, transaction={"date": 20270101}) == []


def test_hours_and_counts_compare_as_numbers(matcher: Build) -> None:
    rules = matcher(morning={"transaction": {"hour": {"lt": 10}, "item_count": {"gte": 2}}})
    assert ids(rules, transaction={"hour": 9, "item_count": 2}) == ["morning"]
    assert ids(rules, transaction={"hour": 10, "item_count": 2}) == []


def test_a_rule_needs_all_of_its_tests(matcher: Build) -> None:
    rules = matcher(both={"transaction": {"channel": "app"}, "member": {"tier": "gold"}})
    assert ids(rules, transaction={"channel": "app"}, member={"tier": "gold"}) == ["both"]
    assert ids(rules, transaction={"channel": "app"}, member={"tier": "silver"}) == []


@pytest.mark.parametrize(
    "operators",
    [{"eq": 3}, {"ne": 3}, {"gt": 3}, {"gte": 3}, {"lt": 3}, {"lte": 3}, {"in": [3]},
     {"not_in": [3]}, {"between": [0, 99]}],
)  # fmt: skip
def test_a_test_on_a_missing_field_is_false_whatever_the_operator(
    matcher: Build, operators: dict[str, Any]
) -> None:
    rules = matcher(lapsed={"member": {"days_since_last_purchase": operators}})
    assert ids(rules, member={"days_since_last_purchase": None}) == []


def test_ne_on_a_missing_text_field_is_false(matcher: Build) -> None:
    rules = matcher(other={"member": {"campaign_group": {"ne": "a"}}})
    assert ids(rules, member={"campaign_group": None}) == []
    assert ids(rules, member={"campaign_group": "b"}) == ["other"]


@pytest.mark.parametrize("window", ["today", "this_week", "this_month"])
def test_birthday_matches_its_own_flag(matcher: Build, window: str) -> None:
    rules = matcher(birthday={"member": {"birthday": window}})
    assert ids(rules, member={f"birthday_{window}": True}) == ["birthday"]
    assert ids(rules, member={f"birthday_{window}": False}) == []
    assert ids(rules, member={f"birthday_{window}": None}) == []


# --- tags -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"age_band": ["25-34"]}, True),
        ({"age_band": ["35-44", "18-24"]}, True),
        ({"age_band": ["35-44"]}, False),
        ({"age_band": []}, False),
        ({}, False),
        (None, False),
    ],
)
def test_a_tag_list_matches_when_the_member_has_at_least_one_value(
    matcher: Build, tags: Any, expected: bool
) -> None:
    rules = matcher(young={"member": {"tags": {"age_band": ["18-24", "25-34"]}}})
    assert ids(rules, member={"tags": tags}) == (["young"] if expected else [])


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"segment": ["vip"]}, True),
        ({"segment": ["vip", "staff"]}, False),
        ({"segment": ["test"]}, False),
        ({"segment": []}, True),
        ({"other": ["staff"]}, True),
        (None, True),
    ],
)
def test_tag_not_in_holds_when_the_member_has_none_of_the_values(
    matcher: Build, tags: Any, expected: bool
) -> None:
    rules = matcher(customers={"member": {"tags": {"segment": {"not_in": ["staff", "test"]}}}})
    assert ids(rules, member={"tags": tags}) == (["customers"] if expected else [])


def test_a_single_tag_value_and_several_tags_must_all_hold(matcher: Build) -> None:
    rules = matcher(target={"member": {"tags": {"gender": "female", "city": ["sh", "bj"]}}})
    assert ids(rules, member={"tags": {"gender": ["female"], "city": ["bj"]}}) == ["target"]
    assert ids(rules, member={"tags": {"gender": ["female"], "city": ["gz"]}}) == []


# --- lines ----------------------------------------------------------------------------------


def test_one_match_per_assignment_of_distinct_lines(matcher: Build) -> None:
    rules = matcher(combo={"lines": [{"category": "coffee"}, {"category": "pastry"}]})
    basket = [line(0), line(1), line(2, "croissant", "pastry")]
    assert rules.match(facts(lines=basket)) == [Match("combo", (0, 2)), Match("combo", (1, 2))]


def test_one_line_cannot_serve_two_patterns(matcher: Build) -> None:
    rules = matcher(two={"lines": [{"sku": "latte"}, {"sku": "latte"}]})
    assert rules.match(facts(lines=[line(0)])) == []
    assert rules.match(facts(lines=[line(0), line(1)])) == [
        Match("two", (0, 1)),
        Match("two", (1, 0)),
    ]


def test_lines_are_reported_by_index_in_pattern_order(matcher: Build) -> None:
    rules = matcher(combo={"lines": [{"category": "pastry"}, {"category": "coffee"}]})
    basket = [line(7), line(3, "croissant", "pastry")]
    assert rules.match(facts(lines=basket)) == [Match("combo", (3, 7))]


def test_identical_lines_are_still_distinct_lines(matcher: Build) -> None:
    rules = matcher(any_latte={"lines": [{"sku": "latte"}]})
    basket = [line(0), line(1), line(2)]
    assert [m.lines for m in rules.match(facts(lines=basket))] == [(0,), (1,), (2,)]


def test_line_tests_combine_within_one_pattern(matcher: Build) -> None:
    rules = matcher(
        bulk={"lines": [{"category": "beans", "quantity": {"gte": 2}, "unit_price": {"lt": 20}}]}
    )
    basket = [
        line(0, "a", "beans", quantity=1),
        line(1, "b", "beans", quantity=2, unit_price=1500),
        line(2, "c", "beans", quantity=3, unit_price=2500),
    ]
    assert rules.match(facts(lines=basket)) == [Match("bulk", (1,))]


def test_line_amounts_are_money(matcher: Build) -> None:
    rules = matcher(big_line={"lines": [{"amount": {"gte": Decimal("9.00")}}]})
    basket = [line(0, quantity=2, unit_price=450), line(1, quantity=1, unit_price=450)]
    assert rules.match(facts(lines=basket)) == [Match("big_line", (0,))]


def test_line_patterns_and_transaction_tests_must_all_hold(matcher: Build) -> None:
    rules = matcher(app_latte={"transaction": {"channel": "app"}, "lines": [{"sku": "latte"}]})
    assert rules.match(facts({"channel": "app"}, lines=[line(0)])) == [Match("app_latte", (0,))]
    assert rules.match(facts({"channel": "pos"}, lines=[line(0)])) == []


def test_an_empty_basket_matches_no_line_pattern(matcher: Build) -> None:
    rules = matcher(any_line={"lines": [{"quantity": {"gte": 0}}]})
    assert rules.match(facts(lines=[])) == []


def test_three_patterns_enumerate_every_ordered_assignment(matcher: Build) -> None:
    rules = matcher(trio={"lines": [{"category": "coffee"}] * 2 + [{"category": "pastry"}]})
    basket = [line(0), line(1), line(2, "bun", "pastry"), line(3, "bun", "pastry")]
    assert [m.lines for m in rules.match(facts(lines=basket))] == [
        (0, 1, 2),
        (0, 1, 3),
        (1, 0, 2),
        (1, 0, 3),
    ]


# --- whole rulesets ---------------------------------------------------------------------------


def test_a_rule_without_tests_always_matches_once(matcher: Build) -> None:
    rules = matcher(always=None)
    assert rules.match(facts(lines=[line(0), line(1)])) == [Match("always", ())]


def test_matches_are_sorted_and_deduplicated(matcher: Build) -> None:
    rules = matcher(zeta=None, alpha={"transaction": {"amount": {"gte": 1}}})
    assert rules.match(facts()) == [Match("alpha", ()), Match("zeta", ())]


def test_two_conditions_of_one_rule_id_report_it_once(kind: str) -> None:
    conditions = [condition("same", None), condition("same", {"member": {"tier": "silver"}})]
    rules = build_matcher(kind, unique_name(), conditions)  # type: ignore[arg-type]
    assert rules.match(facts()) == [Match("same", ())]


def test_an_empty_ruleset_matches_nothing(kind: str) -> None:
    rules = build_matcher(kind, unique_name(), [])  # type: ignore[arg-type]
    assert rules.match(facts(lines=[line(0)])) == []


def test_a_matcher_carries_its_name(kind: str) -> None:
    name = unique_name("coffee-shop")
    assert build_matcher(kind, name, []).name == name  # type: ignore[arg-type]


def test_text_with_quotes_and_non_ascii_matches_exactly(matcher: Build) -> None:
    store = 'Café "Nord" \\ 北京'
    rules = matcher(nord={"transaction": {"store": store}})
    assert ids(rules, transaction={"store": store}) == ["nord"]
    assert ids(rules, transaction={"store": store + " "}) == []


def test_an_unquoted_store_number_matches_the_store_text(matcher: Build) -> None:
    rules = matcher(store={"transaction": {"store": 101}})
    assert ids(rules, transaction={"store": "101"}) == ["store"]


def test_a_matcher_is_reusable_across_many_evaluations(matcher: Build) -> None:
    rules = matcher(big={"transaction": {"amount": {"gte": 50}}})
    results = [ids(rules, transaction={"amount": amount}) for amount in range(4990, 5010)]
    assert results == [[]] * 10 + [["big"]] * 10


def test_an_unknown_matcher_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown matcher kind"):
        build_matcher("drools", unique_name(), [])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "programme$state", "has space", "x" * 200])
def test_a_name_durable_rules_would_misread_is_refused(kind: str, name: str) -> None:
    with pytest.raises(ValueError, match="matcher name"):
        build_matcher(kind, name, [])  # type: ignore[arg-type]
