"""What differs between the two databases the ledger runs on, in one place.

The ledger runs on SQLite (one file, writers serialised by ``BEGIN IMMEDIATE``) and on
PostgreSQL (row locks, ``COPY``, planner settings). Every branch on the backend goes through
these named functions, so a third backend, or a change of strategy on one, is one module's
work:

- ``is_postgres`` / ``is_sqlite``: the test itself, for the few places whose SQL differs;
- ``insert`` / ``insert_new``: the backend's ``INSERT`` with ``ON CONFLICT`` (upserts);
- ``greatest``: the larger of two values in SQL;
- ``for_update``: a row lock where one is needed (SQLite's write lock covers the database);
- ``set_local``: a PostgreSQL setting for the current transaction only;
- ``DriverValues``: values as each driver takes them below SQLAlchemy (bulk ``COPY`` and
  ``executemany``), and ``?`` placeholders in the driver's style.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
S = TypeVar("S", bound=Select[Any])


def name(bind: Connection | Engine) -> str:
    """The backend's name: ``sqlite`` or ``postgresql``."""
    return bind.dialect.name


def is_postgres(bind: Connection | Engine) -> bool:
    return bind.dialect.name == POSTGRESQL


def is_sqlite(bind: Connection | Engine) -> bool:
    return bind.dialect.name == SQLITE


def insert(bind: Connection | Engine) -> Callable[[Table], Any]:
    """The backend's ``insert`` construct, which has ``on_conflict_do_nothing/do_update``."""
    return (postgresql if is_postgres(bind) else sqlite).insert


def insert_new(conn: Connection, table: Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` in the connection's dialect (both backends have it)."""
    return insert(conn)(table).on_conflict_do_nothing()


def greatest(conn: Connection, *values: Any) -> ColumnElement[Any]:
    """The largest of ``values`` in SQL (SQLite's multi-argument ``max``)."""
    return func.max(*values) if is_sqlite(conn) else func.greatest(*values)


def for_update(conn: Connection, query: S) -> S:
    """``query`` locking its rows on PostgreSQL; SQLite's transaction already holds the
    database's write lock (``BEGIN IMMEDIATE``), so the query is left as it is."""
    return query.with_for_update() if is_postgres(conn) else query


def set_local(conn: Connection, setting: str, value: str) -> None:
    """``SET LOCAL`` a PostgreSQL setting for this transaction (nothing on SQLite)."""
    if is_postgres(conn):
        conn.exec_driver_sql(f"SET LOCAL {setting} = {value}")


@dataclass(frozen=True)
class DriverValues:
    """Values as each backend's driver takes them for the ledger's column types."""

    postgres: bool

    @classmethod
    def of(cls, bind: Connection | Engine) -> DriverValues:
        return cls(is_postgres(bind))

    def at(self, moment: datetime | None) -> Any:
        """PostgreSQL: the aware instant; SQLite: naive UTC text, as ``Moment`` stores it."""
        if moment is None or self.postgres:
            return moment
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def day(self, value: date | None) -> Any:
        return value if value is None or self.postgres else value.isoformat()

    def money(self, amount: Decimal) -> Any:
        return amount if self.postgres else float(amount)

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement
