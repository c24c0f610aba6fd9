"""The records a review produces: evidence, principle results, design findings, the verdict.

Every record can say where it comes from (file, line, column and the path inside the merged
programme), so a reviewer can jump from the report straight to the line in the proposal.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

from engine.policy.problems import Path, render_path
from engine.policy.source import Position, SourceMap

Status = Literal["met", "not_met", "needs_judgement"]
DecidedBy = Literal["tool", "reviewer"]
EvidenceKind = Literal["structure", "claim"]
# "ok" and "info" are findings too: a reviewer sees what was measured, not only what failed.
Severity = Literal["ok", "info", "warning", "serious"]
SEVERITY_ORDER: dict[str, int] = {"serious": 0, "warning": 1, "info": 2, "ok": 3}

LAUNCH_THRESHOLD = 4  # "a proposal that meets at least 4 of the 6 may launch"


@dataclass(frozen=True)
class Principle:
    """One of the six principles (六个评估原则) and what would satisfy it."""

    key: str
    title: str
    chinese: str
    remedy: str


PRINCIPLES: tuple[Principle, ...] = (
    Principle(
        "reason_to_join",
        "Reason to join",
        "加入理由",
        "state in the pitch what a member gets concretely (an amount, a rate or a named "
        "benefit), and give something from day one: benefits on the first level, a welcome "
        "offer (a rule on member.days_since_joined) or points worth something at the burn "
        "value",
    ),
    Principle(
        "repurchase_incentive",
        "Repurchase incentive",
        "复购诱因",
        "add a reward catalogue to save towards (burn.catalogue), a next-visit offer that "
        "repeats (a rule on member.days_since_last_purchase), or a lapse or expiry outreach "
        "with an offer",
    ),
    Principle(
        "bigger_baskets",
        "Bigger baskets",
        "提高并买",
        "add a spend-over-threshold rule (满减: transaction.amount {gte: ...}) or a bundle "
        "(two or more lines entries, item_count or a line quantity of 2 or more)",
    ),
    Principle(
        "stickiness",
        "Stickiness",
        "产生粘性",
        "add a weekly or monthly member deal: a rule on transaction.weekday (a member day), on "
        "the same date every month, or a benefit given per week or per month",
    ),
    Principle(
        "emotional_bond",
        "Emotional bond",
        "情感维系",
        "give the card a theme tied to the member's identity or a cause (review.theme), or a "
        "cause-linked benefit (a donation, a charity partner)",
    ),
    Principle(
        "social_face",
        "Social face",
        "社交面子",
        "make status visible: privileges or upgrades on the higher levels (a lounge, a "
        "priority lane), or a paid or invitation-only level",
    ),
)
PRINCIPLE_KEYS: tuple[str, ...] = tuple(p.key for p in PRINCIPLES)


@dataclass(frozen=True)
class Evidence:
    """Something in the proposal that bears on a principle, and where it is."""

    kind: EvidenceKind
    text: str
    path: Path
    file: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def where(self) -> str:
        return _where(self.file, self.line, self.column)

    def as_record(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "text": self.text,
            "path": render_path(self.path),
            "file": self.file,
            "line": self.line,
            "column": self.column,
        }


@dataclass(frozen=True)
class Decision:
    """A reviewer's decision on one principle."""

    principle: str
    decision: Literal["confirmed", "rejected"]
    reason: str
    reviewer: str
    date: str
    file: str | None = None
    line: int | None = None

    def as_record(self) -> dict[str, object]:
        return {
            "decision": self.decision,
            "reason": self.reason,
            "reviewer": self.reviewer,
            "date": self.date,
            "file": self.file,
            "line": self.line,
        }


@dataclass(frozen=True)
class PrincipleResult:
    """The scorecard line of one principle."""

    principle: Principle
    status: Status
    decided_by: DecidedBy
    tool_status: Status  # what the tool found before any reviewer decision
    evidence: tuple[Evidence, ...]
    decision: Decision | None = None

    @property
    def key(self) -> str:
        return self.principle.key

    @property
    def remedy(self) -> str | None:
        return None if self.status == "met" else self.principle.remedy

    def as_record(self) -> dict[str, object]:
        return {
            "principle": self.key,
            "title": self.principle.title,
            "chinese": self.principle.chinese,
            "status": self.status,
            "decided_by": self.decided_by,
            "tool_status": self.tool_status,
            "evidence": [e.as_record() for e in self.evidence],
            "decision": self.decision.as_record() if self.decision else None,
            "would_satisfy": self.remedy,
        }


