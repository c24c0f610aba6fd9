"""Importing members and their transaction history from CSV files (onboarding).

Both imports stream the file (``csv`` module, one batch in memory at a time), check every
row, and write the good rows of a batch in one database transaction with multi-row inserts.
A bad row is reported (its line number and why) and skipped; it never stops the import or
touches the good rows. Ids make a re-import idempotent: a row whose id is already in the
ledger is skipped and counted as such.

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

Each row becomes a ``transactions`` row (kind ``import``), a lot (if it earned points; pending
per ``earn.pending_days`` like a sale) and an ``earn`` journal row, and adds to the member's
balance, last purchase and qualifying spend (of the period ``at`` falls in, if it is the
member's latest), so ``ledger check`` stays clean. Points already expired by their date stay
in the lot until ``loyalty ledger expire`` lapses them, with a journal row. Imported points do
not repay debt and do not count toward per-period earning caps.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from engine.calendar import end_of_day, expiry_of, pending_until_day, period_bounds
from engine.calendar import start_of_day as local_start
from engine.errors import InputError
from engine.quote import Evaluator

Progress = Callable[[int, int], None]
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

    def __init__(self, raw: BinaryIO) -> None:
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


def _money(text: str, column: str, evaluator: Evaluator) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RowError(f"{column} '{text}' is not an amount like 12.50") from None
    if not amount.is_finite() or amount < 0:
        raise RowError(f"{column} '{text}' must be an amount of 0 or more")
    quantum = evaluator.currency.quantum
    if amount != amount.quantize(quantum):
        raise RowError(f"{column} '{text}' has more decimals than {evaluator.currency.code} has")
    return amount.quantize(quantum)


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

    SQLite: ``executemany``. PostgreSQL: ``COPY … FROM STDIN``. Ids of new lots are taken
    first (SQLite holds the write lock; PostgreSQL draws them from the sequence), so the
    journal names its lot without reading anything back.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = _Dialect(conn.dialect.name == "postgresql")
        if self.dialect.postgres:
            # A batch looks up and updates a few thousand rows by primary key; PostgreSQL's
            # cost model prefers scanning the whole table for that many keys, which makes each
            # batch cost as much as the table is big. For this transaction only: use the keys.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")

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
        if not count:
            return []
        if self.dialect.postgres:
            query = "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)"
            return [i for (i,) in self.conn.exec_driver_sql(query, (table, count))]
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
        points_settled, at, created_at)
    SELECT ?, id, 'import', member_id, digest, request,
        {{json_object}}('status', 'imported', 'points', points), 201, points, 0, 0, at, ?
    FROM {STAGE}"""
INSERT_LOTS = f"""INSERT INTO lots (id, programme, member_id, points, points_left, earned_at,
        expires_at, pending_until, transaction_id)
    SELECT lot_id, ?, member_id, points, points, at, expires_at, pending_until, id
    FROM {STAGE} WHERE lot_id IS NOT NULL"""
INSERT_JOURNAL = f"""INSERT INTO journal (programme, member_id, kind, points, lot_id,
        transaction_id, at, reason, actor)
    SELECT ?, member_id, 'earn', points, lot_id, id, at, 'imported', 'import'
    FROM {STAGE} WHERE lot_id IS NOT NULL"""
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
) -> ImportReport:
    """Import historical purchases from a CSV file (columns in the module's docstring)."""
    now = now or datetime.now(UTC)
    rows = _Rows(Path(path), ("id", "member_id", "at", "amount", "points"), TRANSACTION_COLUMNS)
    report = ImportReport()
    history = _History(evaluator, now, _Dialect(engine.dialect.name == "postgresql"))
    for batch in _batches(rows, batch_size, report):
        parsed = _parse(batch, history.parse, report)
        if history.per_member_periods:
            parsed = _parse(
                _with_join_dates(engine, history, parsed, report), history.place, report
            )
        history.write(engine, _unique(parsed, report), report)
        progress(rows.done, rows.size)
    report.rejected.sort(key=lambda rejected: rejected.line)
    return report


