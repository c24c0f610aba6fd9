"""API keys and roles: ``pos``, ``marketer``, ``reviewer``, ``admin`` (everything)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from api.errors import ApiError
from api.services import services
from engine.ledger.keys import authenticate

View = TypeVar("View", bound=Callable[..., Any])


def requires(*roles: str) -> Callable[[View], View]:
    """Allow the view to keys of these roles (and admin); 401 without a key, 403 otherwise."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            _check(roles)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def _check(roles: tuple[str, ...]) -> None:
    state = services()
    if not state.settings.auth:
        g.role = "admin"
        return
    presented = _presented_key()
    key = authenticate(state.database, presented) if presented else None
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


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    return request.headers.get("X-Api-Key")
