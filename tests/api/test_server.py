"""The real server: gunicorn with two workers and the settings `loyalty serve` uses, on
loopback, spoken to over HTTP.

Each worker builds its own app (and durable-rules host) after the fork; the ledger is a
SQLite file both workers share. The server is stopped with SIGTERM and must exit cleanly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.served import call, gunicorn

SALE = {
    "member_id": "m-1",
    "id": "till-1-0001",
    "at": "2026-11-28T15:00:00+08:00",
    "lines": [
        {"id": "1", "sku": "LATTE-L", "category": "coffee", "quantity": 2, "unit_price": "36.00"}
    ],
}


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[str, str]]:
    """(base URL, database URL) of gunicorn serving ``api:create_app()``."""
    database = f"sqlite:///{tmp_path / 'server.sqlite'}"
    with gunicorn(database, tmp_path / "gunicorn.log") as served:
        yield served.base, database


def test_enrol_sell_replay_and_read_over_http(server):
    base, database = server
    engine = open_database(database)
    key = create_key(engine, "pos")
    engine.dispose()
    members = f"{base}/v1/programmes/coffee-shop/members"

    assert call("GET", f"{base}/v1/programmes")[0] == 401
    assert call("PUT", f"{members}/m-1", {"name": "Ann"}, key)[0] == 201

    url = f"{base}/v1/programmes/coffee-shop/transactions"
    status, headers, sale = call("POST", url, SALE, key)
    assert (status, headers["Idempotent-Replayed"]) == (201, "false")
    assert sale["status"] == "committed" and sale["points"]["total"] == 72
    status, headers, again = call("POST", url, SALE, key)
    assert (status, headers["Idempotent-Replayed"], again) == (201, "true", sale)

    status, headers, member = call("GET", f"{members}/m-1", key=key)
    assert status == 200 and headers["X-Request-Id"]
    assert member["balance"]["total"] == sale["balance_after"] == 72
    assert [e["transaction_id"] for e in member["history"]["entries"]] == ["till-1-0001"]
