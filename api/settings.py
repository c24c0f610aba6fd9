"""Settings from the environment (``LOYALTY_*``), overridable by ``create_app(config)``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, get_args

from engine.ledger.db import DEFAULT_URL
from engine.rules import MatcherKind


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    rules: str = "rules"
    matcher: MatcherKind = "durable"
    max_body_bytes: int = 256 * 1024
    auth: bool = True  # tests of other concerns may turn keys off; serving never does
    # Requests per API key, by the key's role (``limits`` notation); see api/limits.py.
    rate_limits: bool = True
    rate_limit_pos: str = "3000/minute"
    rate_limit_marketer: str = "3000/minute"
    rate_limit_reviewer: str = "600/minute"  # a review parses and scores a whole programme
    rate_limit_admin: str = "6000/minute"
    rate_limit_anonymous: str = "1200/minute"  # per client address, without a valid key
    rate_limit_storage: str = ""  # e.g. redis://host:6379/0; empty: redis_url, else memory
    redis_url: str = ""
    # The console's session cookie: signed with this secret, or with one generated once and
    # kept in the database (so every worker and host agrees) when it is empty.
    secret_key: str = ""
    session_minutes: int = 8 * 60
    secure_cookies: bool = False  # True behind HTTPS: the cookie is then never sent in clear
    # How far in the past a redemption's or adjustment's ``at`` may go (0: never back-dated).
    back_dating_days: int = 7

    def __post_init__(self) -> None:
        if self.matcher not in get_args(MatcherKind):
            choices = " or ".join(get_args(MatcherKind))
            raise ValueError(f"unknown matcher {self.matcher!r}: use {choices}")

    @classmethod
    def from_env(cls, overrides: Mapping[str, Any]) -> Settings:
        """``LOYALTY_<NAME>`` environment variables, then ``overrides`` (lower-case names)."""
        known = {field.name: field for field in fields(cls)}
        unknown = set(overrides) - set(known)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, field in known.items():
            env = os.environ.get(f"LOYALTY_{name.upper()}")
            if env is not None:
                values[name] = _typed(field.type, env)
        return cls(**{**values, **overrides})


def _typed(kind: Any, text: str) -> Any:
    if kind in ("int", int):
        return int(text)
    if kind in ("bool", bool):
        return text.lower() in ("1", "true", "yes", "on")
    return text
