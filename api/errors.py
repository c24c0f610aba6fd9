"""Every error is ``application/problem+json`` (RFC 9457); never a stack trace.

Domain errors carry their own status, slug and title (``engine/errors.py``), read here;
anything unexpected is logged with its request id and answered with a bare 500.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from typing import Any

from flask import Flask, Response, g, json
from werkzeug.exceptions import HTTPException

from engine.errors import LoyaltyError, ProblemsError, RedemptionError
from engine.policy.problems import Problem, render_path

PROBLEM_TYPE = "https://loyalty-rules.dev/problems/"
# What a caller is told of a server-side failure: its message may quote internals.
_HIDDEN = "the rules engine failed; it was logged"
log = logging.getLogger("loyalty.api")


class ApiError(Exception):
    """An HTTP-level refusal raised by the edge itself (auth, content type, bad JSON)."""

    def __init__(self, status: int, slug: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.extra = (
            status,
            slug,
            title,
            detail,
            extra,
        )


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> Response:
    body = {
        "type": PROBLEM_TYPE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    if "request_id" in g:
        body["request_id"] = g.request_id
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def problem_records(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    return [_record(item) for item in problems]


def _record(item: Problem) -> dict[str, Any]:
    record: dict[str, Any] = {"path": render_path(item.path), "message": item.message}
    if item.hint:
        record["hint"] = item.hint
    if item.file:
        record |= {"file": item.file, "line": item.line, "column": item.column}
    return record


def _domain(error: LoyaltyError) -> Response:
    """The error class's own status, slug and title; a server-side failure is logged, not told."""
    if error.status >= 500:
        log.error("engine failure\n%s", scrubbed(error), extra={"request_id": g.get("request_id")})
        return problem(error.status, error.slug, error.title, _HIDDEN)
    return problem(error.status, error.slug, error.title, str(error), **_details(error))


def _details(error: LoyaltyError) -> dict[str, Any]:
    if isinstance(error, RedemptionError):
        return {"code": error.code}
    if isinstance(error, ProblemsError):
        return {"errors": problem_records(error.problems)}
    return {}


def init_app(app: Flask) -> None:
    app.register_error_handler(LoyaltyError, _domain)
    app.register_error_handler(
        ApiError, lambda e: problem(e.status, e.slug, e.title, e.detail, **e.extra)
    )
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)


def _http(error: HTTPException) -> Response:
    status = error.code or 500
    slug = (error.name or "error").lower().replace(" ", "-")
    detail = {
        413: "the request body is larger than this server accepts",
        429: f"too many requests from this API key ({error.description}); "
        "retry after the seconds in Retry-After",
    }.get(status, error.description or "")
    response = problem(status, slug, error.name or "Error", detail)
    for name, value in error.get_headers():
        if name == "Allow":  # RFC 9110: a 405 names the methods that are allowed
            response.headers["Allow"] = value
    return response


def _unexpected(error: Exception) -> Response:
    log.error("unhandled error\n%s", scrubbed(error), extra={"request_id": g.get("request_id")})
    return problem(500, "internal", "Internal error", "the server failed; the error was logged")


def scrubbed(error: BaseException) -> str:
    """A traceback of ``error`` and its causes: the frames (file, line, code) and each
    exception's type, but no exception message. Messages of database drivers and of our own
    code may quote what was sent (a name, a phone number, an e-mail), and nothing personal
    may be logged; the frames and the SQL statement (without its values) are enough to debug.
    """
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append("".join(traceback.format_tb(current.__traceback__)))
        parts.append(f"{_kind(current)}: (message withheld: it may quote personal data)\n")
        statement = getattr(current, "statement", None)  # SQLAlchemy: the SQL, no values
        if isinstance(statement, str):
            parts.append(f"  SQL: {statement.strip()}\n")
        current = current.__cause__ or current.__context__
        if current is not None:
            parts.append("caused by:\n")
    return "".join(parts).rstrip()


def _kind(error: BaseException) -> str:
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}"
