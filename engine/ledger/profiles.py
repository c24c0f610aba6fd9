"""Member profiles: checking one, merge patches (RFC 7396), and the history of every change.

A profile is the member's own data: ``name``, ``tags``, ``birthday``, ``joined``,
``contact`` and ``consent``. PUT replaces it whole, PATCH merges a patch into the stored
one; either way each change is kept in ``member_profile_history`` as
``{field: [old, new]}`` with who made it and when. ``joined`` never moves silently: left
out, the stored date stays; given and different, the move is recorded like any change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert

from engine.errors import InputError
from engine.ledger.tables import member_profile_history
from engine.policy.problems import Problem
from engine.policy.schema import schema_problems

FIELDS = ("name", "tags", "birthday", "joined", "contact", "consent")
NESTED = ("tags", "contact", "consent")  # objects a merge patch merges into, key by key
DATES = ("birthday", "joined")


def profile_values(profile: Any) -> dict[str, Any]:
    """The columns a profile sets; ``joined`` is None when left out (the caller decides)."""
    if not isinstance(profile, Mapping):
        raise InputError("the member profile is invalid", [Problem("expected a JSON object", ())])
    shape = list(schema_problems(dict(profile), "member-profile"))
    if shape:
        raise InputError("the member profile is invalid", shape)
    problems = []
    values: dict[str, Any] = {
        "name": profile.get("name"),
        **{field: dict(profile.get(field, {})) for field in NESTED},
    }
    for field in DATES:
        text = profile.get(field)
        try:
            values[field] = date.fromisoformat(text) if text else None
        except (TypeError, ValueError):
            problems.append(Problem(f"'{text}' is not a date like 2026-11-24", (field,)))
    if problems:
        raise InputError("the member profile is invalid", problems)
    return values


def stored_profile(row: RowMapping) -> dict[str, Any]:
    """The member's profile as a document (what a PATCH is merged into)."""
    document = {field: _jsonable(row[field]) for field in FIELDS}
    return {field: value for field, value in document.items() if value is not None}


def merge_patch(target: Mapping[str, Any], patch: Any) -> dict[str, Any]:
    """RFC 7396 on a profile: null removes a field, ``tags``/``contact``/``consent`` merge.

    Profile values are at most two levels deep, so merging two levels gives the RFC's
    result for every patch that can yield a valid profile (anything deeper is replaced
    whole, then refused by the schema) without recursing into hostile nesting.
    """
    if not isinstance(patch, Mapping):
        raise InputError(
            "the member patch is invalid", [Problem("a merge patch is a JSON object", ())]
        )
    result = dict(target)
    for field, value in patch.items():
        if value is None:
            result.pop(field, None)
        elif field in NESTED and isinstance(value, Mapping) and isinstance(result.get(field), dict):
            merged = {**result[field], **value}
            result[field] = {k: v for k, v in merged.items() if v is not None}
        elif isinstance(value, Mapping):
            result[field] = {k: v for k, v in value.items() if v is not None}
        else:
            result[field] = value
    return result


def changes(
    before: RowMapping | Mapping[str, Any] | None, after: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for every field that differs (old is None on enrolment)."""
    old = before or {}
    return {
        field: [_jsonable(old.get(field)), _jsonable(after.get(field))]
        for field in FIELDS
        if _jsonable(old.get(field)) != _jsonable(after.get(field))
    }


def record_changes(
    conn: Connection,
    programme: str,
    member_id: str,
    changed: dict[str, list[Any]],
    *,
    actor: str,
    at: datetime,
) -> None:
    if changed:
        conn.execute(
            insert(member_profile_history).values(
                programme=programme, member_id=member_id, at=at, actor=actor, changes=changed
            )
        )


def _jsonable(value: Any) -> Any:
    """Dates as ISO text; an empty object is the same as none at all."""
    if isinstance(value, date):
        return value.isoformat()
    return value or None if isinstance(value, dict) else value
