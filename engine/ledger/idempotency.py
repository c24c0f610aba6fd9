"""Every write is idempotent: the same id and body replay the stored answer."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from engine.errors import ConflictError
from engine.ledger.tables import transactions


@dataclass(frozen=True)
class Outcome:
    """The answer to a write: ``replayed`` when it was a retry of an earlier request."""

    response: dict[str, Any]
    status: int = 200
    replayed: bool = False


def request_hash(body: Any) -> str:
    """A hash of the request's meaning: key order and number spelling do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


def replay(conn: Connection, programme: str, key: str, digest: str) -> Outcome | None:
    """The stored outcome for ``key``; a ConflictError if it was stored for another body."""
    row = conn.execute(
        select(transactions.c.request_hash, transactions.c.response, transactions.c.status).where(
            transactions.c.programme == programme, transactions.c.id == key
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise ConflictError(
            f"'{key}' was already used for a different request; a retry must send the same body"
        )
    return Outcome(row.response, row.status, replayed=True)


def jsonable(value: Any) -> Any:
    """Request bodies as JSON columns can store them (Decimal → text)."""
    return json.loads(json.dumps(value, default=_plain))
