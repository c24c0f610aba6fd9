"""A real server for tests: gunicorn with the settings ``loyalty serve`` uses, over HTTP.

Every test that needs more than Flask's test client (several worker processes, gunicorn's
own refusals, workers killed and restarted) starts one with ``gunicorn(...)`` and speaks to
it with ``call(...)``; PostgreSQL-backed servers get a database of their own from
``fresh_postgres``.
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
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get(
    "LOYALTY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(
    method: str,
    url: str,
    body: Any = None,
    key: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,
):
    """(status, headers, JSON body) of one request; 4xx and 5xx are answers, not errors."""
    sent = {"Content-Type": "application/json"} if body is not None else {}
    if key:
        sent["Authorization"] = f"Bearer {key}"
    sent.update(headers or {})
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=sent, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
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
        except OSError:  # URLError, a refused connection, or a loaded machine's time-out
            pass
        time.sleep(0.1)
    raise AssertionError(f"not ready after {seconds} s")


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:<port>
    port: int
    database: str
    log: Path
    process: subprocess.Popen


@contextmanager
def gunicorn(
    database: str,
    log: Path,
    *,
    rules: str | Path = "rules",
    workers: int = 2,
    env: Mapping[str, str] | None = None,
    clean_exit: bool = True,
) -> Iterator[Server]:
    """gunicorn serving ``api:create_app()`` with ``api/gunicorn_config.py`` (what ``loyalty
    serve`` uses) on a free port; stopped with SIGTERM, and with ``clean_exit`` it must exit 0."""
    port = free_port()
    environment = {
        **os.environ,
        "LOYALTY_DATABASE_URL": database,
        "LOYALTY_RULES": str(rules),
        **(env or {}),
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "python:api.gunicorn_config"]
    command += ["api:create_app()", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=out)
        base = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_ready(base, process)
            except AssertionError as error:
                log_tail = log.read_text(errors="replace")[-3000:]
                raise AssertionError(f"{error}; its log ends:\n{log_tail}") from None
            yield Server(base, port, database, log, process)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
    if clean_exit:
        assert code == 0, log.read_text(errors="replace")[-3000:]


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    name = f"loyalty_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
