"""The rule tree's parser: a rule's ``when`` mapping read once into a ``Condition``.

Every value is normalised to the type the facts carry (``engine.rules.tree``), so every back end
compares like with like. Anything that cannot be normalised is refused with a ``PolicyError``
whose problems carry a path that starts at ``when`` (``("when", "transaction", "amount", "gte")``).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from engine.errors import PolicyError
from engine.policy.problems import Path, Problem
from engine.rules.network import check_limits
from engine.rules.tree import (
    BIRTHDAYS,
    LINE_FIELDS,
    LIST_OPERATORS,
    MAX_INT,
    MAX_LINE_PATTERNS,
    MAX_VALUES_PER_RULE,
    MEMBER_FIELDS,
    OPERATORS,
    ORDERING,
    RANGES,
    TAG_PREFIX,
    TRANSACTION_FIELDS,
    WEEKDAYS,
    Condition,
    Kind,
    Scalar,
    Test,
)

_TAG_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_INTEGER = re.compile(r"^[+-]?\d{1,16}$")
_KIND_WORDS: Mapping[Kind, str] = MappingProxyType(
    {
        "money": "an amount",
        "date": "a date",
        "int": "a number",
        "hour": "an hour",
        "weekday": "a weekday",
        "text": "text",
        "flag": "a yes/no flag",
        "day_of_month": "a day of the month",
        "days_to_month_end": "a number of days",
        "nth_weekday": "a week of the month",
        "month_day": "a month-day",
    }
)


class _Bad(Exception):
    """A value that cannot be normalised; the message is for the marketer."""


def parse_when(
    rule_id: str, when: Mapping[str, Any] | None, *, currency_exponent: int
) -> Condition:
    """Parse a schema-valid ``when`` mapping into a ``Condition``; raise ``PolicyError``."""
    if not isinstance(currency_exponent, int) or not 0 <= currency_exponent <= 4:
        raise ValueError(f"currency_exponent must be 0..4, got {currency_exponent!r}")
    parser = _Parser(currency_exponent)
    condition = parser.condition(rule_id, {} if when is None else when)
    if not parser.problems:
        parser.problems.extend(check_limits([condition]))
    if parser.problems:
        count = len(parser.problems)
        raise PolicyError(f"rule {rule_id}: {count} problem(s) in when", parser.problems)
    return condition


class _Parser:
    def __init__(self, exponent: int) -> None:
        self.exponent = exponent
        self.problems: list[Problem] = []

    def fail(self, path: Path, message: str) -> None:
        self.problems.append(Problem(message, path, code="condition"))

    def condition(self, rule_id: str, when: Any) -> Condition:
        if not isinstance(when, Mapping):
            self.fail(("when",), "expected a mapping with transaction, member or lines")
            return Condition(rule_id)
        for key in when:
            if key not in ("transaction", "member", "lines"):
                self.fail(
                    ("when", key), f"unknown section '{key}'; use transaction, member or lines"
                )
        condition = Condition(
            rule_id=rule_id,
            transaction=self.transaction(("when", "transaction"), when.get("transaction")),
            member=self.member(("when", "member"), when.get("member")),
            lines=self.lines(("when", "lines"), when.get("lines")),
        )
        self.check_size(condition)
        return condition

    def check_size(self, condition: Condition) -> None:
        tests = [*condition.transaction, *condition.member]
        tests += [test for pattern in condition.lines for test in pattern]
        count = sum(len(t.value) if isinstance(t.value, tuple) else 1 for t in tests)
        if count > MAX_VALUES_PER_RULE:
            self.fail(
                ("when",),
                f"this rule lists {count} values; at most {MAX_VALUES_PER_RULE} per rule "
                "(durable-rules hangs with more than 512 tests under one branch)",
            )

    def lines(self, path: Path, raw: Any) -> tuple[tuple[Test, ...], ...]:
        if raw is None:
            return ()
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            self.fail(path, "expected a list of line patterns")
            return ()
        if len(raw) > MAX_LINE_PATTERNS:
            self.fail(path, f"at most {MAX_LINE_PATTERNS} line patterns, got {len(raw)}")
        return tuple(self.block((*path, i), item, LINE_FIELDS) for i, item in enumerate(raw))

    def block(
        self, path: Path, raw: Any, fields: Mapping[str, Kind], special: tuple[str, ...] = ()
    ) -> tuple[Test, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, Mapping):
            self.fail(path, "expected a mapping of field tests")
            return ()
        tests: list[Test] = []
        for key, spec in raw.items():
            if key in special:
                continue
            if key not in fields or fields[key] == "flag":
                names = [name for name, kind in fields.items() if kind != "flag"]
                choices = ", ".join([*names, *special])
                self.fail((*path, key), f"unknown field '{key}'; use one of {choices}")
                continue
            tests += self.field((*path, key), key, fields[key], spec)
        return tuple(tests)

    def transaction(self, path: Path, raw: Any) -> tuple[Test, ...]:
        special = ("last_day_of_month",)
        tests = list(self.block(path, raw, TRANSACTION_FIELDS, special=special))
        if isinstance(raw, Mapping) and "last_day_of_month" in raw:
            tests += self.last_day((*path, "last_day_of_month"), raw["last_day_of_month"])
        return tuple(tests)

    def last_day(self, path: Path, raw: Any) -> list[Test]:
        # Shorthand: the last day is the one with no days left in the month.
        if raw is not True:
            self.fail(path, f"write last_day_of_month: true (or leave it out), got {raw!r}")
            return []
        return [Test("days_to_month_end", "eq", 0)]

    def member(self, path: Path, raw: Any) -> tuple[Test, ...]:
        tests = list(self.block(path, raw, MEMBER_FIELDS, special=("birthday", "tags")))
        if not isinstance(raw, Mapping):
            return tuple(tests)
        if "birthday" in raw:
            tests += self.birthday((*path, "birthday"), raw["birthday"])
        if "tags" in raw:
            tests += self.tags((*path, "tags"), raw["tags"])
        return tuple(tests)

    def birthday(self, path: Path, raw: Any) -> list[Test]:
        if raw not in BIRTHDAYS:
            self.fail(path, f"expected today, this_week or this_month, got {raw!r}")
            return []
        return [Test(f"birthday_{raw}", "eq", True)]

    def field(self, path: Path, name: str, kind: Kind, spec: Any) -> list[Test]:
        if isinstance(spec, Mapping):
            if not spec:
                self.fail(path, "needs at least one operator")
            return [
                t for op, v in spec.items() for t in self.operator((*path, op), name, kind, op, v)
            ]
        if isinstance(spec, Sequence) and not isinstance(spec, str):
            return self.operator(path, name, kind, "in", spec)
        return self.operator(path, name, kind, "eq", spec)

    def operator(self, path: Path, name: str, kind: Kind, op: Any, raw: Any) -> list[Test]:
        if op not in OPERATORS:
            self.fail(path, f"unknown operator '{op}'; use one of {', '.join(OPERATORS)}")
            return []
        if op in ORDERING and kind in ("text", "weekday", "flag"):
            self.fail(
                path, f"'{op}' compares numbers, amounts and dates; {name} is {_KIND_WORDS[kind]}"
            )
            return []
        if op in LIST_OPERATORS:
            values = self.values(path, kind, op, raw)
            return [Test(name, op, values)] if values else []
        if op == "between":
            return self.between(path, name, kind, raw)
        if isinstance(raw, Sequence) and not isinstance(raw, str):
            self.fail(path, f"'{op}' takes a single value, not a list")
            return []
        value = self.value(path, kind, raw)
        return [] if value is None else [Test(name, op, value)]

    def values(self, path: Path, kind: Kind, op: str, raw: Any) -> tuple[Scalar, ...]:
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            self.fail(path, f"'{op}' takes a list of values")
            return ()
        if not raw:
            self.fail(path, "needs at least one value")
            return ()
        normalised = [self.value((*path, i), kind, item) for i, item in enumerate(raw)]
        if any(value is None for value in normalised):
            return ()
        return tuple(dict.fromkeys(v for v in normalised if v is not None))

    def between(self, path: Path, name: str, kind: Kind, raw: Any) -> list[Test]:
        if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) != 2:
            self.fail(path, "between needs exactly two values: [low, high]")
            return []
        low, high = (self.value((*path, i), kind, item) for i, item in enumerate(raw))
        if low is None or high is None:
            return []
        assert isinstance(low, int) and isinstance(high, int)  # ordering kinds are all integers
        if low > high and kind != "month_day":  # a yearly range may cross new year
            self.fail(path, f"between needs the low value first, got [{raw[0]}, {raw[1]}]")
            return []
        return [Test(name, "between", (low, high))]

    def value(self, path: Path, kind: Kind, raw: Any) -> Scalar | None:
        try:
            return normalise(kind, raw, self.exponent)
        except _Bad as bad:
            self.fail(path, str(bad))
            return None

    def tags(self, path: Path, raw: Any) -> list[Test]:
        if not isinstance(raw, Mapping):
            self.fail(path, "expected a mapping of tag names to values")
            return []
        tests: list[Test] = []
        for name, spec in raw.items():
            if not isinstance(name, str) or not _TAG_NAME.match(name):
                self.fail((*path, name), "a tag name is lower-case letters, digits, '-' or '_'")
                continue
            tests += self.tag((*path, name), TAG_PREFIX + name, spec)
        return tests

    def tag(self, path: Path, field: str, spec: Any) -> list[Test]:
        if isinstance(spec, Sequence) and not isinstance(spec, str):
            values = self.values(path, "text", "in", spec)
            return [Test(field, "in", values)] if values else []
        if not isinstance(spec, Mapping):
            value = self.value(path, "text", spec)
            return [] if value is None else [Test(field, "in", (value,))]
        if not spec:
            self.fail(path, "needs at least one operator")
        tests: list[Test] = []
        for op, raw in spec.items():
            if op not in LIST_OPERATORS:
                self.fail((*path, op), f"tags accept a value, a list, in or not_in; got '{op}'")
                continue
            values = self.values((*path, op), "text", op, raw)
            tests += [Test(field, op, values)] if values else []
        return tests


def normalise(kind: Kind, raw: Any, exponent: int) -> Scalar:
    """One YAML value → the fact type of ``kind``; raise ``_Bad`` with a readable message."""
    if kind == "money":
        return _money(raw, exponent)
    if kind == "date":
        return _date(raw)
    if kind == "int":
        return _integer(raw)
    if kind in RANGES:
        return _ranged(kind, raw)
    if kind == "month_day":
        return _month_day(raw)
    if kind == "weekday":
        return _weekday(raw)
    if kind == "flag":
        if not isinstance(raw, bool):
            raise _Bad(f"expected true or false, got {raw!r}")
        return raw
    return _text(raw)


def _bounded(value: int, raw: Any) -> int:
    if abs(value) > MAX_INT:
        raise _Bad(f"{raw} is too large")
    return value


def _money(raw: Any, exponent: int) -> int:
    amount = _decimal(raw)
    if amount is None or not amount.is_finite():
        raise _Bad(f"expected an amount of money like 12.50, got {raw!r}")
    if amount.adjusted() > 15:
        raise _Bad(f"{raw} is too large")
    # Exact integer arithmetic: Decimal operations round to the context's 28 digits.
    sign, digits, power = amount.as_tuple()
    assert isinstance(power, int)  # finite
    units, shift = int("".join(map(str, digits)) or "0"), power + exponent
    while shift < 0 and units and units % 10 == 0:
        units, shift = units // 10, shift + 1
    if shift < 0 and units:
        raise _Bad(f"{raw} has more decimal places than the currency allows ({exponent})")
    minor = units * 10 ** max(shift, 0)
    return _bounded(-minor if sign else minor, raw)


def _decimal(raw: Any) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | Decimal):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))
    if isinstance(raw, str):
        try:
            return Decimal(raw.strip())
        except InvalidOperation:
            return None
    return None


def _integer(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return _bounded(raw, raw)
    if isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
        return _bounded(int(raw), raw)
    if isinstance(raw, str) and _INTEGER.match(raw.strip()):
        return _bounded(int(raw), raw)
    raise _Bad(f"expected a whole number, got {raw!r}")


def _ranged(kind: Kind, raw: Any) -> int:
    low, high = RANGES[kind]
    try:
        number = _integer(raw)
    except _Bad:
        number = low - 1
    if not low <= number <= high:
        raise _Bad(f"expected {_KIND_WORDS[kind]} from {low} to {high}, got {raw!r}")
    return number


def _month_day(raw: Any) -> int:
    match = _MONTH_DAY.match(raw) if isinstance(raw, str) else None
    if match:
        month, day = int(match[1]), int(match[2])
        try:
            datetime.date(2000, month, day)  # a leap year: 02-29 is a month-day
        except ValueError:
            pass
        else:
            return month * 100 + day
    raise _Bad(f"expected a month-day like 12-24 (month first, quoted), got {raw!r}")


def _date(raw: Any) -> int:
    if isinstance(raw, datetime.date) and not isinstance(raw, datetime.datetime):
        return raw.year * 10000 + raw.month * 100 + raw.day
    if isinstance(raw, str) and _DATE.match(raw):
        try:
            return _date(datetime.date.fromisoformat(raw))
        except ValueError:
            pass
    raise _Bad(f"expected a date like 2026-12-31, got {raw!r}")


def _weekday(raw: Any) -> str:
    if isinstance(raw, str) and raw.strip().lower() in WEEKDAYS:
        return raw.strip().lower()
    raise _Bad(f"expected a weekday ({', '.join(WEEKDAYS)}), got {raw!r}")


def _text(raw: Any) -> str:
    if isinstance(raw, bool):
        raise _Bad(f"expected text, got {raw!r}; YAML reads yes/no/on/off as true/false: quote it")
    if isinstance(raw, int):
        return str(raw)  # store and SKU codes are often written unquoted: 101
    if isinstance(raw, str):
        return raw
    raise _Bad(f"expected text, got {raw!r}; quote it")
