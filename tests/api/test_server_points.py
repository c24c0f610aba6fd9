"""Issue 13 over the served stack: a till sends tenders to the retail example, the sale earns
by tender at the dated rate, and the version history is listed; gunicorn on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.served import call, fresh_postgres, gunicorn

SALE = {
    "member_id": "m-1",
    "id": "till-1-0001",
    "at": "2026-07-05T10:00:00+08:00",
    "lines": [
        {"id": "1", "sku": "RICE-5KG", "category": "grocery", "quantity": 1, "unit_price": "100.00"}
    ],
    "tenders": [
        {"method": "card", "amount": "60.00"},
        {"method": "stored_value", "amount": "40.00"},
    ],
}


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[str, str]]:
    with fresh_postgres() as database, gunicorn(database, tmp_path / "gunicorn.log") as served:
        yield served.base, database


def test_a_split_tender_sale_earns_by_tender_at_the_rate_in_force_over_http(server):
    base, database = server
    engine = open_database(database)
    key = create_key(engine, "pos")
    engine.dispose()
    programme = f"{base}/v1/programmes/retail-tenders"
    assert call("PUT", f"{programme}/members/m-1", {"joined": "2026-04-01"}, key)[0] == 201
    status, _, sale = call("POST", f"{programme}/transactions", SALE, key)
    assert status == 201, sale
    assert sale["points"]["total"] == 210  # 100 x 1.5 (from 1 July) x 1.4 (the wallet's 40%)
    status, _, bad = call(
        "POST",
        f"{programme}/transactions",
        {**SALE, "id": "till-1-0002", "tenders": [{"method": "card"}]},
        key,
    )
    assert status == 422 and "tenders" in str(bad)
    status, _, history = call("GET", f"{programme}/versions", key=key)
    assert status == 200 and len(history["versions"]) == 1
