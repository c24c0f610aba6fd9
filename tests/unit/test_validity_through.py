"""'Valid for N months': through the day before the anniversary or through the anniversary."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from engine.calendar import end_of_day, expiry_on, status_valid_until
from engine.errors import PolicyError

SHANGHAI = ZoneInfo("Asia/Shanghai")


def last_day(earned_on: date, rolling: dict) -> date:
    expires = expiry_on(earned_on, {"rolling": rolling}, SHANGHAI)
    assert isinstance(expires, datetime) and expires == end_of_day(expires.date(), SHANGHAI)
    return expires.date()


@pytest.mark.parametrize(
    ("earned_on", "rolling", "anniversary", "day_before"),
    [
        (date(2026, 3, 10), {"months": 24}, date(2028, 3, 10), date(2028, 3, 9)),
        (date(2024, 2, 29), {"months": 12}, date(2025, 2, 28), date(2025, 2, 27)),
        (date(2026, 1, 31), {"months": 1}, date(2026, 2, 28), date(2026, 2, 27)),
        (date(2026, 3, 10), {"days": 30}, date(2026, 4, 9), date(2026, 4, 8)),
    ],
)
def test_rolling_expiry_runs_through_the_anniversary_or_the_day_before(
    earned_on, rolling, anniversary, day_before
):
    assert last_day(earned_on, {**rolling, "through": "anniversary"}) == anniversary
    assert last_day(earned_on, {**rolling, "through": "day_before"}) == day_before


def test_rolling_expiry_runs_through_the_anniversary_unless_told_otherwise():
    assert last_day(date(2026, 3, 10), {"months": 24}) == date(2028, 3, 10)


@pytest.mark.parametrize(
    ("earned_on", "rule", "anniversary", "day_before"),
    [
        (date(2025, 3, 10), "rolling_12_months", date(2026, 3, 10), date(2026, 3, 9)),
        (date(2024, 2, 29), "rolling_12_months", date(2025, 2, 28), date(2025, 2, 27)),
    ],
)
def test_rolling_status_lasts_through_the_anniversary_or_the_day_before(
    earned_on, rule, anniversary, day_before
):
    assert (
        status_valid_until(earned_on, rule, "calendar_year", through="anniversary") == anniversary
    )
    assert status_valid_until(earned_on, rule, "calendar_year", through="day_before") == day_before
    assert status_valid_until(earned_on, rule, "calendar_year") == day_before  # the default


def test_a_rolling_qualifying_period_follows_the_convention_too():
    earned_on = date(2025, 3, 10)
    kept = status_valid_until(
        earned_on, "end_of_next_period", "rolling_12_months", through="anniversary"
    )
    assert kept == date(2027, 3, 10)


def test_a_calendar_period_ends_on_31_december_whatever_the_convention():
    for through in ("anniversary", "day_before"):
        until = status_valid_until(
            date(2025, 3, 10), "end_of_period", "calendar_year", through=through
        )
        assert until == date(2025, 12, 31)


def test_an_unknown_convention_is_refused_as_a_policy_error():
    with pytest.raises(PolicyError, match=r"expiry\.rolling\.through"):
        expiry_on(date(2026, 3, 10), {"rolling": {"months": 1, "through": "eve"}}, SHANGHAI)
    with pytest.raises(PolicyError, match=r"tiers\.status_through"):
        status_valid_until(date(2025, 3, 10), "rolling_12_months", "calendar_year", through="eve")  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="exactly one of days or months"):
        expiry_on(date(2026, 3, 10), {"rolling": {"through": "anniversary"}}, SHANGHAI)
