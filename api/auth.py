"""API keys and roles: ``pos``, ``marketer``, ``reviewer``, ``admin`` (everything).

A call authenticates with a key in a header, or — from the console's pages — with the
console's session cookie plus its CSRF token in ``X-CSRF-Token``: the cookie names the key
(by id, never the key itself) the user signed in with, so the role is the key's, and a
revoked key ends its sessions at once.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import g, request, session

from api.edge import text_problem
from api.errors import ApiError
from api.services import services
from engine.ledger.keys import Key, active_key, authenticate

Params = ParamSpec("Params")
Result = TypeVar("Result")
CSRF_HEADER = "X-CSRF-Token"


def requires(*roles: str) -> Callable[[Callable[Params, Result]], Callable[Params, Result]]:
    """Allow the view to keys of these roles (and admin); 401 without a key, 403 otherwise."""

    def decorate(view: Callable[Params, Result]) -> Callable[Params, Result]:
        @wraps(view)
        def guarded(*args: Params.args, **kwargs: Params.kwargs) -> Result:
            _check(roles)
            return view(*args, **kwargs)

        return guarded

    return decorate


def _check(roles: tuple[str, ...]) -> None:
    state = services()
    if not state.settings.auth:
        g.role = "admin"
        return
    key = current_key()
    if key is None:
        raise ApiError(
            401, "unauthorized", "Unauthorized", "send a valid API key: Authorization: Bearer <key>"
        )
    g.role = key.role
    if key.role != "admin" and key.role not in roles:
        raise ApiError(
            403,
            "forbidden",
            "Forbidden",
            f"a {key.role} key cannot do this; it needs: {', '.join(roles)}",
        )


def current_key() -> Key | None:
    """The key this request authenticates with — a key in a header, else the console session
    with its CSRF token — looked up once per request and kept in ``g`` for the edge's checks,
    the rate limiter and ``requires``."""
    if "caller_key" not in g:
        presented = _presented_key()
        if presented:
            usable = text_problem(presented) is None  # a NUL would fail in SQL
            g.caller_key = authenticate(services().database, presented) if usable else None
        else:
            g.caller_key = session_key()
    key: Key | None = g.caller_key
    if key is not None:
        g.role = key.role  # logged even when the request is refused before its view runs
    return key


def session_key() -> Key | None:
    """The console session's key, when the request also carries the session's CSRF token."""
    key_id, token = session.get("key_id"), session.get("csrf")
    presented = request.headers.get(CSRF_HEADER, "")
    if not (isinstance(key_id, str) and isinstance(token, str) and presented):
        return None
    if not hmac.compare_digest(token, presented):
        return None
    return active_key(services().database, key_id)


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    return request.headers.get("X-Api-Key")
