"""Facts are validated once so both matchers compare values of the same type."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.rules import Facts
from engine.rules.facts import _plainly_valid, _problems
from tests.rules.helpers import facts, line, records


def refused(**parts: Any) -> list[dict[str, str]]:
    with pytest.raises(InputError) as raised:
        facts(**parts)
    return records(raised.value.problems)


def test_well_typed_facts_are_accepted_and_lines_become_a_tuple() -> None:
    built = Facts({"amount": 1}, {"tier": "gold"}, [line(0)])  # type: ignore[arg-type]
    assert built.lines == (line(0),)


def test_a_float_amount_is_refused() -> None:
    assert refused(transaction={"amount": 12.5}) == [
        {"path": "transaction.amount", "message": "expected int, got float 12.5"}
    ]


def test_a_boolean_where_a_number_belongs_is_refused() -> None:
    assert refused(member={"balance": True}) == [
        {"path": "member.balance", "message": "expected int, got bool True"}
    ]


def test_a_number_where_text_belongs_is_refused() -> None:
    assert refused(lines=[line(0, sku=101)])[0]["path"] == "lines[0].sku"  # type: ignore[arg-type]


def test_a_flag_must_be_a_boolean() -> None:
    assert refused(member={"birthday_today": 1})[0]["path"] == "member.birthday_today"


def test_an_unknown_weekday_is_refused() -> None:
    assert refused(transaction={"weekday": "Tuesday"}) == [
        {
            "path": "transaction.weekday",
            "message": "expected one of mon, tue, wed, thu, fri, sat, sun, got 'Tuesday'",
        }
    ]


def test_numbers_beyond_what_json_carries_exactly_are_refused() -> None:
    assert refused(member={"balance": 2**60})[0]["message"] == f"{2**60} is too large"


def test_text_that_cannot_be_encoded_is_refused() -> None:
    assert refused(transaction={"store": "s\ud800"})[0]["message"] == "'s\\ud800' is not valid text"


def test_every_line_needs_a_unique_index() -> None:
    problems = refused(lines=[line(0), line(0), {"sku": "x"}])
    assert problems == [
        {"path": "lines[1].index", "message": "index 0 is used by another line"},
        {"path": "lines[2].index", "message": "every line needs its index"},
    ]


def test_tags_are_lists_of_text() -> None:
    problems = refused(member={"tags": {"gender": "female", "age": ["18-24", 3]}})
    assert problems == [
        {"path": "member.tags.gender", "message": "expected a list of text values"},
        {"path": "member.tags.age[1]", "message": "expected str, got int 3"},
    ]


def test_none_means_absent_and_is_accepted() -> None:
    assert facts(member={"campaign_group": None, "days_since_last_purchase": None})


def test_a_block_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(InputError) as raised:
        Facts([], {}, ())  # type: ignore[arg-type]
    assert records(raised.value.problems) == [
        {"path": "transaction", "message": "expected a mapping"}
    ]


def test_unknown_fields_are_ignored() -> None:
    assert facts(transaction={"currency": "CNY", "ratio": 0.5})


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**54), max_value=2**54),
    st.floats(allow_nan=False),
    st.sampled_from(["mon", "sun", "Mon", "coffee", "café", "\ud800", ""]),
    st.lists(st.sampled_from(["vip", "é", 3]), max_size=2),
)
_NAMES = st.sampled_from(
    [
        "amount",
        "date",
        "weekday",
        "hour",
        "store",
        "tier",
        "balance",
        "birthday_today",
        "tags",
        "index",
        "sku",
        "category",
        "quantity",
        "unit_price",
        "day_of_month",
    ]
)
_BLOCKS = st.dictionaries(_NAMES, _VALUES, max_size=5)


@settings(max_examples=300, deadline=None)
@given(transaction=_BLOCKS, member=_BLOCKS, lines=st.lists(_BLOCKS, max_size=3))
def test_the_quick_validity_pass_never_accepts_what_the_full_walk_refuses(
    transaction: dict[str, Any], member: dict[str, Any], lines: list[dict[str, Any]]
) -> None:
    unchecked = object.__new__(Facts)
    for name, value in (("transaction", transaction), ("member", member), ("lines", lines)):
        object.__setattr__(unchecked, name, tuple(value) if name == "lines" else value)
    if _plainly_valid(unchecked):
        assert list(_problems(unchecked)) == []
