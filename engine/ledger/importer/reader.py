"""The reader: a transaction file's rows checked, a batch at a time, here or in a second process.

``RowParser`` turns a CSV row into a staging row (values as the driver takes them); a
``Reader`` yields the file's checked batches. Both are picklable: a big SQLite import runs
``read_batches_to_stdout`` in a second Python process that keeps a batch ahead of the writer.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from engine.calendar import expiry_of, pending_until_day, period_bounds
from engine.errors import InputError
from engine.ledger.dialect import DriverValues
from engine.ledger.importer.cells import parse_id, parse_moment, parse_money, parse_points
from engine.ledger.importer.rows import ImportReport, Rejected, RowError, Rows, batches, parse_rows

if TYPE_CHECKING:
    from engine.pricing import Evaluator

TRANSACTION_COLUMNS = (
    "id",
    "member_id",
    "at",
    "amount",
    "points",
    "qualifying",
    "expires_at",
    "kind",
    "reason",
    "level",
)
# The ``kind`` column's words; empty means a purchase (files written before it existed).
KINDS = ("purchase", "redemption", "return", "adjustment", "paid_level")
MAX_REASON = 500
encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# A checked row, in the staging table's column order (``line`` first, ``lot_id`` last are
# added at staging), then the purchase's local day (for anniversary years).
ID, MEMBER, AT, PS, SPEND, POINTS = range(6)
DAY = 11


@dataclass(frozen=True)
class Movement:
    """A checked row that is not a purchase: written one by one, at its own ``at``, after the
    batch's purchases (``engine.ledger.importer.movements``). ``points`` is signed for an
    adjustment, 0 or more otherwise; ``qualifying`` is what a return takes off tier spend."""

    kind: str  # redemption, return or adjustment
    id: str
    member_id: str
    at: datetime
    points: int
    amount: Decimal
    qualifying: Decimal
    reason: str | None
    request: str
    digest: str
    level: str | None = None  # a paid_level row: the level bought (its fee is ``amount``)

    def __getitem__(self, index: int) -> Any:  # the id and member as a staged row has them
        return (self.id, self.member_id)[index]


@dataclass
class RowParser:
    """Checks a CSV row and turns it into a staging row; picklable, for the reader process.
    Expiry, end of pending and qualifying period are kept per local day (the calendar gives
    one answer for every instant of a day)."""

    tz: Any
    quantum: Decimal
    code: str
    dialect: DriverValues
    expiry: Mapping[str, Any]
    pending_days: int
    period_kind: str
    days: dict[date, tuple[Any, Any, Any]] = field(default_factory=dict)
    periods: dict[tuple[date, date], Any] = field(default_factory=dict)

    @classmethod
    def of(cls, evaluator: Evaluator, dialect: DriverValues) -> RowParser:
        model = evaluator.model
        return cls(
            tz=evaluator.tz,
            quantum=evaluator.currency.quantum,
            code=evaluator.currency.code,
            dialect=dialect,
            expiry=dict(model.expiry.section),
            pending_days=model.earn.pending_days,
            period_kind=model.tiers.period,
        )

    def parse(self, row: Mapping[str, Any]) -> tuple[Any, ...] | Movement:
        kind = (row.get("kind") or "purchase").lower()
        if kind not in KINDS:
            raise RowError(f"kind '{row['kind']}' must be one of {', '.join(KINDS)}")
        if kind != "purchase":
            return self.movement(kind, row)
        at = parse_moment(row["at"], "at", self.tz)
        amount = parse_money(row["amount"], "amount", self.quantum, self.code)
        qualifying = row.get("qualifying")
        spend = (
            parse_money(qualifying, "qualifying", self.quantum, self.code) if qualifying else amount
        )
        if spend > amount:
            raise RowError(f"qualifying {spend} is more than the amount {amount}")
        day = at.astimezone(self.tz).date()  # at is aware: _moment checked it
        expires, pending, starts = self._day(day, at)
        if row.get("expires_at"):
            end = parse_moment(row["expires_at"], "expires_at", self.tz, day_end=True)
            expires = self.dialect.at(end)
        request = encode_json(row)
        digest = hashlib.sha256(request.encode()).hexdigest()
        ident, member = parse_id(row["id"], "id"), parse_id(row["member_id"], "member_id")
        return (ident, member, self.dialect.at(at), starts,
                self.dialect.money(spend), parse_points(row["points"]), expires, pending,
                request, digest, self.dialect.money(amount), day)  # fmt: skip

    def movement(self, kind: str, row: Mapping[str, Any]) -> Movement:
        at = parse_moment(row["at"], "at", self.tz)
        amount = parse_money(row["amount"], "amount", self.quantum, self.code)
        qualifying = row.get("qualifying")
        spend = (
            parse_money(qualifying, "qualifying", self.quantum, self.code) if qualifying else amount
        )
        if kind != "return":
            spend = Decimal(0)
        text = row["points"]
        if kind == "adjustment":
            sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
            points = sign * parse_points(digits)
            if not points:
                raise RowError("an adjustment's points must not be 0")
        else:
            points = parse_points(text)
        reason = row.get("reason") or None
        if reason and len(reason) > MAX_REASON:
            raise RowError(f"reason is longer than {MAX_REASON} characters")
        if row.get("expires_at"):
            raise RowError(f"expires_at is for purchases, not a {kind}")
        level = row.get("level") or None
        if (kind == "paid_level") != bool(level):
            raise RowError("a paid_level row names its level (and only such a row does)")
        if kind == "paid_level" and points:
            raise RowError("a paid_level row moves no points: points must be 0")
        request = encode_json(row)
        return Movement(kind, parse_id(row["id"], "id"), parse_id(row["member_id"], "member_id"),
                        at, points, amount, spend, reason, request,
                        hashlib.sha256(request.encode()).hexdigest(), level)  # fmt: skip

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
                starts = period_bounds(self.period_kind, day)[0]  # type: ignore[arg-type]
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
class Batch:
    rows: list[tuple[int, tuple[Any, ...] | Movement]]  # (line, checked row)
    rejected: list[Rejected]
    read: int
    done: int  # bytes of the file read so far
    size: int


@dataclass(frozen=True)
class Reader:
    """The file's checked rows, a batch at a time (picklable, for the reader process)."""

    path: Path
    batch_size: int
    parser: RowParser

    def batches(self) -> Iterator[Batch]:
        rows = Rows(self.path, ("id", "member_id", "at", "amount", "points"), TRANSACTION_COLUMNS)
        report, read = ImportReport(), 0
        for batch in batches(rows, self.batch_size, report):
            parsed = parse_rows(batch, self.parser.parse, report)
            yield Batch(parsed, report.rejected, report.read - read, rows.done, rows.size)
            report.rejected, read = [], report.read


READER = (
    "from engine.ledger.importer.reader import read_batches_to_stdout; read_batches_to_stdout()"
)


def read_batches_to_stdout() -> None:
    """The reader process: a pickled ``Reader`` comes on stdin; every batch goes out pickled
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
def batches_of(reader: Reader, in_process: bool) -> Iterator[Iterator[Batch]]:
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


def _received(stream: IO[bytes]) -> Iterator[Batch]:
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
