"""Importing members and their transaction history from CSV files (onboarding).

Both imports stream the file (``csv`` module, one batch in memory at a time), check every
row in Python, and write the good rows of a batch in one database transaction: members with
multi-row inserts; transactions through a staging table from which the transactions, lots,
journal rows and member totals are written set-based (``INSERT … SELECT``, ``UPDATE …
FROM``). A bad row is reported (its line number and why) and skipped; it never stops the
import or touches the good rows. Ids make a re-import idempotent: a row whose id is already
in the ledger (or earlier in the file) is skipped and counted as such. A killed import leaves
whole batches written; run it again and it skips them.

**Members** (``import_members``), one member a row, UTF-8, a header row naming the columns:

====================  ========================================================================
``id``                required; the member id (at most 128 characters)
``joined``            required; the join date, ``2024-03-10``
``name``              optional; at most 256 characters
``birthday``          optional; ``1990-05-17``
``tags``              optional; a JSON object ``{"gender": "female", "likes": ["tea"]}`` or
                      ``gender=female;likes=tea;likes=cake`` (a repeated key makes a list); keys
                      are lower case letters, digits, ``_`` and ``-``
``email``, ``phone``  optional; contact addresses
``consent_email``,    optional; ``true``/``false`` (also ``yes``/``no``, ``1``/``0``); empty
``consent_sms``       means not asked
====================  ========================================================================

A new member starts at the programme's first level, like an enrolment.

**Transactions** (``import_transactions``): one historical purchase a row, to bring points and
qualifying spend over from the old system. The member must exist (import members first).

===============  ===============================================================================
``id``           required; the old system's transaction id (at most 128 characters)
``member_id``    required
``at``           required; ``2026-03-05T14:30:00+08:00``, or a date (the start of that local day)
``amount``       required; the money paid, ``0`` or more, at most the currency's decimals
``points``       required; the points it earned, a whole number ``0`` or more
``qualifying``   optional; the part of ``amount`` that counts toward tiers (default: all of it)
``expires_at``   optional; when the points expire (a date means the end of that local day);
                 default: the programme's ``expiry`` rule applied to ``at``
===============  ===============================================================================

Each row becomes a ``transactions`` row (kind ``import``, with its qualifying amount, which
rolling 12-month windows sum), a lot (if it earned points; pending per ``earn.pending_days``
like a sale) and an ``earn`` journal row, and adds to the member's balance, last purchase
and running qualifying spend (of the period ``at`` falls in, if it is the member's latest),
so ``ledger check`` stays clean. Points already expired by their date stay
in the lot until ``loyalty ledger expire`` lapses them, with a journal row. Imported points do
not repay debt and do not count toward per-period earning caps.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from engine.calendar import PeriodKind, end_of_day, expiry_of, pending_until_day, period_bounds
from engine.calendar import start_of_day as local_start
from engine.errors import InputError
from engine.ledger.db import driver_connection

if TYPE_CHECKING:
    from engine.quote import Evaluator

Progress = Callable[[int, int], None]
R = TypeVar("R")
BATCH = 20_000
MAX_ID = 128
TAG_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0"}
MEMBER_COLUMNS = (
    "id",
    "name",
    "joined",
    "birthday",
    "tags",
    "email",
    "phone",
    "consent_email",
    "consent_sms",
)
TRANSACTION_COLUMNS = ("id", "member_id", "at", "amount", "points", "qualifying", "expires_at")
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class Rejected:
    line: int  # the file's line number (the header is line 1)
    reason: str


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    skipped: int = 0  # already in the ledger (or earlier in the file): a re-import
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


class RowError(ValueError):
    """Why one row cannot be imported."""


def _silent(_done: int, _total: int) -> None:
    """The default progress callback."""


# --- reading -------------------------------------------------------------------------------


class _Counting(io.RawIOBase):
    """A binary stream that counts the bytes read through it (for progress)."""

    def __init__(self, raw: io.BufferedReader) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = self.raw.readinto(buffer) or 0
        self.count += size
        return size


@dataclass
class _Rows:
    """The CSV records of a file, each with its line number; bytes read so far."""

    path: Path
    required: Sequence[str]
    known: Sequence[str]
    counter: _Counting | None = None
    size: int = 0

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        self.size = self.path.stat().st_size
        with self.path.open("rb") as raw:
            self.counter = _Counting(raw)
            text = io.TextIOWrapper(io.BufferedReader(self.counter), "utf-8-sig", newline="")
            reader = csv.reader(text)
            try:
                header = self._header(next(reader, None))
                for record in reader:
                    if any(cell.strip() for cell in record):
                        yield reader.line_num, self._record(header, record)
            except UnicodeDecodeError:
                raise InputError(
                    f"{self.path}: line {reader.line_num + 1} is not UTF-8 text"
                ) from None
            except csv.Error as exc:
                raise InputError(f"{self.path}: line {reader.line_num}: {exc}") from None

    @property
    def done(self) -> int:
        return self.counter.count if self.counter else 0

    def _header(self, header: list[str] | None) -> list[str]:
        names = [name.strip().lower() for name in header or []]
        missing = [name for name in self.required if name not in names]
        unknown = [name for name in names if name not in self.known]
        if missing or unknown or len(set(names)) != len(names):
            detail = "; ".join(
                part
                for part in (
                    missing and f"missing column(s) {', '.join(missing)}",
                    unknown and f"unknown column(s) {', '.join(unknown)}",
                    len(set(names)) != len(names) and "a column is named twice",
                )
                if part
            )
            raise InputError(
                f"{self.path}: the header row is wrong: {detail} (columns: {', '.join(self.known)})"
            )
        return names

    @staticmethod
    def _record(header: list[str], record: list[str]) -> dict[str, str]:
        if len(record) != len(header):
            return {"": f"expected {len(header)} fields, found {len(record)}"}
        return {name: value.strip() for name, value in zip(header, record, strict=True)}


def _batches(
    rows: _Rows, size: int, report: ImportReport
) -> Iterator[list[tuple[int, dict[str, str]]]]:
    batch = []
    for line, row in rows:
        report.read += 1
        if "" in row:
            report.rejected.append(Rejected(line, row[""]))
            continue
        batch.append((line, row))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- values ----------------------------------------------------------------------------------


def _id(text: str, column: str) -> str:
    if not text:
        raise RowError(f"{column} is missing")
    if len(text) > MAX_ID:
        raise RowError(f"{column} is longer than {MAX_ID} characters")
    return text


def _date(text: str, column: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RowError(f"{column} '{text}' is not a date like 2026-03-05") from None


def _optional_date(text: str, column: str) -> date | None:
    return _date(text, column) if text else None


def _moment(text: str, column: str, tz: Any, *, day_end: bool = False) -> datetime:
    if not text:
        raise RowError(f"{column} is missing")
    if len(text) == 10:
        day = _date(text, column)
        return end_of_day(day, tz) if day_end else local_start(day, tz)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RowError(
            f"{column} '{text}' is not a date and time like 2026-03-05T14:30:00+08:00"
        ) from None
    if moment.tzinfo is None:
        raise RowError(f"{column} '{text}' has no time zone offset (add e.g. +08:00)")
    return moment


def _money(text: str, column: str, quantum: Decimal, code: str) -> Decimal:
    """An amount of 0 or more with at most the currency's decimals (``quantum``: 0.01)."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RowError(f"{column} '{text}' is not an amount like 12.50") from None
    if not amount.is_finite() or amount < 0:
        raise RowError(f"{column} '{text}' must be an amount of 0 or more")
    exact = amount.quantize(quantum)
    if exact != amount:
        raise RowError(f"{column} '{text}' has more decimals than {code} has")
    return exact


