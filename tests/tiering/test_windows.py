"""Qualification windows: every kind, exact at month ends and leap days, tz-aware bounds."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.calendar import period_bounds
from engine.errors import InputError
from engine.tiering.model import Window
from engine.tiering.windows import Anchors, moments, next_window, window_of

d = date
CAL = Window("calendar_year")
APRIL = Window("year_from_month", start_month=4)
ROLLING = Window("rolling_months", months=12)
QUARTER = Window("calendar_months", months=3)


def test_a_calendar_year_runs_from_1_january_to_31_december():
    assert window_of(CAL, d(2027, 7, 4)) == (d(2027, 1, 1), d(2027, 12, 31))


def test_an_april_year_runs_april_to_march_on_either_side_of_new_year():
    assert window_of(APRIL, d(2027, 3, 31)) == (d(2026, 4, 1), d(2027, 3, 31))
    assert window_of(APRIL, d(2027, 4, 1)) == (d(2027, 4, 1), d(2028, 3, 31))


def test_a_rolling_12_months_ends_today_and_starts_the_day_after_a_year_ago():
    assert window_of(ROLLING, d(2027, 6, 15)) == (d(2026, 6, 16), d(2027, 6, 15))
    assert window_of(ROLLING, d(2028, 2, 29)) == (d(2027, 3, 1), d(2028, 2, 29))


def test_n_whole_calendar_months_end_with_this_month():
    assert window_of(QUARTER, d(2028, 2, 10)) == (d(2027, 12, 1), d(2028, 2, 29))


def test_a_membership_year_hangs_on_the_join_date_or_the_upgrade_date():
    joined = Window("membership_year", anchor="join")
    upgraded = Window("membership_year", anchor="upgrade")
    anchors = Anchors(joined=d(2025, 9, 10), upgraded=d(2026, 11, 2))
    assert window_of(joined, d(2027, 1, 5), anchors) == (d(2026, 9, 10), d(2027, 9, 9))
    assert window_of(upgraded, d(2027, 1, 5), anchors) == (d(2026, 11, 2), d(2027, 11, 1))


def test_a_membership_year_from_29_february_starts_on_28_february_in_common_years():
    anchors = Anchors(joined=d(2024, 2, 29))
    window = Window("membership_year")
    assert window_of(window, d(2025, 3, 1), anchors) == (d(2025, 2, 28), d(2026, 2, 27))
    assert window_of(window, d(2028, 3, 1), anchors) == (d(2028, 2, 29), d(2029, 2, 27))


def test_a_six_month_cycle_anchored_on_31_august_clamps_to_february_and_does_not_drift():
    window = Window("review_anchored", months=6)
    anchors = Anchors(review=d(2026, 8, 31))
    assert window_of(window, d(2027, 3, 1), anchors) == (d(2027, 2, 28), d(2027, 8, 30))
    assert window_of(window, d(2027, 9, 1), anchors) == (d(2027, 8, 31), d(2028, 2, 28))


def test_a_window_hanging_on_an_unknown_date_is_refused_in_words():
    with pytest.raises(InputError, match="review date"):
        window_of(Window("review_anchored", months=12), d(2027, 1, 1))


def test_todays_periods_give_the_same_windows_as_the_ledger_uses():
    joined = d(2024, 2, 29)
    for on in (d(2027, 1, 1), d(2027, 2, 28), d(2028, 2, 29), d(2028, 12, 31)):
        assert window_of(CAL, on) == period_bounds("calendar_year", on)
        assert window_of(ROLLING, on) == period_bounds("rolling_12_months", on)
        assert window_of(Window("membership_year"), on, Anchors(joined=joined)) == period_bounds(
            "anniversary_year", on, joined=joined
        )


def test_the_next_window_of_an_april_year_is_the_following_april_year():
    assert next_window(APRIL, d(2027, 5, 1)) == (d(2028, 4, 1), d(2029, 3, 31))


def test_bounds_in_a_time_zone_with_a_daylight_change_are_whole_local_days():
    paris = ZoneInfo("Europe/Paris")
    since, until = moments((d(2027, 3, 28), d(2027, 3, 28)), paris)
    assert since == datetime(2027, 3, 28, tzinfo=paris)
    # Python subtracts wall times within one zone; the real length shows in UTC.
    assert until.astimezone(UTC) - since.astimezone(UTC) == timedelta(hours=23)


days = st.dates(min_value=d(2000, 1, 1), max_value=d(2090, 12, 31))
windows = st.one_of(
    st.just(CAL),
    st.builds(Window, st.just("year_from_month"), start_month=st.integers(1, 12)),
    st.builds(Window, st.just("rolling_months"), months=st.integers(1, 36)),
    st.builds(Window, st.just("calendar_months"), months=st.integers(1, 36)),
    st.builds(Window, st.just("membership_year"), anchor=st.sampled_from(["join", "upgrade"])),
    st.builds(Window, st.just("review_anchored"), months=st.integers(1, 36)),
)


@given(windows, days, days, days)
def test_a_window_contains_the_day_it_was_asked_for(window, on, joined, review):
    anchors = Anchors(joined=joined, upgraded=joined, review=review)
    start, end = window_of(window, on, anchors)
    assert start <= on <= end


@given(windows, days, days)
def test_cycles_follow_each_other_without_gap_or_overlap(window, on, anchor):
    if window.kind in ("rolling_months", "calendar_months"):
        return
    anchors = Anchors(joined=anchor, upgraded=anchor, review=anchor)
    end = window_of(window, on, anchors)[1]
    assert window_of(window, end + timedelta(days=1), anchors)[0] == end + timedelta(days=1)
    assert window_of(window, end, anchors) == window_of(window, on, anchors)
