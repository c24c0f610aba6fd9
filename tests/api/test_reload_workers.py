"""A reload reaches every gunicorn worker, and a restarted worker serves the last good version.

Real gunicorn, two sync workers, a rules folder of the test's own that it edits on
disk; quotes are sent from several threads at once so that every worker answers.
The last test runs two servers (two "hosts") on one PostgreSQL database.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.api.test_server import ROOT, call, free_port, wait_ready

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
POSTGRES = os.environ.get(
    "LOYALTY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def gunicorn(rules: Path, database: str, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """(base URL, master process) of gunicorn with two workers on ``rules`` and ``database``."""
    port = free_port()
    env = {**os.environ, "LOYALTY_DATABASE_URL": database, "LOYALTY_RULES": str(rules)}
    command = [sys.executable, "-m", "gunicorn", "api:create_app()", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--worker-class", "sync", "--graceful-timeout", "10"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            wait_ready(f"http://127.0.0.1:{port}", process)
            yield f"http://127.0.0.1:{port}", process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
    assert code == 0, log.read_text(errors="replace")[-3000:]


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
    with gunicorn(rules, database, tmp_path / "gunicorn.log") as (base, _master):
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
    with gunicorn(rules, database, tmp_path / "gunicorn.log") as (base, master):
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
    name = f"loyalty_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    open_database(url).dispose()  # migrate once, before two servers start
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_reload_on_one_host_reaches_another_host_on_the_same_postgresql(
    postgres_database, tmp_path
):
    hosts = []
    for host in ("a", "b"):  # each host has its own copy of the rules folder
        folder = tmp_path / host
        shutil.copytree(ROOT / "rules/coffee-shop", folder / "coffee-shop")
        hosts.append(folder)
    with (
        gunicorn(hosts[0], postgres_database, tmp_path / "a.log") as (base_a, _),
        gunicorn(hosts[1], postgres_database, tmp_path / "b.log") as (base_b, _),
    ):
        key = keys(postgres_database)
        edit(hosts[0], EARN, "earn:\n  points: 3\n  per: 1\n")
        status, _, report = call("POST", f"{base_a}/v1/admin/reload", key=key["marketer"])
        assert status == 200
        time.sleep(1)

        new = report["loaded"]["coffee-shop"]
        for base in (base_a, base_b):
            assert priced(quotes(base, key["pos"], 40)) == {(200, new, 96)}
