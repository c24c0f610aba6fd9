"""The programmes a process serves, reloadable without downtime.

A reload validates every file first. A programme whose new files are invalid
keeps serving its last good version and its problems are reported; valid ones
replace the old version in one assignment, so a request that already holds an
evaluator finishes on the version it started with.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from engine.errors import UnknownProgramme
from engine.policy.loader import validate_paths
from engine.policy.problems import Problem
from engine.quote import Evaluator, MatcherKind

Thresholds = Callable[[str], dict[str, Decimal]]


@dataclass(frozen=True)
class ReloadReport:
    loaded: dict[str, str] = field(default_factory=dict)  # programme → version now serving
    refused: dict[str, list[Problem]] = field(default_factory=dict)  # file → its problems
    unchanged: list[str] = field(default_factory=list)


class Registry:
    """Evaluators by programme id, built from a rules folder."""

    def __init__(
        self,
        rules: str | os.PathLike[str],
        *,
        matcher: MatcherKind = "durable",
        thresholds: Thresholds | None = None,
    ) -> None:
        self.rules = rules
        self.matcher = matcher
        self.thresholds = thresholds or (lambda _programme: {})
        self._evaluators: dict[str, Evaluator] = {}
        self._lock = threading.Lock()

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

    def reload(self) -> ReloadReport:
        """Re-read the rules folder; see the module docstring for what is kept."""
        with self._lock:
            report = validate_paths([self.rules])
            fresh = dict(self._evaluators)
            loaded, unchanged = {}, []
            for programme in report.programmes:
                current = fresh.get(programme.id)
                if current is not None and current.programme.version == programme.version:
                    unchanged.append(programme.id)
                    continue
                fresh[programme.id] = Evaluator(
                    programme,
                    matcher=self.matcher,
                    resolved_thresholds=self.thresholds(programme.id),
                )
                loaded[programme.id] = programme.version
            self._evaluators = fresh  # one assignment: readers see the old or the new dict
            return ReloadReport(loaded, _by_file(report.problems), unchanged)


def _by_file(problems: list[Problem]) -> dict[str, list[Problem]]:
    refused: dict[str, list[Problem]] = {}
    for problem in problems:
        if problem.is_error:
            refused.setdefault(problem.file or "?", []).append(problem)
    return refused
