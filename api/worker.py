"""gunicorn's sync worker, answering its own refusals as problem+json instead of HTML.

gunicorn refuses some requests before Flask sees them: a request line longer than
``limit_request_line`` (414), too many or too large header fields (431), a request it cannot
parse (400). Its ``handle_error`` classifies the error, logs it and writes a small HTML page.
``ProblemWorker`` keeps gunicorn's classification and logging (so a new gunicorn error class
still gets gunicorn's status) and only replaces the page: gunicorn writes to a stand-in
socket, we read its status line and write the same status as ``application/problem+json``.

It also gives each client socket a timeout (see ``api/gunicorn_config.py`` for what bounds a
request's time).
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from gunicorn import util
from gunicorn.workers.sync import SyncWorker

PROBLEM_TYPE = "https://loyalty-rules.dev/problems/"
DETAILS = {
    400: "the request could not be read as HTTP",
    414: "the request line (method and URL) is longer than this server accepts",
    431: "the request's header fields are too many or too large",
    500: "the server failed; the error was logged",
}


def read_timeout() -> float:
    """Seconds a client may pause while sending (or receiving) before it is cut off."""
    return float(os.environ.get("LOYALTY_READ_TIMEOUT", "10"))


class _Page:
    """The client socket as gunicorn's error writer sees it: writes are kept, not sent."""

    def __init__(self, client: socket.socket) -> None:
        self.client, self.data = client, b""

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, _flag: bool) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.data += data

    def __getattr__(self, name: str) -> Any:  # getsockname() etc. for the access log
        return getattr(self.client, name)


def problem_response(status: int, reason: str) -> bytes:
    """A complete HTTP/1.1 answer: ``status`` as problem+json; the connection closes."""
    body = json.dumps(
        {
            "type": PROBLEM_TYPE + reason.lower().replace(" ", "-"),
            "title": reason,
            "status": status,
            "detail": DETAILS.get(status, reason),
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _status_of(page: bytes) -> tuple[int, str]:
    """The status of gunicorn's page (``HTTP/1.1 414 URI Too Long``); 500 if unreadable."""
    line = page.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return int(parts[1]), parts[2]
    return 500, "Internal Server Error"


class ProblemWorker(SyncWorker):
    """A sync worker whose own error answers are problem+json (see the module docstring)."""

    def handle(self, listener: socket.socket, client: socket.socket, addr: Any) -> None:
        # A blocking socket without a timeout lets a client that stops sending hold the
        # worker until the arbiter kills it; with one, the read fails and the worker moves on.
        client.settimeout(read_timeout())
        super().handle(listener, client, addr)

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: Exception) -> None:
        page = _Page(client)
        super().handle_error(req, page, addr, exc)
        status, reason = _status_of(page.data)
        try:
            util.write_nonblock(client, problem_response(status, reason))
        except Exception:  # the client may be gone; gunicorn's own writer ignores this too
            self.log.debug("Failed to send error message.")
