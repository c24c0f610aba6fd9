"""What a till calls: quote (dry run), commit a sale, return items."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json

from api.auth import requires
from api.bodies import check_path_ids, invalid, json_body, moment, with_identity
from api.services import services
from engine.ledger.idempotency import Outcome
from engine.ledger.service import Ledger
from engine.pricing import Evaluator
from engine.pricing.model import parse_member, parse_transaction

bp = Blueprint("sales", __name__, url_prefix="/v1/programmes/<programme>")
bp.url_value_preprocessor(check_path_ids)


@bp.post("/quote")
@requires("pos", "marketer")
def quote(programme: str) -> dict[str, Any]:
    """A dry run for a stored member (``member_id``) or an inline ``member`` state."""
    state = services()
    evaluator = state.registry[programme]
    return quote_with(evaluator, state.ledger, programme, json_body())


def quote_with(
    evaluator: Evaluator, ledger: Ledger, programme: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A quote request's answer priced by ``evaluator`` (the live one, or a draft's)."""
    transaction = body.get("transaction")
    at, explain = moment(body.get("at"), "at"), bool(body.get("explain", False))
    trying = _campaign_ids(body.get("campaigns", []))
    if "member" in body:
        member = parse_member(body["member"], evaluator.currency)
        sale = parse_transaction(transaction, evaluator.currency)
        result = evaluator.quote(member, sale, at=at, explain=explain, try_campaigns=trying)
    elif isinstance(body.get("member_id"), str):
        result = ledger.quote(
            programme,
            body["member_id"],
            _object(transaction),
            at=at,
            explain=explain,
            try_campaigns=trying,
        )
    else:
        raise invalid("member_id", "missing: give member_id or an inline member")
    return result.as_dict()


@bp.post("/transactions")
@requires("pos")
def commit(programme: str) -> Response:
    """Commit a sale; a retry with the same body replays, whether it names the sale by its
    ``id``, by the ``Idempotency-Key`` header, or both (see ``api.bodies.write_key``)."""
    body = json_body()
    member_id = body.get("member_id")
    if not isinstance(member_id, str) or not member_id:
        raise invalid("member_id", "missing required field 'member_id'")
    transaction = with_identity({k: v for k, v in body.items() if k != "member_id"})
    return respond(services().ledger.commit_sale(programme, member_id, transaction))


@bp.post("/transactions/<sale_id>/returns")
@requires("pos")
def give_back(programme: str, sale_id: str) -> Response:
    """Return a whole sale (no ``lines``) or some of its lines and quantities."""
    body = with_identity(json_body())
    return respond(services().ledger.return_items(programme, sale_id, body))


def respond(outcome: Outcome) -> Response:
    response = Response(
        json.dumps(outcome.response), status=outcome.status, mimetype="application/json"
    )
    response.headers["Idempotent-Replayed"] = "true" if outcome.replayed else "false"
    return response


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid("transaction", "expected a JSON object")
    return value


def _campaign_ids(value: Any) -> list[str]:
    """Campaigns to try as if live (drafts on real members): a list of ids."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid("campaigns", "expected a list of campaign ids")
    return value
