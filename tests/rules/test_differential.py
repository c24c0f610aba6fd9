"""Random rule trees, members and baskets: both matchers must return identical matches."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.rules.network as network
from engine.rules import Facts, build_matcher
from tests.rules.helpers import condition, unique_name

SKUS = ["latte", "mocha", "bun"]
CATEGORIES = ["coffee", "pastry"]
TIERS = ["gold", "silver", "bronze"]
CHANNELS = ["pos", "app"]
GROUPS = ["a", "b"]
TAG_VALUES = ["x", "y", "z"]
WEEKDAYS = ["mon", "sat", "sun"]
DATES = ["2026-12-01", "2026-12-15", "2026-12-31"]
# Sale dates: month starts and ends (leap February too), an 18th, the new year's turn.
FACT_DATES = [20261201, 20261215, 20261231, 20261218, 20270101, 20240229, 20260228, 20261224]
MONTH_DAYS = ["01-01", "02-28", "02-29", "12-01", "12-18", "12-24", "12-31"]

NUMBER_OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "between"]
TEXT_OPS = ["eq", "ne", "in", "not_in"]


def money(major: int) -> st.SearchStrategy[Any]:
    return st.sampled_from([major, Decimal(major), f"{major}.00"])


def date(index: int) -> st.SearchStrategy[Any]:
    return st.just(DATES[index])


def month_day(index: int) -> st.SearchStrategy[Any]:
    return st.just(MONTH_DAYS[index])


# Yearly ranges in any order: a low end after the high end wraps round the new year.
WRAPPING = st.lists(st.sampled_from(MONTH_DAYS), min_size=2, max_size=2).map(
    lambda pair: {"between": pair}
)


def number_spec(base: st.SearchStrategy[int], render: Any = st.just) -> st.SearchStrategy[Any]:
    """A test on an ordered field: ``base`` draws comparable numbers, ``render`` spells them."""
    value = base.flatmap(render)

    def operand(op: str) -> st.SearchStrategy[Any]:
        if op in ("in", "not_in"):
            return st.lists(value, min_size=1, max_size=3)
        if op == "between":
            pairs = st.lists(base, min_size=2, max_size=2).map(sorted)
            return pairs.flatmap(lambda p: st.tuples(render(p[0]), render(p[1])).map(list))
        return value

    def operators(ops: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries({op: operand(op) for op in ops})

    chosen = st.lists(st.sampled_from(NUMBER_OPS), min_size=1, max_size=2, unique=True)
    return st.one_of(value, st.lists(value, min_size=1, max_size=3), chosen.flatmap(operators))


def text_spec(words: list[str]) -> st.SearchStrategy[Any]:
    word = st.sampled_from(words)
    words_list = st.lists(word, min_size=1, max_size=3)
    op = st.sampled_from(TEXT_OPS)
    operators = op.flatmap(lambda o: st.fixed_dictionaries({o: words_list if "in" in o else word}))
    return st.one_of(word, words_list, operators)


COUNTS = st.integers(0, 4)
DAYS = st.sampled_from([0, 10, 30, 100])

TRANSACTION = {
    "amount": number_spec(st.sampled_from([0, 5, 10, 20]), money),
    "channel": text_spec(CHANNELS),
    "weekday": st.one_of(
        st.sampled_from(WEEKDAYS), st.lists(st.sampled_from(WEEKDAYS), min_size=1)
    ),
    "hour": number_spec(st.sampled_from([8, 12, 18])),
    "date": number_spec(st.integers(0, len(DATES) - 1), date),
    "item_count": number_spec(COUNTS),
    "day_of_month": number_spec(st.sampled_from([1, 15, 18, 28, 29, 31])),
    "days_to_month_end": number_spec(st.sampled_from([0, 1, 6, 13])),
    "nth_weekday": number_spec(st.integers(1, 5)),
    "last_day_of_month": st.just(True),
    "month_day": st.one_of(number_spec(st.integers(0, len(MONTH_DAYS) - 1), month_day), WRAPPING),
}
MEMBER = {
    "tier": text_spec(TIERS),
    "balance": number_spec(st.sampled_from([-5, 0, 100])),
    "days_since_last_purchase": number_spec(DAYS),
    "campaign_group": text_spec(GROUPS),
    "birthday": st.sampled_from(["today", "this_week", "this_month"]),
    "tags": st.dictionaries(
        st.sampled_from(["gender", "band"]),
        st.one_of(
            st.sampled_from(TAG_VALUES),
            st.lists(st.sampled_from(TAG_VALUES), min_size=1, max_size=2),
            st.fixed_dictionaries(
                {},
                optional={
                    "in": st.lists(st.sampled_from(TAG_VALUES), min_size=1, max_size=2),
                    "not_in": st.lists(st.sampled_from(TAG_VALUES), min_size=1, max_size=2),
                },
            ).filter(bool),
        ),
        min_size=1,
        max_size=2,
    ),
}
LINE = {
    "sku": text_spec(SKUS),
    "category": text_spec(CATEGORIES),
    "quantity": number_spec(st.integers(1, 3)),
    "unit_price": number_spec(st.sampled_from([2, 4]), money),
    "amount": number_spec(st.sampled_from([2, 4, 8]), money),
}


def block(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    # One or two fields: longer conjunctions almost never match a random basket.
    names = st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=2, unique=True)
    return names.flatmap(lambda chosen: st.fixed_dictionaries({n: fields[n] for n in chosen}))


SECTIONS = {
    "transaction": block(TRANSACTION),
    "member": block(MEMBER),
    "lines": st.lists(block(LINE), min_size=1, max_size=3),
}
SECTIONED = st.lists(
    st.sampled_from(sorted(SECTIONS)), min_size=1, max_size=2, unique=True
).flatmap(lambda chosen: st.fixed_dictionaries({n: SECTIONS[n] for n in chosen}))
WHEN = st.one_of(SECTIONED, SECTIONED, SECTIONED, st.none())  # a rule without tests, now and then


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), value)


FACT_TRANSACTION = st.fixed_dictionaries(
    {
        "amount": st.sampled_from([0, 500, 1000, 2000]),
        "channel": maybe(st.sampled_from(CHANNELS)),
        "weekday": st.sampled_from(WEEKDAYS),
        "hour": st.sampled_from([8, 12, 18]),
        "date": st.sampled_from(FACT_DATES),
        "item_count": maybe(COUNTS),
    }
)
FACT_MEMBER = st.fixed_dictionaries(
    {
        "tier": st.sampled_from(TIERS),
        "days_since_last_purchase": maybe(DAYS),
        "balance": maybe(st.sampled_from([-5 * 100, 0, 100])),
        "campaign_group": maybe(st.sampled_from(GROUPS)),
        "birthday_today": st.booleans(),
        "birthday_this_week": st.booleans(),
        "birthday_this_month": st.booleans(),
        "tags": maybe(
            st.dictionaries(
                st.sampled_from(["gender", "band"]),
                st.lists(st.sampled_from(TAG_VALUES), max_size=2),
                max_size=2,
            )
        ),
    }
)
FACT_LINE = st.fixed_dictionaries(
    {
        "sku": st.sampled_from(SKUS),
        "category": st.sampled_from(CATEGORIES),
        "quantity": st.integers(1, 3),
        "unit_price": st.sampled_from([200, 400]),
        "amount": st.sampled_from([200, 400, 800]),
    }
)
FACTS = st.builds(
    lambda t, m, lines: Facts(
        {k: v for k, v in t.items() if v is not None},
        {k: v for k, v in m.items() if v is not None},
        tuple({**line, "index": i} for i, line in enumerate(lines)),
    ),
    FACT_TRANSACTION,
    FACT_MEMBER,
    st.lists(FACT_LINE, max_size=5),
)


@pytest.mark.db  # SQL audiences run on SQLite
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    whens=st.lists(WHEN, min_size=1, max_size=8),
    baskets=st.lists(FACTS, min_size=1, max_size=8),
    group_size=st.integers(1, 4),
)
def test_both_matchers_return_identical_matches(
    whens: list[Any], baskets: list[Facts], group_size: int
) -> None:
    conditions = [condition(f"r{i}", when) for i, when in enumerate(whens)]
    with mock.patch.object(network, "MAX_GROUP_RULES", group_size):  # exercise fact groups
        durable = build_matcher("durable", unique_name("diff"), conditions)
    python = build_matcher("python", unique_name("diff"), conditions)
    for basket in baskets:
        assert durable.match(basket) == python.match(basket)