def _points(text: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise RowError(f"points '{text}' must be a whole number of 0 or more")
    return int(text)


def _consent(text: str, column: str) -> bool | None:
    value = text.lower()
    if not value:
        return None
    if value in TRUE | FALSE:
        return value in TRUE
    raise RowError(f"{column} '{text}' must be true or false")


def parse_tags(text: str) -> dict[str, str | list[str]]:
    """Tags as a JSON object, or ``k=v;k=v`` (a repeated key collects a list)."""
    if not text:
        return {}
    if text.startswith("{"):
        try:
            tags = json.loads(text)
        except ValueError:
            raise RowError("tags is not valid JSON") from None
    else:
        tags = {}
        for part in filter(None, (p.strip() for p in text.split(";"))):
            key, sep, value = (s.strip() for s in part.partition("="))
            if not sep:
                raise RowError(f"tag '{part}' is not key=value")
            tags[key] = [*_as_list(tags[key]), value] if key in tags else value
    return _checked_tags(tags)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _checked_tags(tags: Any) -> dict[str, str | list[str]]:
    if not isinstance(tags, dict):
        raise RowError("tags must be an object of key: value")
    for key, value in tags.items():
        if not TAG_KEY.match(key):
            raise RowError(f"tag key '{key}' must be lower case letters, digits, _ and -")
        if not isinstance(value, str) and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise RowError(f"tag '{key}' must be text or a list of texts")
    return tags


# --- bulk writes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dialect:
    """Values as each backend's driver takes them for the ledger's column types."""

    postgres: bool

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


class _Bulk:
    """Multi-row writes below SQLAlchemy's per-row processing, inside the caller's transaction.

    SQLite: ``executemany``. PostgreSQL: ``COPY … FROM STDIN``.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = _Dialect(conn.dialect.name == "postgresql")
        if self.dialect.postgres:
            # A batch looks up and updates some thousands of rows by primary key. PostgreSQL's
            # cost model prefers to scan or hash the whole table for that many keys, so each
            # batch would cost as much as the table is big. For this transaction only: probe
            # the keys (nested loops over the batch, index lookups into the big tables).
            for method in ("seqscan", "hashjoin", "mergejoin"):
                conn.exec_driver_sql(f"SET LOCAL enable_{method} = off")

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
        cursor = driver_connection(self.conn).cursor()
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


# --- members ---------------------------------------------------------------------------------

MEMBER_ROW = (
    "programme",
    "id",
    "name",
    "tags",
    "birthday",
    "joined",
    "contact",
    "consent",
    "tier",
    "tier_since",
    "qualifying_spend",
    "balance",
    "debt",
    "created_at",
    "updated_at",
)
HISTORY_ROW = ("programme", "member_id", "tier", "since", "reason", "at")


def import_members(
    engine: Engine,
    evaluator: Evaluator,
    path: str | os.PathLike[str],
    *,
    batch_size: int = BATCH,
    progress: Progress = _silent,
    now: datetime | None = None,
) -> ImportReport:
    """Import members from a CSV file (columns in the module's docstring)."""
    now = now or datetime.now(UTC)
    rows = _Rows(Path(path), ("id", "joined"), MEMBER_COLUMNS)
    report = ImportReport()
    entry = evaluator.levels[0]["id"] if evaluator.levels else None

    def write(bulk: _Bulk, values: list[dict[str, Any]]) -> None:
        programme, at, d = evaluator.programme.id, bulk.dialect.at(now), bulk.dialect
        bulk.insert(
            "members",
            MEMBER_ROW,
            [
                (
                    programme,
                    v["id"],
                    v["name"],
                    json.dumps(v["tags"]),
                    d.day(v["birthday"]),
                    d.day(v["joined"]),
                    json.dumps(v["contact"]),
                    json.dumps(v["consent"]),
                    entry,
                    d.day(v["joined"]),
                    d.money(Decimal(0)),
                    0,
                    0,
                    at,
                    at,
                )
                for v in values
            ],
        )
        history = [(programme, v["id"], entry, d.day(v["joined"]), "imported", at) for v in values]
        bulk.insert("tier_history", HISTORY_ROW, history)

    for batch in _batches(rows, batch_size, report):
        parsed = _parse(batch, _member, report)
        _write(engine, evaluator.programme.id, parsed, report, write, "members")
        progress(rows.done, rows.size)
    report.rejected.sort(key=lambda rejected: rejected.line)
    return report


def _member(row: Mapping[str, Any]) -> dict[str, Any]:
    name = row.get("name") or None
    if name and len(name) > 256:
        raise RowError("name is longer than 256 characters")
    consent = {
        channel: value
        for channel in ("email", "sms")
        if (value := _consent(row.get(f"consent_{channel}", ""), f"consent_{channel}")) is not None
    }
    return {
        "id": _id(row["id"], "id"),
        "name": name,
        "joined": _date(row["joined"], "joined"),
        "birthday": _optional_date(row.get("birthday", ""), "birthday"),
        "tags": parse_tags(row.get("tags", "")),
        "contact": {k: row[k] for k in ("email", "phone") if row.get(k)},
        "consent": consent,
    }


# --- transactions --------------------------------------------------------------------------
#
# A batch of checked rows is loaded into a temporary staging table (COPY on PostgreSQL,
# executemany on SQLite); everything else is set-based SQL from it, in the same transaction:
# drop the ids already imported (skipped) and the rows of unknown or merged members
# (rejected), then INSERT … SELECT the transactions, lots and journal rows, and one
# UPDATE … FROM adds each member's totals.

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
    "lot_id",
)
STAGE_TABLE = {
    "postgresql": f"""CREATE TEMPORARY TABLE {STAGE} (line integer, id text PRIMARY KEY,
        member_id text, at timestamptz, ps date, spend numeric, points bigint,
        expires_at timestamptz, pending_until timestamptz, request json, digest text,
        lot_id integer) ON COMMIT DROP""",
    "sqlite": f"""CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (line INTEGER,
        id TEXT PRIMARY KEY, member_id TEXT, at TEXT, ps TEXT, spend REAL, points INTEGER,
        expires_at TEXT, pending_until TEXT, request TEXT, digest TEXT, lot_id INTEGER)""",
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
        {{json_object}}('status', 'imported', 'points', points), 201, points, 0, 0, spend, at, ?
    FROM {STAGE}"""
# SQLite: the lot ids were taken in the staging rows (the database is locked to this writer).
INSERT_LOTS = f"""INSERT INTO lots (id, programme, member_id, points, points_left, earned_at,
        expires_at, pending_until, transaction_id)
    SELECT lot_id, ?, member_id, points, points, at, expires_at, pending_until, id
    FROM {STAGE} WHERE lot_id IS NOT NULL"""
INSERT_JOURNAL = f"""INSERT INTO journal (programme, member_id, kind, points, lot_id,
        transaction_id, at, reason, actor)
    SELECT ?, member_id, 'earn', points, lot_id, id, at, 'imported', 'import'
    FROM {STAGE} WHERE lot_id IS NOT NULL"""
# PostgreSQL: the lots take their ids from the sequence and hand them to the journal.
INSERT_LOTS_AND_JOURNAL = f"""WITH new_lots AS (
    INSERT INTO lots (programme, member_id, points, points_left, earned_at, expires_at,
        pending_until, transaction_id)
    SELECT ?, member_id, points, points, at, expires_at, pending_until, id
    FROM {STAGE} WHERE points > 0
    RETURNING id, member_id, points, transaction_id, earned_at)
INSERT INTO journal (programme, member_id, kind, points, lot_id, transaction_id, at, reason,
    actor)
SELECT ?, member_id, 'earn', points, id, transaction_id, earned_at, 'imported', 'import'
FROM new_lots"""
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
    progress: Progress = _silent,
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
    dialect = _Dialect(engine.dialect.name == "postgresql")
    reader = _Reader(path, batch_size, _RowParser.of(evaluator, dialect))
    if reader_process is None:
        reader_process = not dialect.postgres and path.stat().st_size > PARALLEL_BYTES
    writer = _Writer(evaluator.programme.id, (now or datetime.now(UTC)), dialect)
    report = ImportReport()
    with _batches_of(reader, reader_process) as batches:
        for batch in batches:
            report.read += batch.read
            report.rejected += batch.rejected
            rows = batch.rows
            if reader.parser.period_kind == "anniversary_year":
                rows = _placed(engine, reader.parser, writer.programme, rows, report)
            writer.write(engine, _unique(rows, report), report)
            progress(batch.done, batch.size)
    report.rejected.sort(key=lambda rejected: rejected.line)
    return report


PARALLEL_BYTES = 8_000_000  # about 100,000 rows
# A checked row, in the staging table's column order (``line`` first, ``lot_id`` last are
# added at staging), then the purchase's local day (for anniversary years).
ID, MEMBER, AT, PS, SPEND, POINTS = range(6)
DAY = 10


@dataclass
class _RowParser:
    """Checks a CSV row and turns it into a staging row; picklable, for the reader process.
    Expiry, end of pending and qualifying period are kept per local day (the calendar gives
    one answer for every instant of a day)."""

    tz: Any
    quantum: Decimal
    code: str
    dialect: _Dialect
    expiry: Mapping[str, Any]
    pending_days: int
    period_kind: PeriodKind
    days: dict[date, tuple[Any, Any, Any]] = field(default_factory=dict)
    periods: dict[tuple[date, date], Any] = field(default_factory=dict)

    @classmethod
    def of(cls, evaluator: Evaluator, dialect: _Dialect) -> _RowParser:
        document = evaluator.document
        qualifying = document.get("tiers", {}).get("qualifying", {})
        return cls(
            tz=evaluator.tz,
            quantum=evaluator.currency.quantum,
            code=evaluator.currency.code,
            dialect=dialect,
            expiry=dict(document.get("expiry", {})),
            pending_days=document.get("earn", {}).get("pending_days", 0),
            period_kind=qualifying.get("period", "calendar_year"),
        )

    def parse(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        at = _moment(row["at"], "at", self.tz)
        amount = _money(row["amount"], "amount", self.quantum, self.code)
        qualifying = row.get("qualifying")
        spend = _money(qualifying, "qualifying", self.quantum, self.code) if qualifying else amount
        if spend > amount:
            raise RowError(f"qualifying {spend} is more than the amount {amount}")
        day = at.astimezone(self.tz).date()  # at is aware: _moment checked it
        expires, pending, starts = self._day(day, at)
        if row.get("expires_at"):
            end = _moment(row["expires_at"], "expires_at", self.tz, day_end=True)
            expires = self.dialect.at(end)
        request = _json(row)
        digest = hashlib.sha256(request.encode()).hexdigest()
        return (_id(row["id"], "id"), _id(row["member_id"], "member_id"), self.dialect.at(at),
                starts, self.dialect.money(spend), _points(row["points"]), expires, pending,
                request, digest, day)  # fmt: skip

    def _day(self, day: date, at: datetime) -> tuple[Any, Any, Any]:
        """For ``day``, as the driver takes them: the lot's expiry, the end of pending and the
        first day of the qualifying period (None when it depends on the member)."""
        if day not in self.days:
            pending = (
                pending_until_day(day, self.pending_days, self.tz) if self.pending_days else None
            )
            expires = expiry_of(at, self.expiry, self.tz)
            starts = None
            if self.period_kind != "anniversary_year":
                starts = period_bounds(self.period_kind, day)[0]
            d = self.dialect
            self.days[day] = (d.at(expires), d.at(pending), d.day(starts))
        return self.days[day]

    def place(self, row: tuple[Any, ...], joined: date) -> tuple[Any, ...]:
        """Anniversary years: the row with the first day of the member's year it falls in."""
        key = (row[DAY], joined)
        if key not in self.periods:
            starts = period_bounds("anniversary_year", row[DAY], joined=joined)[0]
            self.periods[key] = self.dialect.day(starts)
        return (*row[:PS], self.periods[key], *row[PS + 1 :])


@dataclass(frozen=True)
class _Batch:
    rows: list[tuple[int, tuple[Any, ...]]]  # (line, checked row)
    rejected: list[Rejected]
    read: int
    done: int  # bytes of the file read so far
    size: int


@dataclass(frozen=True)
class _Reader:
    """The file's checked rows, a batch at a time (picklable, for the reader process)."""

    path: Path
    batch_size: int
    parser: _RowParser

    def batches(self) -> Iterator[_Batch]:
        rows = _Rows(self.path, ("id", "member_id", "at", "amount", "points"), TRANSACTION_COLUMNS)
        report, read = ImportReport(), 0
        for batch in _batches(rows, self.batch_size, report):
            parsed = _parse(batch, self.parser.parse, report)
            yield _Batch(parsed, report.rejected, report.read - read, rows.done, rows.size)
            report.rejected, read = [], report.read


READER = "from engine.ledger.importer import read_batches_to_stdout; read_batches_to_stdout()"


def read_batches_to_stdout() -> None:
    """The reader process: a pickled ``_Reader`` comes on stdin; every batch goes out pickled
    on stdout, then None, or the exception that stopped the reading."""
    reader = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    try:
        for batch in reader.batches():
            pickle.dump(batch, out, pickle.HIGHEST_PROTOCOL)
        pickle.dump(None, out)
    except Exception as exc:  # handed to the importing process and raised there
        pickle.dump(exc, out)
    out.flush()


@contextmanager
def _batches_of(reader: _Reader, in_process: bool) -> Iterator[Iterator[_Batch]]:
    """The reader's batches: read here, or by a second Python process that keeps a batch
    ahead (the pipe's back-pressure paces it)."""
    if not in_process:
        yield reader.batches()
        return
    process = subprocess.Popen(  # this interpreter and a fixed command
        [sys.executable, "-c", READER], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        pickle.dump(reader, process.stdin, pickle.HIGHEST_PROTOCOL)
        process.stdin.close()
        yield _received(process.stdout)
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def _received(stream: IO[bytes]) -> Iterator[_Batch]:
    while True:
        try:
            item = pickle.load(stream)  # written by our own reader process
        except EOFError:
            raise InputError("the CSV reader process stopped unexpectedly") from None
        if isinstance(item, BaseException):
            raise item
        if item is None:
            return
        yield item


@dataclass
class _Writer:
    """Writes a batch of checked rows through the staging table, in one transaction."""

    programme: str
    now: datetime
    dialect: _Dialect

    def write(
        self, engine: Engine, rows: list[tuple[int, tuple[Any, ...]]], report: ImportReport
    ) -> None:
        """Retried once if a concurrent import inserted one of the ids meanwhile."""
        for attempt in range(2):
            try:
                with engine.begin() as conn:
                    skipped, rejected = self._write(_Bulk(conn), rows)
                break
            except IntegrityError:
                if attempt:
                    raise
        report.skipped += skipped
        report.rejected += rejected
        report.imported += len(rows) - skipped - len(rejected)

    def _write(
        self, bulk: _Bulk, rows: list[tuple[int, tuple[Any, ...]]]
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
        if d.postgres:
            bulk.execute(INSERT_LOTS_AND_JOURNAL, (programme, programme))
        else:
            bulk.execute(INSERT_LOTS, (programme,))
            bulk.execute(INSERT_JOURNAL, (programme,))
        bulk.execute(ADD_TO_MEMBERS, (now, programme))
        return skipped, rejected


def _unknown(line: int, member: str, merged: str | None) -> Rejected:
    if merged:
        return Rejected(line, f"member '{member}' was merged into {merged}")
    return Rejected(line, f"no member '{member}'")


def _stage(bulk: _Bulk, rows: list[tuple[Any, ...]]) -> None:
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


def _unique(
    rows: list[tuple[int, tuple[Any, ...]]], report: ImportReport
) -> list[tuple[int, tuple[Any, ...]]]:
    """The rows whose id did not come earlier in the batch (a repeat is skipped)."""
    seen: dict[str, tuple[int, tuple[Any, ...]]] = {}
    for line, row in rows:
        if row[ID] in seen:
            report.skipped += 1
        else:
            seen[row[ID]] = (line, row)
    return list(seen.values())


def _placed(
    engine: Engine,
    parser: _RowParser,
    programme: str,
    rows: list[tuple[int, tuple[Any, ...]]],
    report: ImportReport,
) -> list[tuple[int, tuple[Any, ...]]]:
    """Anniversary years: the rows placed in their member's year (unknown members and
    purchases before joining rejected)."""
    wanted = sorted({row[MEMBER] for _, row in rows})
    query = "SELECT id, joined FROM members WHERE programme = ? AND id IN ({ids})"
    with engine.connect() as conn:
        found = dict(_Bulk(conn).select_ids(query, programme, wanted))
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


# --- shared --------------------------------------------------------------------------------


def _parse(
    batch: Sequence[tuple[int, Mapping[str, Any]]],
    parse: Callable[[Mapping[str, Any]], R],
    report: ImportReport,
) -> list[tuple[int, R]]:
    """Each row parsed, or rejected with the reason."""
    parsed = []
    for line, row in batch:
        try:
            parsed.append((line, parse(row)))
        except (RowError, InputError) as exc:  # InputError: the calendar refused a date
            report.rejected.append(Rejected(line, str(exc)))
    return parsed


def _write(
    engine: Engine,
    programme: str,
    rows: list[tuple[int, dict[str, Any]]],
    report: ImportReport,
    insert_rows: Callable[[_Bulk, list[dict[str, Any]]], None],
    table: str,
) -> None:
    """Insert the rows whose id is new, in one transaction; skip the others.

    A concurrent writer may insert one of the ids between the check and the insert: the
    transaction is rolled back and the batch checked and written again.
    """
    fresh: list[dict[str, Any]] = []
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                bulk = _Bulk(conn)
                fresh = _fresh(bulk, programme, rows, table)
                insert_rows(bulk, fresh)
            break
        except IntegrityError:
            if attempt:
                raise
    report.imported += len(fresh)
    report.skipped += len(rows) - len(fresh)


def _fresh(
    bulk: _Bulk, programme: str, rows: list[tuple[int, dict[str, Any]]], table: str
) -> list[dict[str, Any]]:
    """The rows whose id is neither in the ledger nor earlier in the batch."""
    existing = bulk.existing(table, programme, [row["id"] for _, row in rows])
    fresh: dict[str, dict[str, Any]] = {}
    for _, row in rows:
        if row["id"] not in existing and row["id"] not in fresh:
            fresh[row["id"]] = row
    return list(fresh.values())
