"""Migrating a new database from several processes at once (two workers, two hosts)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect

from engine.ledger.db import open_database
from tests.served import ROOT, fresh_postgres

MIGRATE = "import sys; from engine.ledger.db import open_database; open_database(sys.argv[1]).dispose()"


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new.sqlite'}"
    else:
        with fresh_postgres() as url:
            yield url


def test_processes_migrating_one_new_database_at_once_all_succeed(new_database):
    migrators = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, new_database],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [process.communicate(timeout=120)[1] for process in migrators]
    assert [process.returncode for process in migrators] == [0] * 4, errors
    engine = open_database(new_database, migrate=False)
    try:
        assert "lots" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
