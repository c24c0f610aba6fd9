"""Reviews: score a programme proposal against the six principles."""

from __future__ import annotations

from flask import Blueprint, Response, json, request

from api.auth import requires
from api.errors import ApiError
from api.policies import YAML_TYPES
from engine.errors import PolicyError
from engine.policy.loader import validate_document
from engine.review import review_programme
from engine.review.render import render

bp = Blueprint("reviews", __name__, url_prefix="/v1")
FORMATS = {"json": "application/json", "markdown": "text/markdown", "html": "text/html"}


@bp.post("/reviews")
@requires("reviewer")
def review() -> Response:
    """A proposal (YAML) in; its scorecard out, as JSON, Markdown or HTML (``?format=``)."""
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
    scorecard = review_programme(report.programmes[0])
    body = json.dumps(scorecard.as_record()) if fmt == "json" else render(scorecard, fmt)
    return Response(body, mimetype=FORMATS[fmt])
