"""The programmes a process serves, reloadable without downtime.

A reload validates every file first. A programme whose new files are invalid
keeps serving its last good version and its problems are reported; valid ones
replace the old version in one assignment, so a request that already holds an
evaluator finishes on the version it started with.

With a ``ProgrammeStore`` (the API), what is served is the database's fact, not
this process's: a reload publishes there, and every process calls ``refresh``
before serving, which at most every ``check_every`` seconds reads one integer and
rebuilds from the stored text when it is behind. A starting process serves what
is published, whatever the files say now; it only publishes a programme that
has no version yet.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.exc import SQLAlchemyError

import engine.outreach.templates  # noqa: F401 (registers the template check with the validator)
from engine.errors import LoyaltyError, UnknownProgramme
from engine.ledger.programmes import ProgrammeStore, Published, StoredVersion
from engine.policy.loader import Programme, Report, validate_paths
from engine.policy.problems import Problem
from engine.pricing import Evaluator, MatcherKind

Thresholds = Callable[[str], dict[str, Decimal]]
log = logging.getLogger("loyalty.registry")
# A reload whose files were read before another reload published reads them again, so
# that an older read never overwrites a newer one; the last attempt publishes regardless.
PUBLISH_ATTEMPTS = 3


@dataclass(frozen=True)
class ReloadReport:
    loaded: dict[str, str] = field(default_factory=dict)  # programme → version now serving
    refused: dict[str, list[Problem]] = field(default_factory=dict)  # file → its problems
    unchanged: list[str] = field(default_factory=list)
    generation: int | None = None  # of the published set, with a store


@dataclass(frozen=True)
class Serving:
    """Where the version a process serves came from."""

    generation: int | None  # None: loaded from files, with no store
    loaded_at: datetime
    actor: str | None


class Registry:
    """Evaluators by programme id, built from a rules folder (and a store, if given)."""

    def __init__(
        self,
        rules: str | os.PathLike[str],
        *,
        matcher: MatcherKind = "durable",
        thresholds: Thresholds | None = None,
        store: ProgrammeStore | None = None,
        check_every: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rules = rules
        self.matcher = matcher
        self.thresholds = thresholds or (lambda _programme: {})
        self.store = store
        self.check_every = check_every
        self.clock = clock
        self.generation: int | None = None  # of the set built here, with a store
        self._evaluators: dict[str, Evaluator] = {}
        self._serving: dict[str, Serving] = {}
        self._lock = threading.Lock()
        self._next_check = 0.0

    def __getitem__(self, programme: str) -> Evaluator:
        try:
            return self._evaluators[programme]
        except KeyError:
            raise UnknownProgramme(f"no programme '{programme}' is loaded") from None

    def __call__(self, programme: str) -> Evaluator:
        return self[programme]

    def __contains__(self, programme: object) -> bool:
        return programme in self._evaluators

    def all(self) -> list[Evaluator]:
        return sorted(self._evaluators.values(), key=lambda e: e.programme.id)

    def serving(self, programme: str) -> Serving | None:
        return self._serving.get(programme)

    def start(self) -> ReloadReport:
        """A starting process: publish only programmes never published, then serve the store."""
        if self.store is None:
            return self.reload()
        with self._lock:
            report = validate_paths([self.rules])
            self.store.publish(report.programmes, report, "first start", only_missing=True)
            self._catch_up(report)
            return ReloadReport({}, _by_file(report.problems), [], self.generation)

    def reload(self, actor: str = "reload") -> ReloadReport:
        """Re-read the rules folder; see the module docstring for what is kept."""
        with self._lock:
            if self.store is None:
                report = validate_paths([self.rules])
                loaded, unchanged = self._load_files(report)
                return ReloadReport(loaded, _by_file(report.problems), unchanged)
            report, published = self._publish_files(actor)
            self._catch_up(report)
            refused = _by_file(report.problems)
            return ReloadReport(published.changed, refused, published.unchanged, self.generation)

    def _publish_files(self, actor: str) -> tuple[Report, Published]:
        """Validate and publish the files, read again if another reload published meanwhile."""
        assert self.store is not None
        for attempt in range(PUBLISH_ATTEMPTS):
            last = attempt + 1 == PUBLISH_ATTEMPTS
            read_at = None if last else self.store.generation()
            report = validate_paths([self.rules])
            published = self.store.publish(report.programmes, report, actor, read_at=read_at)
            if not published.stale:
                return report, published
        raise AssertionError("the last attempt publishes unconditionally")

    def refresh(self) -> None:
        """Catch up with the store if it has moved on; checks at most every ``check_every`` s."""
        if self.store is None or self.clock() < self._next_check:
            return
        self._next_check = self.clock() + self.check_every
        try:
            behind = self.store.generation() != self.generation
            if behind:
                with self._lock:
                    self._catch_up()
        except SQLAlchemyError:
            # The database is down: keep serving what is built; the next check retries.
            log.warning("could not check the published programmes", exc_info=True)

    def _load_files(self, report: Report) -> tuple[dict[str, str], list[str]]:
        fresh = dict(self._evaluators)
        loaded, unchanged = {}, []
        for programme in report.programmes:
            current = fresh.get(programme.id)
            if current is not None and current.programme.version == programme.version:
                unchanged.append(programme.id)
                continue
            fresh[programme.id] = self._evaluator(programme)
            self._serving[programme.id] = Serving(None, datetime.now(UTC), None)
            loaded[programme.id] = programme.version
        self._evaluators = fresh  # one assignment: readers see the old or the new dict
        return loaded, unchanged

    def _catch_up(self, report: Report | None = None) -> None:
        """Build what the store holds and this process does not (the lock is held)."""
        assert self.store is not None
        snapshot = self.store.snapshot()
        on_disk = {p.id: p for p in report.programmes} if report else {}
        fresh = dict(self._evaluators)
        for programme_id, stored in snapshot.versions.items():
            current = fresh.get(programme_id)
            if current is None or current.programme.version != stored.version:
                evaluator = self._build(stored, on_disk.get(programme_id))
                if evaluator is None:
                    continue
                fresh[programme_id] = evaluator
            self._serving[programme_id] = Serving(stored.generation, stored.loaded_at, stored.actor)
        self._evaluators = fresh  # one assignment: readers see the old or the new dict
        self.generation = snapshot.generation
        self._next_check = self.clock() + self.check_every

    def _build(self, stored: StoredVersion, on_disk: Programme | None) -> Evaluator | None:
        """The stored version's evaluator; the files' parse is reused when they are that version."""
        try:
            if on_disk is not None and on_disk.version == stored.version:
                return self._evaluator(on_disk)
            return self._evaluator(stored.rebuild())
        except LoyaltyError:
            # Kept out rather than crash every request: e.g. an upgrade made old text invalid.
            log.exception("cannot build %s@%s from the store", stored.programme, stored.version)
            return None

    def _evaluator(self, programme: Programme) -> Evaluator:
        return Evaluator(
            programme, matcher=self.matcher, resolved_thresholds=self.thresholds(programme.id)
        )


def _by_file(problems: list[Problem]) -> dict[str, list[Problem]]:
    refused: dict[str, list[Problem]] = {}
    for problem in problems:
        if problem.is_error:
            refused.setdefault(problem.file or "?", []).append(problem)
    return refused
