"""What every batch job shares: progress reports, member batches in id order, member locks.

A job works through id ranges (lot ids, or member ids in keyset order), one database
transaction per range, committed before the next starts, and reports ``progress(done,
total)`` after each. On PostgreSQL each batch first locks its members' rows in id order, as
the service does before it touches a member's lots, so a till never sees half a batch; on
SQLite the batch's transaction holds the database write lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, func, select, true
from sqlalchemy.sql.elements import ColumnElement

from engine.errors import InputError
from engine.ledger import dialect
from engine.ledger.tables import members

Progress = Callable[[int, int], None]
Condition = ColumnElement[bool]
BATCH = 50_000


def silent(_done: int, _total: int) -> None:
    """The default progress callback."""


def aware(name: str, at: datetime) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"{name} must be a date and time with a time zone, not {at!r}")


def lock_members(conn: Connection, programme: str, ids: Select[Any]) -> None:
    """On PostgreSQL, lock the members whose ids ``ids`` selects, in id order (no deadlock)."""
    if dialect.is_postgres(conn):
        conn.execute(
            select(members.c.id)
            .where(members.c.programme == programme, members.c.id.in_(ids))
            .order_by(members.c.id)
            .with_for_update()
        )


def member_batches(
    engine: Engine,
    scope: Condition,
    size: int,
    work: Callable[[Connection, Condition], None],
    progress: Progress,
) -> int:
    """Run ``work`` on the members ``scope`` selects, ``size`` at a time in id order.

    Each batch is a range ``(after, upper]`` of member ids (keyset order on the primary key)
    holding ``size`` members of ``scope``, found and worked on in one transaction, committed
    before the next. ``work`` gets the range as a condition on ``members.id``.
    """
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(members).where(scope)).scalar_one()
    done, after = 0, None
    progress(0, total)
    while done < total:
        with engine.begin() as conn:
            window = scope if after is None else and_(scope, members.c.id > after)
            upper = conn.execute(
                select(members.c.id).where(window).order_by(members.c.id).offset(size - 1).limit(1)
            ).scalar()
            bounds = [members.c.id > after] if after is not None else []
            if upper is not None:
                bounds.append(members.c.id <= upper)
            work(conn, and_(true(), *bounds))
        done = total if upper is None else min(done + size, total)
        progress(done, total)
        after = upper
    return total
