"""The rule tree's node types and vocabulary: the leaf every stage of ``engine.rules`` shares.

A ``Condition`` is a rule's ``when`` parsed once (``engine.rules.parser``) into frozen
``Test`` nodes whose values are normalised to the type the facts carry (integer minor units for
money, ``YYYYMMDD`` integers for dates, text, booleans). The back ends read these nodes: the
durable-rules network (``network``, ``durable``), plain Python (``python``) and SQL (``sql``).
This module imports nothing from the engine, so any stage may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Scalar = int | str | bool
Value = Scalar | tuple[Scalar, ...]
Kind = Literal[
    "money",
    "date",
    "int",
    "hour",
    "weekday",
    "text",
    "flag",
    "day_of_month",
    "days_to_month_end",
    "nth_weekday",
    "month_day",
]
# Whole-number kinds with a fixed range: a value outside it could never match, so it is refused.
RANGES: Mapping[Kind, tuple[int, int]] = MappingProxyType(
    {"hour": (0, 23), "day_of_month": (1, 31), "days_to_month_end": (0, 30), "nth_weekday": (1, 5)}
)

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "between")
ORDERING = frozenset({"gt", "gte", "lt", "lte", "between"})
LIST_OPERATORS = frozenset({"in", "not_in"})
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BIRTHDAYS = ("today", "this_week", "this_month")

MAX_LINE_PATTERNS = 8
# durable-rules hangs for ever (GIL held) past 512 tests under one parent node; a rule that
# lists more values than this is refused long before the engine gets near that.
MAX_VALUES_PER_RULE = 400
# Integers travel through JSON into C ``long``s; stay well inside what both sides represent.
MAX_INT = 2**53

TRANSACTION_FIELDS: Mapping[str, Kind] = MappingProxyType(
    {
        "amount": "money",
        "channel": "text",
        "store": "text",
        "date": "date",
        "weekday": "weekday",
        "hour": "hour",
        "item_count": "int",
        # Recurring dates, derived from ``date`` by ``engine.rules.facts`` (never sent apart).
        "day_of_month": "day_of_month",
        "days_to_month_end": "days_to_month_end",
        "nth_weekday": "nth_weekday",
        "month_day": "month_day",
    }
)
# The transaction fields computed from ``date``: a caller cannot send them out of step.
CALENDAR_FIELDS = ("day_of_month", "days_to_month_end", "nth_weekday", "month_day")
MEMBER_FIELDS: Mapping[str, Kind] = MappingProxyType(
    {
        "tier": "text",
        "balance": "int",
        "days_since_last_purchase": "int",
        "days_since_joined": "int",
        "joined": "date",
        "campaign_group": "text",
        "birthday_today": "flag",
        "birthday_this_week": "flag",
        "birthday_this_month": "flag",
    }
)
LINE_FIELDS: Mapping[str, Kind] = MappingProxyType(
    {
        "category": "text",
        "sku": "text",
        "quantity": "int",
        "unit_price": "money",
        "amount": "money",
    }
)
TAG_PREFIX = "tags."


@dataclass(frozen=True)
class Test:
    """One comparison on one fact field.

    ``between`` holds ``(low, high)``, both included. On ``month_day`` (``MMDD`` integers) a
    ``low`` after ``high`` wraps round the new year: ``(1220, 105)`` is 20 December to 5 January.
    """

    __test__ = False  # pytest would try to collect a class named Test wherever it is imported

    field: str
    op: str
    value: Value


@dataclass(frozen=True)
class Condition:
    """A rule's ``when``: all tests must hold; each line pattern needs its own basket line."""

    rule_id: str
    transaction: tuple[Test, ...] = ()
    member: tuple[Test, ...] = ()
    lines: tuple[tuple[Test, ...], ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.transaction or self.member or self.lines)


def wraps(test: Test) -> bool:
    """A ``between`` whose low end comes after its high end: a yearly range over new year."""
    if test.op != "between" or not isinstance(test.value, tuple):
        return False
    low, high = test.value
    return isinstance(low, int) and isinstance(high, int) and low > high
