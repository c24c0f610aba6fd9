"""The programme versions being served, as a fact in the database every process shares.

A reload that validates publishes the programmes' source text and bumps one
generation number in the same transaction. Every serving process compares the
generation it has built with the stored one and, when behind, rebuilds from the
stored text — so all workers of all hosts on one database price with the same
versions, and a process that starts while the files on disk are broken still
serves the last good version.

Publishers are serialised by the generation row's lock (SQLite: ``BEGIN
IMMEDIATE``), so generations commit in order and a reader never misses one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, and_, func, insert, select, update

from engine.errors import PolicyError
from engine.ledger import dialect
from engine.ledger.tables import programme_generation, programme_versions
from engine.policy.loader import Programme, Report, validate_texts

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class StoredVersion:
    """One published version of a programme, with the text to rebuild it."""

    programme: str
    version: str
    generation: int
    main: str
    sources: Mapping[str, str] = field(repr=False)
    files: tuple[str, ...]
    loaded_at: datetime
    actor: str

    def rebuild(self) -> Programme:
        """The programme from its stored text; PolicyError if it no longer validates."""
        report = validate_texts(
            self.main, {name: text.encode("utf-8") for name, text in self.sources.items()}
        )
        if not report.ok or len(report.programmes) != 1:
            raise PolicyError(
                f"the stored version {self.version} of '{self.programme}' does not validate",
                report.problems,
            )
        programme = report.programmes[0]
        if programme.version != self.version:
            raise PolicyError(
                f"the stored text of '{self.programme}' hashes to {programme.version}, "
                f"not {self.version}"
            )
        return replace(programme, files=self.files)


@dataclass(frozen=True)
class Snapshot:
    """The current version of every published programme, as of ``generation``."""

    generation: int
    versions: dict[str, StoredVersion]


@dataclass(frozen=True)
class Published:
    generation: int
    changed: dict[str, str]  # programme → the version now current
    unchanged: list[str]
    stale: bool = False  # nothing published: another publish landed after the files were read


class ProgrammeStore:
    """Publish and read the programme versions every process serves."""

    def __init__(self, database: Engine, *, clock: Clock | None = None) -> None:
        self.database = database
        self.clock = clock or (lambda: datetime.now(UTC))

    def generation(self) -> int:
        """The generation of the published set: one indexed single-row read (0 before any)."""
        with self.database.connect() as conn:
            found = conn.execute(
                select(programme_generation.c.generation).where(programme_generation.c.id == 1)
            ).scalar()
        return int(found or 0)

    def snapshot(self) -> Snapshot:
        with self.database.connect() as conn:
            # The generation first: a publish landing between the reads leaves us at most
            # one refresh early, never with an old set under a new number.
            generation = conn.execute(
                select(programme_generation.c.generation).where(programme_generation.c.id == 1)
            ).scalar()
            versions = _current(conn)
        return Snapshot(int(generation or 0), versions)

    def publish(
        self,
        programmes: Iterable[Programme],
        report: Report,
        actor: str,
        *,
        only_missing: bool = False,
        read_at: int | None = None,
    ) -> Published:
        """Make these validated programmes current, in one transaction and one generation.

        A programme already current at the same version is left alone; with
        ``only_missing`` (a starting worker) so is any programme already published,
        so a (re)start never changes what the other processes serve. ``read_at`` is
        the generation seen before the files were read: if another publish landed
        since, nothing is published (``stale``), so that files read earlier never
        overwrite files read later; read them again and retry.
        """
        candidates = list(programmes)
        with self.database.begin() as conn:
            generation = _lock_generation(conn, self.clock())
            if read_at is not None and read_at != generation:
                return Published(generation, {}, [], stale=True)
            current = _current(conn)
            changed = [p for p in candidates if _replaces(current.get(p.id), p, only_missing)]
            unchanged = [p.id for p in candidates if p not in changed]
            if not changed:
                return Published(generation, {}, unchanged)
            generation += 1
            at = self.clock()
            conn.execute(
                update(programme_generation)
                .where(programme_generation.c.id == 1)
                .values(generation=generation, changed_at=at)
            )
            conn.execute(
                insert(programme_versions),
                [_row(p, report, generation, at, actor) for p in changed],
            )
        return Published(generation, {p.id: p.version for p in changed}, unchanged)

    def history(self, programme: str) -> list[StoredVersion]:
        """Every published version of ``programme``, oldest first."""
        with self.database.connect() as conn:
            rows = conn.execute(
                select(programme_versions)
                .where(programme_versions.c.programme == programme)
                .order_by(programme_versions.c.generation)
            )
            return [_stored(row._mapping) for row in rows]


def _replaces(current: StoredVersion | None, programme: Programme, only_missing: bool) -> bool:
    if current is None:
        return True
    return not only_missing and current.version != programme.version


def _lock_generation(conn: Connection, at: datetime) -> int:
    """The current generation, its row locked until the transaction ends (created if absent)."""
    conn.execute(
        dialect.insert(conn)(programme_generation)
        .values(id=1, generation=0, changed_at=at)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return int(
        conn.execute(
            select(programme_generation.c.generation)
            .where(programme_generation.c.id == 1)
            .with_for_update()
        ).scalar_one()
    )


def _current(conn: Connection) -> dict[str, StoredVersion]:
    latest = (
        select(
            programme_versions.c.programme,
            func.max(programme_versions.c.generation).label("generation"),
        )
        .group_by(programme_versions.c.programme)
        .subquery()
    )
    rows = conn.execute(
        select(programme_versions).join(
            latest,
            and_(
                programme_versions.c.programme == latest.c.programme,
                programme_versions.c.generation == latest.c.generation,
            ),
        )
    )
    return {row.programme: _stored(row._mapping) for row in rows}


def _stored(row: RowMapping) -> StoredVersion:
    return StoredVersion(
        programme=row["programme"],
        version=row["version"],
        generation=int(row["generation"]),
        main=row["main"],
        sources=dict(row["sources"]),
        files=tuple(row["files"]),
        loaded_at=row["loaded_at"],
        actor=row["actor"],
    )


def _row(
    programme: Programme, report: Report, generation: int, at: datetime, actor: str
) -> dict[str, Any]:
    folder = os.path.dirname(programme.files[0])
    return {
        "programme": programme.id,
        "version": programme.version,
        "generation": generation,
        "main": _relative(programme.files[0], folder),
        # Valid files are UTF-8, so the text encodes back to the very bytes that were hashed.
        "sources": {
            _relative(file, folder): report.sources[file].decode("utf-8")
            for file in programme.files
        },
        "files": list(programme.files),
        "loaded_at": at,
        "actor": actor[:128],
    }


def _relative(file: str, folder: str) -> str:
    """A path as the main file's includes name it, with forward slashes on every system."""
    return os.path.relpath(file, folder or ".").replace(os.sep, "/")
