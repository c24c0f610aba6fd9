"""A proposal's review: the six principles, the design checks, the verdict.

The order of precedence for each principle is deliberate: a reviewer's decision overrides
everything (it is theirs to make); otherwise the programme's own structure meets a principle;
otherwise a proposer's claim makes it "needs judgement" (a claim is not evidence until a
reviewer has looked); otherwise it is not met.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from engine.policy.loader import Programme
from engine.policy.source import SourceMap
from engine.review.assumptions import read_assumptions
from engine.review.checks import design_findings
from engine.review.decisions import Decisions
from engine.review.model import (
    PRINCIPLES,
    SEVERITY_ORDER,
    Evidence,
    Principle,
    PrincipleResult,
    Review,
    Status,
    Verdict,
    locate,
)
from engine.review.paid import paid_fee_findings
from engine.review.principles import READERS
from engine.review.reading import Document


def review_programme(
    programme: Programme,
    decisions: Decisions | None = None,
    spends: Sequence[Decimal] | None = None,
) -> Review:
    """Score ``programme`` against the six principles and run the design checks; ``spends``
    (each member's qualifying spend, from the ledger) lets the paid-fee check measure."""
    doc, positions = programme.document, programme.positions
    assumed = read_assumptions(doc)
    results = tuple(_judge(p, doc, positions, decisions) for p in PRINCIPLES)
    found = [*design_findings(doc, assumed), *paid_fee_findings(doc, spends)]
    findings = [f.placed(positions) for f in found]
    findings.sort(key=lambda f: SEVERITY_ORDER[f.severity])  # stable: check order within
    meta = doc["programme"]
    return Review(
        programme_id=programme.id,
        name=meta["name"],
        version=programme.version,
        file=programme.files[0],
        principles=results,
        findings=tuple(findings),
        verdict=_verdict(results),
        assumptions=assumed.listed(),
        decisions=decisions.info(programme.version) if decisions else None,
    )


def _judge(
    principle: Principle, doc: Document, positions: SourceMap, decisions: Decisions | None
) -> PrincipleResult:
    reading = READERS[principle.key](doc)
    claim = doc.get("review", {}).get("claims", {}).get(principle.key)
    evidence = list(reading.evidence)
    if claim:
        evidence.append(Evidence("claim", claim, ("review", "claims", principle.key)))
    tool: Status = "met" if reading.met else "needs_judgement" if claim else "not_met"
    placed = tuple(_place(e, positions) for e in evidence)
    decision = decisions.items.get(principle.key) if decisions else None
    if decision is None:
        return PrincipleResult(principle, tool, "tool", tool, placed)
    status: Status = "met" if decision.decision == "confirmed" else "not_met"
    return PrincipleResult(principle, status, "reviewer", tool, placed, decision)


def _place(evidence: Evidence, positions: SourceMap) -> Evidence:
    where = locate(positions, evidence.path)
    if where is None:
        return evidence
    return replace(evidence, file=where.file, line=where.line, column=where.column)


def _verdict(results: tuple[PrincipleResult, ...]) -> Verdict:
    met = sum(r.status == "met" for r in results)
    judgement = sum(r.status == "needs_judgement" for r in results)
    return Verdict(met=met, needs_judgement=judgement)
