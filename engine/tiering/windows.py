"""Qualification windows: the days a total counts, as (first day, last day) inclusive.

Dates are the programme's local days; ``moments`` turns a window into the tz-aware half-open
interval a ledger query needs. Month arithmetic clamps to the month's end (31 Jan + 1 month =
28/29 Feb) and always counts from the anchor, never by chaining, so windows do not drift.
"""

from __future__ import annotations

import calendar as stdcal
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from engine.calendar import add_months, start_of_day
from engine.errors import InputError
from engine.tiering.model import Window

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Anchors:
    """A member's own dates that some windows hang on."""

    joined: date | None = None
    upgraded: date | None = None  # the day the current tier started (``tier_since``)
    review: date | None = None  # the member's own review date (``review_anchored``)


NO_ANCHORS = Anchors()


def window_of(window: Window, on: date, anchors: Anchors = NO_ANCHORS) -> tuple[date, date]:
    """The window containing ``on``: the current cycle, or the rolling span ending on ``on``."""
    if window.kind == "calendar_year":
        return date(on.year, 1, 1), date(on.year, 12, 31)
    if window.kind == "year_from_month":
        year = on.year if on.month >= window.start_month else on.year - 1
        start = date(year, window.start_month, 1)
        return start, add_months(start, 12) - ONE_DAY
    if window.kind == "rolling_months":
        return add_months(on, -window.months) + ONE_DAY, on
    if window.kind == "calendar_months":
        first = add_months(on.replace(day=1), 1 - window.months)
        return first, date(on.year, on.month, stdcal.monthrange(on.year, on.month)[1])
    if window.kind == "membership_year":
        anchor = anchors.upgraded if window.anchor == "upgrade" else anchors.joined
        return _cycle(on, _need(anchor, f"the member's {window.anchor} date"), 12)
    return _cycle(on, _need(anchors.review, "the member's review date"), window.months)


def next_window(window: Window, on: date, anchors: Anchors = NO_ANCHORS) -> tuple[date, date]:
    """The window after the one containing ``on`` (for rolling kinds: ending a span later)."""
    end = window_of(window, on, anchors)[1]
    if window.kind in ("rolling_months", "calendar_months"):
        months = window.months
        return window_of(window, _month_end_safe(end, months), anchors)
    return window_of(window, end + ONE_DAY, anchors)


def next_review(window: Window, on: date, anchors: Anchors = NO_ANCHORS) -> date:
    """The next review on or after ``on``: the last day of the window containing it."""
    return window_of(window, on, anchors)[1]


def moments(bounds: tuple[date, date], tz: tzinfo) -> tuple[datetime, datetime]:
    """The window as ``[since, until)`` instants in ``tz`` (23/25-hour days are exact)."""
    return start_of_day(bounds[0], tz), start_of_day(bounds[1] + ONE_DAY, tz)


def _cycle(on: date, anchor: date, months: int) -> tuple[date, date]:
    """The ``months``-long cycle starting on an anniversary of ``anchor`` that contains ``on``."""
    k = ((on.year - anchor.year) * 12 + on.month - anchor.month) // months
    while add_months(anchor, k * months) > on:
        k -= 1
    while add_months(anchor, (k + 1) * months) <= on:
        k += 1
    return add_months(anchor, k * months), add_months(anchor, (k + 1) * months) - ONE_DAY


def _month_end_safe(end: date, months: int) -> date:
    if end.day == stdcal.monthrange(end.year, end.month)[1]:
        target = add_months(end.replace(day=1), months)
        return date(target.year, target.month, stdcal.monthrange(target.year, target.month)[1])
    return add_months(end, months)


def _need(value: date | None, what: str) -> date:
    if value is None:
        raise InputError(f"this qualification window needs {what}, and none is known.")
    return value
