"""Reviews: score a programme proposal against the six principles."""

from __future__ import annotations

from flask import Blueprint, Response, json, request

from api.auth import requires
from api.drafts import checked_decisions
from api.errors import ApiError
from api.policies import YAML_TYPES
from api.services import services
from engine.errors import PolicyError
from engine.ledger.drafts import recorded_decisions
from engine.policy.loader import validate_document
from engine.review import Decisions, review_programme
from engine.review.render import render

bp = Blueprint("reviews", __name__, url_prefix="/v1")
FORMATS = {"json": "application/json", "markdown": "text/markdown", "html": "text/html"}


@bp.post("/reviews")
@requires("reviewer")
def review() -> Response:
    """A proposal (YAML) in; its scorecard out, as JSON, Markdown or HTML (``?format=``);
    ``?decisions=recorded`` applies the reviewer's decisions recorded for its programme."""
    if request.mimetype not in YAML_TYPES:
        raise ApiError(
            415,
            "unsupported-media-type",
            "Unsupported Media Type",
            "send the proposal as application/yaml",
        )
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise ApiError(
            400, "bad-parameter", "Bad parameter", f"format must be one of: {', '.join(FORMATS)}"
        )
    report = validate_document(request.get_data(), "proposal.yaml")
    if not report.ok:
        raise PolicyError("the proposal is invalid", report.problems)
    programme = report.programmes[0]
    scorecard = review_programme(programme, _recorded(programme.id))
    body = json.dumps(scorecard.as_record()) if fmt == "json" else render(scorecard, fmt)
    return Response(body, mimetype=FORMATS[fmt])


def _recorded(programme: str) -> Decisions | None:
    """The decisions recorded for ``programme`` when the caller asks for them."""
    wanted = request.args.get("decisions")
    if wanted is None:
        return None
    if wanted != "recorded":
        raise ApiError(400, "bad-parameter", "Bad parameter", "decisions must be: recorded")
    found = recorded_decisions(services().database, programme)
    return checked_decisions(found["document"], programme) if found else None
