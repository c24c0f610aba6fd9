"""The CSV side of an import: records with their line numbers, batches, and the report.

A file is UTF-8 (a byte-order mark is allowed) with a header row naming the columns; every
record is read with its line number, so a rejected row is reported where it is. A record with
the wrong number of fields is rejected before any cell is looked at.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from engine.errors import InputError

Progress = Callable[[int, int], None]
R = TypeVar("R")
BATCH = 20_000


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


def silent(_done: int, _total: int) -> None:
    """The default progress callback."""


class Counting(io.RawIOBase):
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
class Rows:
    """The CSV records of a file, each with its line number; bytes read so far."""

    path: Path
    required: Sequence[str]
    known: Sequence[str]
    counter: Counting | None = None
    size: int = 0

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        self.size = self.path.stat().st_size
        with self.path.open("rb") as raw:
            self.counter = Counting(raw)
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


def batches(
    rows: Rows, size: int, report: ImportReport
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


def parse_rows(
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
