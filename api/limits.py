"""Per-key rate limits: one caller cannot take every worker from the others.

Each request counts against its API key (unknown or missing keys: against the client's
address), with a limit chosen by the key's role in the settings (``LOYALTY_RATE_LIMIT_POS``
and so on, in the ``limits`` notation: ``3000/minute``, ``50/second;2000/minute``). Over
the limit, the answer is a 429 problem with ``Retry-After`` (seconds) and the
``X-RateLimit-*`` headers; health checks are never limited.

Where the counts live (``LOYALTY_RATE_LIMIT_STORAGE``, or ``LOYALTY_REDIS_URL``):

- ``redis://...``: shared by every worker on every host: a key's limit is the limit.
- unset: ``memory://``, one count per worker process. The ``limits`` library has no storage
  shared across processes without a server (its others are Redis, Memcached, MongoDB), so
  on one host with N workers a key may reach up to N times its limit. Each worker still
  protects itself, so one key cannot starve the others of a worker. Set Redis for exact limits.

If Redis is unreachable, counting falls back to memory instead of refusing requests.
"""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter

from api.auth import current_key
from api.services import services
from api.settings import Settings

UNLIMITED_ENDPOINTS = ("health.healthz", "health.readyz")


def init_app(app: Flask, settings: Settings) -> None:
    if not settings.rate_limits:
        return
    Limiter(
        key_func=bucket,
        app=app,
        application_limits=[role_limit],
        application_limits_exempt_when=lambda: request.endpoint in UNLIMITED_ENDPOINTS,
        storage_uri=settings.rate_limit_storage or settings.redis_url or "memory://",
        strategy="sliding-window-counter",
        headers_enabled=True,
        retry_after="delta-seconds",
        swallow_errors=True,  # a limiter failure must not become a 500
        in_memory_fallback_enabled=True,
        key_prefix="loyalty",
    )


def bucket() -> str:
    """Whose count this request is: the authenticated key's id, else the client address.

    An unauthenticated request never counts against a real key (anyone can write a key's
    id; only its holder can authenticate), so a flood of bad keys cannot lock a till out.
    """
    key = current_key()
    return f"key:{key.id}" if key else f"addr:{request.remote_addr}"


def role_limit() -> str:
    settings = services().settings
    key = current_key()
    role = key.role if key else ""
    return {
        "pos": settings.rate_limit_pos,
        "marketer": settings.rate_limit_marketer,
        "reviewer": settings.rate_limit_reviewer,
        "admin": settings.rate_limit_admin,
    }.get(role, settings.rate_limit_anonymous)
