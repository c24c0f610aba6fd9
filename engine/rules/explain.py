"""Why a condition did not match: the first failing test, in the words of the programme file.

Used by ``quote --explain`` for the rules and campaigns that did not apply. The tests are
re-evaluated with the plain-Python predicates (the twin of every back end), in the order the
``when`` lists them: the sale, the member, then the basket's lines. Values are shown as the
marketer wrote them (money in the currency's units, dates as ``YYYY-MM-DD``, month-days as
``MM-DD``), never in the integer units the matchers carry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from engine.rules.facts import Facts
from engine.rules.python import compile_block, compile_test
from engine.rules.tree import (
    LINE_FIELDS,
    MEMBER_FIELDS,
    TAG_PREFIX,
    TRANSACTION_FIELDS,
    Condition,
    Kind,
    Scalar,
    Test,
    Value,
)

_WORDS = {
    "eq": "",
    "ne": "not ",
    "gt": "more than ",
    "gte": "at least ",
    "lt": "less than ",
    "lte": "at most ",
    "in": "one of ",
    "not_in": "none of ",
}
_FLAGS = {
    "birthday_today": "member.birthday: today",
    "birthday_this_week": "member.birthday: this_week",
    "birthday_this_month": "member.birthday: this_month",
}


def why_not(condition: Condition, facts: Facts, exponent: int) -> str:
    """The first test of ``condition`` that ``facts`` fail, as one plain sentence."""
    for section, tests, record in (
        ("transaction", condition.transaction, facts.transaction),
        ("member", condition.member, facts.member),
    ):
        for test in tests:
            if not compile_test(test)(record):
                return _failed(section, test, record, exponent)
    return _lines(condition.lines, facts.lines, exponent) or "its conditions are not met"


def _failed(section: str, test: Test, record: Mapping[str, Any], exponent: int) -> str:
    if test.field in _FLAGS:
        return f"{_FLAGS[test.field]} does not hold"
    if test.field.startswith(TAG_PREFIX):
        tag = test.field.removeprefix(TAG_PREFIX)
        held = list((record.get("tags") or {}).get(tag) or ())
        has = ", ".join(held) if held else "no value"
        wanted = ", ".join(map(str, test.value))  # type: ignore[arg-type]  # tag tests are lists
        need = "one of" if test.op == "in" else "none of"
        return f"member.tags.{tag} needs {need} [{wanted}]; the member has {has}"
    kind = _kind(section, test.field)
    name = f"{section}.{test.field}"
    actual = record.get(test.field)
    if actual is None:
        unknown = "the member has none" if section == "member" else "the sale has none"
        return f"{name} needs {_wanted(test, kind, exponent)}; {unknown}"
    return f"{name} needs {_wanted(test, kind, exponent)}; it is {_show(actual, kind, exponent)}"


def _lines(
    patterns: Sequence[tuple[Test, ...]], lines: Sequence[Mapping[str, Any]], exponent: int
) -> str | None:
    for position, pattern in enumerate(patterns):
        predicate = compile_block(pattern)
        if not any(predicate is None or predicate(line) for line in lines):
            wanted = " and ".join(
                f"{t.field} {_wanted(t, LINE_FIELDS[t.field], exponent)}" for t in pattern
            )
            return f"no basket line matches lines[{position}] ({wanted or 'any line'})"
    if patterns:
        return f"the {len(patterns)} line tests need {len(patterns)} different basket lines"
    return None


def _kind(section: str, field: str) -> Kind:
    fields = TRANSACTION_FIELDS if section == "transaction" else MEMBER_FIELDS
    return fields.get(field, "int")


def _wanted(test: Test, kind: Kind, exponent: int) -> str:
    if test.op == "between":
        pair: tuple[Any, Any] = test.value  # type: ignore[assignment]  # between holds a pair
        low, high = pair
        ends = f"{_show(low, kind, exponent)} to {_show(high, kind, exponent)}"
        return f"from {ends}" + (" (over new year)" if low > high else "")
    return _WORDS[test.op] + _show(test.value, kind, exponent)


def _show(value: Value | Any, kind: Kind, exponent: int) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v, kind, exponent) for v in value) + "]"
    return _scalar(value, kind, exponent)


def _scalar(value: Scalar, kind: Kind, exponent: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return str(value)
    if kind == "money":
        return f"{Decimal(value).scaleb(-exponent):f}"
    if kind == "date":
        return f"{value // 10000:04d}-{value // 100 % 100:02d}-{value % 100:02d}"
    if kind == "month_day":
        return f"{value // 100:02d}-{value % 100:02d}"
    return str(value)
