"""Dates and instants of the programme, always in its IANA time zone.

Conventions:

* Instants are aware ``datetime`` objects; a naive one is refused (``InputError``), because
  "midnight" means nothing without a zone. Dates are plain ``date`` objects, already local;
  passing a ``datetime`` where a date is expected is refused, so nobody takes the date of an
  instant in the wrong zone by accident (use ``local_date``).
* A day's end is its **last instant**, 23:59:59.999999 local, computed as one microsecond
  before the next local day starts, so it is right on days of 23 or 25 hours and where a DST
  change happens at midnight. Points are spendable while ``pending_until <= at <= expires_at``:
  both bounds are inclusive.
* Month arithmetic clamps to the month's end (31 Jan + 1 month → 28/29 Feb), and a 29 Feb
  anniversary or birthday falls on 28 Feb in common years.
* Date ranges (qualifying periods) are returned as (first day, last day), both inclusive.
"""

from __future__ import annotations

import calendar as _stdcal
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal, TypedDict, cast, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import InputError, PolicyError

__all__ = [
    "BirthdayFlags",
    "InactivityLapse",
    "PeriodKind",
    "StatusRule",
    "Through",
    "Weekday",
    "add_months",
    "birthday_flags",
    "cap_period",
    "end_of_day",
    "expiry_of",
    "expiry_on",
    "inactivity_deadline",
    "inactivity_lapse_day",
    "local_date",
    "pending_until",
    "pending_until_day",
    "period_bounds",
    "start_of_day",
    "status_valid_until",
    "weekday_code",
    "yyyymmdd",
    "zone",
]

PeriodKind = Literal["calendar_year", "rolling_12_months", "anniversary_year"]
StatusRule = Literal["end_of_period", "end_of_next_period", "rolling_12_months"]
# Whether "valid for N months" lasts through the day before the anniversary or through it.
Through = Literal["day_before", "anniversary"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
# The expiry kinds that give each lot of points its own expiry; `inactivity` is separate.
_LOT_EXPIRY_KINDS = ("rolling", "calendar", "end_of_month", "fixed_date")
_ONE_MICROSECOND = timedelta(microseconds=1)


class BirthdayFlags(TypedDict):
    birthday_today: bool
    birthday_this_week: bool
    birthday_this_month: bool


# --- checks -----------------------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    """The IANA time zone called ``name`` (e.g. ``Asia/Shanghai``); ``InputError`` if none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InputError(
            f"{name!r} is not an IANA time zone; write one like Asia/Shanghai."
        ) from None


def _require_aware(name: str, at: datetime) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"{name} must be a datetime with a time zone, not {at!r}.")


def _require_date(name: str, d: date) -> None:
    if isinstance(d, datetime) or not isinstance(d, date):
        raise InputError(
            f"{name} must be a date, not {d!r}; turn an instant into a date with local_date()."
        )


def _count(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PolicyError(f"{name} must be a whole number of at least {minimum}, not {value!r}.")
    return value


# --- days and instants --------------------------------------------------------------------


def local_date(at: datetime, tz: tzinfo) -> date:
    """The date in ``tz`` at the instant ``at``."""
    _require_aware("the time", at)
    return at.astimezone(tz).date()


def start_of_day(d: date, tz: tzinfo) -> datetime:
    """The first instant of local day ``d``: midnight, or the end of a DST gap at midnight
    (America/Santiago's spring day starts at 01:00)."""
    _require_date("the day", d)
    # fold=0 reads a wall time inside a gap with the offset before it, which lands exactly on
    # the transition when the gap starts at midnight: the true first instant of the day.
    naive_midnight = datetime.combine(d, time(0), tzinfo=tz)
    return naive_midnight.astimezone(UTC).astimezone(tz)


def end_of_day(d: date, tz: tzinfo) -> datetime:
    """The last instant of local day ``d`` (23:59:59.999999 local), inclusive."""
    _require_date("the day", d)
    # Step back from the next day's start in UTC, so 23- and 25-hour days need no special case.
    next_start = start_of_day(d + timedelta(days=1), tz).astimezone(UTC)
    return (next_start - _ONE_MICROSECOND).astimezone(tz)


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later (or earlier if negative), clamped to the month's end."""
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    last = _stdcal.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last))


