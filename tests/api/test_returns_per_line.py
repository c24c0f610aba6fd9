"""Issue 19 through the HTTP stack: a till returns a gift card that earned nothing."""

from __future__ import annotations

import pytest

from api import create_app
from engine.ledger.keys import create_key
from tests.ledger.conftest import database_url, postgres_schema, postgres_url  # noqa: F401
from tests.ledger.programmes import GIFT_CARD_EARN, write_programme

BASE = "/v1/programmes/outdoor"
SALE = {
    "member_id": "m1",
    "id": "s1",
    "at": "2026-11-24T12:00:00+08:00",
    "lines": [
        {
            "id": "tent",
            "sku": "TENT-2P",
            "category": "camping",
            "quantity": 1,
            "unit_price": "800.00",
        },
        {
            "id": "card",
            "sku": "GC-50",
            "category": "gift_card",
            "quantity": 1,
            "unit_price": "50.00",
        },
    ],
}


@pytest.fixture
def till(tmp_path, database_url):  # noqa: F811 - the ledger tests' fixture, both backends
    rules = tmp_path / "rules"
    write_programme(rules, "outdoor", earn=GIFT_CARD_EARN)
    app = create_app({"database_url": database_url, "rules": str(rules), "matcher": "python"})
    database = app.extensions["loyalty"].database
    headers = {
        role: {"Authorization": f"Bearer {create_key(database, role)}"}
        for role in ("pos", "marketer")
    }
    client = app.test_client()
    enrolled = client.put(
        f"{BASE}/members/m1",
        json={"name": "Ann", "joined": "2026-01-05"},
        headers=headers["marketer"],
    )
    assert enrolled.status_code == 201
    yield client, headers["pos"]
    database.dispose()  # close the pool's connections: PostgreSQL's would warn when collected


def test_returning_the_gift_card_leaves_every_point_the_tent_earned(till):
    client, headers = till
    sold = client.post(f"{BASE}/transactions", json=SALE, headers=headers).get_json()
    assert sold["points"]["total"] == sold["balance_after"] == 8000
    response = client.post(
        f"{BASE}/transactions/s1/returns",
        json={
            "id": "r1",
            "at": "2026-11-25T10:00:00+08:00",
            "lines": [{"line_id": "card", "quantity": 1}],
        },
        headers=headers,
    )
    body = response.get_json()
    assert response.status_code == 201
    assert body["refund"]["points_clawed_back"] == 0 and body["refund"]["money"] == "50.00"
    assert body["balance_after"] == 8000
    assert body["points_by_line"] == [{"line_id": "card", "quantity": 1, "points_clawed_back": 0}]
    assert body["basket_bonus_policy"] == "keep_while_qualifies"
    rest = client.post(
        f"{BASE}/transactions/s1/returns",
        json={"id": "r2", "at": "2026-11-25T10:05:00+08:00"},
        headers=headers,
    ).get_json()
    assert rest["refund"]["points_clawed_back"] == 8000 and rest["balance_after"] == 0
