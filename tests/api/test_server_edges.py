"""The real server's own refusals: gunicorn (2 sync workers, the settings `loyalty serve`
uses) answers what it refuses before Flask as problem+json, and a client that stalls
cannot hold a worker."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.served import gunicorn


@contextmanager
def serving(tmp_path: Path, **env: str) -> Iterator[tuple[int, Path, str]]:
    """(port, log file, database URL) of gunicorn with two workers, a 1 s read timeout and
    ``env`` (``LOYALTY_*`` settings)."""
    database = f"sqlite:///{tmp_path / 'server.sqlite'}"
    with gunicorn(
        database, tmp_path / "gunicorn.log", env={"LOYALTY_READ_TIMEOUT": "1", **env}
    ) as server:
        yield server.port, server.log, database


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[int, Path, str]]:
    with serving(tmp_path) as server:
        yield server


def exchange(port: int, *parts: bytes, pause: float = 0) -> tuple[int, dict[str, str], bytes]:
    """Send ``parts`` (pausing ``pause`` s between them) and read the answer to its end."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
        for index, part in enumerate(parts):
            if index and pause:
                time.sleep(pause)
            conn.sendall(part)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
            if b"\r\n\r\n" in received and _complete(received):
                break
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split(" ")[1]), headers, body


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def assert_problem(answer, status: int) -> dict:
    code, headers, body = answer
    assert code == status, body
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]
    return problem


def test_a_request_line_too_long_is_a_414_problem(served):
    port, *_ = served
    request = b"GET /v1/programmes/" + b"x" * 5000 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    assert_problem(exchange(port, request), 414)


@pytest.mark.parametrize(
    "headers",
    [
        b"".join(b"X-Filler-%d: 1\r\n" % i for i in range(101)),  # more than 100 fields
        b"X-Big: " + b"x" * 9000 + b"\r\n",  # one field beyond 8,190 bytes
    ],
    ids=["too many", "too large"],
)
def test_header_fields_beyond_the_limits_are_a_431_problem(served, headers):
    port, *_ = served
    request = b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + headers + b"\r\n"
    assert_problem(exchange(port, request), 431)


def test_a_request_gunicorn_cannot_parse_is_a_400_problem(served):
    port, *_ = served
    assert_problem(exchange(port, b"HELLO THERE\r\n\r\n"), 400)


def test_a_body_that_stalls_is_cut_off_and_the_worker_serves_again(served):
    port, _, database = served
    engine = open_database(database)
    key = create_key(engine, "pos").encode()
    engine.dispose()
    head = (
        b"POST /v1/programmes/coffee-shop/quote HTTP/1.1\r\nHost: a\r\n"
        b"Authorization: Bearer " + key + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    # Both workers get a stalled client; each is cut off after the 1 s read timeout.
    stalled = [socket.create_connection(("127.0.0.1", port), timeout=15) for _ in range(2)]
    for conn in stalled:
        conn.sendall(head + b'{"member_id": ')
    for conn in stalled:
        conn.settimeout(10)
        answer = conn.recv(65536)
        conn.close()
        assert answer.startswith(b"HTTP/1.1 400"), answer
        assert b"Content-Type: application/problem+json" in answer
    code, _, body = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert (code, json.loads(body)) == (200, {"status": "ok"})
