"""Throwaway ledgers for benchmarks: a temporary SQLite file or a fresh PostgreSQL database."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from engine.ledger.db import open_database


@contextmanager
def sqlite_database(prefix: str) -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-bench-") as folder:
        engine = open_database(f"sqlite:///{Path(folder) / 'bench.sqlite'}")
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_database(server: str, prefix: str) -> Iterator[Engine]:
    """A database created on ``server`` for the run and dropped after it."""
    name = f"{prefix}_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = open_database(url)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
