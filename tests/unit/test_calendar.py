"""Calendar: local days and their ends, expiry kinds, pending, qualifying periods, birthdays."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.calendar import (
    add_months,
    birthday_flags,
    end_of_day,
    expiry_of,
    inactivity_deadline,
    local_date,
    pending_until,
    period_bounds,
    start_of_day,
    status_valid_until,
    weekday_code,
    yyyymmdd,
    zone,
)
from engine.errors import InputError, PolicyError

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")  # changes clocks at midnight
ZONES = st.sampled_from([SHANGHAI, BERLIN, NEW_YORK, SANTIAGO, UTC])
DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 30))

LAST_INSTANT = (23, 59, 59, 999999)


def at(tz, *fields):
    return datetime(*fields, tzinfo=tz)


def ends_at(d, tz):
    return datetime(d.year, d.month, d.day, *LAST_INSTANT, tzinfo=tz)


def next_instant(t):
    # Through UTC: adding to a zoned time moves its wall clock, not the instant.
    return t.astimezone(UTC) + timedelta(microseconds=1)


# --- zones and local days --------------------------------------------------------------------


def test_zone_returns_the_iana_zone():
    assert zone("Asia/Shanghai") == SHANGHAI


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "asia shanghai"])
def test_zone_refuses_names_that_are_not_iana_zones(name):
    with pytest.raises(InputError, match="not an IANA time zone"):
        zone(name)


@pytest.mark.parametrize(
    ("instant", "tz", "day"),
    [
        (at(UTC, 2025, 12, 31, 16, 30), SHANGHAI, date(2026, 1, 1)),
        (at(UTC, 2025, 12, 31, 15, 59), SHANGHAI, date(2025, 12, 31)),
        (at(UTC, 2025, 3, 9, 4, 59), NEW_YORK, date(2025, 3, 8)),
        (at(SHANGHAI, 2025, 6, 1, 7), BERLIN, date(2025, 6, 1)),
        (at(SHANGHAI, 2025, 6, 1, 5), BERLIN, date(2025, 5, 31)),
    ],
)
def test_local_date_is_the_date_on_the_programme_clock(instant, tz, day):
    assert local_date(instant, tz) == day


def test_naive_times_are_refused_with_a_clear_error():
    with pytest.raises(InputError, match="with a time zone"):
        local_date(datetime(2025, 1, 1, 12), SHANGHAI)


def test_a_datetime_passed_as_a_date_is_refused():
    with pytest.raises(InputError, match="local_date"):
        end_of_day(at(UTC, 2025, 1, 1), SHANGHAI)


@pytest.mark.parametrize(
    ("day", "tz", "offset_hours"),
    [
        (date(2025, 12, 31), SHANGHAI, 8),
        (date(2024, 2, 29), SHANGHAI, 8),
        (date(2025, 3, 30), BERLIN, 2),  # spring forward at 02:00: 23-hour day
        (date(2025, 10, 26), BERLIN, 1),  # fall back at 03:00: 25-hour day
        (date(2025, 3, 9), NEW_YORK, -4),
        (date(2025, 11, 2), NEW_YORK, -5),
    ],
)
def test_end_of_day_is_the_last_microsecond_of_the_local_day(day, tz, offset_hours):
    end = end_of_day(day, tz)
    assert end == ends_at(day, tz)
    assert end.utcoffset() == timedelta(hours=offset_hours)
    assert local_date(next_instant(end), tz) == day + timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "tz", "hours"),
    [
        (date(2025, 3, 30), BERLIN, 23),
        (date(2025, 10, 26), BERLIN, 25),
        (date(2025, 3, 9), NEW_YORK, 23),
        (date(2025, 11, 2), NEW_YORK, 25),
        (date(2025, 3, 30), SHANGHAI, 24),
    ],
)
def test_local_days_last_23_or_25_hours_across_dst_changes(day, tz, hours):
    # Subtract in UTC: Python subtracts two times of the same zone on the wall clock.
    end, start = end_of_day(day, tz).astimezone(UTC), start_of_day(day, tz).astimezone(UTC)
    assert end - start + timedelta(microseconds=1) == timedelta(hours=hours)


def test_a_day_whose_midnight_is_skipped_starts_when_the_clocks_jump():
    # Santiago, 8 Sep 2024: 00:00 became 01:00.
    assert start_of_day(date(2024, 9, 8), SANTIAGO) == at(SANTIAGO, 2024, 9, 8, 1)
    assert start_of_day(date(2024, 9, 8), SANTIAGO).utcoffset() == timedelta(hours=-3)
    assert end_of_day(date(2024, 9, 7), SANTIAGO).utcoffset() == timedelta(hours=-4)


def test_a_day_whose_last_hour_repeats_ends_after_the_second_pass():
    # Santiago, 7 Apr 2024: midnight became 23:00 on the 6th, so 23:00-24:00 happened twice.
    end = end_of_day(date(2024, 4, 6), SANTIAGO)
    assert end.astimezone(UTC) == at(UTC, 2024, 4, 7, 3, 59, 59, 999999)
    assert end.utcoffset() == timedelta(hours=-4)


@given(day=DATES, tz=ZONES)
def test_end_of_day_always_falls_on_that_day_and_the_next_instant_on_the_next(day, tz):
    end = end_of_day(day, tz)
    assert local_date(end, tz) == day
    assert local_date(next_instant(end), tz) == day + timedelta(days=1)
    next_start = start_of_day(day + timedelta(days=1), tz)
    assert next_start.astimezone(UTC) - end.astimezone(UTC) == timedelta(microseconds=1)


# --- month arithmetic ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "result"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2025, 1, 15), -1, date(2024, 12, 15)),
        (date(2025, 5, 5), 0, date(2025, 5, 5)),
    ],
)
def test_add_months_keeps_the_day_but_clamps_to_the_month_end(day, months, result):
    assert add_months(day, months) == result


@given(day=DATES, months=st.integers(min_value=-120, max_value=120))
def test_add_months_lands_in_the_right_month_never_after_the_same_day(day, months):
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day


# --- expiry of a lot -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "earned", "last_day"),
    [
        ({"rolling": {"days": 365}}, at(SHANGHAI, 2025, 3, 10, 14), date(2026, 3, 10)),
        ({"rolling": {"days": 365}}, at(SHANGHAI, 2024, 3, 1, 9), date(2025, 3, 1)),
        ({"rolling": {"days": 1}}, at(SHANGHAI, 2024, 2, 28, 9), date(2024, 2, 29)),
        ({"rolling": {"days": 1}}, at(SHANGHAI, 2025, 12, 31, 23), date(2026, 1, 1)),
        ({"rolling": {"months": 1}}, at(SHANGHAI, 2025, 1, 31, 9), date(2025, 2, 28)),
        ({"rolling": {"months": 1}}, at(SHANGHAI, 2024, 1, 31, 9), date(2024, 2, 29)),
        ({"rolling": {"months": 12}}, at(SHANGHAI, 2024, 2, 29, 9), date(2025, 2, 28)),
        ({"rolling": {"months": 18}}, at(SHANGHAI, 2025, 8, 31, 9), date(2027, 2, 28)),
        ({"calendar": {"years_after": 1}}, at(SHANGHAI, 2025, 6, 15, 9), date(2026, 12, 31)),
        ({"calendar": {"years_after": 1}}, at(SHANGHAI, 2025, 1, 1, 0), date(2026, 12, 31)),
        ({"calendar": {"years_after": 0}}, at(SHANGHAI, 2025, 6, 15, 9), date(2025, 12, 31)),
        ({"end_of_month": {"months_after": 0}}, at(SHANGHAI, 2025, 1, 15, 9), date(2025, 1, 31)),
        ({"end_of_month": {"months_after": 1}}, at(SHANGHAI, 2024, 1, 31, 9), date(2024, 2, 29)),
        ({"end_of_month": {"months_after": 2}}, at(SHANGHAI, 2025, 12, 10, 9), date(2026, 2, 28)),
        ({"fixed_date": "2027-06-30"}, at(SHANGHAI, 2025, 6, 15, 9), date(2027, 6, 30)),
        ({"fixed_date": date(2027, 6, 30)}, at(SHANGHAI, 2025, 6, 15, 9), date(2027, 6, 30)),
        ({"fixed_date": "2025-01-01"}, at(SHANGHAI, 2025, 6, 15, 9), date(2025, 1, 1)),
    ],
)
def test_each_expiry_kind_ends_at_the_end_of_its_local_day(policy, earned, last_day):
    assert expiry_of(earned, policy, SHANGHAI) == ends_at(last_day, SHANGHAI)


def test_rolling_expiry_ends_at_local_midnight_n_days_later():
    expires = expiry_of(at(SHANGHAI, 2025, 3, 10, 14), {"rolling": {"days": 30}}, SHANGHAI)
    assert expires is not None
    assert next_instant(expires) == at(SHANGHAI, 2025, 4, 10)


def test_expiry_counts_from_the_local_earning_date_not_the_utc_one():
    earned = at(UTC, 2025, 12, 31, 16, 30)  # already 1 Jan 2026 in Shanghai
    assert expiry_of(earned, {"calendar": {"years_after": 1}}, SHANGHAI) == ends_at(
        date(2027, 12, 31), SHANGHAI
    )
    assert expiry_of(earned, {"rolling": {"days": 1}}, SHANGHAI) == ends_at(
        date(2026, 1, 2), SHANGHAI
    )


@pytest.mark.parametrize(
    ("tz", "earned", "offset_hours"),
    [
        (BERLIN, at(BERLIN, 2025, 3, 29, 10), 2),  # earned in winter time, expires in summer
        (BERLIN, at(BERLIN, 2025, 10, 25, 10), 1),
        (NEW_YORK, at(NEW_YORK, 2025, 3, 8, 10), -4),
        (NEW_YORK, at(NEW_YORK, 2025, 11, 1, 10), -5),
    ],
)
def test_expiry_on_a_dst_change_day_uses_that_days_offset(tz, earned, offset_hours):
    expires = expiry_of(earned, {"rolling": {"days": 1}}, tz)
    assert expires == ends_at(local_date(earned, tz) + timedelta(days=1), tz)
    assert expires is not None
    assert expires.utcoffset() == timedelta(hours=offset_hours)


@pytest.mark.parametrize(
    "policy",
    [{}, {"inactivity": {"months": 12}}, {"remind_days_before": [30], "clawback": "deduct_money"}],
)
def test_without_a_lot_expiry_kind_points_never_expire(policy):
    assert expiry_of(at(SHANGHAI, 2025, 1, 1), policy, SHANGHAI) is None


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"rolling": {"days": 30}, "calendar": {"years_after": 1}}, "choose one"),
        ({"rolling": {"days": 0}}, "at least 1"),
        ({"rolling": {"days": True}}, "whole number"),
        ({"rolling": {"days": 30, "months": 1}}, "exactly one of days or months"),
        ({"rolling": {}}, "exactly one of days or months"),
        ({"rolling": {"weeks": 2}}, "exactly one of days or months"),
        ({"calendar": {}}, "years_after"),
        ({"calendar": {"years_after": -1}}, "at least 0"),
        ({"end_of_month": None}, "months_after"),
        ({"fixed_date": "30/06/2027"}, "a date like 2027-06-30"),
        ({"fixed_date": datetime(2027, 6, 30, tzinfo=UTC)}, "a date like 2027-06-30"),
    ],
)
def test_malformed_expiry_policies_are_refused_as_policy_errors(policy, message):
    with pytest.raises(PolicyError, match=message):
        expiry_of(at(SHANGHAI, 2025, 1, 1), policy, SHANGHAI)


@given(
    earned=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2080, 1, 1)),
    days=st.integers(min_value=1, max_value=3650),
    tz=ZONES,
)
def test_rolling_expiry_is_always_after_earning_and_at_a_days_end(earned, days, tz):
    earned_at = earned.replace(tzinfo=UTC)
    expires = expiry_of(earned_at, {"rolling": {"days": days}}, tz)
    assert expires is not None
    assert expires > earned_at
    assert local_date(expires, tz) == local_date(earned_at, tz) + timedelta(days=days)
    assert local_date(next_instant(expires), tz) == local_date(expires, tz) + timedelta(days=1)


# --- inactivity and pending ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_activity", "months", "last_day"),
    [
        (at(SHANGHAI, 2025, 1, 31, 12), 1, date(2025, 2, 28)),
        (at(SHANGHAI, 2024, 2, 29, 12), 12, date(2025, 2, 28)),
        (at(SHANGHAI, 2025, 6, 15, 12), 24, date(2027, 6, 15)),
        (at(UTC, 2025, 6, 15, 20), 1, date(2025, 7, 16)),  # already the 16th in Shanghai
    ],
)
def test_inactivity_deadline_is_the_end_of_the_day_n_months_after_last_activity(
    last_activity, months, last_day
):
    assert inactivity_deadline(last_activity, months, SHANGHAI) == ends_at(last_day, SHANGHAI)


@pytest.mark.parametrize("months", [0, -1, True])
def test_inactivity_months_must_be_positive(months):
    with pytest.raises(PolicyError):
        inactivity_deadline(at(SHANGHAI, 2025, 1, 1), months, SHANGHAI)


def test_zero_pending_days_means_spendable_at_once():
    earned = at(SHANGHAI, 2025, 3, 1, 15, 42)
    assert pending_until(earned, 0, SHANGHAI) == earned


@pytest.mark.parametrize(
    ("earned", "days", "tz", "spendable_from"),
    [
        (at(SHANGHAI, 2025, 3, 1, 15), 14, SHANGHAI, at(SHANGHAI, 2025, 3, 15)),
        (at(SHANGHAI, 2025, 12, 25, 9), 7, SHANGHAI, at(SHANGHAI, 2026, 1, 1)),
        (at(SHANGHAI, 2024, 2, 28, 9), 1, SHANGHAI, at(SHANGHAI, 2024, 2, 29)),
        (at(BERLIN, 2025, 3, 29, 12), 1, BERLIN, at(BERLIN, 2025, 3, 30)),
        (at(SANTIAGO, 2024, 9, 7, 12), 1, SANTIAGO, at(SANTIAGO, 2024, 9, 8, 1)),
    ],
)
def test_pending_points_become_spendable_at_the_start_of_the_local_day_n_days_later(
    earned, days, tz, spendable_from
):
    assert pending_until(earned, days, tz) == spendable_from


def test_pending_days_must_not_be_negative():
    with pytest.raises(PolicyError, match="pending_days"):
        pending_until(at(SHANGHAI, 2025, 1, 1), -1, SHANGHAI)


# --- qualifying periods ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "on", "bounds"),
    [
        ("calendar_year", date(2024, 2, 29), (date(2024, 1, 1), date(2024, 12, 31))),
        ("calendar_year", date(2025, 12, 31), (date(2025, 1, 1), date(2025, 12, 31))),
        ("rolling_12_months", date(2025, 6, 15), (date(2024, 6, 16), date(2025, 6, 15))),
        ("rolling_12_months", date(2025, 1, 1), (date(2024, 1, 2), date(2025, 1, 1))),
        ("rolling_12_months", date(2024, 12, 31), (date(2024, 1, 1), date(2024, 12, 31))),
        ("rolling_12_months", date(2024, 2, 29), (date(2023, 3, 1), date(2024, 2, 29))),
        ("rolling_12_months", date(2025, 2, 28), (date(2024, 2, 29), date(2025, 2, 28))),
    ],
)
def test_period_bounds_for_calendar_and_rolling_periods(kind, on, bounds):
    assert period_bounds(kind, on) == bounds


@pytest.mark.parametrize(
    ("joined", "on", "bounds"),
    [
        (date(2023, 5, 10), date(2023, 5, 10), (date(2023, 5, 10), date(2024, 5, 9))),
        (date(2023, 5, 10), date(2025, 5, 9), (date(2024, 5, 10), date(2025, 5, 9))),
        (date(2023, 5, 10), date(2025, 5, 10), (date(2025, 5, 10), date(2026, 5, 9))),
        (date(2024, 12, 31), date(2025, 12, 30), (date(2024, 12, 31), date(2025, 12, 30))),
        (date(2024, 12, 31), date(2025, 12, 31), (date(2025, 12, 31), date(2026, 12, 30))),
        (date(2024, 2, 29), date(2025, 2, 27), (date(2024, 2, 29), date(2025, 2, 27))),
        (date(2024, 2, 29), date(2025, 2, 28), (date(2025, 2, 28), date(2026, 2, 27))),
        (date(2024, 2, 29), date(2028, 2, 28), (date(2027, 2, 28), date(2028, 2, 28))),
        (date(2024, 2, 29), date(2028, 2, 29), (date(2028, 2, 29), date(2029, 2, 27))),
    ],
)
def test_anniversary_year_starts_on_the_join_anniversary_and_29_feb_falls_on_28_feb(
    joined, on, bounds
):
    assert period_bounds("anniversary_year", on, joined=joined) == bounds


@given(
    kind=st.sampled_from(["calendar_year", "rolling_12_months", "anniversary_year"]),
    joined=st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31)),
    offset=st.integers(min_value=0, max_value=20000),
)
def test_a_qualifying_period_contains_its_day_and_lasts_a_year(kind, joined, offset):
    on = joined + timedelta(days=offset)
    start, end = period_bounds(kind, on, joined=joined)
    assert start <= on <= end
    assert 364 <= (end - start).days <= 366


@pytest.mark.parametrize(
    ("kind", "on", "joined", "error"),
    [
        ("anniversary_year", date(2025, 1, 1), None, InputError),
        ("anniversary_year", date(2025, 1, 1), date(2025, 1, 2), InputError),
        ("fiscal_year", date(2025, 1, 1), None, PolicyError),
        ("calendar_year", datetime(2025, 1, 1, tzinfo=UTC), None, InputError),
    ],
)
def test_period_bounds_refuses_what_it_cannot_place(kind, on, joined, error):
    with pytest.raises(error):
        period_bounds(kind, on, joined=joined)


@pytest.mark.parametrize(
    ("earned_on", "rule", "period", "joined", "until"),
    [
        (date(2025, 3, 10), "end_of_period", "calendar_year", None, date(2025, 12, 31)),
        (date(2025, 3, 10), "end_of_next_period", "calendar_year", None, date(2026, 12, 31)),
        (date(2025, 12, 31), "end_of_next_period", "calendar_year", None, date(2026, 12, 31)),
        (date(2025, 3, 10), "rolling_12_months", "calendar_year", None, date(2026, 3, 9)),
        (date(2024, 2, 29), "rolling_12_months", "calendar_year", None, date(2025, 2, 27)),
        (date(2025, 3, 10), "end_of_period", "rolling_12_months", None, date(2026, 3, 9)),
        (date(2025, 3, 10), "end_of_next_period", "rolling_12_months", None, date(2027, 3, 9)),
        (date(2025, 3, 10), "end_of_period", "anniversary_year", date(2023, 5, 10),
         date(2025, 5, 9)),
        (date(2025, 3, 10), "end_of_next_period", "anniversary_year", date(2023, 5, 10),
         date(2026, 5, 9)),
        (date(2025, 3, 10), "rolling_12_months", "anniversary_year", date(2023, 5, 10),
         date(2026, 3, 9)),
    ],
)  # fmt: skip
def test_status_lasts_to_the_end_of_its_period_or_twelve_months(
    earned_on, rule, period, joined, until
):
    assert status_valid_until(earned_on, rule, period, joined=joined) == until


def test_status_valid_until_refuses_an_unknown_rule():
    with pytest.raises(PolicyError, match="status_lasts"):
        status_valid_until(date(2025, 1, 1), "forever", "calendar_year")


# --- birthdays -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birthday", "on", "today", "week", "month"),
    [
        (date(1990, 6, 11), date(2025, 6, 11), True, True, True),
        (date(1990, 6, 15), date(2025, 6, 11), False, True, True),  # Sunday of the same week
        (date(1990, 6, 9), date(2025, 6, 11), False, True, True),  # Monday of the same week
        (date(1990, 6, 16), date(2025, 6, 11), False, False, True),
        (date(1990, 6, 8), date(2025, 6, 11), False, False, True),
        (date(1990, 7, 1), date(2025, 6, 30), False, True, False),  # the week spans two months
        (date(1990, 1, 2), date(2025, 12, 31), False, True, False),  # ... and two years
        (date(1990, 12, 29), date(2026, 1, 2), False, True, False),
        (date(1990, 12, 28), date(2025, 12, 31), False, False, True),
        (date(2000, 2, 29), date(2025, 2, 28), True, True, True),
        (date(2000, 2, 29), date(2024, 2, 28), False, True, True),
        (date(2000, 2, 29), date(2024, 2, 29), True, True, True),
        (date(2000, 2, 29), date(2025, 3, 1), False, True, False),
        (date(2000, 2, 29), date(2025, 3, 3), False, False, False),
    ],
)
def test_birthday_flags_for_the_day_the_iso_week_and_the_month(birthday, on, today, week, month):
    assert birthday_flags(birthday, on) == {
        "birthday_today": today,
        "birthday_this_week": week,
        "birthday_this_month": month,
    }


def test_no_known_birthday_raises_no_flags():
    assert birthday_flags(None, date(2025, 6, 11)) == {
        "birthday_today": False,
        "birthday_this_week": False,
        "birthday_this_month": False,
    }


@given(birthday=DATES, on=DATES)
def test_a_birthday_today_is_also_this_week_and_this_month(birthday, on):
    flags = birthday_flags(birthday, on)
    if flags["birthday_today"]:
        assert flags["birthday_this_week"]
        assert flags["birthday_this_month"]


# --- codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "code"),
    [
        (date(2025, 6, 9), "mon"),
        (date(2025, 6, 10), "tue"),
        (date(2025, 6, 11), "wed"),
        (date(2025, 6, 12), "thu"),
        (date(2025, 6, 13), "fri"),
        (date(2025, 6, 14), "sat"),
        (date(2025, 6, 15), "sun"),
        (date(2024, 2, 29), "thu"),
    ],
)
def test_weekday_code_names_the_day_as_rules_write_it(day, code):
    assert weekday_code(day) == code


@pytest.mark.parametrize(
    ("day", "number"),
    [(date(2026, 3, 7), 20260307), (date(2025, 12, 31), 20251231), (date(1, 1, 1), 10101)],
)
def test_yyyymmdd_is_a_sortable_number(day, number):
    assert yyyymmdd(day) == number


@given(a=DATES, b=DATES)
def test_yyyymmdd_sorts_like_the_dates(a, b):
    assert (yyyymmdd(a) < yyyymmdd(b)) == (a < b)
