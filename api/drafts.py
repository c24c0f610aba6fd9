"""Drafts of a programme (save, list, open, delete, diff against live, quote under one), the
reviewer's recorded decisions, and finding a member by phone or card — the console's needs,
open to any client with the right key."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from flask import Blueprint, Response, g

from api.auth import requires
from api.bodies import check_path_ids, invalid, json_body
from api.sales import quote_with
from api.services import services
from engine.errors import PolicyError, UnknownError, UnknownProgramme
from engine.ledger.drafts import (
    Draft,
    delete_draft,
    diff_lines,
    draft_programme,
    find_members,
    list_drafts,
    read_draft,
    record_decisions,
    recorded_decisions,
    save_draft,
)
from engine.ledger.programmes import StoredVersion
from engine.ledger.service import Ledger
from engine.pricing import Evaluator
from engine.review.decisions import parse_decisions

bp = Blueprint("drafts", __name__, url_prefix="/v1/programmes/<programme>")
bp.url_value_preprocessor(check_path_ids)
# Draft evaluators by (programme, version): a simulator quotes one draft many times. The
# python matcher prices drafts: a durable-rules ruleset per draft could never be freed.
_EVALUATORS: OrderedDict[tuple[str, str], Evaluator] = OrderedDict()
EVALUATORS_KEPT = 8
_LOCK = threading.Lock()


@bp.get("/drafts")
@requires("marketer", "reviewer")
def drafts(programme: str) -> dict[str, Any]:
    """The programme's saved drafts, newest first (without their text)."""
    _live(programme)
    found = list_drafts(services().database, programme)
    return {"drafts": [d.as_record(with_source=False) for d in found]}


@bp.post("/drafts")
@requires("marketer")
def save(programme: str) -> tuple[dict[str, Any], int]:
    """``{"name", "source"}``: the main file's YAML as typed, kept whether valid or not."""
    body = json_body()
    draft = save_draft(
        services().database, _live(programme), body.get("name"), body.get("source"), _actor()
    )
    return draft.as_record(), 201


@bp.get("/drafts/<int:draft_id>")
@requires("marketer", "reviewer")
def read(programme: str, draft_id: int) -> dict[str, Any]:
    _live(programme)
    return read_draft(services().database, programme, draft_id).as_record()


@bp.delete("/drafts/<int:draft_id>")
@requires("marketer")
def delete(programme: str, draft_id: int) -> Response:
    _live(programme)
    delete_draft(services().database, programme, draft_id)
    return Response(status=204)


@bp.get("/drafts/<int:draft_id>/diff")
@requires("marketer", "reviewer")
def diff(programme: str, draft_id: int) -> dict[str, Any]:
    """The lines the draft changes in the live version's main file."""
    live = _live(programme)
    draft = read_draft(services().database, programme, draft_id)
    return {
        "programme": programme,
        "live_version": live.version,
        "draft": draft.as_record(with_source=False),
        "changes": diff_lines(live.sources[live.main], draft.source),
    }


@bp.post("/drafts/<int:draft_id>/quote")
@requires("marketer")
def quote(programme: str, draft_id: int) -> dict[str, Any]:
    """A dry run priced by the draft (the body of ``/quote``); nothing is published."""
    state = services()
    live = _live(programme)
    evaluator = _draft_evaluator(live, read_draft(state.database, programme, draft_id))
    body = json_body()
    result = quote_with(evaluator, Ledger(state.database, lambda _p: evaluator), programme, body)
    return result


@bp.get("/review-decisions")
@requires("marketer", "reviewer")
def decisions(programme: str) -> dict[str, Any]:
    """The reviewer's decisions recorded for the programme (404 before any)."""
    _live(programme)
    found = recorded_decisions(services().database, programme)
    if found is None:
        raise UnknownError(f"no review decisions are recorded for '{programme}'")
    return found


@bp.put("/review-decisions")
@requires("reviewer")
def decide(programme: str) -> dict[str, Any]:
    """Record the decisions (the shape of schemas/review-decisions.schema.json)."""
    _live(programme)
    document = json_body()
    checked_decisions(document, programme)
    at = record_decisions(services().database, programme, document, _actor())
    return {"document": document, "recorded_at": at.isoformat(), "recorded_by": _actor()}


@bp.post("/member-search")
@requires("pos", "marketer")
def search(programme: str) -> dict[str, Any]:
    """``{"phone"}`` or ``{"card"}`` in a body (never a URL, so never in a log): the ids and
    names of the members whose profile has it (``contact.phone``, ``tags.card``)."""
    services().registry[programme]  # 404 for a programme that is not loaded
    body = json_body()
    given = [(field, body.get(field)) for field in ("phone", "card") if field in body]
    field, value = given[0] if len(given) == 1 else ("phone", None)
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise invalid("phone", "give exactly one of 'phone' or 'card': 1 to 64 characters")
    with services().database.connect() as conn:
        found = find_members(conn, programme, **{field: value.strip()})
    return {"members": found}


def checked_decisions(document: dict[str, Any], programme: str) -> Any:
    """The decisions as the engine reads them; 422 with each problem otherwise."""
    # JSON numbers arrive as Decimal: written as text here, the schema then names them.
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
    parsed, problems = parse_decisions(text.encode("utf-8"), "decisions.json", programme)
    if parsed is None:
        raise PolicyError("the review decisions are invalid", problems)
    return parsed


def _live(programme: str) -> StoredVersion:
    """The published version of a loaded programme (404 otherwise)."""
    state = services()
    state.registry[programme]
    store = state.registry.store
    stored = store.snapshot().versions.get(programme) if store else None
    if stored is None:
        raise UnknownProgramme(f"programme '{programme}' has no published version")
    return stored


def _draft_evaluator(live: StoredVersion, draft: Draft) -> Evaluator:
    programme = draft_programme(live, draft)
    key = (programme.id, programme.version)
    with _LOCK:
        found = _EVALUATORS.get(key)
        if found is None:
            thresholds = services().registry.thresholds(programme.id)
            found = Evaluator(programme, matcher="python", resolved_thresholds=thresholds)
            _EVALUATORS[key] = found
        _EVALUATORS.move_to_end(key)
        while len(_EVALUATORS) > EVALUATORS_KEPT:
            _EVALUATORS.popitem(last=False)
    return found


def _actor() -> str:
    return f"api:{g.get('role', 'unknown')}"
