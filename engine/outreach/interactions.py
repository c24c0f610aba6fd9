"""The contact centre's log: what happened each time an agent acted on an outreach task.

An interaction records an outcome (``reached``, ``no_answer``, ``declined``,
``offer_accepted``) and free-text notes. A conclusive outcome (anything but ``no_answer``)
also finishes the task (``done``) when it is still open; ``no_answer`` counts an attempt and
leaves the task to be tried again. The member's contact history and the outreach report read
the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.errors import ConflictError, InputError
from engine.ledger.db import inserted_id
from engine.ledger.tables import outreach_interactions, outreach_tasks
from engine.outreach.tasks import TRANSITIONS, get_task
from engine.policy.problems import Problem

OUTCOMES = ("reached", "no_answer", "declined", "offer_accepted")
CONCLUSIVE = frozenset({"reached", "declined", "offer_accepted"})
MAX_NOTE = 2000
MAX_HISTORY = 200


def _check(outcome: Any, note: Any) -> None:
    problems = []
    if outcome not in OUTCOMES:
        problems.append(Problem(f"outcome must be one of {', '.join(OUTCOMES)}", ("outcome",)))
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        problems.append(Problem(f"note must be text of at most {MAX_NOTE} characters", ("note",)))
    if problems:
        raise InputError("the interaction cannot be recorded", problems)


def record(
    engine: Engine,
    programme: str,
    task_id: int,
    outcome: Any,
    *,
    note: Any = None,
    actor: str,
    now: datetime,
    key: str | None = None,
) -> dict[str, Any]:
    """Log one contact attempt on a task; returns the interaction, the task after it and
    whether this was a replay (the same ``key`` logged the same attempt before: nothing new)."""
    _check(outcome, note)
    task = get_task(engine, programme, task_id)  # UnknownTask for a task that is not there
    row = {
        "programme": programme,
        "task_id": task_id,
        "member_id": task["member_id"],
        "trigger_id": task["trigger"],
        "outcome": outcome,
        "note": note or None,
        "actor": actor,
        "at": now,
        "key": key,
    }
    if key is not None and (earlier := _by_key(engine, programme, key)) is not None:
        return _replayed(engine, programme, earlier, row)
    try:
        with engine.begin() as conn:
            new_id = inserted_id(conn.execute(insert(outreach_interactions).values(**row)))
            for change in _task_changes(programme, task_id, outcome, now):
                conn.execute(change)
    except IntegrityError:  # the same key logged at the same moment by a parallel retry
        earlier = _by_key(engine, programme, key) if key is not None else None
        if earlier is None:
            raise
        return _replayed(engine, programme, earlier, row)
    return {
        "interaction": view({**row, "id": new_id}),
        "task": get_task(engine, programme, task_id),
        "replayed": False,
    }


def _by_key(engine: Engine, programme: str, key: str) -> Mapping[Any, Any] | None:
    query = select(outreach_interactions).where(
        outreach_interactions.c.programme == programme, outreach_interactions.c.key == key
    )
    with engine.connect() as conn:
        return conn.execute(query).mappings().first()


def _replayed(
    engine: Engine, programme: str, earlier: Mapping[str, Any], row: Mapping[str, Any]
) -> dict[str, Any]:
    same = all(earlier[k] == row[k] for k in ("task_id", "outcome", "note"))
    if not same:
        raise ConflictError(
            f"Idempotency-Key '{row['key']}' already logged another interaction "
            f"(task {earlier['task_id']}, {earlier['outcome']})"
        )
    return {
        "interaction": view(earlier),
        "task": get_task(engine, programme, earlier["task_id"]),
        "replayed": True,
    }


def _task_changes(programme: str, task_id: int, outcome: str, now: datetime) -> list[Any]:
    """Every attempt counts as one; a conclusive outcome also finishes an open task."""
    where = [outreach_tasks.c.programme == programme, outreach_tasks.c.id == task_id]
    changes = [
        update(outreach_tasks)
        .where(*where)
        .values(attempts=outreach_tasks.c.attempts + 1, updated_at=now)
    ]
    if outcome in CONCLUSIVE:
        can_finish = [s for s, targets in TRANSITIONS.items() if "done" in targets]
        changes.append(
            update(outreach_tasks)
            .where(*where, outreach_tasks.c.status.in_(can_finish))
            .values(status="done")
        )
    return changes


def view(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "task_id": row["task_id"],
        "member_id": row["member_id"],
        "trigger": row["trigger_id"],
        "outcome": row["outcome"],
        "note": row["note"],
        "actor": row["actor"],
        "at": row["at"].isoformat(),
    }


def history(
    engine: Engine,
    programme: str,
    *,
    member: str | None = None,
    task_id: int | None = None,
    limit: int = MAX_HISTORY,
) -> list[dict[str, Any]]:
    """Interactions, newest first, of a member or of a task."""
    query = select(outreach_interactions).where(outreach_interactions.c.programme == programme)
    if member is not None:
        query = query.where(outreach_interactions.c.member_id == member)
    if task_id is not None:
        query = query.where(outreach_interactions.c.task_id == task_id)
    query = query.order_by(outreach_interactions.c.id.desc()).limit(max(1, min(limit, 1000)))
    with engine.connect() as conn:
        return [view(row) for row in conn.execute(query).mappings()]


@dataclass
class OutreachReport:
    """Tasks by trigger and status, and contact outcomes by trigger, over a span of due days
    (tasks) and local days (interactions)."""

    programme: str
    start: date | None
    end: date | None
    tasks: dict[str, dict[str, int]] = field(default_factory=dict)
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        found = dict.fromkeys(OUTCOMES, 0)
        for counts in self.outcomes.values():
            for outcome, n in counts.items():
                found[outcome] = found.get(outcome, 0) + n
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "programme": self.programme,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "tasks": self.tasks,
            "outcomes": self.outcomes,
            "outcome_totals": self.totals(),
        }


def report(
    engine: Engine,
    programme: str,
    tz: ZoneInfo,
    start: date | None = None,
    end: date | None = None,
) -> OutreachReport:
    """Count tasks (by due day) and interactions (by local day of contact) from start to end."""
    if start and end and end < start:
        raise InputError(
            "the report's span is empty", [Problem("'to' must not be before 'from'", ("to",))]
        )
    found = OutreachReport(programme, start, end)
    t, i = outreach_tasks.c, outreach_interactions.c
    tasks = select(t.trigger_id, t.status, func.count()).where(t.programme == programme)
    if start:
        tasks = tasks.where(t.due >= start)
    if end:
        tasks = tasks.where(t.due <= end)
    outcomes = select(i.trigger_id, i.outcome, func.count()).where(i.programme == programme)
    if start:
        outcomes = outcomes.where(i.at >= datetime.combine(start, time(), tz))
    if end:
        outcomes = outcomes.where(i.at < datetime.combine(end + timedelta(days=1), time(), tz))
    with engine.connect() as conn:
        for trigger, status, n in conn.execute(tasks.group_by(t.trigger_id, t.status)):
            found.tasks.setdefault(trigger, {})[status] = int(n)
        for trigger, outcome, n in conn.execute(outcomes.group_by(i.trigger_id, i.outcome)):
            found.outcomes.setdefault(trigger, dict.fromkeys(OUTCOMES, 0))[outcome] = int(n)
    return found
