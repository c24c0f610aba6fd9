"""Many hosts, one database: two ``loyalty serve`` instances (gunicorn, as ``loyalty serve``
runs it) on different ports share one PostgreSQL ledger. The API keeps no state of its own
between requests, so either instance answers for any member; the database's row locks are
what keep two hosts from spending the same points twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from engine.ledger.check import check
from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.served import Server, call, fresh_postgres, gunicorn

BASE = "/v1/programmes/coffee-shop"
RACERS = 16  # parallel whole-balance redemptions, half sent to each host
BALANCE = 500


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server, dict]]:
    """Two served instances on one fresh PostgreSQL database, and (pos, marketer) keys."""
    logs = tmp_path_factory.mktemp("two-hosts")
    with fresh_postgres() as url, ExitStack() as stack:
        engine = open_database(url)  # migrated once, before either host starts
        keys = {role: create_key(engine, role) for role in ("pos", "marketer")}
        engine.dispose()
        first = stack.enter_context(gunicorn(url, Path(logs) / "a.log"))
        second = stack.enter_context(gunicorn(url, Path(logs) / "b.log"))
        yield first, second, keys
        stack.close()  # stop both hosts before the database is dropped


def test_a_member_enrolled_through_one_host_is_served_by_the_other(hosts) -> None:
    first, second, keys = hosts
    assert call("PUT", f"{first.base}{BASE}/members/ann", {"name": "Ann"}, keys["pos"])[0] == 201
    status, _, member = call("GET", f"{second.base}{BASE}/members/ann", key=keys["pos"])
    assert status == 200 and member["id"] == "ann"


def test_whole_balance_redemptions_raced_across_two_hosts_spend_the_points_once(hosts) -> None:
    first, second, keys = hosts
    pos = keys["pos"]
    assert call("PUT", f"{first.base}{BASE}/members/bo", {"name": "Bo"}, pos)[0] == 201
    grant = {"id": "grant-1", "points": BALANCE, "reason": "race test"}
    status, _, _ = call(
        "POST", f"{second.base}{BASE}/members/bo/adjustments", grant, keys["marketer"]
    )
    assert status == 201

    def redeem(n: int) -> int:
        host = (first, second)[n % 2]
        body = {"id": f"race-{n}", "points": BALANCE}
        return call("POST", f"{host.base}{BASE}/members/bo/redemptions", body, pos, timeout=60)[0]

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = Counter(pool.map(redeem, range(RACERS)))

    assert statuses[201] == 1, statuses  # one wins; the others are refused, never a 5xx
    assert all(400 <= status < 500 for status in statuses if status != 201), statuses
    _, _, member = call("GET", f"{first.base}{BASE}/members/bo", key=pos)
    assert member["balance"]["total"] == 0
    engine = open_database(first.database)
    try:
        assert check(engine) == []
    finally:
        engine.dispose()
