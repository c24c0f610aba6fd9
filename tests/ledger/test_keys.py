"""API keys: a process remembers a key it has just verified, briefly, so that every request
(a refused one above all) does not cost a query; a revocation still takes effect."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, update

from engine.ledger import keys
from engine.ledger.keys import authenticate, create_key, revoke_key
from engine.ledger.tables import api_keys


@pytest.fixture
def statements(database):
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(database, "before_cursor_execute", record)
    yield seen
    event.remove(database, "before_cursor_execute", record)


def key_id(key: str) -> str:
    return key.split("_")[1]


def test_a_key_just_verified_is_not_looked_up_again(database, statements):
    key = create_key(database, "pos")
    first = authenticate(database, key)
    looked_up = len(statements)
    assert authenticate(database, key) == first and first.role == "pos"
    assert len(statements) == looked_up


def test_a_wrong_secret_is_never_taken_from_memory(database):
    key = create_key(database, "pos")
    assert authenticate(database, key) is not None
    assert authenticate(database, key[:-2] + "xx") is None


def test_a_key_revoked_in_this_process_is_refused_at_once(database):
    key = create_key(database, "pos")
    assert authenticate(database, key) is not None
    assert revoke_key(database, key_id(key))
    assert authenticate(database, key) is None


def test_a_key_revoked_elsewhere_is_refused_once_the_memory_lapses(database, monkeypatch):
    key = create_key(database, "pos")
    clock = [1000.0]
    monkeypatch.setattr(keys.time, "monotonic", lambda: clock[0])
    assert authenticate(database, key) is not None
    with database.begin() as conn:  # as `loyalty keys revoke` in another process does
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id(key))
            .values(revoked_at=datetime.now(UTC))
        )
    assert authenticate(database, key) is not None  # within RECENT_SECONDS
    clock[0] += keys.RECENT_SECONDS
    assert authenticate(database, key) is None
