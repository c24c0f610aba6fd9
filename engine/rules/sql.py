"""The rule tree's third back end: member tests compiled to SQL, on SQLite and PostgreSQL.

Campaign targeting (``engine.campaigns.targeting``) selects its audience in the database, never
member by member, with the tests a rule's ``member`` block parses to; the plain-Python back end
(``engine.rules.python``) is its twin, and the campaign tests hold the two equal on both
databases. What each field means in SQL:

* ``tier``: the member's tier (no tier compares as ``""``, as in the engine's facts);
* ``balance``: the cached spendable balance;
* ``days_since_last_purchase`` and ``days_since_joined``: whole local days in ``tz``, turned
  into ranges of instants or dates so an index can serve them; a member who never bought
  matches no ``days_since_last_purchase`` test;
* ``joined``: the join date;
* ``tags``: a JSON object of tag → text or list of texts; a test matches when any of the
  member's text values is (``in``) / none is (``not_in``) among the given values; an absent
  tag matches ``not_in`` and nothing else (the engine's semantics).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Column,
    ColumnElement,
    Table,
    and_,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB, array

from engine.calendar import start_of_day
from engine.errors import InputError
from engine.rules.tree import TAG_PREFIX, Test

_FAR = 100_000  # days; a bound further away than this is no bound at all


@dataclass(frozen=True)
class Clauses:
    """Compiles member tests to SQL on a ``members`` table for one dialect and one local day.

    The table needs the columns ``tier``, ``balance``, ``joined`` (a date), ``last_purchase_at``
    (an instant) and ``tags`` (JSON); it is passed in so this compiler knows no schema.
    """

    members: Table
    dialect: str
    today: date
    tz: ZoneInfo

    def all(self, tests: Sequence[Test]) -> ColumnElement[bool]:
        return and_(true(), *(self.test(test) for test in tests))

    def test(self, test: Test) -> ColumnElement[bool]:
        if test.field.startswith(TAG_PREFIX):
            return self.tag(test.field.removeprefix(TAG_PREFIX), test.op, test.value)
        if test.field == "days_since_last_purchase":
            return _days(test.op, test.value, self._inactive)
        if test.field == "days_since_joined":
            return _days(test.op, test.value, self._joined_days)
        if test.field == "joined":
            return _compare(self.members.c.joined, test.op, _dates(test.value))
        if test.field == "tier":
            return _compare(func.coalesce(self.members.c.tier, ""), test.op, test.value)
        if test.field == "balance":
            return _compare(self.members.c.balance, test.op, test.value)
        raise InputError(f"a campaign audience cannot test '{test.field}'")

    def _inactive(self, low: int | None, high: int | None) -> ColumnElement[bool]:
        """Last purchase between ``low`` and ``high`` whole local days ago (inclusive)."""
        bought = self.members.c.last_purchase_at
        parts: list[ColumnElement[bool]] = [bought.is_not(None)]
        if high is not None:
            parts.append(bought >= start_of_day(self.today - timedelta(days=high), self.tz))
        if low is not None:
            parts.append(bought < start_of_day(self.today - timedelta(days=low - 1), self.tz))
        return and_(*parts)

    def _joined_days(self, low: int | None, high: int | None) -> ColumnElement[bool]:
        parts: list[ColumnElement[bool]] = [true()]
        if high is not None:
            parts.append(self.members.c.joined >= self.today - timedelta(days=high))
        if low is not None:
            parts.append(self.members.c.joined <= self.today - timedelta(days=low))
        return and_(*parts)

    def tag(self, name: str, op: str, values: Any) -> ColumnElement[bool]:
        wanted = [str(v) for v in values]
        tags = self.members.c.tags
        hit = (
            _sqlite_tag(tags, name, wanted)
            if self.dialect == "sqlite"
            else _postgres_tag(tags, name, wanted)
        )
        hit = func.coalesce(hit, false())
        if op == "in":
            return hit
        if op == "not_in":
            return not_(hit)
        raise InputError(f"tags take in or not_in, not {op!r}")


def _sqlite_tag(tags: Column[Any], name: str, wanted: list[str]) -> ColumnElement[bool]:
    path = f'$."{name}"'
    kind = func.coalesce(func.json_type(tags, path), "")
    each = func.json_each(tags, path).table_valued("value", "type")
    in_list = exists(
        select(1).select_from(each).where(each.c.type == "text", each.c.value.in_(wanted))
    )
    scalar = func.json_extract(tags, path).in_(wanted)
    return or_(and_(kind == "text", scalar), and_(kind == "array", in_list))


def _postgres_tag(tags: Column[Any], name: str, wanted: list[str]) -> ColumnElement[bool]:
    value = cast(tags, JSONB)[name]
    is_text = func.jsonb_typeof(value).in_(["string", "array"])
    return and_(is_text, value.op("?|", is_comparison=True)(array(wanted)))


def _compare(expr: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    if op == "between":
        return expr.between(value[0], value[1])
    if op == "in":
        return expr.in_(list(value))
    if op == "not_in":
        return expr.not_in(list(value))
    operators = {
        "eq": expr.__eq__,
        "ne": expr.__ne__,
        "gt": expr.__gt__,
        "gte": expr.__ge__,
        "lt": expr.__lt__,
        "lte": expr.__le__,
    }
    return operators[op](value)


def _dates(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_date(v) for v in value)
    return _date(value)


def _date(number: int) -> date:
    return date(number // 10000, number // 100 % 100, number % 100)


def _days(op: str, value: Any, span: Any) -> ColumnElement[bool]:
    """A test on a whole number of days as ranges (``span(low, high)``, inclusive, None = open)."""
    if op in ("in", "not_in"):
        hit = or_(*(span(*_clamp(v, v)) for v in value))
        return hit if op == "in" else and_(span(None, None), not_(hit))
    if op == "ne":
        return and_(span(None, None), not_(span(*_clamp(value, value))))
    if op == "between":
        return span(*_clamp(*value))
    bounds = {
        "eq": (value, value),
        "gt": (value + 1, None),
        "gte": (value, None),
        "lt": (None, value - 1),
        "lte": (None, value),
    }
    return span(*_clamp(*bounds[op]))


def _clamp(low: int | None, high: int | None) -> tuple[int | None, int | None]:
    """Bounds beyond ``_FAR`` days are open; a range wholly beyond them is empty."""
    if (low is not None and low > _FAR) or (high is not None and high < -_FAR):
        return _FAR + 1, _FAR
    open_low = low is None or low < -_FAR
    open_high = high is None or high > _FAR
    return (None if open_low else low), (None if open_high else high)