@dataclass
class _History:
    """Turns rows into staged rows and writes a batch. Expiry, end of pending and qualifying
    period are kept per local day (the calendar gives one answer for every instant of a day);
    anniversary years also depend on the member's join date."""

    evaluator: Evaluator
    now: datetime
    dialect: _Dialect
    days: dict[date, tuple[Any, Any, date | None]] = field(default_factory=dict)
    periods: dict[tuple[date, date], date] = field(default_factory=dict)

    @property
    def period_kind(self) -> str:
        tiers = self.evaluator.document.get("tiers", {})
        return str(tiers.get("qualifying", {}).get("period", "calendar_year"))

    @property
    def per_member_periods(self) -> bool:
        return self.period_kind == "anniversary_year"

    def parse(self, row: Mapping[str, Any]) -> dict[str, Any]:
        evaluator = self.evaluator
        at = _moment(row["at"], "at", evaluator.tz)
        amount = _money(row["amount"], "amount", evaluator)
        qualifying = row.get("qualifying")
        spend = _money(qualifying, "qualifying", evaluator) if qualifying else amount
        if spend > amount:
            raise RowError(f"qualifying {spend} is more than the amount {amount}")
        day = at.astimezone(evaluator.tz).date()  # at is aware: _moment checked it
        expires, pending, starts = self._day(day, at)
        if row.get("expires_at"):
            end = _moment(row["expires_at"], "expires_at", evaluator.tz, day_end=True)
            expires = self.dialect.at(end)
        request = _json(row)
        return {
            "id": _id(row["id"], "id"),
            "member_id": _id(row["member_id"], "member_id"),
            "at": self.dialect.at(at),
            "day": day,
            "ps": starts,
            "spend": self.dialect.money(spend),
            "points": _points(row["points"]),
            "expires_at": expires,
            "pending_until": pending,
            "request": request,
            "digest": hashlib.sha256(request.encode()).hexdigest(),
        }

    def _day(self, day: date, at: datetime) -> tuple[Any, Any, Any]:
        """For ``day``, as the driver takes them: the lot's expiry, the end of pending and the
        first day of the qualifying period (None when it depends on the member)."""
        if day not in self.days:
            document, tz = self.evaluator.document, self.evaluator.tz
            days = document.get("earn", {}).get("pending_days", 0)
            pending = pending_until_day(day, days, tz) if days else None
            expires = expiry_of(at, document.get("expiry", {}), tz)
            starts = None
            if not self.per_member_periods:
                starts = period_bounds(self.period_kind, day)[0]  # type: ignore[arg-type]
            dialect = self.dialect
            self.days[day] = (dialect.at(expires), dialect.at(pending), dialect.day(starts))
        return self.days[day]

    def place(self, row: dict[str, Any]) -> dict[str, Any]:
        """Anniversary years: the first day of the member's year the purchase falls in."""
        key = (row["day"], row["joined"])
        if key not in self.periods:
            kind = "anniversary_year"
            self.periods[key] = period_bounds(kind, row["day"], joined=row["joined"])[0]
        row["ps"] = self.dialect.day(self.periods[key])
        return row

    def write(
        self, engine: Engine, rows: list[tuple[int, dict[str, Any]]], report: ImportReport
    ) -> None:
        """Stage the rows and write them set-based, in one transaction (retried once if a
        concurrent import inserted one of the ids meanwhile)."""
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
        self, bulk: _Bulk, rows: list[tuple[int, dict[str, Any]]]
    ) -> tuple[int, list[Rejected]]:
        programme, d = self.evaluator.programme.id, bulk.dialect
        earning = [row for _, row in rows if row["points"]]
        for row, lot_id in zip(earning, bulk.new_ids("lots", len(earning)), strict=True):
            row["lot_id"] = lot_id
        _stage(bulk, [_staged(line, row) for line, row in rows])
        skipped = bulk.execute(SKIP_EXISTING, (programme,))
        unknown = bulk.conn.exec_driver_sql(d.sql(UNKNOWN_MEMBERS), (programme,))
        rejected = [_unknown(line, member, merged) for line, member, merged in unknown]
        if rejected:
            bulk.execute(DROP_UNKNOWN, (programme,))
        now = d.at(self.now)
        json_object = "json_build_object" if d.postgres else "json_object"
        bulk.execute(INSERT_TRANSACTIONS.format(json_object=json_object), (programme, now))
        bulk.execute(INSERT_LOTS, (programme,))
        bulk.execute(INSERT_JOURNAL, (programme,))
        bulk.execute(ADD_TO_MEMBERS, (now, programme))
        return skipped, rejected


def _staged(line: int, row: dict[str, Any]) -> tuple[Any, ...]:
    return (line, row["id"], row["member_id"], row["at"], row["ps"], row["spend"],
            row["points"], row["expires_at"], row["pending_until"], row["request"], row["digest"],
            row.get("lot_id"))  # fmt: skip


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
    rows: list[tuple[int, dict[str, Any]]], report: ImportReport
) -> list[tuple[int, dict[str, Any]]]:
    """The rows whose id did not come earlier in the batch (a repeat is skipped)."""
    seen: dict[str, tuple[int, dict[str, Any]]] = {}
    for line, row in rows:
        if row["id"] in seen:
            report.skipped += 1
        else:
            seen[row["id"]] = (line, row)
    return list(seen.values())


def _with_join_dates(
    engine: Engine, history: _History, rows: list[tuple[int, dict[str, Any]]], report: ImportReport
) -> list[tuple[int, dict[str, Any]]]:
    """Anniversary years: the rows with their member's join date (unknown members rejected)."""
    wanted = sorted({row["member_id"] for _, row in rows})
    query = "SELECT id, joined FROM members WHERE programme = ? AND id IN ({ids})"
    with engine.connect() as conn:
        found = dict(_Bulk(conn).select_ids(query, history.evaluator.programme.id, wanted))
    kept = []
    for line, row in rows:
        joined = found.get(row["member_id"])
        if joined is None:
            report.rejected.append(Rejected(line, f"no member '{row['member_id']}'"))
            continue
        row["joined"] = joined if isinstance(joined, date) else date.fromisoformat(joined)
        kept.append((line, row))
    return kept


# --- shared --------------------------------------------------------------------------------


def _parse(
    batch: Sequence[tuple[int, Mapping[str, Any]]],
    parse: Callable[[Mapping[str, Any]], dict[str, Any]],
    report: ImportReport,
) -> list[tuple[int, dict[str, Any]]]:
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
