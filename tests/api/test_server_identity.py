"""One identity per write through the real server (gunicorn, two workers), on both backends.

The double-points defect was seen at a till: a sale sent with an Idempotency-Key and resent
without it was posted twice. Here every way of naming the same sale, sent at once to both
workers, posts it once; the ledger check stays clean.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from engine.ledger.check import check
from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.api.test_server import SALE
from tests.ledger.conftest import database_url, postgres_schema, postgres_url  # noqa: F401
from tests.served import gunicorn

NO_ID = {k: v for k, v in SALE.items() if k != "id"}


def send(url: str, body: Any, key: str, headers: dict[str, str] | None = None):
    """(status, Idempotent-Replayed, JSON body) of one POST."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        | (headers or {}),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return (
                response.status,
                response.headers["Idempotent-Replayed"],
                json.loads(response.read()),
            )
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Idempotent-Replayed"], json.loads(error.read())


@pytest.fixture
def served(tmp_path, database_url) -> Iterator[tuple[str, str]]:  # noqa: F811
    """(base URL, database URL) of gunicorn with two workers on this test's backend."""
    with gunicorn(database_url, tmp_path / "gunicorn.log", clean_exit=False) as server:
        yield server.base, database_url


def test_a_sale_named_every_way_at_once_is_posted_once(served):
    base, url = served
    engine = open_database(url)
    key = create_key(engine, "pos")
    sales = f"{base}/v1/programmes/coffee-shop/transactions"
    member = f"{base}/v1/programmes/coffee-shop/members/m-1"
    request = urllib.request.Request(
        member,
        data=b'{"name": "Ann"}',
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        method="PUT",
    )
    urllib.request.urlopen(request, timeout=20).close()

    refused = send(sales, SALE, key, {"Idempotency-Key": "till-1-other"})
    assert refused[0] == 422
    same = {"Idempotency-Key": SALE["id"]}
    ways = [(SALE, None), (NO_ID, same), (SALE, same)] * 4
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda way: send(sales, way[0], key, way[1]), ways))

    assert {status for status, _, _ in answers} == {201}
    assert [replayed for _, replayed, _ in answers].count("false") == 1
    assert len({json.dumps(body, sort_keys=True) for _, _, body in answers}) == 1
    returned = send(f"{sales}/{SALE['id']}/returns", {"id": "r-1", "at": SALE["at"]}, key)
    assert returned[0] == 201 and returned[2]["balance_after"] == 0
    assert check(engine) == []
    engine.dispose()
