"""Multi-row writes for an import, below SQLAlchemy's per-row processing.

Statements are written with ``?`` placeholders and values as the driver takes them
(``engine.ledger.dialect.DriverValues``); ``Bulk`` runs them inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from engine.ledger import dialect
from engine.ledger.dialect import DriverValues


class Bulk:
    """Multi-row writes below SQLAlchemy's per-row processing, inside the caller's transaction.

    SQLite: ``executemany``. PostgreSQL: ``COPY … FROM STDIN``.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = DriverValues.of(conn)
        # A batch looks up and updates some thousands of rows by primary key. PostgreSQL's
        # cost model prefers to scan or hash the whole table for that many keys, so each
        # batch would cost as much as the table is big. For this transaction only: probe
        # the keys (nested loops over the batch, index lookups into the big tables).
        for method in ("seqscan", "hashjoin", "mergejoin"):
            dialect.set_local(conn, f"enable_{method}", "off")

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(columns)
        if self.dialect.postgres:
            with self._copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" * len(columns))
        self.conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    @contextmanager
    def _copy(self, statement: str) -> Iterator[Any]:
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(statement) as copy:
            yield copy

    def new_ids(self, table: str, count: int) -> list[int]:
        """SQLite: the next ``count`` ids of ``table`` (this transaction holds the write lock)."""
        (top,) = self.conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").one()
        return list(range(top + 1, top + 1 + count))

    def select_ids(self, query: str, programme: str, ids: Sequence[str]) -> list[Any]:
        """Rows of ``query`` (``… WHERE programme = ? AND id IN ({ids})``) for ``ids``."""
        if self.dialect.postgres:
            statement = query.replace("?", "%s").replace("IN ({ids})", "= ANY(%s)")
            return list(self.conn.exec_driver_sql(statement, (programme, list(ids))))
        found = []
        for start in range(0, len(ids), 10_000):  # SQLite allows 32,766 parameters
            chunk = tuple(ids[start : start + 10_000])
            statement = query.format(ids=", ".join("?" * len(chunk)))
            found += list(self.conn.exec_driver_sql(statement, (programme, *chunk)))
        return found

    def execute(self, statement: str, params: tuple[Any, ...]) -> int:
        """Run one statement written with ``?`` placeholders; the rows it changed."""
        return self.conn.exec_driver_sql(self.dialect.sql(statement), params).rowcount

    def existing(self, table: str, programme: str, ids: Sequence[str]) -> set[str]:
        query = f"SELECT id FROM {table} WHERE programme = ? AND id IN ({{ids}})"
        return {row[0] for row in self.select_ids(query, programme, ids)}
