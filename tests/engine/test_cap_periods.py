"""Per-period earning caps by membership year and by a year from a reset day: the quote reads
the points already earned in that period and its trace says when the cap starts again."""

from __future__ import annotations

from datetime import date

import pytest

from engine.calendar import cap_period
from engine.policy.loader import validate_document
from tests.engine.conftest import BASE, line, sale

MEMBERSHIP = (
    "earn: {points: 1, per: 1, caps: {per_period: {points: 300, period: membership_year}}}\n"
)
FISCAL = "earn: {points: 1, per: 1, caps: {per_period: {points: 300, period: year, resets_on: '04-01'}}}\n"


def test_a_membership_year_cap_reads_what_was_earned_since_the_anniversary(quote):
    member = {"id": "m1", "joined": "2025-03-05", "earned_in_period": {"membership_year": 250}}
    q = quote(MEMBERSHIP, member, sale(line("a", "x", "100.00")))
    assert q.earned.total == 50
    caps = [t for t in q.as_dict()["trace"] if t["source"] == "caps"]
    assert caps == [
        {
            "source": "caps",
            "effect": "cap",
            "detail": "-50 points",
            "reason": "earning cap (per membership_year; resets on 2027-03-05)",
        }
    ]


def test_without_a_join_date_the_trace_names_the_period_only(quote):
    member = {"id": "m1", "earned_in_period": {"membership_year": 250}}
    q = quote(MEMBERSHIP, member, sale(line("a", "x", "100.00")))
    assert q.as_dict()["trace"][-1]["reason"] == "earning cap (per membership_year)"


def test_a_year_cap_from_a_reset_day_says_that_day(quote):
    member = {"id": "m1", "earned_in_period": {"year": 299}}
    q = quote(FISCAL, member, sale(line("a", "x", "100.00")))
    assert q.as_dict()["trace"][-1]["reason"] == "earning cap (per year; resets on 2027-04-01)"


@pytest.mark.parametrize(
    ("kind", "on", "options", "bounds"),
    [
        ("year", date(2026, 3, 31), {"resets_on": date(2000, 4, 1)}, ("2025-04-01", "2026-03-31")),
        ("year", date(2026, 4, 1), {}, ("2026-01-01", "2026-12-31")),
        (
            "membership_year",
            date(2027, 3, 1),
            {"joined": date(2024, 2, 29)},
            ("2027-02-28", "2028-02-28"),
        ),
        ("week", date(2026, 11, 25), {}, ("2026-11-23", "2026-11-29")),
    ],
)
def test_the_cap_period_containing_a_day(kind, on, options, bounds):
    first, last = cap_period(kind, on, **options)
    assert (first.isoformat(), last.isoformat()) == bounds


@pytest.mark.parametrize(
    ("caps", "message"),
    [
        ("{points: 9, period: month, resets_on: '04-01'}", "resets_on is for a year cap"),
        ("{points: 9, period: year, resets_on: '02-30'}", "'02-30' is not a day of the year"),
    ],
)
def test_a_reset_day_that_cannot_apply_is_refused_in_plain_words(caps, message):
    text = BASE + f"earn: {{points: 1, per: 1, caps: {{per_period: {caps}}}}}\n"
    problems = [p.render() for p in validate_document(text.encode(), "p").problems]
    assert len(problems) == 1 and message in problems[0]
