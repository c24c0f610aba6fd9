"""Programmes: list the loaded versions, validate a YAML document, reload rules/."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request

from api.auth import requires
from api.errors import ApiError, problem_records
from api.services import services
from api.summary import programme_summary
from engine.ledger.drafts import record_refusals, refusals
from engine.policy.loader import validate_document
from engine.registry import Serving

bp = Blueprint("policies", __name__, url_prefix="/v1")
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")


@bp.before_app_request
def _serve_the_published_programmes() -> None:
    """Every request of every worker prices with what is published (checked every 0.5 s)."""
    services().registry.refresh()


@bp.get("/programmes")
@requires("pos", "marketer", "reviewer")
def list_programmes() -> dict[str, Any]:
    registry = services().registry
    return {
        "programmes": [
            {
                "id": e.programme.id,
                "version": e.programme.version,
                "name": e.model.identity.name,
                "currency": e.currency.code,
                "timezone": str(e.tz),
                "files": list(e.programme.files),
                **_published(registry.serving(e.programme.id)),
            }
            for e in registry.all()
        ],
        "generation": registry.generation,
        # Files the last reload refused: their programmes still serve the last good version.
        "refused": refusals(services().database),
    }


@bp.get("/programmes/<programme>")
@requires("pos", "marketer", "reviewer")
def read_programme(programme: str) -> dict[str, Any]:
    """One programme as the console shows it: tiers, earn and burn in words, rules, source."""
    registry = services().registry
    evaluator = registry[programme]
    return {
        **programme_summary(evaluator, _stored_source(programme, evaluator.programme.version)),
        **_published(registry.serving(programme)),
    }


@bp.get("/programmes/<programme>/versions")
@requires("pos", "marketer", "reviewer")
def programme_versions(programme: str) -> dict[str, Any]:
    """Every published version of one programme, oldest first (its dated rules' history)."""
    registry = services().registry
    evaluator = registry[programme]  # an unknown programme is a 404
    history = registry.store.history(programme) if registry.store else []
    return {
        "programme": evaluator.programme.id,
        "versions": [
            {
                "version": stored.version,
                "generation": stored.generation,
                "loaded_at": stored.loaded_at.isoformat(),
                "loaded_by": stored.actor,
                "files": list(stored.files),
            }
            for stored in history
        ],
    }


def _stored_source(programme: str, version: str) -> str | None:
    """The main file's text as published (None without a store or while it is catching up)."""
    store = services().registry.store
    stored = store.snapshot().versions.get(programme) if store else None
    if stored is None or stored.version != version:
        return None
    return stored.sources.get(stored.main)


def _published(serving: Serving | None) -> dict[str, Any]:
    if serving is None:
        return {}
    return {
        "generation": serving.generation,
        "loaded_at": serving.loaded_at.isoformat(),
        "loaded_by": serving.actor,
    }


@bp.post("/policies/validate")
@requires("marketer")
def validate() -> dict[str, Any]:
    """A programme document (YAML) in; its problem records out (200 whether valid or not)."""
    if request.mimetype not in YAML_TYPES:
        raise ApiError(
            415,
            "unsupported-media-type",
            "Unsupported Media Type",
            "send the programme as application/yaml",
        )
    report = validate_document(request.get_data(), "document.yaml")
    return {
        "valid": report.ok,
        "version": report.programmes[0].version if report.programmes else None,
        "problems": [p.as_record() for p in report.problems],
    }


@bp.post("/admin/reload")
@requires("marketer")
def reload() -> tuple[dict[str, Any], int]:
    """Re-read rules/ and publish it to every worker: invalid programmes keep their last good
    version everywhere, valid ones replace it (every worker catches up within a second)."""
    actor = f"POST /v1/admin/reload ({g.role} key)"
    report = services().registry.reload(actor=actor)
    refused = {file: problem_records(problems) for file, problems in report.refused.items()}
    record_refusals(services().database, refused, actor)
    body = {
        "loaded": report.loaded,
        "unchanged": report.unchanged,
        "refused": refused,
        "serving": {e.programme.id: e.programme.version for e in services().registry.all()},
        "generation": report.generation,
    }
    return body, 422 if report.refused else 200
