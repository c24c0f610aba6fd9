"""Reads never queue behind a commit; every write still takes the write lock first (issue 15).

A writer holds the lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the member's row) while
a dry-run quote, the member view, an API-key check and a readiness probe run: they answer
at once. A sale committed meanwhile waits for the writer, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text, update

from engine.ledger.db import reading
from engine.ledger.keys import authenticate, create_key
from engine.ledger.tables import members
from engine.ledger.views import member_view
from tests.ledger.conftest import BEANS, sale

SHOP = "coffee-shop"
PROMPT = 5.0  # seconds: far below the 30 s a blocked read would wait for the lock


@pytest.fixture
def member(ledger) -> str:
    ledger.enrol(SHOP, "m1", {"joined": "2026-01-05"})
    ledger.commit_sale(SHOP, "m1", sale("s0", BEANS))
    return "m1"


@contextmanager
def writer_holding_the_lock(database: Engine) -> Iterator[None]:
    """A write transaction on the member, open until the block ends."""
    with database.connect() as conn:
        conn.begin()
        conn.execute(
            update(members).where(members.c.id == "m1").values(updated_at=datetime.now(UTC))
        )
        try:
            yield
        finally:
            conn.rollback()


def answers_promptly(read: Callable[[], Any]) -> Any:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(read).result(timeout=PROMPT)


def test_a_dry_run_quote_answers_while_a_commit_holds_the_lock(ledger, database, member):
    with writer_holding_the_lock(database):
        quote = answers_promptly(lambda: ledger.quote(SHOP, member, sale("q1", BEANS)))
    assert quote.earned.total == 196


def test_the_member_view_answers_while_a_commit_holds_the_lock(ledger, database, coffee, member):
    def view() -> dict[str, Any]:
        with reading(database) as conn:
            return member_view(conn, coffee, member, datetime.now(UTC))

    with writer_holding_the_lock(database):
        assert answers_promptly(view)["balance"]["spendable"] == 196


def test_a_key_check_and_a_probe_answer_while_a_commit_holds_the_lock(database, member):
    key = create_key(database, "pos")

    def probe() -> int:
        with reading(database) as conn:
            return int(conn.execute(text("SELECT 1")).scalar_one())

    with writer_holding_the_lock(database):
        assert answers_promptly(lambda: authenticate(database, key)).role == "pos"
        assert answers_promptly(probe) == 1


def test_a_commit_still_waits_for_the_writer_before_reading_the_member(ledger, database, member):
    with ThreadPoolExecutor(1) as pool, writer_holding_the_lock(database):
        committing = pool.submit(ledger.commit_sale, SHOP, member, sale("s1", BEANS))
        time.sleep(0.5)
        assert not committing.done()
    assert committing.result(timeout=PROMPT).response["balance_after"] == 392