def _last_day_of_month(year: int, month: int) -> date:
    return date(year, month, _stdcal.monthrange(year, month)[1])


def _anniversary(d: date, year: int) -> date:
    """``d``'s month and day in ``year``; 29 Feb becomes 28 Feb in a common year.

    ``add_months`` by whole years, without its general month arithmetic: only February's
    length depends on the year."""
    if d.month == 2 and d.day == 29 and not _stdcal.isleap(year):
        return date(year, 2, 28)
    return date(year, d.month, d.day)


# --- expiry ---------------------------------------------------------------------------------


def _lot_expiry_date(earned_on: date, kind: str, rule: Any) -> date:
    if kind == "rolling":
        return _rolling_expiry(earned_on, rule)
    if kind == "calendar":
        years = _count("expiry.calendar.years_after", _field(rule, "years_after"), minimum=0)
        return date(earned_on.year + years, 12, 31)
    if kind == "end_of_month":
        months = _count("expiry.end_of_month.months_after", _field(rule, "months_after"), minimum=0)
        later = add_months(earned_on.replace(day=1), months)
        return _last_day_of_month(later.year, later.month)
    return _fixed_date(rule)


def _rolling_expiry(earned_on: date, rule: Any) -> date:
    """N days or months on: through that anniversary day (the default) or the day before."""
    if (
        not isinstance(rule, Mapping)
        or len(rule.keys() & {"days", "months"}) != 1
        or not {"days", "months", "through"} >= rule.keys()
    ):
        raise PolicyError("expiry.rolling needs exactly one of days or months.")
    through = _through("expiry.rolling.through", rule.get("through", "anniversary"))
    if "days" in rule:
        last = earned_on + timedelta(days=_count("expiry.rolling.days", rule["days"], minimum=1))
    else:
        last = add_months(earned_on, _count("expiry.rolling.months", rule["months"], minimum=1))
    return last - timedelta(days=1) if through == "day_before" else last


def _through(name: str, value: Any) -> Through:
    if value not in get_args(Through):
        raise PolicyError(f"{name} must be one of {', '.join(get_args(Through))}, not {value!r}.")
    return cast(Through, value)


def _field(rule: Any, name: str) -> Any:
    if not isinstance(rule, Mapping) or name not in rule:
        raise PolicyError(f"this expiry rule needs {name}.")
    return rule[name]


def _fixed_date(value: Any) -> date:
    # YAML reads an unquoted 2027-06-30 as a date; quoted, it stays text.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PolicyError(f"expiry.fixed_date must be a date like 2027-06-30, not {value!r}.")


def expiry_of(earned_at: datetime, policy: Mapping[str, Any], tz: tzinfo) -> datetime | None:
    """The last instant points earned at ``earned_at`` can be spent, or ``None`` for never.

    ``policy`` is the programme's ``expiry`` section. Kinds, all ending at the end of a local day:
    ``rolling: {days: N}`` N days after the earning date; ``rolling: {months: N}`` the same day
    N months later (clamped to the month's end); ``calendar: {years_after: N}`` 31 Dec of the
    earning year + N (1 = end of next year); ``end_of_month: {months_after: N}`` the last day
    of the month N months on; ``fixed_date: 2027-06-30`` that day (even if already past).
    Only ``inactivity`` (or nothing) means lots never expire one by one.
    """
    _require_aware("earned_at", earned_at)
    if _lot_expiry_kind(policy) is None:
        return None
    return expiry_on(local_date(earned_at, tz), policy, tz)


def expiry_on(earned_on: date, policy: Mapping[str, Any], tz: tzinfo) -> datetime | None:
    """``expiry_of`` for points earned on the local day ``earned_on``: the same for every
    instant of that day, so a caller may keep it per day."""
    kind = _lot_expiry_kind(policy)
    if kind is None:
        return None
    return end_of_day(_lot_expiry_date(earned_on, kind, policy[kind]), tz)


