"""The real server: gunicorn with two sync workers on loopback, spoken to over HTTP.

Each worker builds its own app (and durable-rules host) after the fork; the ledger is a
SQLite file both workers share. The server is stopped with SIGTERM and must exit cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.ledger.db import open_database
from engine.ledger.keys import create_key

ROOT = Path(__file__).resolve().parents[2]
SALE = {
    "member_id": "m-1",
    "id": "till-1-0001",
    "at": "2026-11-28T15:00:00+08:00",
    "lines": [
        {"id": "1", "sku": "LATTE-L", "category": "coffee", "quantity": 2, "unit_price": "36.00"}
    ],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(method: str, url: str, body: Any = None, key: str | None = None):
    """(status, headers, JSON body) of one request; 4xx and 5xx are answers, not errors."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, json.loads(error.read())


def wait_ready(base: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited before it was ready"
        try:
            if call("GET", f"{base}/readyz")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"not ready after {seconds} s")


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[str, str]]:
    """(base URL, database URL) of gunicorn serving ``api:create_app()``."""
    port, database = free_port(), f"sqlite:///{tmp_path / 'server.sqlite'}"
    env = {**os.environ, "LOYALTY_DATABASE_URL": database, "LOYALTY_RULES": "rules"}
    command = [sys.executable, "-m", "gunicorn", "api:create_app()", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--worker-class", "sync", "--graceful-timeout", "10"]
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            wait_ready(f"http://127.0.0.1:{port}", process)
            yield f"http://127.0.0.1:{port}", database
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
    assert code == 0, log_path.read_text(errors="replace")[-3000:]


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
