"""Tier metrics over HTTP (issue 12): a hotel stay posted at the served till counts its
nights, the next quote and the member view say what is left to Gold, on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.served import call, fresh_postgres, gunicorn

# The member view reads the window containing today: the sales are dated now (Shanghai).
NOW = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=2)


def stay(sale_id: str, at: datetime, nights: int) -> dict:
    check_in = (at.date() - timedelta(days=nights)).isoformat()
    return {
        "member_id": "h-1",
        "id": sale_id,
        "at": at.isoformat(),
        "lines": [
            {
                "id": "room",
                "sku": "ROOM-DELUXE",
                "category": "rooms",
                "quantity": nights,
                "unit_price": "500.00",
                "stay": {"property": "sh-bund", "check_in": check_in, "nights": nights},
            }
        ],
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path) -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            database = f"sqlite:///{tmp_path / 'server.sqlite'}"
        else:
            database = stack.enter_context(fresh_postgres())
        engine = open_database(database)
        key = create_key(engine, "pos")
        engine.dispose()
        served = stack.enter_context(gunicorn(database, tmp_path / "gunicorn.log", workers=1))
        yield served.base, key


def test_a_posted_stay_counts_its_nights_for_the_next_quote_and_the_member_view(server):
    base, key = server
    hotel = f"{base}/v1/programmes/hotel-nights"
    assert call("PUT", f"{hotel}/members/h-1", {"joined": "2027-01-05"}, key)[0] == 201
    status, _, sale = call("POST", f"{hotel}/transactions", stay("s1", NOW, 15), key)
    assert status == 201, sale
    assert sale["tier"]["totals_after"] == {"nights": "15", "stays": "1"}

    sale = stay("q1", NOW + timedelta(minutes=1), 2)
    quote = {"member_id": sale.pop("member_id"), "transaction": sale}
    status, _, priced = call("POST", f"{hotel}/quote", quote, key)
    assert status == 200, priced
    assert priced["tier"]["path"] == [{"metric": "nights", "remaining": "3", "at_least": "20"}]

    status, _, member = call("GET", f"{hotel}/members/h-1", key=key)
    assert status == 200, member
    assert member["tier"]["metrics"] == {"nights": "15", "stays": "1"}
    assert member["tier"]["next"] == "gold" and member["tier"]["remaining_to_next"] == "5"
