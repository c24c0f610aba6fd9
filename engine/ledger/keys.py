"""API keys: shown once, stored hashed, compared in constant time, each with a role."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from engine.errors import LoyaltyError
from engine.ledger.db import reading
from engine.ledger.tables import api_keys

ROLES = ("pos", "marketer", "reviewer", "admin")
PREFIX = "lr"
# Every request checks its key, so a process remembers a key it has just verified for this
# long: a refused (429) request then costs no query, which keeps one flooding key from
# holding the workers. A revocation made elsewhere (``loyalty keys revoke``) takes effect in
# a serving process within this time; one made in the process itself, at once.
RECENT_SECONDS = 1.0
_MAX_RECENT = 10_000
_recent: dict[tuple[int, str, str], tuple[float, Key]] = {}


@dataclass(frozen=True)
class Key:
    id: str
    role: str
    label: str | None


def create_key(database: Engine, role: str, label: str | None = None) -> str:
    """A new key (``lr_<id>_<secret>``); only its hash is stored, so print it once."""
    if role not in ROLES:
        raise LoyaltyError(f"unknown role '{role}'; choose one of: {', '.join(ROLES)}")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with database.begin() as conn:
        conn.execute(
            insert(api_keys).values(
                id=key_id,
                hash=_digest(secret),
                role=role,
                label=label,
                created_at=datetime.now(UTC),
            )
        )
    return f"{PREFIX}_{key_id}_{secret}"


def authenticate(database: Engine, presented: str) -> Key | None:
    """The key's identity and role, or None for an unknown, malformed or revoked key."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    memo = (id(database), parts[1], _digest(parts[2]))
    remembered = _recent.get(memo)
    if remembered is not None and time.monotonic() - remembered[0] < RECENT_SECONDS:
        return remembered[1]
    key = _verify(database, parts[1], memo[2])
    if key is not None:
        if len(_recent) >= _MAX_RECENT:
            _recent.clear()
        _recent[memo] = (time.monotonic(), key)
    return key


def _verify(database: Engine, key_id: str, digest: str) -> Key | None:
    with reading(database) as conn:  # every request checks a key: never behind a commit
        row = (
            conn.execute(
                select(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            )
            .mappings()
            .first()
        )
    if row is None or not hmac.compare_digest(row["hash"], digest):
        return None
    return Key(row["id"], row["role"], row["label"])


def active_key(database: Engine, key_id: str) -> Key | None:
    """The key with this id unless revoked: a console session stays valid only as long."""
    with reading(database) as conn:
        row = (
            conn.execute(
                select(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            )
            .mappings()
            .first()
        )
    return None if row is None else Key(row["id"], row["role"], row["label"])


def revoke_key(database: Engine, key_id: str) -> bool:
    with database.begin() as conn:
        done = conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    _recent.clear()  # this process forgets it at once; other processes within RECENT_SECONDS
    return done.rowcount == 1


def list_keys(database: Engine) -> list[dict[str, object]]:
    with database.connect() as conn:
        rows = conn.execute(
            select(
                api_keys.c.id,
                api_keys.c.role,
                api_keys.c.label,
                api_keys.c.created_at,
                api_keys.c.revoked_at,
            )
        ).mappings()
        return [dict(row) for row in rows]


def _digest(secret: str) -> str:
    # Keys are 256-bit random secrets, so a plain SHA-256 is enough (no password stretching).
    return hashlib.sha256(secret.encode()).hexdigest()
