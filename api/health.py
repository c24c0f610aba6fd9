"""Liveness, readiness and the OpenAPI document."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response

from api.services import services

bp = Blueprint("health", __name__)
OPENAPI = Path(__file__).with_name("openapi.json")


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Alive: the process answers."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    """Ready: the database answers and at least one programme is loaded."""
    state = services()
    database = state.database_ready()
    programmes = {e.programme.id: e.programme.version for e in state.registry.all()}
    ready = database and bool(programmes)
    body = {
        "status": "ready" if ready else "not ready",
        "database": database,
        "programmes": programmes,
        "generation": state.registry.generation,  # of the published set this worker built
    }
    return body, 200 if ready else 503


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(_document(), mimetype="application/json")


@cache
def _document() -> str:
    return json.dumps(json.loads(OPENAPI.read_text(encoding="utf-8")))
