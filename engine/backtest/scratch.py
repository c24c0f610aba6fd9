"""A throw-away SQLite ledger: the real schema, seeded with a history's members.

The replay writes here through the real ``Ledger``, so every rule of posting (lots, expiry,
caps, budgets, returns) is the one the ledger itself applies. Durability is switched off:
nothing here outlives the backtest.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, insert, text

from engine.backtest.history import History
from engine.ledger.db import driver_connection, open_database
from engine.ledger.tables import (
    campaign_assignments,
    campaign_budgets,
    member_offers,
    members,
    metadata,
    tier_history,
)


class Scratch:
    """One scratch ledger file in a folder that is deleted with the backtest."""

    def __init__(self, folder: Path, name: str) -> None:
        self.path = folder / f"{name}.sqlite"
        self.engine = _open(self.path)

    def copy(self, name: str) -> Scratch:
        """A second scratch ledger holding exactly this one's rows."""
        twin = self.path.with_name(f"{name}.sqlite")
        target = sqlite3.connect(twin)
        try:
            with self.engine.connect() as conn:
                driver_connection(conn).backup(target)  # a consistent copy, WAL included
        finally:
            target.close()
        copy = Scratch.__new__(Scratch)
        copy.path, copy.engine = twin, _open(twin)
        return copy

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def scratch_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="loyalty-backtest-") as folder:
        yield Path(folder)


def _open(path: Path) -> Engine:
    engine = open_database(f"sqlite:///{path}", migrate=False)

    @event.listens_for(engine, "connect")
    def _fast(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")  # a scratch copy: a crash loses nothing real
        cursor.close()

    metadata.create_all(engine)
    return engine


def seed(scratch: Scratch, history: History, entry_tier: str | None, now: datetime) -> None:
    """The history's members as they were when they enrolled (no points, the entry tier),
    their campaign groups and held offers as stored, campaign budgets unspent."""
    with scratch.engine.begin() as conn:
        conn.execute(text("DELETE FROM members"))  # a fresh file: nothing to keep
        rows = [_fresh_member(m, entry_tier, now) for m in history.members]
        if rows:
            conn.execute(insert(members), rows)
            conn.execute(
                insert(tier_history),
                [
                    {
                        "programme": m["programme"],
                        "member_id": m["id"],
                        "tier": entry_tier,
                        "since": m["joined"],
                        "reason": "enrolled",
                        "at": now,
                    }
                    for m in rows
                ],
            )
        if history.assignments:
            conn.execute(insert(campaign_assignments), history.assignments)
        if history.budgets:
            conn.execute(
                insert(campaign_budgets),
                [{**b, "spent_points": 0, "spent_money": 0} for b in history.budgets],
            )
        if history.offers:
            conn.execute(
                insert(member_offers), [{**o, "uses_left": o["uses"]} for o in history.offers]
            )


def _fresh_member(row: dict[str, Any], entry_tier: str | None, now: datetime) -> dict[str, Any]:
    return {
        **row,
        "tier": entry_tier,
        "tier_since": row["joined"],
        "tier_valid_until": None,
        "qualifying_spend": 0,
        "period_start": None,
        "balance": 0,
        "debt": 0,
        "last_purchase_at": None,
        "last_activity_at": None,
        "merged_into": None,
        "created_at": now,
        "updated_at": now,
    }
