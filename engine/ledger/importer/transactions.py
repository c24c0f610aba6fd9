"""Importing transactions: a batch of checked rows staged, then written set-based.

A batch of checked rows (``reader``) is loaded into a temporary staging table (COPY on
PostgreSQL, executemany on SQLite); everything else is set-based SQL from it, in the same
transaction: drop the ids already imported (skipped) and the rows of unknown or merged
members (rejected), then INSERT … SELECT the transactions, the lots and journal rows
(``engine.ledger.postings.earn_imported_lots``), and one UPDATE … FROM adds each member's
totals. Columns: see ``engine.ledger.importer``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from engine.errors import InputError
from engine.ledger.dialect import DriverValues
from engine.ledger.importer.bulk import Bulk
from engine.ledger.importer.movements import write_movements
from engine.ledger.importer.reader import (
    DAY,
    ID,
    MEMBER,
    POINTS,
    Movement,
    Reader,
    RowParser,
    batches_of,
)
from engine.ledger.importer.rows import BATCH, ImportReport, Progress, Rejected, silent
from engine.ledger.postings import earn_imported_lots

if TYPE_CHECKING:
    from engine.pricing import Evaluator

STAGE = "import_rows"
STAGE_COLUMNS = (
    "line",
    "id",
    "member_id",
    "at",
    "ps",
    "spend",
    "points",
    "expires_at",
    "pending_until",
    "request",
    "digest",
    "amount",
    "lot_id",
)
STAGE_TABLE = {
    "postgresql": f"""CREATE TEMPORARY TABLE {STAGE} (line integer, id text PRIMARY KEY,
        member_id text, at timestamptz, ps date, spend numeric, points bigint,
        expires_at timestamptz, pending_until timestamptz, request json, digest text,
        amount numeric, lot_id integer) ON COMMIT DROP""",
    "sqlite": f"""CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (line INTEGER,
        id TEXT PRIMARY KEY, member_id TEXT, at TEXT, ps TEXT, spend REAL, points INTEGER,
        expires_at TEXT, pending_until TEXT, request TEXT, digest TEXT, amount REAL,
        lot_id INTEGER)""",
}
SKIP_EXISTING = f"""DELETE FROM {STAGE} WHERE EXISTS (SELECT 1 FROM transactions t
    WHERE t.programme = ? AND t.id = {STAGE}.id)"""
UNKNOWN_MEMBERS = f"""SELECT s.line, s.member_id, m.merged_into FROM {STAGE} s
    LEFT JOIN members m ON m.programme = ? AND m.id = s.member_id
    WHERE m.id IS NULL OR m.merged_into IS NOT NULL"""
DROP_UNKNOWN = f"""DELETE FROM {STAGE} WHERE NOT EXISTS (SELECT 1 FROM members m
    WHERE m.programme = ? AND m.id = {STAGE}.member_id AND m.merged_into IS NULL)"""
INSERT_TRANSACTIONS = f"""INSERT INTO transactions (programme, id, kind, member_id,
        request_hash, request, response, status, points_earned, points_redeemed,
        points_settled, qualifying, at, created_at)
    SELECT ?, id, 'import', member_id, digest, request,
        {{json_object}}('status', 'imported', 'points', points,
        'totals', {{json_object}}('amount', amount)), 201, points, 0, 0, spend, at, ?
    FROM {STAGE}"""
# Per member: points added, the latest purchase, and the spend of the batch's latest period
# (added if it is the member's current period, replacing it if newer, ignored if older).
ADD_TO_MEMBERS = f"""
UPDATE members SET
    balance = balance + t.points,
    qualifying_spend = CASE
        WHEN members.period_start = t.ps THEN members.qualifying_spend + t.spend
        WHEN members.period_start IS NULL OR members.period_start < t.ps THEN t.spend
        ELSE members.qualifying_spend END,
    period_start = CASE
        WHEN members.period_start IS NULL OR members.period_start < t.ps THEN t.ps
        ELSE members.period_start END,
    last_purchase_at = CASE
        WHEN members.last_purchase_at IS NULL OR members.last_purchase_at < t.last THEN t.last
        ELSE members.last_purchase_at END,
    last_activity_at = CASE
        WHEN members.last_activity_at IS NULL OR members.last_activity_at < t.last THEN t.last
        ELSE members.last_activity_at END,
    updated_at = ?
