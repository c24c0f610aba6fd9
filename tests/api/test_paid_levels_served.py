"""Buying a paid level through the real server (gunicorn, two workers), on both backends:
bought once however often it is sent, refused in plain words when it cannot be bought."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from engine.ledger.check import check
from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.ledger.conftest import database_url, postgres_schema, postgres_url  # noqa: F401
from tests.served import call, gunicorn

PURCHASE = {"id": "pl-1", "level": "platinum", "fee": "1880.00"}


@pytest.fixture
def served(tmp_path, database_url) -> Iterator[tuple[str, str]]:  # noqa: F811
    with gunicorn(database_url, tmp_path / "gunicorn.log", clean_exit=False) as server:
        yield server.base, database_url


def test_a_paid_level_bought_over_http_is_bought_once(served):
    base, url = served
    engine = open_database(url)
    pos, marketer = create_key(engine, "pos"), create_key(engine, "marketer")
    member = f"{base}/v1/programmes/calendar-retail/members/m-1"
    assert call("PUT", member, {"name": "Ann"}, pos)[0] in (200, 201)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: call("POST", f"{member}/paid-levels", PURCHASE, pos),
                                range(6)))  # fmt: skip
    assert {status for status, _, _ in answers} == {201}
    assert [h["Idempotent-Replayed"] for _, h, _ in answers].count("false") == 1
    body = answers[0][2]
    assert (body["status"], body["level"], body["fee"]) == ("bought", "platinum", "1880.00")

    status, _, problem = call("POST", f"{member}/paid-levels", {"id": "pl-2", "level": "gold"}, pos)
    assert status == 422 and "cannot be bought" in problem["errors"][0]["message"]
    refused = call("POST", f"{member}/paid-levels/cancellations", {"id": "c-1", "purchase": "pl-1"},
                   pos)  # fmt: skip
    assert refused[0] == 403  # the till sells; refunds are the marketer's
    done = call("POST", f"{member}/paid-levels/cancellations",
                {"id": "c-1", "purchase": "pl-1", "refund": "100.00"}, marketer)  # fmt: skip
    assert done[0] == 201 and done[2]["refunded"] == "100.00"
    assert check(engine) == []
    engine.dispose()


def test_a_back_dated_adjustment_over_http_is_recorded_or_refused_by_the_window(served):
    base, url = served
    engine = open_database(url)
    pos, marketer = create_key(engine, "pos"), create_key(engine, "marketer")
    member = f"{base}/v1/programmes/coffee-shop/members/m-2"
    assert call("PUT", member, {"name": "Bo"}, pos)[0] in (200, 201)
    recent = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    status, _, body = call("POST", f"{member}/adjustments",
                           {"id": "a-1", "points": 50, "reason": "missed", "at": recent}, marketer)  # fmt: skip
    assert status == 201 and body["back_dated"] is True and body["balance_after"] == 50
    old = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    status, _, problem = call("POST", f"{member}/redemptions", {"id": "r-1", "points": 10, "at": old},
                              pos)  # fmt: skip
    assert status == 422 and "at" in str(problem["errors"][0]["path"])
    assert "back_dating_days" in problem["errors"][0]["message"]
    engine.dispose()
