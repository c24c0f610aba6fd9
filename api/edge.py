"""Checks every request passes at the edge, before a view or the engine sees its data.

One place, over the whole input, instead of a check per field:

- JSON bodies are parsed with a nesting limit (``MAX_DEPTH``): a body nested deeper is a 422,
  and one deep enough to exhaust Python's recursion (about 1,000 levels) is the same 422,
  never a ``RecursionError`` (500).
- Every text in the body (keys and values), in the path and in the query string must be
  storable on both databases: no NUL (PostgreSQL refuses it, SQLite keeps it, so the two
  would disagree) and no lone UTF-16 surrogate such as ``"\\ud800"`` (not encodable as
  UTF-8, so every database driver fails on it). Both are a 422 naming the field.
- A JSON body is then validated against its operation's request schema in
  ``api/openapi.json``, so the document and the code refuse the same bodies. Validators are
  built once per process; the common, valid case costs one ``is_valid`` call. Every
  ``date-time`` field is bounded to the years ``MIN_YEAR``..``MAX_YEAR`` there, once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from flask import Flask, request
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from api.errors import ApiError
from api.health import OPENAPI
from api.services import services
from engine.policy.problems import Path, render_path
from engine.pricing.model import MAX_YEAR, MIN_YEAR

MAX_DEPTH = 64  # far beyond any documented body (a quote with an inline member is ~6 deep)
MAX_ERRORS = 20  # a body that breaks every rule is named in a few lines, not thousands
OPEN_ENDPOINTS = ("health.healthz", "health.readyz", "health.openapi")  # they read no input


def invalid(errors: list[dict[str, str]], detail: str) -> ApiError:
    return ApiError(422, "invalid-body", "Invalid request body", detail, errors=errors)


def parse_json(raw: bytes) -> Any:
    """The body as data (floats as ``Decimal``), nested at most ``MAX_DEPTH`` deep and with
    only storable text; a 400 when it is not JSON, a 422 naming the field otherwise."""
    try:
        body = json.loads(raw or b"null", parse_float=Decimal)
    except RecursionError as exc:  # the C decoder guards its recursion: safe to catch
        raise _too_deep(()) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            400, "malformed-json", "Malformed JSON", f"the body is not valid JSON: {exc}"
        ) from exc
    check_data(body, "body")
    return body


def check_data(data: Any, where: str) -> None:
    """Walk ``data`` once (no recursion): refuse depth beyond ``MAX_DEPTH`` and bad text."""
    stack: list[tuple[Any, Path]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise _too_deep(path[:MAX_DEPTH])
        if isinstance(value, str):
            _check_text(value, path, where)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, (*path, key), where)
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(value))


def _too_deep(path: Path) -> ApiError:
    message = f"the body is nested more than {MAX_DEPTH} levels deep"
    return invalid([{"path": render_path(path), "message": message}], message)


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None. ASCII without NUL, the usual case, is fast."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate (e.g. \\ud800), which is not valid Unicode"
    return None


def _check_text(text: str, path: Path, where: str) -> None:
    problem = text_problem(text)
    if problem:
        shown = tuple(_printable(part) if isinstance(part, str) else part for part in path)
        name = render_path(shown) if where == "body" else str(shown[0])
        message = f"{name or 'the body'} {problem}"
        raise invalid([{"path": name, "message": message}], f"{where}: {message}")


def _printable(text: str) -> str:
    """``text`` with a NUL or lone surrogate written as its escape, so the answer can say it."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def check_request_text() -> None:
    """Path parameters and query arguments carry only storable text (a before_request hook,
    so it runs for every route, before the view).

    A caller without a valid key is left to the view's 401: the key is checked first."""
    endpoint, values = request.endpoint, request.view_args
    if endpoint in OPEN_ENDPOINTS or (services().settings.auth and not _has_valid_key()):
        return
    for name, value in (values or {}).items():
        if isinstance(value, str):
            _check_text(value, (name,), "path")
    for name, value in request.args.items(multi=True):
        _check_text(name, (name,), "query")
        _check_text(value, (name,), "query")


# The request schemas of api/openapi.json, by (Flask rule, method).
_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    """``/v1/programmes/<programme>/quote`` → ``/v1/programmes/{programme}/quote``."""
    return _PARAMETER.sub(r"{\1}", rule)


@cache
def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return loaded


@cache
def request_validator(path: str, method: str) -> Validator | None:
    """The validator of the JSON body of ``method path``, built once; None when undocumented."""
    operation = _document()["paths"].get(path, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not content or "schema" not in content:
        return None
    # The operation's schema as the root, with the components beside it so that
    # "#/components/schemas/..." references resolve inside the same resource.
    schema = {"components": _document()["components"], **content["schema"]}
    return Draft202012Validator(schema, format_checker=FORMATS)


# The standard formats, with every date-time bounded to the years the engine can compute in
# (time zones, expiry, tier windows overflow near year 1 and 9999): one rule for every field.
FORMATS = FormatChecker()
MOMENT_RULE = f"an ISO 8601 date-time with offset, in the years {MIN_YEAR} to {MAX_YEAR}"


@FORMATS.checks("date-time", raises=ValueError)
def _bounded_moment(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return MIN_YEAR <= datetime.fromisoformat(value).year <= MAX_YEAR


def check_schema(body: Any) -> None:
    """Refuse a body that its operation's documented request schema refuses (422)."""
    rule = request.url_rule
    if rule is None:
        return
    validator = request_validator(openapi_path(rule.rule), request.method)
    if validator is None or validator.is_valid(body):
        return
    programme = (request.view_args or {}).get("programme")
    if programme is not None:
        services().registry[programme]  # an unknown programme is a 404 whatever the body
    errors = [_record(error) for error in _first(validator.iter_errors(body))]
    detail = "the body does not match the documented schema: " + errors[0]["message"]
    raise invalid(errors, detail)


def _first(errors: Iterator[ValidationError]) -> list[ValidationError]:
    found = sorted(errors, key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return found[:MAX_ERRORS]


def _record(error: ValidationError) -> dict[str, str]:
    while error.validator in ("anyOf", "oneOf") and error.context:
        error = min(error.context, key=lambda e: -len(e.absolute_path))
    path = render_path(tuple(error.absolute_path))
    message = _short(error.message)
    if error.validator == "format" and error.validator_value == "date-time":
        message = f"must be {MOMENT_RULE}"
    return {"path": path, "message": f"{path or 'the body'}: {message}"}


def _short(message: str) -> str:
    return message if len(message) <= 200 else message[:197] + "..."


def _has_valid_key() -> bool:
    from api.auth import current_key  # imports this module: the key is looked up once, there

    return current_key() is not None


def init_app(app: Flask) -> None:
    app.before_request(check_request_text)  # after api/logs.py's: the answer has its id
