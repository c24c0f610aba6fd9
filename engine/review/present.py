"""Words and shortcuts shared by every output format, so they all say the same thing."""

from __future__ import annotations

import os
from collections.abc import Sequence

from engine.review.decisions import default_decisions_path
from engine.review.model import Evidence, Finding, PrincipleResult, Review

# Enough to show what meets a principle; the JSON output always has everything.
MAX_EVIDENCE = 3
MAX_TEXT = 160  # a long pitch or claim is cut in the scorecard (never in JSON)

STATUS_WORDS = {"met": "met", "not_met": "not met", "needs_judgement": "needs judgement"}
ASSUMPTION_WORDS = {
    "redemption_rate_percent": "redemption rate",
    "cost_of_goods_percent": "cost of goods",
    "return_band_percent": "return band",
    "words_per_minute": "speaking rate, English",
    "characters_per_minute": "speaking rate, Chinese",
}
ASSUMPTION_UNITS = {"words_per_minute": " words/min", "characters_per_minute": " characters/min"}


def status_word(status: str) -> str:
    return STATUS_WORDS[status]


def decided_by(result: PrincipleResult) -> str:
    """'tool', or the reviewer with the date of their decision."""
    if result.decision is None:
        return "tool"
    return f"reviewer {result.decision.reviewer}, {result.decision.date}"


def overridden(result: PrincipleResult) -> str | None:
    """What the tool had found, when a reviewer's decision says otherwise."""
    if result.decision is None or result.tool_status == result.status:
        return None
    return f"the tool found: {status_word(result.tool_status)}"


def shown_evidence(result: PrincipleResult) -> tuple[list[Evidence], int, list[Evidence]]:
    """(structure shown, structure left out, claims)."""
    structure = [e for e in result.evidence if e.kind == "structure"]
    claims = [e for e in result.evidence if e.kind == "claim"]
    return structure[:MAX_EVIDENCE], max(0, len(structure) - MAX_EVIDENCE), claims


def cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1].rstrip() + "\u2026"


def hints_once(findings: Sequence[Finding]) -> list[tuple[Finding, str | None]]:
    """Each finding with its hint, unless the finding before it gave the same hint (six
    poetic tier names need the advice once, not six times)."""
    shown: list[tuple[Finding, str | None]] = []
    previous = None
    for finding in findings:
        shown.append((finding, finding.hint if finding.hint != previous else None))
        previous = finding.hint
    return shown


def short_where(file: str | None, line: int | None, main: str) -> str:
    """'line 17' in the proposal's own file, 'campaigns.yaml:35' in an included one."""
    if line is None:
        return ""
    if file is None or file == main:
        return f"line {line}"
    return f"{os.path.relpath(file, os.path.dirname(main) or '.')}:{line}"


def assumption_value(name: str, value: str) -> str:
    return value + ASSUMPTION_UNITS.get(name, "")


def decisions_hint(review: Review) -> str:
    return (
        f"None recorded; to confirm or reject a principle, write "
        f"{default_decisions_path(review.file)} (rules/README.md, Review)"
    )