FROM (
    SELECT member_id AS m, sum(points) AS points, max(at) AS last, max(ps) AS ps,
        sum(CASE WHEN ps = latest THEN spend ELSE 0 END) AS spend
    FROM (SELECT member_id, points, at, ps, spend,
            max(ps) OVER (PARTITION BY member_id) AS latest FROM {STAGE}) AS r
    GROUP BY member_id
) AS t
WHERE members.programme = ? AND members.id = t.m"""


def import_transactions(
    engine: Engine,
    evaluator: Evaluator,
    path: str | os.PathLike[str],
    *,
    batch_size: int = BATCH,
    progress: Progress = silent,
    now: datetime | None = None,
    reader_process: bool | None = None,
) -> ImportReport:
    """Import historical purchases from a CSV file (columns in the module's docstring).

    Reading and checking the CSV is pure Python and, on SQLite (which works inside this
    process), costs about as much as the database's work: so a file over ``PARALLEL_BYTES``
    imported into SQLite is read by a second process while this one writes the previous
    batch. PostgreSQL does its work in the server, which needs the CPU more on a small
    machine; ``reader_process`` True or False decides it for any file and database.
    """
    path = Path(path)
    dialect = DriverValues.of(engine)
    reader = Reader(path, batch_size, RowParser.of(evaluator, dialect))
    if reader_process is None:
        reader_process = not dialect.postgres and path.stat().st_size > PARALLEL_BYTES
    writer = _Writer(evaluator.programme.id, (now or datetime.now(UTC)), dialect)
    report = ImportReport()
    with batches_of(reader, reader_process) as batches:
        for batch in batches:
            report.read += batch.read
            report.rejected += batch.rejected
            rows = _unique(batch.rows, report)
            moves = [(line, row) for line, row in rows if isinstance(row, Movement)]
            purchases = [(line, row) for line, row in rows if not isinstance(row, Movement)]
            if reader.parser.period_kind == "anniversary_year":
                purchases = _placed(engine, reader.parser, writer.programme, purchases, report)
            writer.write(engine, purchases, report)
            write_movements(engine, evaluator, moves, report, writer.now)
            progress(batch.done, batch.size)
    report.rejected.sort(key=lambda rejected: rejected.line)
    return report


PARALLEL_BYTES = 8_000_000  # about 100,000 rows


@dataclass
class _Writer:
    """Writes a batch of checked rows through the staging table, in one transaction."""

    programme: str
    now: datetime
    dialect: DriverValues

    def write(
        self, engine: Engine, rows: list[tuple[int, tuple[Any, ...]]], report: ImportReport
    ) -> None:
        """Retried once if a concurrent import inserted one of the ids meanwhile."""
        for attempt in range(2):
            try:
                with engine.begin() as conn:
                    skipped, rejected = self._write(Bulk(conn), rows)
                break
            except IntegrityError:
                if attempt:
                    raise
        report.skipped += skipped
        report.rejected += rejected
        report.imported += len(rows) - skipped - len(rejected)

    def _write(
        self, bulk: Bulk, rows: list[tuple[int, tuple[Any, ...]]]
    ) -> tuple[int, list[Rejected]]:
        programme, d = self.programme, bulk.dialect
        lot_ids: Iterator[int | None] = iter(())
        if not d.postgres:  # SQLite: the lot ids are taken here (this writer holds the lock)
            earning = sum(1 for _, row in rows if row[POINTS])
            lot_ids = iter(bulk.new_ids("lots", earning))
        staged = [
            (line, *row[:DAY], next(lot_ids) if row[POINTS] and not d.postgres else None)
            for line, row in rows
        ]
        _stage(bulk, staged)
        skipped = bulk.execute(SKIP_EXISTING, (programme,))
        unknown = bulk.conn.exec_driver_sql(d.sql(UNKNOWN_MEMBERS), (programme,))
        rejected = [_unknown(line, member, merged) for line, member, merged in unknown]
        if rejected:
            bulk.execute(DROP_UNKNOWN, (programme,))
        now = d.at(self.now)
        json_object = "json_build_object" if d.postgres else "json_object"
        bulk.execute(INSERT_TRANSACTIONS.format(json_object=json_object), (programme, now))
        earn_imported_lots(bulk.conn, STAGE, programme)
        bulk.execute(ADD_TO_MEMBERS, (now, programme))
        return skipped, rejected


def _unknown(line: int, member: str, merged: str | None) -> Rejected:
    if merged:
        return Rejected(line, f"member '{member}' was merged into {merged}")
    return Rejected(line, f"no member '{member}'")


def _stage(bulk: Bulk, rows: list[tuple[Any, ...]]) -> None:
    """A fresh staging table holding ``rows``."""
    if bulk.dialect.postgres:
        bulk.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGE}")
        bulk.conn.exec_driver_sql(STAGE_TABLE["postgresql"])
    else:
        bulk.conn.exec_driver_sql(STAGE_TABLE["sqlite"])
        bulk.conn.exec_driver_sql(f"DELETE FROM {STAGE}")
    bulk.insert(STAGE, STAGE_COLUMNS, rows)
    if bulk.dialect.postgres:
        bulk.conn.exec_driver_sql(f"ANALYZE {STAGE}")


def _unique(rows: list[tuple[int, Any]], report: ImportReport) -> list[tuple[int, Any]]:
    """The rows whose id did not come earlier in the batch (a repeat is skipped)."""
    seen: dict[str, tuple[int, Any]] = {}
    for line, row in rows:
        if row[ID] in seen:
            report.skipped += 1
        else:
            seen[row[ID]] = (line, row)
    return list(seen.values())


def _placed(
    engine: Engine,
    parser: RowParser,
    programme: str,
    rows: list[tuple[int, tuple[Any, ...]]],
    report: ImportReport,
) -> list[tuple[int, tuple[Any, ...]]]:
    """Anniversary years: the rows placed in their member's year (unknown members and
    purchases before joining rejected)."""
    wanted = sorted({row[MEMBER] for _, row in rows})
    query = "SELECT id, joined FROM members WHERE programme = ? AND id IN ({ids})"
    with engine.connect() as conn:
        found = dict(Bulk(conn).select_ids(query, programme, wanted))
    placed = []
    for line, row in rows:
        joined = found.get(row[MEMBER])
        if joined is None:
            report.rejected.append(Rejected(line, f"no member '{row[MEMBER]}'"))
            continue
        try:
            placed.append((line, parser.place(row, _as_date(joined))))
        except InputError as exc:
            report.rejected.append(Rejected(line, str(exc)))
    return placed


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
