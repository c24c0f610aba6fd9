"""Reading request bodies: JSON only, money kept exact, every failure a clear 4xx."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import request

from api import edge
from api.errors import ApiError
from engine.pricing.model import MAX_YEAR, MIN_YEAR


def json_body(accept: tuple[str, ...] = ("application/json",)) -> dict[str, Any]:
    if request.mimetype not in accept:
        raise ApiError(
            415,
            "unsupported-media-type",
            "Unsupported Media Type",
            f"send the body as {' or '.join(accept)}",
        )
    body = edge.parse_json(request.get_data(cache=True))
    if not isinstance(body, dict):
        raise ApiError(400, "malformed-json", "Malformed JSON", "the body must be a JSON object")
    edge.check_schema(body)
    return body


def body_with(required: str, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON body, which must hold ``required`` and nothing but it and ``optional``."""
    body = json_body()
    unknown = sorted(set(body) - {required, *optional})
    if unknown or required not in body:
        also = " and optionally " + ", ".join(f'"{name}"' for name in optional) if optional else ""
        raise ApiError(
            422,
            "invalid-body",
            "Invalid request body",
            f'send {{"{required}": ...}}{also}',
            errors=[{"path": name, "message": "unknown field"} for name in unknown]
            or [{"path": required, "message": f"missing required field '{required}'"}],
        )
    return body


def idempotency_key(default: str | None = None) -> str | None:
    """The ``Idempotency-Key`` header, checked (1 to 128 characters), else ``default``."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= MAX_ID):
        raise ApiError(
            400, "bad-idempotency-key", "Bad Idempotency-Key", "the key must be 1 to 128 characters"
        )
    return key or default


def invalid(path: str, message: str, detail: str | None = None) -> ApiError:
    """A 422 naming one field, shaped like the domain's invalid-body problems."""
    errors = [{"path": path, "message": message}]
    return ApiError(422, "invalid-body", "Invalid request body", detail or message, errors=errors)


def write_key(body: dict[str, Any]) -> str:
    """The write's one identity: the body's ``id``, else the ``Idempotency-Key`` header.

    A document id is the business identity and is never dropped: the header may repeat it
    (or stand in for it when the body has none), but a header naming another id is refused,
    so one document can never be stored under two keys and applied twice.
    """
    own = body.get("id")
    if own is not None and (not isinstance(own, str) or not 0 < len(own) <= MAX_ID):
        raise invalid("id", f"id must be text of 1 to {MAX_ID} characters")
    header = idempotency_key()
    if own and header and own != header:
        raise invalid(
            "id",
            "the Idempotency-Key header differs from the body's id",
            f"the body's id is '{own}' but the Idempotency-Key is '{header}': a document has "
            "one identity, so send the id alone or the same value in both",
        )
    identity = own or header
    if not identity:
        raise invalid("id", "missing required field 'id'", "give an id or an Idempotency-Key")
    return identity


def with_identity(body: dict[str, Any]) -> dict[str, Any]:
    """The body with its identity (see ``write_key``) as its ``id``."""
    return {**body, "id": write_key(body)}


def moment(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ApiError(
            400,
            "bad-parameter",
            "Bad parameter",
            f"'{name}' must be an ISO 8601 date-time with offset",
        ) from exc
    if parsed.tzinfo is None:
        raise ApiError(400, "bad-parameter", "Bad parameter", f"'{name}' needs a time zone offset")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        # Beyond these years date arithmetic (time zones, expiry, tier windows) overflows.
        raise invalid(name, f"'{name}' must be within the years {MIN_YEAR} to {MAX_YEAR}")
    return parsed


MAX_ID = 128


def check_path_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Ids in the URL fit the ledger's columns (a blueprint url_value_preprocessor)."""
    for name, value in (values or {}).items():
        if name != "programme" and isinstance(value, str) and len(value) > MAX_ID:
            raise invalid(name, f"{name} ids are at most {MAX_ID} characters")
