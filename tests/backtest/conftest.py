"""A small but varied history in a real ledger (SQLite and PostgreSQL), made through the
ledger's own operations: sales with and without redemptions, whole and partial returns,
redemptions outside a sale, hand adjustments, over nine months."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from engine.ledger.db import open_database
from engine.ledger.service import Ledger
from engine.policy.loader import load_programme
from engine.pricing import Evaluator
from tests.ledger.conftest import COFFEE, SERVER, sale

SHOP = "coffee-shop"
BEANS = ("BEANS", "beans", "98.00", 1)
LATTE = ("LATTE", "coffee", "32.00", 1)
PASTRY = ("CROISSANT", "pastry", "18.00", 1)
MEMBERS = [f"m{i}" for i in range(4)]
DAYS = 36
START = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # a Monday, noon in Shanghai
# The period ends before the history does: the ledger's liability at its end is a true
# "as of" in the past, read from the journal.
PERIOD = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _at(day: int, member: int) -> datetime:
    # Every 5th day at noon Shanghai time, never on the 18th (member day doubles points).
    moment = START + timedelta(days=day * 5, minutes=member)
    return moment + timedelta(days=1) if moment.day == 18 else moment


def make_history(ledger: Ledger, clock: Clock, days: int = DAYS) -> dict[str, list[str]]:
    """About 170 events, in time order as tills send them; returns the ids of the sales
    with beans and of all sales."""
    made: dict[str, list[str]] = {"beans": [], "sales": []}
    for member in MEMBERS:
        clock.now = START - timedelta(days=30)
        ledger.enrol(SHOP, member, {"name": member, "joined": "2026-01-05", "tags": {"k": "v"}})
    for day in range(days):
        for index, member in enumerate(MEMBERS):
            at = _at(day, index)
            clock.now = at
            lines = [BEANS] if (day + index) % 3 == 0 else [LATTE, PASTRY]
            sale_id = f"s{day}-{member}"
            extra = {"store": f"store-{index % 2}"}
            if day % 7 == 6:
                extra["redeem_points"] = 100
            ledger.commit_sale(SHOP, member, sale(sale_id, *lines, at=at.isoformat(), **extra))
            made["sales"].append(sale_id)
            if lines == [BEANS]:
                made["beans"].append(sale_id)
            if day % 11 == 5 and index % 2 == 0:
                clock.now = at + timedelta(seconds=10)
                body = {"id": f"r{sale_id}", "at": clock.now.isoformat()}
                if lines != [BEANS]:
                    body["lines"] = [{"line_id": "2", "quantity": 1}]
                ledger.return_items(SHOP, sale_id, body)
            if day % 13 == 9 and index == 1:
                clock.now = at + timedelta(seconds=20)
                ledger.redeem(SHOP, member, {"points": 100}, key=f"x{sale_id}")
            if day % 17 == 3 and index == 2:
                clock.now = at + timedelta(seconds=30)
                ledger.adjust(SHOP, member, 25, reason="goodwill", actor="test", key=f"a{sale_id}")
    return made


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def source(request, tmp_path_factory) -> Iterator[Source]:
    """A ledger holding the history, built once per module and backend, never written to
    again (the tests only read it and back-test it)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('source') / 'ledger.sqlite'}"
        engine = open_database(url)
        yield _with_history(engine)
        engine.dispose()
        return
    name = f"loyalty_backtest_{uuid.uuid4().hex[:10]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = open_database(make_url(SERVER).set(database=name).render_as_string(False))
    try:
        yield _with_history(engine)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Source:
    engine: Engine
    made: dict[str, list[str]]  # which sales had beans


def _with_history(engine: Engine) -> Source:
    clock = Clock()
    return Source(
        engine, make_history(Ledger(engine, {SHOP: COFFEE_EVALUATOR}, clock=clock), clock)
    )


COFFEE_EVALUATOR = Evaluator(load_programme(COFFEE), matcher="python")


@pytest.fixture(scope="session")
def live() -> Evaluator:
    return COFFEE_EVALUATOR


@pytest.fixture(scope="session")
def half_beans(tmp_path_factory) -> Evaluator:
    """The coffee shop with take-home beans earning 1 point per yuan instead of 2."""
    text_ = Path(COFFEE).read_text(encoding="utf-8")
    old = (
        "    - category: beans           # take-home beans earn 2 points per yuan\n      points: 2"
    )
    assert old in text_
    folder = tmp_path_factory.mktemp("proposal")
    path = folder / "programme.yaml"
    path.write_text(text_.replace(old, "    - category: beans\n      points: 1"), encoding="utf-8")
    return Evaluator(load_programme(str(path)), matcher="python")