@dataclass(frozen=True)
class Finding:
    """The outcome of one design check, with the line it concerns."""

    check: str
    severity: Severity
    message: str
    path: Path = ()
    hint: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    measured: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return _where(self.file, self.line, self.column)

    @property
    def key(self) -> tuple[str, str]:
        """What identifies 'the same finding' across two versions of a proposal."""
        return (self.check, render_path(self.path))

    def placed(self, positions: SourceMap) -> Finding:
        where = locate(positions, self.path)
        if where is None:
            return self
        return replace(self, file=where.file, line=where.line, column=where.column)

    def as_record(self) -> dict[str, object]:
        return {
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "path": render_path(self.path),
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "measured": dict(self.measured),
        }


@dataclass(frozen=True)
class Verdict:
    met: int
    needs_judgement: int
    needed: int = LAUNCH_THRESHOLD
    total: int = len(PRINCIPLES)

    @property
    def launchable(self) -> bool:
        return self.met >= self.needed

    @property
    def word(self) -> str:
        return "launchable" if self.launchable else "rework"

    @property
    def summary(self) -> str:
        text = f"{self.met} of {self.total} principles met ({self.needed} needed)"
        if self.needs_judgement:
            text += f"; {self.needs_judgement} need{'s' if self.needs_judgement == 1 else ''}"
            text += " a reviewer's judgement"
        return text

    def as_record(self) -> dict[str, object]:
        return {
            "verdict": self.word,
            "launchable": self.launchable,
            "met": self.met,
            "needs_judgement": self.needs_judgement,
            "needed": self.needed,
            "total": self.total,
        }


@dataclass(frozen=True)
class Assumption:
    """A figure the review computed with, and whether the proposal stated it."""

    name: str
    value: str
    stated: bool


@dataclass(frozen=True)
class DecisionsInfo:
    """Who reviewed, when, from which file, and whether it was for this version."""

    file: str
    reviewer: str
    date: str
    programme_version: str | None
    stale: bool

    def as_record(self) -> dict[str, object]:
        return {
            "file": self.file,
            "reviewer": self.reviewer,
            "date": self.date,
            "programme_version": self.programme_version,
            "stale": self.stale,
        }


@dataclass(frozen=True)
class Review:
    """A proposal's scorecard, its design findings and its verdict."""

    programme_id: str
    name: str
    version: str
    file: str
    principles: tuple[PrincipleResult, ...]
    findings: tuple[Finding, ...]
    verdict: Verdict
    assumptions: tuple[Assumption, ...]
    decisions: DecisionsInfo | None = None

    def principle(self, key: str) -> PrincipleResult:
        return next(p for p in self.principles if p.key == key)

    def findings_of(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]

    def as_record(self) -> dict[str, object]:
        return {
            "programme": {
                "id": self.programme_id,
                "name": self.name,
                "version": self.version,
                "file": self.file,
            },
            **self.verdict.as_record(),
            "principles": [p.as_record() for p in self.principles],
            "findings": [f.as_record() for f in self.findings],
            "assumptions": [
                {"name": a.name, "value": a.value, "stated": a.stated} for a in self.assumptions
            ],
            "decisions": self.decisions.as_record() if self.decisions else None,
        }


def locate(positions: SourceMap, path: Path) -> Position | None:
    """Where ``path`` is written: a value on its key's line is pointed at itself; a block
    (a section, a list) at its key; a list item at its first line; else the nearest ancestor."""
    key, value = positions.keys.get(path), positions.values.get(path)
    if key and (not value or value.line != key.line):
        return key
    return value or positions.locate(path)


def _where(file: str | None, line: int | None, column: int | None) -> str:
    return ":".join(str(p) for p in (file, line, column) if p is not None)


def percent(value: Decimal) -> str:
    """A fraction as a short percentage: 0.01 → '1%', 0.0125 → '1.25%'."""
    shown = (value * 100).quantize(Decimal("0.01")).normalize()
    return f"{shown:f}%"
