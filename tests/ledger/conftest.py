"""Ledger tests run on SQLite AND on a real PostgreSQL server.

A fresh PostgreSQL database is created for the test run and dropped at the end
(server from LOYALTY_TEST_POSTGRES, default the local one with trust auth). If
the server cannot be reached the tests fail: they are never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from engine.ledger.db import open_database
from engine.ledger.service import Ledger
from engine.ledger.tables import metadata
from engine.policy.loader import load_programme
from engine.pricing import Evaluator

SERVER = os.environ.get(
    "LOYALTY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
COFFEE = "rules/coffee-shop/programme.yaml"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"loyalty_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_schema(postgres_url: str) -> str:
    open_database(postgres_url).dispose()  # run the migrations once
    return postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    url = request.getfixturevalue("postgres_schema")
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(t.name for t in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Engine]:
    engine = open_database(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def coffee() -> Evaluator:
    return Evaluator(load_programme(COFFEE), matcher="python")


@pytest.fixture
def ledger(database: Engine, coffee: Evaluator) -> Ledger:
    return Ledger(
        database, {coffee.programme.id: coffee}, clock=lambda: datetime(2026, 11, 24, tzinfo=UTC)
    )


def sale(
    tx_id: str, *lines: tuple[str, str, str, int], at: str = "2026-11-24T12:00:00+08:00", **extra
) -> dict:
    return {
        "id": tx_id,
        "at": at,
        "lines": [
            {"id": str(i), "sku": sku, "category": category, "unit_price": price, "quantity": qty}
            for i, (sku, category, price, qty) in enumerate(lines, 1)
        ],
        **extra,
    }


BEANS = ("BEANS", "beans", "98.00", 1)  # 98 x 2 points per yuan on beans = 196 points
LATTE = ("LATTE", "coffee", "32.00", 1)
