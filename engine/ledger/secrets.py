"""Secrets every serving process must agree on, generated once and kept in the database."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from engine.ledger.tables import app_secrets


def shared_secret(database: Engine, name: str) -> str:
    """The secret called ``name``; the first process to ask creates it, the others read it.

    Two workers starting together may both try to create it: the primary key lets one
    insert win and the loser reads the winner's value, so all of them sign alike.
    """
    existing = _read(database, name)
    if existing is not None:
        return existing
    try:
        with database.begin() as conn:
            conn.execute(
                insert(app_secrets).values(
                    name=name, value=secrets.token_hex(32), created_at=datetime.now(UTC)
                )
            )
    except IntegrityError:
        pass  # another process created it first; read theirs
    value = _read(database, name)
    assert value is not None  # inserted above, by us or by the process that won
    return value


def _read(database: Engine, name: str) -> str | None:
    with database.connect() as conn:
        return conn.execute(
            select(app_secrets.c.value).where(app_secrets.c.name == name)
        ).scalar_one_or_none()
