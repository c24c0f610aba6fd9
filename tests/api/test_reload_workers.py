"""A reload reaches every gunicorn worker, and a restarted worker serves the last good version.

Real gunicorn, two sync workers, a rules folder of the test's own that it edits on
disk; quotes are sent from several threads at once so that every worker answers.
The last test runs two servers (two "hosts") on one PostgreSQL database.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.served import ROOT, call, fresh_postgres, gunicorn, wait_ready

QUOTE = {
    "member": {"id": "walk-in"},
    "transaction": {
        "id": "q-1",
        "at": "2026-11-24T15:00:00+08:00",
        "lines": [
            {"id": "1", "sku": "LATTE", "category": "coffee", "quantity": 1, "unit_price": "32.00"}
        ],
    },
}
EARN = "earn:\n  points: 1\n  per: 1\n"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    for name in ("coffee-shop", "recommended"):
        shutil.copytree(ROOT / "rules" / name, folder / name, ignore=shutil.ignore_patterns("sc*"))
    return folder


def keys(database: str) -> dict[str, str]:
    engine = open_database(database)
    try:
        return {role: create_key(engine, role) for role in ("pos", "marketer")}
    finally:
        engine.dispose()


def quotes(base: str, key: str, count: int = 200) -> list[tuple[int, dict]]:
    """``count`` quotes from four threads at once, so that both workers answer some."""
    url = f"{base}/v1/programmes/coffee-shop/quote"
    with ThreadPoolExecutor(4) as pool:
        answers = pool.map(lambda _: call("POST", url, QUOTE, key), range(count))
        return [(status, body) for status, _headers, body in answers]


def priced(answers: list[tuple[int, dict]]) -> set[tuple[int, str, int]]:
    """The distinct (status, version, points) of some quote answers."""
    return {(s, b.get("version"), b.get("points", {}).get("total")) for s, b in answers}


def edit(rules: Path, old: str, new: str) -> None:
    main = rules / "coffee-shop/programme.yaml"
    content = main.read_text(encoding="utf-8")
    assert old in content
    main.write_text(content.replace(old, new), encoding="utf-8")


def workers(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def test_within_a_second_of_a_reload_every_worker_prices_with_the_new_version(rules, tmp_path):
    database = f"sqlite:///{tmp_path / 'server.sqlite'}"
    with gunicorn(database, tmp_path / "gunicorn.log", rules=rules) as server:
        base = server.base
        key = keys(database)
        [(status, old, points)] = priced(quotes(base, key["pos"], 20))
        assert status == 200 and points == 32
        edit(rules, EARN, "earn:\n  points: 2\n  per: 1\n")

        status, _, report = call("POST", f"{base}/v1/admin/reload", key=key["marketer"])
        assert status == 200 and report["unchanged"] == ["recommended"]
        new = report["loaded"]["coffee-shop"]
        assert new != old and report["serving"]["coffee-shop"] == new
        time.sleep(1)

        assert priced(quotes(base, key["pos"])) == {(200, new, 64)}
        listed = call("GET", f"{base}/v1/programmes", key=key["pos"])[2]
        assert listed["generation"] == report["generation"] == 2
        coffee = next(p for p in listed["programmes"] if p["id"] == "coffee-shop")
        assert (coffee["version"], coffee["generation"]) == (new, 2)


def test_a_worker_restarted_over_broken_files_serves_the_last_good_version(rules, tmp_path):
    database = f"sqlite:///{tmp_path / 'server.sqlite'}"
    with gunicorn(database, tmp_path / "gunicorn.log", rules=rules) as server:
        base, master = server.base, server.process
        key = keys(database)
        [(_, good, _)] = priced(quotes(base, key["pos"], 20))
        edit(rules, EARN, "earn:\n  points: many\n  per: 1\n")

        status, _, report = call("POST", f"{base}/v1/admin/reload", key=key["marketer"])
        assert status == 422 and report["serving"]["coffee-shop"] == good
        assert priced(quotes(base, key["pos"])) == {(200, good, 32)}

        before = workers(master.pid)
        for pid in before:  # every worker dies, so every answer below comes from a new one
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while len(workers(master.pid) - before) < 2:
            assert time.monotonic() < deadline, "gunicorn did not restart its workers"
            time.sleep(0.1)
        wait_ready(base, master)

        assert priced(quotes(base, key["pos"])) == {(200, good, 32)}


@pytest.fixture
def postgres_database() -> Iterator[str]:
    with fresh_postgres() as url:
        open_database(url).dispose()  # migrate once, before two servers start
        yield url


def test_a_reload_on_one_host_reaches_another_host_on_the_same_postgresql(
    postgres_database, tmp_path
):
    hosts = []
    for host in ("a", "b"):  # each host has its own copy of the rules folder
        folder = tmp_path / host
        shutil.copytree(ROOT / "rules/coffee-shop", folder / "coffee-shop")
        hosts.append(folder)
    with (
        gunicorn(postgres_database, tmp_path / "a.log", rules=hosts[0]) as host_a,
        gunicorn(postgres_database, tmp_path / "b.log", rules=hosts[1]) as host_b,
    ):
        base_a, base_b = host_a.base, host_b.base
        key = keys(postgres_database)
        edit(hosts[0], EARN, "earn:\n  points: 3\n  per: 1\n")
        status, _, report = call("POST", f"{base_a}/v1/admin/reload", key=key["marketer"])
        assert status == 200
        time.sleep(1)

        new = report["loaded"]["coffee-shop"]
        for base in (base_a, base_b):
            assert priced(quotes(base, key["pos"], 40)) == {(200, new, 96)}
