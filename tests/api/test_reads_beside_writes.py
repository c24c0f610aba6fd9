"""Through the HTTP stack, a till's reads answer while a commit holds SQLite's write lock
(issue 15): key check, readiness, GET member and a dry-run quote take no write lock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import update

from engine.ledger.tables import members
from tests.api.conftest import SALE

BASE = "/v1/programmes/coffee-shop"
PROMPT = 5.0  # seconds: far below the 30 s a request blocked on the lock would wait


def test_a_tills_reads_answer_while_a_commit_holds_the_write_lock(app, pos, member):
    database = app.extensions["loyalty"].database
    quote = {
        "member_id": member,
        "transaction": {k: v for k, v in SALE.items() if k != "member_id"},
    }
    with ThreadPoolExecutor(1) as pool, database.connect() as writer:
        writer.begin()  # BEGIN IMMEDIATE: the lock a commit holds through its rules
        writer.execute(update(members).values(updated_at=datetime.now(UTC)))
        try:
            ready = pool.submit(pos.get, "/readyz").result(timeout=PROMPT)
            view = pool.submit(pos.get, f"{BASE}/members/{member}").result(timeout=PROMPT)
            quoted = pool.submit(pos.post, f"{BASE}/quote", json=quote).result(timeout=PROMPT)
        finally:
            writer.rollback()
    assert ready.status_code == 200
    assert view.status_code == 200 and view.get_json()["balance"]["spendable"] == 0
    assert quoted.status_code == 200 and quoted.get_json()["points"]["total"] == 352
