"""The reviewer's decision file: per principle, confirmed or rejected, with a reason.

It lives beside the proposal (``programme.yaml`` → ``programme.review.yaml``), so decisions
travel with the proposal through version control::

    # yaml-language-server: $schema=../../schemas/review-decisions.schema.json
    programme: recommended
    programme_version: "1a2b3c4d5e6f"   # what `loyalty review` printed; optional, quoted
    reviewer: "Li Wei <li.wei@example.com>"
    date: "2026-03-02"
    decisions:
      emotional_bond:
        decision: confirmed
        reason: "Saw the card mock-up: the neighbourhood's name is on the front."
      social_face:
        decision: rejected
        reason: "The express lane is not signposted; nobody can see it."
        reviewer: "Wang Fang"           # optional, per decision
        date: "2026-03-03"

The file is read with the policy loader's YAML reader (so every problem has a line) and
checked against ``schemas/review-decisions.schema.json``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from engine.policy.problems import Problem, sort_problems
from engine.policy.schema import schema_problems
from engine.policy.source import SourceMap, load_yaml
from engine.review.model import Decision, DecisionsInfo, locate

SCHEMA = "review-decisions"
SUFFIX = ".review.yaml"


@dataclass(frozen=True)
class Decisions:
    file: str
    reviewer: str
    date: str
    programme: str | None
    programme_version: str | None
    items: Mapping[str, Decision] = field(default_factory=dict)

    def info(self, version: str) -> DecisionsInfo:
        stale = self.programme_version is not None and self.programme_version != version
        return DecisionsInfo(self.file, self.reviewer, self.date, self.programme_version, stale)


def default_decisions_path(proposal: str | os.PathLike[str]) -> FsPath:
    """``rules/x/programme.yaml`` → ``rules/x/programme.review.yaml``."""
    path = FsPath(proposal)
    return path.with_name(path.stem + SUFFIX)


def load_decisions(
    path: str | os.PathLike[str], programme_id: str | None = None
) -> tuple[Decisions | None, list[Problem]]:
    """Read a decision file; returns ``(None, problems)`` when it has errors."""
    file = str(path)
    try:
        raw = FsPath(path).read_bytes()
    except OSError as exc:
        return None, [Problem(f"cannot read the file: {exc.strerror}", code="io").at(file, 1, 1)]
    return parse_decisions(raw, file, programme_id)


def parse_decisions(
    raw: bytes, file: str, programme_id: str | None = None
) -> tuple[Decisions | None, list[Problem]]:
    """Decisions from a document's bytes (a file's, or one recorded from the console)."""
    loaded = load_yaml(raw, file)
    if loaded.data is None:
        return None, loaded.problems
    problems = loaded.problems + [
        _place(p, loaded.positions) for p in schema_problems(loaded.data, SCHEMA)
    ]
    if not problems:
        problems += _wrong_programme(loaded.data, programme_id, loaded.positions)
    if any(p.is_error for p in problems):
        return None, sort_problems(problems)
    return _build(file, loaded.data, loaded.positions), problems


def _wrong_programme(
    data: Mapping[str, Any], programme_id: str | None, positions: SourceMap
) -> list[Problem]:
    named = data.get("programme")
    if programme_id is None or named is None or named == programme_id:
        return []
    problem = Problem(
        f"these decisions are for programme '{named}', not '{programme_id}'",
        ("programme",),
        hint="pass the right file with --decisions",
        code="review.wrong_programme",
    )
    return [_place(problem, positions)]


def _build(file: str, data: Mapping[str, Any], positions: SourceMap) -> Decisions:
    items = {}
    for key, entry in data["decisions"].items():
        where = locate(positions, ("decisions", key))
        items[key] = Decision(
            principle=key,
            decision=entry["decision"],
            reason=entry["reason"],
            reviewer=entry.get("reviewer", data["reviewer"]),
            date=entry.get("date", data["date"]),
            file=file,
            line=where.line if where else None,
        )
    return Decisions(
        file,
        data["reviewer"],
        data["date"],
        data.get("programme"),
        data.get("programme_version"),
        items,
    )


def _place(problem: Problem, positions: SourceMap) -> Problem:
    # An unknown field is pointed at its key; anything else at its value.
    table = positions.keys if problem.code == "schema.unknown_field" else positions.values
    where = table.get(problem.path) or locate(positions, problem.path)
    return problem.at(where.file, where.line, where.column) if where else problem
