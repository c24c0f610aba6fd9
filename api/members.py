"""Members: enrol or update, read, redeem without a sale, adjust by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, request

from api.auth import requires
from api.bodies import check_path_ids, idempotency_key, json_body, write_key
from api.errors import ApiError
from api.sales import respond
from api.services import services
from engine.ledger.db import reading
from engine.ledger.idempotency import Outcome
from engine.ledger.views import member_view, profile_history

bp = Blueprint("members", __name__, url_prefix="/v1/programmes/<programme>/members/<member>")
bp.url_value_preprocessor(check_path_ids)
MERGE_PATCH = ("application/merge-patch+json", "application/json")


@bp.put("")
@requires("pos", "marketer")
def enrol(programme: str, member: str) -> Response:
    """Create the member or replace its whole profile; ``joined`` left out is kept.

    The URL names the member, and a repeat converges (nothing changes, nothing is
    recorded), so an Idempotency-Key is only checked."""
    idempotency_key()
    body = json_body()
    result = services().ledger.enrol(programme, member, body, actor=_actor())
    return _profile_saved(result)


@bp.patch("")
@requires("pos", "marketer")
def amend(programme: str, member: str) -> Response:
    """Change part of the profile: a JSON merge patch (RFC 7396); null removes a field."""
    idempotency_key()
    patch = json_body(MERGE_PATCH)
    return _profile_saved(
        services().ledger.update_profile(programme, member, patch, actor=_actor())
    )


@bp.get("/profile-history")
@requires("pos", "marketer")
def read_profile_history(programme: str, member: str) -> dict[str, Any]:
    """Who changed which profile field and when, newest first, in pages."""
    state = services()
    state.registry[programme]  # 404 for a programme that is not loaded
    before = _int_arg("before")
    limit = min(_int_arg("limit") or 20, 100)
    with state.database.connect() as conn:
        return profile_history(conn, programme, member, before=before, limit=limit)


def _profile_saved(result: dict[str, Any]) -> Response:
    status = 201 if result["created"] else 200
    return respond(Outcome(result, status, replayed=status == 200 and not result["changed"]))


def _actor() -> str:
    return f"api:{g.get('role', 'unknown')}"


@bp.get("")
@requires("pos", "marketer")
def read(programme: str, member: str) -> dict[str, Any]:
    state = services()
    evaluator = state.registry[programme]
    before = _int_arg("before")
    limit = min(_int_arg("limit") or 20, 100)
    with reading(state.database) as conn:
        return member_view(conn, evaluator, member, datetime.now(UTC), before=before, limit=limit)


@bp.post("/redemptions")
@requires("pos")
def redeem(programme: str, member: str) -> Response:
    """Spend points without a basket: ``{"id", "points"}`` or ``{"id", "reward"}``."""
    payload, key = _payload_and_key()
    return respond(services().ledger.redeem(programme, member, payload, key=key))


@bp.post("/paid-levels")
@requires("pos", "marketer")
def buy_level(programme: str, member: str) -> Response:
    """Buy or renew a paid level: ``{"id", "level", "fee"?}``."""
    payload, key = _payload_and_key()
    return respond(services().ledger.buy_level(programme, member, payload, key=key))


@bp.post("/paid-levels/cancellations")
@requires("marketer")
def cancel_level(programme: str, member: str) -> Response:
    """Cancel a bought level: ``{"id", "purchase", "refund"?}``."""
    payload, key = _payload_and_key()
    return respond(services().ledger.cancel_level(programme, member, payload, key=key))


@bp.post("/adjustments")
@requires("marketer")
def adjust(programme: str, member: str) -> Response:
    """Add or remove points by hand: ``{"id", "points", "reason"}``; the actor is the key."""
    body = json_body()
    key = write_key(body)
    outcome = services().ledger.adjust(
        programme,
        member,
        body.get("points"),
        reason=str(body.get("reason") or ""),
        actor=_actor(),
        key=key,
        at=body.get("at"),
    )
    return respond(outcome)


def _int_arg(name: str) -> int | None:
    text = request.args.get(name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 2**31):
        raise ApiError(
            400, "bad-parameter", "Bad parameter", f"'{name}' must be a positive whole number"
        )
    return int(text)


def _payload_and_key() -> tuple[dict[str, Any], str]:
    """A member write's body without its id, and the write's key (``write_key``)."""
    body = json_body()
    key = write_key(body)
    return {k: v for k, v in body.items() if k != "id"}, key
