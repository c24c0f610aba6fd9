"""One cell of a CSV row, checked: ids, dates, instants, amounts, points, consent, tags.

Each function takes the cell's text (already stripped) and the column's name, and returns the
value or raises ``RowError`` saying what is wrong in plain words.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.calendar import end_of_day
from engine.calendar import start_of_day as local_start
from engine.ledger.importer.rows import RowError

MAX_ID = 128
TAG_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0"}


def parse_id(text: str, column: str) -> str:
    if not text:
        raise RowError(f"{column} is missing")
    if len(text) > MAX_ID:
        raise RowError(f"{column} is longer than {MAX_ID} characters")
    return text


def parse_date(text: str, column: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RowError(f"{column} '{text}' is not a date like 2026-03-05") from None


def parse_optional_date(text: str, column: str) -> date | None:
    return parse_date(text, column) if text else None


def parse_moment(text: str, column: str, tz: Any, *, day_end: bool = False) -> datetime:
    if not text:
        raise RowError(f"{column} is missing")
    if len(text) == 10:
        day = parse_date(text, column)
        return end_of_day(day, tz) if day_end else local_start(day, tz)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RowError(
            f"{column} '{text}' is not a date and time like 2026-03-05T14:30:00+08:00"
        ) from None
    if moment.tzinfo is None:
        raise RowError(f"{column} '{text}' has no time zone offset (add e.g. +08:00)")
    return moment


def parse_money(text: str, column: str, quantum: Decimal, code: str) -> Decimal:
    """An amount of 0 or more with at most the currency's decimals (``quantum``: 0.01)."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RowError(f"{column} '{text}' is not an amount like 12.50") from None
    if not amount.is_finite() or amount < 0:
        raise RowError(f"{column} '{text}' must be an amount of 0 or more")
    exact = amount.quantize(quantum)
    if exact != amount:
        raise RowError(f"{column} '{text}' has more decimals than {code} has")
    return exact


def parse_points(text: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise RowError(f"points '{text}' must be a whole number of 0 or more")
    return int(text)


def parse_consent(text: str, column: str) -> bool | None:
    value = text.lower()
    if not value:
        return None
    if value in TRUE | FALSE:
        return value in TRUE
    raise RowError(f"{column} '{text}' must be true or false")


def parse_tags(text: str) -> dict[str, str | list[str]]:
    """Tags as a JSON object, or ``k=v;k=v`` (a repeated key collects a list)."""
    if not text:
        return {}
    if text.startswith("{"):
        try:
            tags = json.loads(text)
        except ValueError:
            raise RowError("tags is not valid JSON") from None
    else:
        tags = {}
        for part in filter(None, (p.strip() for p in text.split(";"))):
            key, sep, value = (s.strip() for s in part.partition("="))
            if not sep:
                raise RowError(f"tag '{part}' is not key=value")
            tags[key] = [*_as_list(tags[key]), value] if key in tags else value
    return _checked_tags(tags)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _checked_tags(tags: Any) -> dict[str, str | list[str]]:
    if not isinstance(tags, dict):
        raise RowError("tags must be an object of key: value")
    for key, value in tags.items():
        if not TAG_KEY.match(key):
            raise RowError(f"tag key '{key}' must be lower case letters, digits, _ and -")
        if not isinstance(value, str) and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise RowError(f"tag '{key}' must be text or a list of texts")
    return tags
