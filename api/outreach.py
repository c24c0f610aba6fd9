"""Outreach tasks for the contact centre and CRM: list them, change their status."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, g, request

from api.auth import requires
from api.bodies import body_with, idempotency_key
from api.errors import ApiError
from api.services import services
from engine.errors import ConflictError
from engine.outreach import interactions
from engine.outreach.tasks import MAX_PAGE, Filters, get_task, list_tasks, set_status

bp = Blueprint("outreach", __name__, url_prefix="/v1/programmes/<programme>/outreach")


@bp.get("/tasks")
@requires("marketer")
def tasks(programme: str) -> dict[str, Any]:
    """Tasks in id order; filters ``status``, ``channel``, ``trigger``, ``due``, ``member``;
    pages of ``limit`` (at most 500) continued with ``after`` = the answer's ``next``."""
    state = services()
    state.registry[programme]  # 404 for a programme that is not loaded
    filters = Filters(
        status=request.args.get("status"),
        channel=request.args.get("channel"),
        trigger=request.args.get("trigger"),
        due=_date_arg("due"),
        member=request.args.get("member"),
    )
    page, following = list_tasks(
        state.database,
        programme,
        filters,
        after=_int_arg("after", 0),
        limit=min(_int_arg("limit", 50), MAX_PAGE),
    )
    return {"tasks": page, "next": following}


@bp.patch("/tasks/<int:task_id>")
@requires("marketer")
def change(programme: str, task_id: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    """``{"status": "done"}`` (and optionally ``"error"`` for a failure); 409 if not allowed.

    The URL names the task, so a retry of a change that was made (the task already has that
    status and error) answers 200 with ``Idempotent-Replayed: true``; an Idempotency-Key
    is only checked."""
    state = services()
    state.registry[programme]
    if task_id >= 2**31:  # no task id is that large; the databases' integers would overflow
        raise ApiError(404, "not-found", "Not found", f"no outreach task {task_id}")
    idempotency_key()
    body = body_with("status", optional=("error",))
    error = body.get("error")
    error = str(error) if error is not None else None
    try:
        task = set_status(
            state.database, programme, task_id, body["status"], now=datetime.now(UTC), error=error
        )
    except ConflictError:
        task = get_task(state.database, programme, task_id)
        if not _already(task, body["status"], error):
            raise
        return task, 200, {"Idempotent-Replayed": "true"}
    return task, 200, {"Idempotent-Replayed": "false"}


@bp.post("/tasks/<int:task_id>/interactions")
@requires("marketer")
def log_interaction(programme: str, task_id: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Log a contact attempt: ``{"outcome": "reached" | "no_answer" | "declined" |
    "offer_accepted", "note": "..."}``. A conclusive outcome finishes the task. 201 when
    logged; with an Idempotency-Key, a retry answers 200 and ``Idempotent-Replayed: true``."""
    state = services()
    state.registry[programme]
    _known_task(task_id)
    key = idempotency_key()
    body = body_with("outcome", optional=("note",))
    result = interactions.record(
        state.database,
        programme,
        task_id,
        body["outcome"],
        note=body.get("note"),
        actor=f"api:{g.get('role', 'unknown')}",
        now=datetime.now(UTC),
        key=key,
    )
    replayed = result.pop("replayed")
    return result, 200 if replayed else 201, {"Idempotent-Replayed": str(replayed).lower()}


@bp.get("/tasks/<int:task_id>/interactions")
@requires("marketer")
def task_interactions(programme: str, task_id: int) -> dict[str, Any]:
    """The task and its contact attempts, newest first."""
    state = services()
    state.registry[programme]
    _known_task(task_id)
    task = get_task(state.database, programme, task_id)
    found = interactions.history(state.database, programme, task_id=task_id)
    return {"task": task, "interactions": found}


@bp.get("/members/<member>/interactions")
@requires("marketer")
def member_interactions(programme: str, member: str) -> dict[str, Any]:
    """The member's history of contacts (newest first) and open tasks: the agent's screen."""
    state = services()
    state.registry[programme]
    found = interactions.history(
        state.database, programme, member=member, limit=min(_int_arg("limit", 50), 200)
    )
    open_tasks, _ = list_tasks(state.database, programme, Filters(member=member), limit=100)
    return {
        "member_id": member,
        "interactions": found,
        "open_tasks": [t for t in open_tasks if t["status"] != "done"],
    }


@bp.get("/report")
@requires("marketer")
def outreach_report(programme: str) -> dict[str, Any]:
    """Tasks by trigger and status (by due day) and contact outcomes by trigger, over
    ``from``..``to`` (dates, both optional)."""
    state = services()
    evaluator = state.registry[programme]
    found = interactions.report(
        state.database, programme, evaluator.tz, _date_arg("from"), _date_arg("to")
    )
    return found.as_dict()


def _known_task(task_id: int) -> None:
    if task_id >= 2**31:  # no task id is that large; the databases' integers would overflow
        raise ApiError(404, "not-found", "Not found", f"no outreach task {task_id}")


def _already(task: dict[str, Any], status: Any, error: str | None) -> bool:
    """The task is as this change would leave it (a retry of a change that was made)."""
    if task["status"] != status:
        return False
    return (error is None and status != "failed") or task["last_error"] == error


def _int_arg(name: str, default: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and int(text) < 2**31):
        raise ApiError(
            400, "bad-parameter", "Bad parameter", f"'{name}' must be a whole number, 0 or more"
        )
    return int(text)


def _date_arg(name: str) -> date | None:
    text = request.args.get(name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ApiError(
            400, "bad-parameter", "Bad parameter", f"'{name}' must be a date like 2026-11-24"
        ) from exc
