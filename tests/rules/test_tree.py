"""Parsing a rule's ``when`` into the rule tree: shorthands, normalisation, refusals."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import PolicyError
from engine.rules import Condition, Test, parse_when
from tests.rules.helpers import records


def parse(when: Any, exponent: int = 2) -> Condition:
    return parse_when("rule-1", when, currency_exponent=exponent)


def problems(when: Any, exponent: int = 2) -> list[dict[str, str]]:
    with pytest.raises(PolicyError) as raised:
        parse(when, exponent)
    return records(raised.value.problems)


def only_problem(when: Any, exponent: int = 2) -> dict[str, str]:
    [problem] = problems(when, exponent)
    return problem


# --- shorthands ---------------------------------------------------------------------------


def test_a_scalar_means_equals() -> None:
    assert parse({"member": {"tier": "gold"}}).member == (Test("tier", "eq", "gold"),)


def test_a_list_means_any_of() -> None:
    condition = parse({"member": {"tier": ["gold", "silver"]}})
    assert condition.member == (Test("tier", "in", ("gold", "silver")),)


def test_an_object_holds_operators_that_must_all_hold() -> None:
    condition = parse({"transaction": {"amount": {"gte": 10, "lt": Decimal("20.5")}}})
    assert condition.transaction == (
        Test("amount", "gte", 1000),
        Test("amount", "lt", 2050),
    )


@pytest.mark.parametrize("op", ["eq", "ne", "gt", "gte", "lt", "lte"])
def test_every_single_value_operator_is_kept_by_name(op: str) -> None:
    assert parse({"lines": [{"quantity": {op: 3}}]}).lines == ((Test("quantity", op, 3),),)


def test_in_and_not_in_take_tuples() -> None:
    condition = parse({"lines": [{"sku": {"in": ["a", "b"], "not_in": ["c"]}}]})
    assert condition.lines == ((Test("sku", "in", ("a", "b")), Test("sku", "not_in", ("c",))),)


def test_repeated_values_in_a_list_are_kept_once() -> None:
    assert parse({"member": {"tier": ["gold", "gold", "silver"]}}).member[0].value == (
        "gold",
        "silver",
    )


def test_between_is_a_pair_inclusive_of_both_ends() -> None:
    condition = parse({"transaction": {"hour": {"between": [7, 10]}}})
    assert condition.transaction == (Test("hour", "between", (7, 10)),)


def test_no_when_is_a_condition_without_tests() -> None:
    condition = parse(None)
    assert condition == Condition("rule-1")
    assert condition.is_empty


def test_each_line_pattern_keeps_its_own_tests_in_order() -> None:
    condition = parse({"lines": [{"sku": "latte"}, {"category": "pastry"}]})
    assert condition.lines == ((Test("sku", "eq", "latte"),), (Test("category", "eq", "pastry"),))


def test_the_tree_is_frozen_and_hashable() -> None:
    condition = parse({"member": {"tier": ["gold"]}, "lines": [{"sku": "a"}]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        condition.rule_id = "other"  # type: ignore[misc]
    assert hash(condition) == hash(parse({"member": {"tier": ["gold"]}, "lines": [{"sku": "a"}]}))


# --- money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "exponent", "minor"),
    [
        (Decimal("12.50"), 2, 1250),
        (12, 2, 1200),
        ("12.5", 2, 1250),
        (12.5, 2, 1250),
        (Decimal("1E+2"), 2, 10000),
        (Decimal("12.500"), 2, 1250),
        (Decimal("0"), 2, 0),
        (Decimal("1200"), 0, 1200),
        (Decimal("1.234"), 3, 1234),
        (Decimal("1.000000000000000000000000000000"), 2, 100),
    ],
)
def test_money_becomes_integer_minor_units(raw: Any, exponent: int, minor: int) -> None:
    condition = parse({"transaction": {"amount": raw}}, exponent)
    assert condition.transaction == (Test("amount", "eq", minor),)
    assert type(condition.transaction[0].value) is int


@pytest.mark.parametrize("field", ["unit_price", "amount"])
def test_line_prices_and_amounts_are_money(field: str) -> None:
    assert parse({"lines": [{field: {"gte": Decimal("4.5")}}]}).lines[0][0].value == 450


def test_money_with_more_decimals_than_the_currency_allows_is_refused() -> None:
    problem = only_problem({"transaction": {"amount": {"gte": Decimal("12.345")}}})
    assert problem == {
        "path": "when.transaction.amount.gte",
        "message": "12.345 has more decimal places than the currency allows (2)",
    }


def test_money_in_a_currency_without_decimals_refuses_cents() -> None:
    problem = only_problem({"transaction": {"amount": Decimal("12.5")}}, exponent=0)
    assert problem["path"] == "when.transaction.amount"
    assert "more decimal places than the currency allows (0)" in problem["message"]


def test_an_exponent_float_too_small_for_the_currency_is_refused() -> None:
    problem = only_problem({"transaction": {"amount": 1e-05}})
    assert "more decimal places" in problem["message"]


@pytest.mark.parametrize("raw", ["lots", "12,50", "", True, None, "NaN", Decimal("Infinity")])
def test_a_word_where_money_belongs_is_refused(raw: Any) -> None:
    problem = only_problem({"transaction": {"amount": {"gte": raw}}})
    assert problem == {
        "path": "when.transaction.amount.gte",
        "message": f"expected an amount of money like 12.50, got {raw!r}",
    }


def test_money_too_large_for_the_engine_is_refused() -> None:
    problem = only_problem({"transaction": {"amount": Decimal("1E+20")}})
    assert problem["message"] == "1E+20 is too large"


# --- dates, weekdays, hours, whole numbers ------------------------------------------------


def test_a_date_becomes_an_integer_yyyymmdd() -> None:
    condition = parse({"transaction": {"date": {"between": ["2026-12-01", "2026-12-31"]}}})
    assert condition.transaction == (Test("date", "between", (20261201, 20261231)),)


def test_a_yaml_date_object_is_accepted_like_its_text() -> None:
    condition = parse({"member": {"joined": {"lt": datetime.date(2026, 1, 5)}}})
    assert condition.member == (Test("joined", "lt", 20260105),)


@pytest.mark.parametrize("raw", ["2026-13-01", "2026-02-30", "01/12/2026", "20261201", 20261201])
def test_a_date_that_is_not_yyyy_mm_dd_is_refused(raw: Any) -> None:
    problem = only_problem({"member": {"joined": raw}})
    assert problem == {
        "path": "when.member.joined",
        "message": f"expected a date like 2026-12-31, got {raw!r}",
    }


def test_weekdays_are_three_letter_names() -> None:
    assert parse({"transaction": {"weekday": ["sat", "Sun"]}}).transaction == (
        Test("weekday", "in", ("sat", "sun")),
    )


def test_a_weekday_spelled_out_is_refused_at_its_list_position() -> None:
    problem = only_problem({"transaction": {"weekday": ["sat", "sunday"]}})
    assert problem == {
        "path": "when.transaction.weekday[1]",
        "message": "expected a weekday (mon, tue, wed, thu, fri, sat, sun), got 'sunday'",
    }


def test_an_hour_is_a_whole_number_from_0_to_23() -> None:
    assert parse({"transaction": {"hour": "7"}}).transaction == (Test("hour", "eq", 7),)
    problem = only_problem({"transaction": {"hour": {"lt": 24}}})
    assert problem == {
        "path": "when.transaction.hour.lt",
        "message": "expected an hour from 0 to 23, got 24",
    }


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("transaction", "item_count"),
        ("member", "balance"),
        ("member", "days_since_last_purchase"),
        ("member", "days_since_joined"),
    ],
)
def test_counts_and_balances_are_whole_numbers(section: str, field: str) -> None:
    assert parse({section: {field: {"gte": Decimal("3")}}}) == Condition(
        "rule-1", **{section: (Test(field, "gte", 3),)}
    )


def test_a_line_quantity_is_a_whole_number() -> None:
    assert parse({"lines": [{"quantity": {"gte": "2"}}]}).lines == ((Test("quantity", "gte", 2),),)


@pytest.mark.parametrize("raw", ["two", Decimal("2.5"), True, "2.0"])
def test_a_word_or_fraction_where_a_whole_number_belongs_is_refused(raw: Any) -> None:
    problem = only_problem({"lines": [{"quantity": {"gte": raw}}]})
    assert problem == {
        "path": "when.lines[0].quantity.gte",
        "message": f"expected a whole number, got {raw!r}",
    }


# --- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("transaction", "channel"),
        ("transaction", "store"),
        ("member", "tier"),
        ("member", "campaign_group"),
    ],
)
def test_text_fields_keep_their_text(section: str, field: str) -> None:
    assert parse({section: {field: "x"}}) == Condition(
        "rule-1", **{section: (Test(field, "eq", "x"),)}
    )


@pytest.mark.parametrize("field", ["sku", "category"])
def test_line_skus_and_categories_are_text(field: str) -> None:
    assert parse({"lines": [{field: ["a", "b"]}]}).lines == ((Test(field, "in", ("a", "b")),),)


def test_an_unquoted_store_number_is_read_as_text() -> None:
    assert parse({"transaction": {"store": [101, "s2"]}}).transaction == (
        Test("store", "in", ("101", "s2")),
    )


def test_a_yaml_boolean_where_text_belongs_is_refused_with_a_hint() -> None:
    problem = only_problem({"transaction": {"channel": False}})
    assert problem == {
        "path": "when.transaction.channel",
        "message": "expected text, got False; YAML reads yes/no/on/off as true/false: quote it",
    }


def test_a_decimal_where_text_belongs_is_refused() -> None:
    problem = only_problem({"lines": [{"sku": Decimal("1.5")}]})
    assert problem == {
        "path": "when.lines[0].sku",
        "message": "expected text, got Decimal('1.5'); quote it",
    }


@pytest.mark.parametrize(("field", "word"), [("tier", "text"), ("campaign_group", "text")])
def test_ordering_operators_on_text_are_refused(field: str, word: str) -> None:
    problem = only_problem({"member": {field: {"gte": "gold"}}})
    assert problem == {
        "path": f"when.member.{field}.gte",
        "message": f"'gte' compares numbers, amounts and dates; {field} is {word}",
    }


def test_ordering_operators_on_weekdays_are_refused() -> None:
    problem = only_problem({"transaction": {"weekday": {"between": ["mon", "fri"]}}})
    assert (
        problem["message"] == "'between' compares numbers, amounts and dates; weekday is a weekday"
    )


# --- birthday and tags --------------------------------------------------------------------


@pytest.mark.parametrize("when", ["today", "this_week", "this_month"])
def test_birthday_becomes_a_true_flag(when: str) -> None:
    assert parse({"member": {"birthday": when}}).member == (Test(f"birthday_{when}", "eq", True),)


def test_an_unknown_birthday_window_is_refused() -> None:
    assert only_problem({"member": {"birthday": "this_year"}}) == {
        "path": "when.member.birthday",
        "message": "expected today, this_week or this_month, got 'this_year'",
    }


def test_each_tag_becomes_one_test_with_a_tuple() -> None:
    condition = parse(
        {
            "member": {
                "tags": {
                    "gender": "female",
                    "age_band": ["18-24", "25-34"],
                    "segment": {"not_in": ["staff", "test"]},
                }
            }
        }
    )
    assert condition.member == (
        Test("tags.gender", "in", ("female",)),
        Test("tags.age_band", "in", ("18-24", "25-34")),
        Test("tags.segment", "not_in", ("staff", "test")),
    )


def test_a_tag_may_combine_in_and_not_in() -> None:
    condition = parse({"member": {"tags": {"x": {"in": ["a", "b"], "not_in": ["c"]}}}})
    assert condition.member == (
        Test("tags.x", "in", ("a", "b")),
        Test("tags.x", "not_in", ("c",)),
    )


def test_other_operators_on_tags_are_refused() -> None:
    assert only_problem({"member": {"tags": {"x": {"eq": "a"}}}}) == {
        "path": "when.member.tags.x.eq",
        "message": "tags accept a value, a list, in or not_in; got 'eq'",
    }


def test_a_tag_name_outside_the_id_alphabet_is_refused() -> None:
    problem = only_problem({"member": {"tags": {"Gender.x": "f"}}})
    assert problem["path"] == "when.member.tags.Gender.x"
    assert problem["message"] == "a tag name is lower-case letters, digits, '-' or '_'"


def test_tags_that_are_not_a_mapping_are_refused() -> None:
    assert only_problem({"member": {"tags": ["vip"]}}) == {
        "path": "when.member.tags",
        "message": "expected a mapping of tag names to values",
    }


# --- structural refusals ------------------------------------------------------------------


def test_an_unknown_operator_is_refused() -> None:
    assert only_problem({"transaction": {"amount": {"contains": 1}}}) == {
        "path": "when.transaction.amount.contains",
        "message": "unknown operator 'contains'; use one of eq, ne, gt, gte, lt, lte, in, "
        "not_in, between",
    }


def test_an_unknown_field_is_refused_with_the_choices() -> None:
    assert only_problem({"transaction": {"total": 5}}) == {
        "path": "when.transaction.total",
        "message": "unknown field 'total'; use one of amount, channel, store, date, weekday, "
        "hour, item_count, day_of_month, days_to_month_end, nth_weekday, month_day, "
        "last_day_of_month",
    }


def test_member_choices_include_birthday_and_tags() -> None:
    problem = only_problem({"member": {"birthday_today": True}})
    assert problem["path"] == "when.member.birthday_today"
    assert problem["message"].endswith("campaign_group, birthday, tags")


def test_an_unknown_section_is_refused() -> None:
    assert only_problem({"basket": {}}) == {
        "path": "when.basket",
        "message": "unknown section 'basket'; use transaction, member or lines",
    }


def test_a_when_that_is_not_a_mapping_is_refused() -> None:
    assert only_problem(["transaction"]) == {
        "path": "when",
        "message": "expected a mapping with transaction, member or lines",
    }


def test_lines_that_are_not_a_list_are_refused() -> None:
    assert only_problem({"lines": {"sku": "a"}}) == {
        "path": "when.lines",
        "message": "expected a list of line patterns",
    }


def test_a_list_for_a_single_value_operator_is_refused() -> None:
    assert only_problem({"transaction": {"amount": {"gte": [1, 2]}}}) == {
        "path": "when.transaction.amount.gte",
        "message": "'gte' takes a single value, not a list",
    }


def test_a_single_value_for_in_is_refused() -> None:
    assert only_problem({"member": {"tier": {"in": "gold"}}}) == {
        "path": "when.member.tier.in",
        "message": "'in' takes a list of values",
    }


def test_an_empty_list_is_refused() -> None:
    assert only_problem({"member": {"tier": {"not_in": []}}}) == {
        "path": "when.member.tier.not_in",
        "message": "needs at least one value",
    }


def test_an_empty_operator_object_is_refused() -> None:
    assert only_problem({"member": {"tier": {}}}) == {
        "path": "when.member.tier",
        "message": "needs at least one operator",
    }


def test_between_needs_exactly_two_values() -> None:
    assert only_problem({"transaction": {"amount": {"between": [1]}}}) == {
        "path": "when.transaction.amount.between",
        "message": "between needs exactly two values: [low, high]",
    }


def test_between_needs_the_low_value_first() -> None:
    assert only_problem({"transaction": {"amount": {"between": [20, 10]}}}) == {
        "path": "when.transaction.amount.between",
        "message": "between needs the low value first, got [20, 10]",
    }


def test_between_points_at_the_bad_end() -> None:
    problem = only_problem({"transaction": {"date": {"between": ["2026-01-01", "soon"]}}})
    assert problem["path"] == "when.transaction.date.between[1]"


def test_all_problems_are_reported_at_once_under_the_rule_id() -> None:
    with pytest.raises(PolicyError) as raised:
        parse_when(
            "winter-bonus",
            {
                "transaction": {"amount": "x", "hour": 30},
                "lines": [{"sku": "a"}, {"quantity": "many"}],
            },
            currency_exponent=2,
        )
    assert str(raised.value) == "rule winter-bonus: 3 problem(s) in when"
    assert [p.path for p in raised.value.problems] == [
        ("when", "transaction", "amount"),
        ("when", "transaction", "hour"),
        ("when", "lines", 1, "quantity"),
    ]
    assert {p.code for p in raised.value.problems} == {"condition"}


def test_more_than_eight_line_patterns_are_refused() -> None:
    assert only_problem({"lines": [{"sku": f"s{i}"} for i in range(9)]}) == {
        "path": "when.lines",
        "message": "at most 8 line patterns, got 9",
    }


def test_eight_line_patterns_are_accepted() -> None:
    assert len(parse({"lines": [{"sku": f"s{i}"} for i in range(8)]}).lines) == 8


def test_a_rule_listing_more_than_400_values_is_refused() -> None:
    when = {"lines": [{"sku": [f"s{i}" for i in range(300)]}, {"category": ["a"] * 1 + ["b"]}]}
    assert parse(when).lines  # 302 values: fine
    when["member"] = {"tier": [f"t{i}" for i in range(99)]}
    assert only_problem(when) == {
        "path": "when",
        "message": "this rule lists 401 values; at most 400 per rule "
        "(durable-rules hangs with more than 512 tests under one branch)",
    }


def test_an_invalid_currency_exponent_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="currency_exponent"):
        parse_when("r", None, currency_exponent=-1)


def test_a_section_that_is_not_a_mapping_is_refused() -> None:
    assert only_problem({"transaction": ["amount"]}) == {
        "path": "when.transaction",
        "message": "expected a mapping of field tests",
    }


def test_an_empty_tag_operator_object_is_refused() -> None:
    assert only_problem({"member": {"tags": {"x": {}}}}) == {
        "path": "when.member.tags.x",
        "message": "needs at least one operator",
    }
