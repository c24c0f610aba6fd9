"""Downpour campaigns over HTTP (marketer role): preview, estimate, launch, report, and the
points critical point. ``?format=svg`` on the report and the analysis returns the chart."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, Response, request

from api.auth import requires
from api.bodies import idempotency_key, json_body, moment
from api.errors import ApiError
from api.services import services
from engine.campaigns import analysis, budget, launch, report
from engine.campaigns.model import Context
from engine.campaigns.targeting import preview as preview_campaign

bp = Blueprint("campaigns", __name__, url_prefix="/v1/programmes/<programme>")
SVG = "image/svg+xml"


def _context(programme: str) -> Context:
    return Context.of(services().registry[programme].model)


def _at(value: Any) -> datetime:
    return moment(value, "at") or datetime.now(UTC)


def _bad(name: str, rule: str) -> ApiError:
    return ApiError(400, "bad-parameter", "Bad parameter", f"'{name}' must be {rule}")


def _whole(name: str, default: int, *, minimum: int = 1, maximum: int = 100_000) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not text.isdigit() or not minimum <= int(text) <= maximum:
        raise _bad(name, f"a whole number from {minimum} to {maximum}")
    return int(text)


def _wants_svg() -> bool:
    chosen = request.args.get("format", "json")
    if chosen not in ("json", "svg"):
        raise _bad("format", "json or svg")
    return chosen == "svg"


@bp.get("/campaigns/<campaign>/preview")
@requires("marketer")
def preview(programme: str, campaign: str) -> dict[str, Any]:
    """What launching now (or ``?at=``) would assign: counts per tier and group, a sample."""
    context = _context(programme)
    sample = _whole("sample", 5, minimum=0, maximum=100)
    with services().database.connect() as conn:
        result = preview_campaign(
            conn, context, campaign, _at(request.args.get("at")), sample=sample
        )
    return result.as_dict()


@bp.get("/campaigns/<campaign>/estimate")
@requires("marketer")
def estimate(programme: str, campaign: str) -> dict[str, Any]:
    """Expected responders, points, perceived value and real cost; downpour vs sunshine."""
    context = _context(programme)
    basket = request.args.get("basket")
    try:
        typical = None if basket is None else Decimal(basket)
    except InvalidOperation:
        typical = Decimal("NaN")
    if typical is not None and not (typical.is_finite() and 0 <= typical <= 10**12):
        raise _bad("basket", "an amount like 120.00")
    with services().database.connect() as conn:
        given = request.args.get("at")
        at = None if given is None else _at(given)
        result = budget.estimate(conn, context, campaign, at, basket=typical)
    return result.as_dict()


@bp.post("/campaigns/<campaign>/launch")
@requires("marketer")
def launch_campaign(programme: str, campaign: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Freeze the assignment: 201 when created, 200 when already launched identically
    (``Idempotent-Replayed: true``), 409 when launching again would change it. The campaign
    in the URL is the launch's identity; an Idempotency-Key is only checked."""
    idempotency_key()
    body = json_body() if request.get_data() else {}
    context = _context(programme)
    result = launch.launch(services().database, context, campaign, _at(body.get("at")))
    replayed = {"Idempotent-Replayed": "false" if result.created else "true"}
    return result.as_dict(), 201 if result.created else 200, replayed


@bp.get("/campaigns/<campaign>/report")
@requires("marketer")
def campaign_report(programme: str, campaign: str) -> Any:
    """Each group's activation, spend and real cost against its holdout, with the lift."""
    context = _context(programme)
    svg = _wants_svg()
    with services().database.connect() as conn:
        result = report.report(conn, context, campaign, _at(request.args.get("at")))
    if svg:
        return Response(report.chart(result), mimetype=SVG)
    return result.as_dict()


@bp.get("/analysis/critical-point")
@requires("marketer")
def critical_point(programme: str) -> Any:
    """The balance at which members turn active, from the ledger's history."""
    context = _context(programme)
    svg = _wants_svg()
    until = moment(request.args.get("until"), "until")
    options = analysis.Options(
        width=_whole("width", 100, maximum=1_000_000),
        horizon_days=_whole("horizon", 30, maximum=3650),
        snapshots=_whole("snapshots", 6, maximum=120),
        every_days=_whole("every", 30, maximum=3650),
        window=_whole("window", 3, maximum=100),
        min_count=_whole("min_count", 30, maximum=1_000_000),
        until=until,
    )
    with services().database.connect() as conn:
        result = analysis.analyse(conn, context, options)
    if svg:
        return Response(analysis.chart(result), mimetype=SVG)
    return result.as_dict()
