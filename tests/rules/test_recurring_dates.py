"""Recurring date conditions: day of month, nth weekday, last day of month, yearly ranges."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from engine.errors import InputError, PolicyError
from engine.rules import Facts, Test, build_matcher
from engine.rules.facts import calendar_fields
from tests.rules.helpers import condition, facts, records, unique_name


def on(day: str) -> Facts:
    """Facts for a sale on ``day`` (YYYY-MM-DD); the calendar fields come from the date."""
    stamp = datetime.date.fromisoformat(day)
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[stamp.weekday()]
    return facts({"date": int(day.replace("-", "")), "weekday": weekday})


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-12-24", {"day_of_month": 24, "days_to_month_end": 7, "nth_weekday": 4}),
        ("2026-12-31", {"day_of_month": 31, "days_to_month_end": 0, "nth_weekday": 5}),
        ("2024-02-29", {"day_of_month": 29, "days_to_month_end": 0, "nth_weekday": 5}),
        ("2026-02-28", {"day_of_month": 28, "days_to_month_end": 0, "nth_weekday": 4}),
        ("2026-03-01", {"day_of_month": 1, "days_to_month_end": 30, "nth_weekday": 1}),
    ],
)
def test_the_calendar_fields_are_computed_from_the_local_date(day: str, expected: dict[str, int]):
    stamp = datetime.date.fromisoformat(day)
    month_day = stamp.month * 100 + stamp.day
    assert calendar_fields(stamp) == {**expected, "month_day": month_day}
    assert {k: on(day).transaction[k] for k in expected} == expected


def test_a_caller_cannot_send_a_calendar_field_out_of_step_with_the_date():
    with pytest.raises(InputError) as refused:
        facts({"day_of_month": 3})
    assert records(refused.value.problems) == [
        {"path": "transaction.day_of_month", "message": "is computed from the date; do not send it"}
    ]


def test_an_impossible_date_in_the_facts_is_refused():
    with pytest.raises(InputError) as refused:
        facts({"date": 20261341})
    assert records(refused.value.problems) == [
        {"path": "transaction.date", "message": "20261341 is not a YYYYMMDD date"}
    ]


@pytest.mark.parametrize(
    ("when", "tests"),
    [
        ({"day_of_month": [18]}, (Test("day_of_month", "in", (18,)),)),
        ({"day_of_month": {"between": [1, 7]}}, (Test("day_of_month", "between", (1, 7)),)),
        ({"nth_weekday": 3, "weekday": "thu"}, (Test("nth_weekday", "eq", 3),)),
        ({"last_day_of_month": True}, (Test("days_to_month_end", "eq", 0),)),
        ({"days_to_month_end": {"lte": 2}}, (Test("days_to_month_end", "lte", 2),)),
        ({"month_day": "12-24"}, (Test("month_day", "eq", 1224),)),
        (
            {"month_day": {"between": ["12-20", "01-05"]}},
            (Test("month_day", "between", (1220, 105)),),
        ),
        ({"month_day": {"in": ["02-29", "03-01"]}}, (Test("month_day", "in", (229, 301)),)),
    ],
)
def test_recurring_date_tests_parse_to_integer_tests(when: dict[str, Any], tests: tuple[Test, ...]):
    parsed = condition("r", {"transaction": when}).transaction
    assert set(tests) <= set(parsed)


@pytest.mark.parametrize(
    ("when", "path", "message"),
    [
        (
            {"day_of_month": [32]},
            "when.transaction.day_of_month[0]",
            "expected a day of the month from 1 to 31, got 32",
        ),
        (
            {"nth_weekday": 6},
            "when.transaction.nth_weekday",
            "expected a week of the month from 1 to 5, got 6",
        ),
        (
            {"days_to_month_end": -1},
            "when.transaction.days_to_month_end",
            "expected a number of days from 0 to 30, got -1",
        ),
        (
            {"month_day": "02-30"},
            "when.transaction.month_day",
            "expected a month-day like 12-24 (month first, quoted), got '02-30'",
        ),
        (
            {"month_day": "2026-12-24"},
            "when.transaction.month_day",
            "expected a month-day like 12-24 (month first, quoted), got '2026-12-24'",
        ),
        (
            {"last_day_of_month": False},
            "when.transaction.last_day_of_month",
            "write last_day_of_month: true (or leave it out), got False",
        ),
        (
            {"day_of_month": {"between": [20, 10]}},
            "when.transaction.day_of_month.between",
            "between needs the low value first, got [20, 10]",
        ),
    ],
)
def test_a_recurring_date_test_out_of_range_is_refused_with_its_path(
    when: dict[str, Any], path: str, message: str
):
    with pytest.raises(PolicyError) as refused:
        condition("r", {"transaction": when})
    assert records(refused.value.problems) == [{"path": path, "message": message}]


WHENS = {
    "18th": {"day_of_month": [18]},
    "third-thursday": {"weekday": "thu", "nth_weekday": 3},
    "last-day": {"last_day_of_month": True},
    "last-friday": {"weekday": "fri", "days_to_month_end": {"lte": 6}},
    "festive": {"month_day": {"between": ["12-20", "01-05"]}},
    "spring": {"month_day": {"between": ["03-01", "05-31"]}},
    "leap-day": {"month_day": "02-29"},
}
CASES = [
    ("2026-12-18", {"18th"}),
    ("2027-01-18", {"18th"}),
    ("2026-12-17", {"third-thursday"}),
    ("2026-12-24", {"festive"}),
    ("2026-12-25", {"festive", "last-friday"}),
    ("2026-12-31", {"last-day", "festive"}),
    ("2027-01-05", {"festive"}),
    ("2027-01-06", set()),
    ("2026-12-19", set()),
    ("2024-02-29", {"last-day", "leap-day"}),
    ("2026-02-28", {"last-day"}),
    ("2026-03-01", {"spring"}),
    ("2026-05-29", {"spring", "last-friday"}),
    ("2026-05-31", {"spring", "last-day"}),
]


@pytest.mark.parametrize("kind", ["durable", "python"])
@pytest.mark.parametrize(("day", "expected"), CASES, ids=[c[0] for c in CASES])
def test_both_matchers_apply_recurring_dates_on_the_right_days(
    kind: str, day: str, expected: set[str]
):
    conditions = [condition(rule, {"transaction": when}) for rule, when in WHENS.items()]
    matcher = build_matcher(kind, unique_name("dates"), conditions)  # type: ignore[arg-type]
    assert {match.rule_id for match in matcher.match(on(day))} == expected
