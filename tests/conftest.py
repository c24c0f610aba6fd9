"""Every test is one of three speeds, marked here so that a run can pick one:

- ``http``: a served process (gunicorn via ``tests.served``, or the browser); a database
  sits behind it, but the mark is ``http`` alone;
- ``db``: touches a database (a SQLite file or PostgreSQL), Flask's test client included,
  since the app opens a ledger;
- neither: the pure core, ``pytest -m "not db and not http"``, in seconds.

Marks come from the fixtures a test uses and from the module importing ``tests.served``;
a test the rules cannot see declares its own mark. A test left pure is held to it: opening
a database, connecting over TCP or starting a process pointed at a database fails it with
a message saying which mark it needs.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from tests import served

# every database fixture uses one of these ("api": the module-wide app of test_openapi.py)
DB_FIXTURES = {"database_url", "postgres_url", "app", "api"}
HTTP_FIXTURES = {"server", "browser"}
SERVED = {served.gunicorn, served.call}  # a module that imports these serves HTTP
SPEEDS = ("db", "http")
BACKENDS = {"sqlite", "postgresql"}  # parameters that name a database backend


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(speed) for speed in SPEEDS):
            continue
        speed = _speed(item)
        if speed:
            item.add_marker(speed)


def _speed(item: pytest.Item) -> str | None:
    fixtures = set(getattr(item, "fixturenames", ()))
    module = getattr(item, "module", None)
    names = vars(module).values() if module is not None else ()
    if fixtures & HTTP_FIXTURES or any(_is_served(value) for value in names):
        return "http"
    callspec = getattr(item, "callspec", None)
    backends = BACKENDS & {str(v) for v in callspec.params.values()} if callspec else set()
    if fixtures & DB_FIXTURES or backends:
        return "db"
    return None


def _is_served(value: Any) -> bool:
    try:
        return value in SERVED
    except TypeError:  # unhashable module globals
        return False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _held_to_its_speed(item):  # module and session fixtures set up here too
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _held_to_its_speed(item):
        return (yield)


@contextmanager
def _held_to_its_speed(item: pytest.Item) -> Iterator[None]:
    """A test with neither mark may not reach a database or a server (see the docstring)."""
    if any(item.get_closest_marker(speed) for speed in SPEEDS):
        yield
        return
    real_connect, real_popen = socket.socket.connect, subprocess.Popen.__init__

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            pytest.fail(f"a test without a speed mark connected to {address}: mark it http")
        real_connect(self, address)

    def popen(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        command = " ".join(map(str, args)) if isinstance(args, list | tuple) else str(args)
        if "sqlite:" in command or "postgresql" in command:
            pytest.fail(f"a test without a speed mark ran {command!r} on a database: mark it db")
        real_popen(self, args, *rest, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sqlite3, "connect", _refuse("opened SQLite"))
        patch.setattr(sqlite3.dbapi2, "connect", _refuse("opened SQLite"))
        patch.setattr(psycopg, "connect", _refuse("connected to PostgreSQL"))
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(subprocess.Popen, "__init__", popen)
        yield


def _refuse(what: str) -> Any:
    def refused(*args: Any, **kwargs: Any) -> Any:
        pytest.fail(f"a test without a speed mark {what}: mark it @pytest.mark.db")

    return refused
