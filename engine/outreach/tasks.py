"""The work list: list and filter tasks, change their status, export them as CSV per channel.

Statuses: ``new`` (to do), ``sent`` (handed to a channel), ``done`` (finished, e.g. the call was
made) and ``failed`` (with ``last_error``). Allowed changes: new → sent, done or failed;
sent → done or failed; failed → new (try again) or done. ``done`` is final.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TextIO

from sqlalchemy import Engine, RowMapping, Select, select, update

from engine.errors import ConflictError, InputError, UnknownError
from engine.ledger.tables import members, outreach_tasks
from engine.outreach.triggers import CONTACT_FIELD
from engine.policy.problems import Problem

STATUSES = ("new", "sent", "done", "failed")
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"sent", "done", "failed"}),
    "sent": frozenset({"done", "failed"}),
    "failed": frozenset({"new", "done"}),
    "done": frozenset(),
}
MAX_PAGE = 500
CSV_COLUMNS = ("id", "due", "trigger", "member_id", "name", "address", "status", "message")


class UnknownTask(UnknownError):
    """No outreach task has this id in this programme."""


@dataclass(frozen=True)
class Filters:
    """Which tasks to list; None means any."""

    status: str | None = None
    channel: str | None = None
    trigger: str | None = None
    due: date | None = None
    member: str | None = None

    def check(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise InputError(
                f"'{self.status}' is not a task status",
                [Problem(f"status must be one of {', '.join(STATUSES)}", ("status",))],
            )

    def apply(self, query: Select[Any]) -> Select[Any]:
        columns = {
            "status": outreach_tasks.c.status,
            "channel": outreach_tasks.c.channel,
            "trigger": outreach_tasks.c.trigger_id,
            "due": outreach_tasks.c.due,
            "member": outreach_tasks.c.member_id,
        }
        for name, column in columns.items():
            value = getattr(self, name)
            if value is not None:
                query = query.where(column == value)
        return query


def _query(programme: str, filters: Filters) -> Select[Any]:
    query = (
        select(outreach_tasks, members.c.name, members.c.contact)
        .select_from(
            outreach_tasks.outerjoin(
                members,
                (members.c.programme == outreach_tasks.c.programme)
                & (members.c.id == outreach_tasks.c.member_id),
            )
        )
        .where(outreach_tasks.c.programme == programme)
    )
    return filters.apply(query).order_by(outreach_tasks.c.id)


def view(row: RowMapping) -> dict[str, Any]:
    """A task as the API and the CLI show it."""
    return {
        "id": row["id"],
        "programme": row["programme"],
        "trigger": row["trigger_id"],
        "member_id": row["member_id"],
        "name": row.get("name"),
        "channel": row["channel"],
        "address": address(row),
        "due": row["due"].isoformat(),
        "status": row["status"],
        "message": row["message"],
        "payload": row["payload"],
        "attempts": row["attempts"],
        "last_error": row["last_error"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


def address(row: RowMapping) -> str | None:
    """Where the task's channel reaches the member (None for app pushes)."""
    field = CONTACT_FIELD.get(row["channel"])
    return (row.get("contact") or {}).get(field) if field else None


def list_tasks(
    engine: Engine,
    programme: str,
    filters: Filters = Filters(),
    *,
    after: int = 0,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of tasks in id order after ``after``, and the id to continue from (or None)."""
    filters.check()
    limit = max(1, min(limit, MAX_PAGE))
    query = _query(programme, filters).where(outreach_tasks.c.id > after).limit(limit + 1)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    page = [view(row) for row in rows[:limit]]
    return page, (page[-1]["id"] if len(rows) > limit else None)


def iter_tasks(engine: Engine, programme: str, filters: Filters) -> Iterator[RowMapping]:
    """Every matching task, read in pages (memory stays flat on long lists)."""
    filters.check()
    after = 0
    while True:
        query = _query(programme, filters).where(outreach_tasks.c.id > after).limit(MAX_PAGE)
        with engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        yield from rows
        if len(rows) < MAX_PAGE:
            return
        after = rows[-1]["id"]


def get_task(engine: Engine, programme: str, task_id: int) -> dict[str, Any]:
    query = _query(programme, Filters()).where(outreach_tasks.c.id == task_id)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise UnknownTask(f"no outreach task {task_id} in programme '{programme}'")
    return view(row)


def set_status(
    engine: Engine,
    programme: str,
    task_id: int,
    status: Any,
    *,
    now: datetime,
    error: str | None = None,
) -> dict[str, Any]:
    """Move a task to ``status`` if the change is allowed (409 otherwise); returns the task."""
    if status not in STATUSES:
        raise InputError(
            f"{status!r} is not a task status",
            [Problem(f"status must be one of {', '.join(STATUSES)}", ("status",))],
        )
    current = get_task(engine, programme, task_id)["status"]
    sources = [s for s, targets in TRANSITIONS.items() if status in targets]
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if error is not None or status == "failed":
        values["last_error"] = error
    with engine.begin() as conn:
        changed = conn.execute(
            update(outreach_tasks)
            .where(
                outreach_tasks.c.programme == programme,
                outreach_tasks.c.id == task_id,
                outreach_tasks.c.status.in_(sources),
            )
            .values(**values)
        ).rowcount
    if not changed:
        raise ConflictError(f"task {task_id} is {current}: it cannot become {status}")
    return get_task(engine, programme, task_id)


def export_csv(engine: Engine, programme: str, filters: Filters, out: TextIO) -> int:
    """Write matching tasks as CSV (one channel's list to hand over); returns the row count."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for row in iter_tasks(engine, programme, filters):
        writer.writerow(
            [
                row["id"],
                row["due"].isoformat(),
                row["trigger_id"],
                row["member_id"],
                row["name"] or "",
                address(row) or "",
                row["status"],
                row["message"] or "",
            ]
        )
        count += 1
    return count
