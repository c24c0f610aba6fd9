"""Vouchers over HTTP (marketer role): a campaign's bearer codes in bulk."""

from __future__ import annotations

from flask import Blueprint, Response

from api.auth import requires
from api.bodies import check_path_ids, json_body, write_key
from api.sales import respond
from api.services import services

bp = Blueprint("vouchers", __name__, url_prefix="/v1/programmes/<programme>/vouchers")
bp.url_value_preprocessor(check_path_ids)


@bp.post("/batches")
@requires("marketer")
def generate(programme: str) -> Response:
    """``{"id", "count", "value", "expires_at"?, "channels"?, "campaign"?}``: that many
    unguessable single-use codes; the same request again returns the same codes."""
    body = json_body()
    body["id"] = write_key(body)
    return respond(services().ledger.generate_vouchers(programme, body))