def _lot_expiry_kind(policy: Mapping[str, Any]) -> str | None:
    kinds = [kind for kind in _LOT_EXPIRY_KINDS if kind in policy]
    if len(kinds) > 1:
        raise PolicyError(f"expiry has {' and '.join(kinds)}; choose one of them.")
    return kinds[0] if kinds else None


InactivityLapse = Literal["same_day", "end_of_month"]


def inactivity_lapse_day(last_day: date, months: int, lapse: InactivityLapse = "same_day") -> date:
    """The last local day a balance lives after activity on ``last_day``: the same day
    ``months`` months later (clamped to the month's end), or the last day of that month."""
    day = add_months(last_day, months)
    return _last_day_of_month(day.year, day.month) if lapse == "end_of_month" else day


def inactivity_deadline(
    last_activity_at: datetime, months: int, tz: tzinfo, lapse: InactivityLapse = "same_day"
) -> datetime:
    """The last instant of the day ``months`` months after the last activity (clamped to the
    month's end; with ``end_of_month``, of that month's last day); with no activity by then,
    the whole balance expires."""
    _require_aware("last_activity_at", last_activity_at)
    months = _count("expiry.inactivity.months", months, minimum=1)
    day = inactivity_lapse_day(local_date(last_activity_at, tz), months, lapse)
    return end_of_day(day, tz)


def pending_until(earned_at: datetime, pending_days: int, tz: tzinfo) -> datetime:
    """The first instant points earned at ``earned_at`` can be spent.

    0 days: at once (``earned_at`` itself). N days: from the start of the local day N days
    after the earning date (bought on 1 March with 14 days → spendable from 15 March 00:00).
    """
    _require_aware("earned_at", earned_at)
    days = _count("earn.pending_days", pending_days, minimum=0)
    if days == 0:
        return earned_at
    return pending_until_day(local_date(earned_at, tz), days, tz)


def pending_until_day(earned_on: date, pending_days: int, tz: tzinfo) -> datetime:
    """``pending_until`` for points earned on the local day ``earned_on`` with at least one
    pending day: the same for every instant of that day, so a caller may keep it per day."""
    days = _count("earn.pending_days", pending_days, minimum=1)
    return start_of_day(earned_on + timedelta(days=days), tz)


# --- qualifying periods and status -----------------------------------------------------------


def period_bounds(kind: PeriodKind, on: date, *, joined: date | None = None) -> tuple[date, date]:
    """The qualifying period containing ``on``, as (first day, last day), both inclusive.

    ``calendar_year``: 1 Jan to 31 Dec. ``rolling_12_months``: the 12 months ending on ``on``
    (from the day after ``on``'s date a year earlier). ``anniversary_year``: the membership
    year containing ``on``, starting on the anniversary of ``joined`` (required).
    """
    _require_date("on", on)
    if kind == "calendar_year":
        return date(on.year, 1, 1), date(on.year, 12, 31)
    if kind == "rolling_12_months":
        return _anniversary(on, on.year - 1) + timedelta(days=1), on
    if kind == "anniversary_year":
        return _membership_year(on, joined)
    kinds = ", ".join(get_args(PeriodKind))
    raise PolicyError(f"the qualifying period must be one of {kinds}, not {kind!r}.")


def cap_period(
    kind: str, on: date, *, joined: date | None = None, resets_on: date | None = None
) -> tuple[date, date]:
    """The earning-cap period (``earn.caps.per_period``) containing ``on``, both ends inclusive.

    ``day``, ``week`` (ISO, from Monday), ``month``; ``year``: the calendar year, or with
    ``resets_on`` (only its month and day count) the year starting on that day;
    ``membership_year``: from the anniversary of ``joined`` (required).
    """
    _require_date("on", on)
    if kind == "day":
        return on, on
    if kind == "week":
        monday = on - timedelta(days=on.weekday())
        return monday, monday + timedelta(days=6)
    if kind == "month":
        return on.replace(day=1), _last_day_of_month(on.year, on.month)
    if kind == "membership_year":
        return _membership_year(on, joined)
    if kind != "year":
        raise PolicyError(f"a cap period is day, week, month, year or membership_year: {kind!r}.")
    reset = resets_on or date(2000, 1, 1)
    start = _anniversary(reset, on.year)
    if start > on:
        start = _anniversary(reset, on.year - 1)
    return start, _anniversary(reset, start.year + 1) - timedelta(days=1)


