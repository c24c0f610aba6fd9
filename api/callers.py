"""Who is calling: the presented API key, authenticated once per request and kept in ``g``
for the edge's checks and the rate limiter (the view's ``requires`` checks roles itself)."""

from __future__ import annotations

from flask import g

from api.auth import _presented_key
from api.edge import text_problem
from api.services import services
from engine.ledger.keys import authenticate


def caller() -> tuple[str | None, str | None]:
    """(key id, role) of the presented key, looked up once per request; (None, None) when
    there is no valid key."""
    if "rate_caller" not in g:
        presented = _presented_key()
        usable = presented and text_problem(presented) is None  # a NUL would fail in SQL
        key = authenticate(services().database, presented) if usable else None
        g.rate_caller = (key.id, key.role) if key else (None, None)
    caller: tuple[str | None, str | None] = g.rate_caller
    return caller
