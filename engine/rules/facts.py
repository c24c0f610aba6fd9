"""Facts: what the matchers see of one transaction, its member and its basket lines.

Validated once, at construction, so both matchers can trust the types: a rule value and a
fact value of the same field always have the same Python type (never a float, never a bool
where a number belongs). ``None`` means absent; a test on an absent field is false.

The recurring-date fields (``day_of_month``, ``days_to_month_end``, ``nth_weekday``,
``month_day``) are computed here from the transaction's ``date``, so every caller and both
matchers see the same calendar and a caller cannot send them out of step with the date.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import InputError
from engine.policy.problems import Path, Problem
from engine.rules.tree import (
    CALENDAR_FIELDS,
    LINE_FIELDS,
    MAX_INT,
    MEMBER_FIELDS,
    TRANSACTION_FIELDS,
    WEEKDAYS,
    Kind,
)

_TYPES: Mapping[Kind, type] = {
    "money": int,
    "date": int,
    "int": int,
    "hour": int,
    "weekday": str,
    "text": str,
    "flag": bool,
    "day_of_month": int,
    "days_to_month_end": int,
    "nth_weekday": int,
    "month_day": int,
}
_LINE_FIELDS: Mapping[str, Kind] = {**LINE_FIELDS, "index": "int"}


@dataclass(frozen=True)
class Facts:
    """One evaluation's input; treat the mappings as read-only once built."""

    transaction: Mapping[str, Any]
    member: Mapping[str, Any]
    lines: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        # Facts are built on every quote: the common, valid case takes one quick pass; only
        # facts it cannot vouch for are walked again to name every problem.
        problems = [] if _plainly_valid(self) else list(_problems(self))
        if not problems and isinstance(self.transaction, Mapping):
            transaction, problems = _with_calendar(self.transaction)
            object.__setattr__(self, "transaction", transaction)
        if problems:
            raise InputError(f"{len(problems)} problem(s) in the matcher's facts", problems)


def calendar_fields(day: datetime.date) -> dict[str, int]:
    """The recurring-date facts of one local date: 2026-12-24 → day 24, 7 days to the month's
    end, the 4th of its weekday in the month, month-day 1224."""
    last = calendar.monthrange(day.year, day.month)[1]
    return {
        "day_of_month": day.day,
        "days_to_month_end": last - day.day,
        "nth_weekday": (day.day - 1) // 7 + 1,
        "month_day": day.month * 100 + day.day,
    }


def _with_calendar(transaction: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[Problem]]:
    given = [name for name in CALENDAR_FIELDS if transaction.get(name) is not None]
    if given:
        message = "is computed from the date; do not send it"
        return transaction, [_problem(("transaction", name), message) for name in given]
    stamp = transaction.get("date")
    if stamp is None:
        return transaction, []
    try:
        day = datetime.date(stamp // 10000, stamp // 100 % 100, stamp % 100)
    except (ValueError, OverflowError):
        return transaction, [_problem(("transaction", "date"), f"{stamp} is not a YYYYMMDD date")]
    return {**transaction, **calendar_fields(day)}, []


_FAST_TYPES = {
    block: tuple((name, _TYPES[kind], kind == "weekday") for name, kind in fields.items())
    for block, fields in (
        ("transaction", TRANSACTION_FIELDS),
        ("member", MEMBER_FIELDS),
        ("line", _LINE_FIELDS),
    )
}


def _plainly_valid(facts: Facts) -> bool:
    """True when ``_problems`` would find nothing, judged without building any message: exact
    types, integers in range, ASCII text (other text takes the slow path's encoding test)."""
    if not _plain_block(facts.transaction, _FAST_TYPES["transaction"]):
        return False
    member = facts.member
    if not _plain_block(member, _FAST_TYPES["member"]) or not _plain_tags(member.get("tags")):
        return False
    seen: set[int] = set()
    for line in facts.lines:
        if not _plain_block(line, _FAST_TYPES["line"]):
            return False
        index = line.get("index")
        if type(index) is not int or index in seen:
            return False
        seen.add(index)
    return True


def _plain_block(block: Any, fields: tuple[tuple[str, type, bool], ...]) -> bool:
    if not isinstance(block, dict):
        return False
    for name, expected, weekday in fields:
        value = block.get(name)
        if value is None:
            continue
        kind = type(value)  # compared through a name so that mypy does not narrow value
        if kind is not expected:
            return False
        if expected is int and not -MAX_INT <= value <= MAX_INT:
            return False
        if expected is str and not (value.isascii() and (not weekday or value in WEEKDAYS)):
            return False
    return True


def _plain_tags(tags: Any) -> bool:
    if tags is None:
        return True
    if not isinstance(tags, dict):
        return False
    for name, values in tags.items():
        if type(name) is not str or not isinstance(values, list | tuple):
            return False
        if not all(type(value) is str and value.isascii() for value in values):
            return False
    return True


def _problems(facts: Facts) -> Iterator[Problem]:
    yield from _block(("transaction",), facts.transaction, TRANSACTION_FIELDS)
    yield from _block(("member",), facts.member, MEMBER_FIELDS)
    if isinstance(facts.member, Mapping):
        yield from _tags(facts.member.get("tags"))
    seen: set[int] = set()
    for position, line in enumerate(facts.lines):
        yield from _block(("lines", position), line, _LINE_FIELDS)
        index = line.get("index") if isinstance(line, Mapping) else None
        path: Path = ("lines", position, "index")
        if index is None:
            yield _problem(path, "every line needs its index")
        elif isinstance(index, int) and index in seen:
            yield _problem(path, f"index {index} is used by another line")
        elif isinstance(index, int):
            seen.add(index)


def _block(path: Path, block: Any, fields: Mapping[str, Kind]) -> Iterator[Problem]:
    if not isinstance(block, Mapping):
        yield _problem(path, "expected a mapping")
        return
    for name, kind in fields.items():
        value = block.get(name)
        if value is not None:
            message = _check(kind, value)
            if message:
                yield _problem((*path, name), message)


def _check(kind: Kind, value: Any) -> str | None:
    expected = _TYPES[kind]
    if type(value) is not expected:  # exact: bool is an int, and floats are refused
        return f"expected {expected.__name__}, got {type(value).__name__} {value!r}"
    if type(value) is int and abs(value) > MAX_INT:
        return f"{value} is too large"
    if type(value) is str:
        return _text_problem(value) or (
            f"expected one of {', '.join(WEEKDAYS)}, got {value!r}"
            if kind == "weekday" and value not in WEEKDAYS
            else None
        )
    return None


def _text_problem(value: str) -> str | None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{value!r} is not valid text"
    return None


def _tags(tags: Any) -> Iterator[Problem]:
    if tags is None:
        return
    if not isinstance(tags, Mapping):
        yield _problem(("member", "tags"), "expected a mapping of tag names to lists")
        return
    for name, values in tags.items():
        path: Path = ("member", "tags", str(name))
        if not isinstance(name, str):
            yield _problem(path, "a tag name is text")
        elif not isinstance(values, Sequence) or isinstance(values, str):
            yield _problem(path, "expected a list of text values")
        else:
            yield from _tag_values(path, values)


def _tag_values(path: Path, values: Sequence[Any]) -> Iterator[Problem]:
    for i, value in enumerate(values):
        message = _check("text", value)
        if message:
            yield _problem((*path, i), message)


def _problem(path: Path, message: str) -> Problem:
    return Problem(message, path, code="input")