def _membership_year(on: date, joined: date | None) -> tuple[date, date]:
    if joined is None:
        raise InputError("an anniversary year needs the member's join date.")
    _require_date("joined", joined)
    if on < joined:
        raise InputError(f"{on} is before the member joined ({joined}).")
    start = _anniversary(joined, on.year)
    if start > on:
        start = _anniversary(joined, on.year - 1)
    return start, _anniversary(joined, start.year + 1) - timedelta(days=1)


def status_valid_until(
    earned_on: date,
    rule: StatusRule,
    period_kind: PeriodKind,
    *,
    joined: date | None = None,
    through: Through = "day_before",
) -> date:
    """The last day (inclusive) a tier earned on ``earned_on`` lasts.

    ``end_of_period``: to the end of the qualifying period containing ``earned_on``;
    ``end_of_next_period``: to the end of the period after it; ``rolling_12_months``: 12 months,
    i.e. through the day before the earning date's anniversary (``through: day_before``, the
    default) or through the anniversary itself (``through: anniversary``). With a
    ``rolling_12_months`` qualifying period, "the period" is the 12 months starting on
    ``earned_on``.
    """
    _require_date("earned_on", earned_on)
    if rule == "rolling_12_months" or (
        period_kind == "rolling_12_months" and rule in ("end_of_period", "end_of_next_period")
    ):
        years = 2 if rule == "end_of_next_period" else 1
        anniversary = _anniversary(earned_on, earned_on.year + years)
        if _through("tiers.status_through", through) == "anniversary":
            return anniversary
        return anniversary - timedelta(days=1)
    if rule not in ("end_of_period", "end_of_next_period"):
        rules = ", ".join(get_args(StatusRule))
        raise PolicyError(f"status_lasts must be one of {rules}, not {rule!r}.")
    end = period_bounds(period_kind, earned_on, joined=joined)[1]
    if rule == "end_of_next_period":
        end = period_bounds(period_kind, end + timedelta(days=1), joined=joined)[1]
    return end


# --- birthdays and codes ---------------------------------------------------------------------


def birthday_flags(birthday: date | None, on: date) -> BirthdayFlags:
    """Whether ``on`` is the member's birthday, in its ISO week (Monday to Sunday) or in its month.

    The birth year does not matter; a 29 Feb birthday is celebrated on 28 Feb in common years.
    No birthday known → all False.
    """
    _require_date("on", on)
    if birthday is None:
        return BirthdayFlags(
            birthday_today=False, birthday_this_week=False, birthday_this_month=False
        )
    _require_date("birthday", birthday)
    monday = on - timedelta(days=on.weekday())
    sunday = monday + timedelta(days=6)
    # A week around New Year spans two years; the birthday may fall in either.
    in_week = any(
        monday <= _anniversary(birthday, year) <= sunday for year in {monday.year, sunday.year}
    )
    this_year = _anniversary(birthday, on.year)
    return BirthdayFlags(
        birthday_today=this_year == on,
        birthday_this_week=in_week,
        birthday_this_month=this_year.month == on.month,
    )


def weekday_code(d: date) -> Weekday:
    """``"mon"`` … ``"sun"``, as rules write weekdays."""
    _require_date("the day", d)
    return _WEEKDAYS[d.weekday()]


def yyyymmdd(d: date) -> int:
    """The date as a sortable number, 2026-03-07 → 20260307 (rules compare dates this way)."""
    _require_date("the day", d)
    return d.year * 10000 + d.month * 100 + d.day
