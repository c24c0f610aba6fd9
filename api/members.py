"""Members: enrol or update, read, redeem without a sale, adjust by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, request

from api.auth import requires
from api.bodies import check_path_ids, json_body, write_key
from api.errors import ApiError
from api.sales import respond
from api.services import services
from engine.ledger.idempotency import Outcome
from engine.ledger.views import member_view

bp = Blueprint("members", __name__, url_prefix="/v1/programmes/<programme>/members/<member>")
bp.url_value_preprocessor(check_path_ids)


@bp.put("")
@requires("pos", "marketer")
def enrol(programme: str, member: str) -> Response:
    """Create or update the member's profile (idempotent by nature: PUT)."""
    body = json_body()
    result = services().ledger.enrol(programme, member, body)
    return respond(Outcome(result, 201 if result["created"] else 200))


@bp.get("")
@requires("pos", "marketer")
def read(programme: str, member: str) -> dict[str, Any]:
    state = services()
    evaluator = state.registry[programme]
    before = _int_arg("before")
    limit = min(_int_arg("limit") or 20, 100)
    with state.database.connect() as conn:
        return member_view(conn, evaluator, member, datetime.now(UTC), before=before, limit=limit)


@bp.post("/redemptions")
@requires("pos")
def redeem(programme: str, member: str) -> Response:
    """Spend points without a basket: ``{"id", "points"}`` or ``{"id", "reward"}``."""
    body = json_body()
    key = write_key(body)
    payload = {k: v for k, v in body.items() if k != "id"}
    return respond(services().ledger.redeem(programme, member, payload, key=key))


@bp.post("/adjustments")
@requires("marketer")
def adjust(programme: str, member: str) -> Response:
    """Add or remove points by hand: ``{"id", "points", "reason"}``; the actor is the key."""
    body = json_body()
    key = write_key(body)
    actor = f"api:{g.get('role', 'unknown')}"
    outcome = services().ledger.adjust(
        programme,
        member,
        body.get("points"),
        reason=str(body.get("reason") or ""),
        actor=actor,
        key=key,
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
