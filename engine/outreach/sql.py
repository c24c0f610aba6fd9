"""SQL pieces that mean the same on SQLite and PostgreSQL.

Dates in the programme's time zone are computed in the database: PostgreSQL converts with
``AT TIME ZONE``; SQLite (which knows no zones) adds the zone's UTC offset, with one ``CASE``
branch per offset in force over the span of instants a query looks at (none for a zone without
daylight saving). SQLite keeps instants as ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC; the fraction
is dropped before the offset is added, because SQLite rounds it to milliseconds and
23:59:59.999999 would become the next day.

A *day number* is the count of days since 1970-01-01; date arithmetic is done on it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Date,
    Integer,
    String,
    case,
    cast,
    func,
    literal,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from engine.ledger.tables import Moment

EPOCH = date(1970, 1, 1)
JULIAN_EPOCH = 2440587.5  # julianday('1970-01-01')
Expr = ColumnElement[Any]


def day_number(d: date) -> int:
    """``d`` as days since 1970-01-01."""
    return (d - EPOCH).days


@dataclass(frozen=True)
class Sql:
    """Expressions for one dialect (``sqlite`` or ``postgresql``) and one time zone."""

    dialect: str
    tz: ZoneInfo

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgresql"

    def insert(self, table: Any) -> Any:
        """An INSERT that supports ``on_conflict_do_nothing``."""
        return (postgresql if self.postgres else sqlite).insert(table)

    # --- dates ---------------------------------------------------------------------------

    def local_date(self, instant: Expr, span: tuple[datetime, datetime]) -> Expr:
        """The local date of an instant column: a ``date`` (PostgreSQL) or ISO text (SQLite).

        ``span`` bounds the instants looked at; on SQLite it decides which offsets appear.
        """
        if self.postgres:
            return cast(func.timezone(self.tz.key, instant), Date)
        seconds = type_coerce(func.substr(instant, 1, 19), String)
        segments = offset_segments(self.tz, *span)
        if len(segments) == 1:
            return func.date(seconds, _modifier(segments[0][1]))
        whens = [
            (instant < literal(until, Moment()), func.date(seconds, _modifier(offset)))
            for until, offset in segments[:-1]
        ]
        return case(*whens, else_=func.date(seconds, _modifier(segments[-1][1])))

    def day_of(self, local: Expr) -> Expr:
        """The day number of a date expression (a Date column or ``local_date``)."""
        if self.postgres:
            return type_coerce(local - literal(EPOCH, Date), Integer)
        return cast(func.julianday(local) - JULIAN_EPOCH, Integer)

    def date_text(self, local: Expr) -> Expr:
        """A date expression as ISO text (``2026-12-31``)."""
        if self.postgres:
            return type_coerce(func.to_char(local, "YYYY-MM-DD"), String)
        return type_coerce(local, String)

    def day_text(self, number: Expr) -> Expr:
        """A day number as ISO date text."""
        if self.postgres:
            return type_coerce(func.to_char(literal(EPOCH, Date) + number, "YYYY-MM-DD"), String)
        return type_coerce(func.date(literal(JULIAN_EPOCH) + number), String)

    def month_day(self, column: Expr) -> Expr:
        """``MM-DD`` of a Date column."""
        if self.postgres:
            return func.to_char(column, "MM-DD")
        return func.strftime("%m-%d", column)

    # --- JSON and text -------------------------------------------------------------------

    def json_true(self, column: Expr, key: str) -> Expr:
        """``column[key]`` is the JSON value ``true`` (not the text "true", not 1)."""
        if self.postgres:
            return cast(column.op("->")(key), String) == "true"
        return func.json_type(column, f"$.{key}") == "true"

    def json_text(self, column: Expr, key: str) -> Expr:
        """``column[key]`` as text (NULL when missing)."""
        return type_coerce(column, JSON)[key].as_string()

    def json_object(self, **fields: Expr) -> Expr:
        """A JSON object built in the database from named expressions."""
        build = func.json_build_object if self.postgres else func.json_object
        args: list[Any] = []
        for name, value in fields.items():
            args += [literal(name, String), value]
        return type_coerce(build(*args), JSON)

    def with_constant(self, payload: Expr, key: str, value: Any) -> Expr:
        """A JSON object expression with ``key`` set to a constant (JSON-serialisable)."""
        encoded = literal(json.dumps(value, ensure_ascii=False), String)
        if self.postgres:
            extra = func.jsonb_build_object(key, cast(encoded, JSONB))
            return type_coerce(cast(cast(payload, JSONB).op("||")(extra), JSON), JSON)
        return type_coerce(func.json_set(payload, f"$.{key}", func.json(encoded)), JSON)

    def text(self, value: Expr) -> Expr:
        """Any scalar as text, for keys and payloads (money keeps its decimals)."""
        return cast(value, String)

    def concat(self, *parts: Expr | str) -> Expr:
        """Text parts joined with ``||`` (both dialects)."""
        exprs = [
            literal(p, String) if isinstance(p, str) else type_coerce(p, String) for p in parts
        ]
        out: Expr = exprs[0]
        for part in exprs[1:]:
            out = out + part
        return out


def _modifier(offset: int) -> str:
    return f"{offset:+d} seconds"


def offset_segments(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The UTC offsets (seconds) of ``tz`` from ``start`` to ``end``: ``(until, offset)`` pairs,
    each offset in force before its ``until``; the last pair's ``until`` is ``end``."""
    segments: list[tuple[datetime, int]] = []
    at, offset = start, _offset(tz, start)
    while at < end:
        step = min(at + timedelta(days=1), end)
        following = _offset(tz, step)
        if following != offset:
            change = _transition(tz, at, step, offset)
            segments.append((change, offset))
            offset = following
        at = step
    segments.append((end, offset))
    return segments


def _offset(tz: ZoneInfo, at: datetime) -> int:
    delta = at.astimezone(tz).utcoffset()
    return int(delta.total_seconds()) if delta else 0


def _transition(tz: ZoneInfo, low: datetime, high: datetime, before: int) -> datetime:
    """The first whole second in (low, high] whose offset is no longer ``before``."""
    lo, hi = math.floor(low.timestamp()), math.ceil(high.timestamp())
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if _offset(tz, datetime.fromtimestamp(middle, UTC)) == before:
            lo = middle
        else:
            hi = middle
    return datetime.fromtimestamp(hi, UTC)
