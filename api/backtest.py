"""Backtests and the points liability over HTTP (marketer role; finance reads the liability).

A backtest runs inside the request, so it is bounded: the events it would replay (the
history before the period once, the period once per version) may not exceed
``LOYALTY_BACKTEST_MAX_EVENTS`` (default 500), inside gunicorn's 30 s request
limit; a longer history is back-tested with ``loyalty backtest`` on the command line.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, json, request

from api.auth import requires
from api.bodies import moment
from api.errors import ApiError
from api.policies import YAML_TYPES
from api.services import services
from engine.backtest.diff import compare
from engine.backtest.history import read_history
from engine.backtest.liability import liability as liability_of
from engine.backtest.report import document, html, member_csv
from engine.backtest.run import backtest
from engine.errors import InputError, PolicyError
from engine.policy.loader import validate_document
from engine.policy.problems import Problem
from engine.pricing import Evaluator

bp = Blueprint("backtest", __name__, url_prefix="/v1/programmes/<programme>")
FORMATS = {"json": "application/json", "csv": "text/csv", "html": "text/html"}
DEFAULT_MAX_EVENTS = 500  # ~25 events/s measured (bench.backtest, loaded 2-core box): ~20 s


def _bad(name: str, rule: str) -> ApiError:
    return ApiError(400, "bad-parameter", "Bad parameter", f"'{name}' must be {rule}")


def _required_moment(name: str) -> datetime:
    found = moment(request.args.get(name), name)
    if found is None:
        raise _bad(name, "given, as an ISO 8601 date-time with offset")
    return found


def _max_events() -> int:
    return int(os.environ.get("LOYALTY_BACKTEST_MAX_EVENTS", DEFAULT_MAX_EVENTS))


@bp.get("/liability")
@requires("marketer")
def liability(programme: str) -> dict[str, Any]:
    """Outstanding points just before ``?as_of=`` (default now), by age and expiry month,
    valued at burn value and real cost, with the expected breakage."""
    evaluator = services().registry[programme]
    as_of = moment(request.args.get("as_of"), "as_of") or datetime.now(UTC)
    return liability_of(services().database, evaluator, as_of).as_dict()


@bp.post("/backtests")
@requires("marketer")
def run_backtest(programme: str) -> Response:
    """The live version and the proposal in the body (YAML; none: live against itself)
    replayed over ``[from, to)``; ``?format=json|csv|html``."""
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise _bad("format", "one of " + ", ".join(FORMATS))
    start, end = _required_moment("from"), _required_moment("to")
    material = _material()
    live = Evaluator(services().registry[programme].programme, matcher="python")
    versions = [("live", live), ("proposal", _proposal(live))]
    history = read_history(services().database, programme, live.tz, until=end)
    events = len(history.before(start)) + len(history.between(start, end)) * len(versions)
    if events > _max_events():
        raise InputError(
            "the backtest is too long to run in a request",
            [
                Problem(
                    f"it would replay {events:,} events, more than {_max_events():,}; "
                    "shorten the period or use `loyalty backtest` on the command line",
                    ("from",),
                )
            ],
        )
    test = backtest(services().database, versions, start, end, history=history)
    comparisons = [compare(test, run, material_percent=material) for run in test.runs[1:]]
    if fmt == "csv":
        body = member_csv(comparisons)
    elif fmt == "html":
        body = html(test, comparisons)
    else:
        body = json.dumps(document(test, comparisons, _limit()))
    return Response(body, mimetype=FORMATS[fmt])


def _proposal(live: Evaluator) -> Evaluator:
    raw = request.get_data()
    if not raw:
        return live
    if request.mimetype not in YAML_TYPES:
        raise ApiError(
            415,
            "unsupported-media-type",
            "Unsupported Media Type",
            "send the proposal as application/yaml",
        )
    report = validate_document(raw, "proposal.yaml")
    if not report.ok:
        raise PolicyError("the proposal is invalid", report.problems)
    return Evaluator(report.programmes[0], matcher="python")


def _material() -> Decimal:
    text = request.args.get("material", "5")
    try:
        value = Decimal(text)
    except ArithmeticError:
        value = Decimal(-1)
    if not (value.is_finite() and 0 <= value <= 100):
        raise _bad("material", "a percent from 0 to 100")
    return value


def _limit() -> int:
    text = request.args.get("limit", "100")
    if not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise _bad("limit", "a whole number from 1 to 10000")
    return int(text)
