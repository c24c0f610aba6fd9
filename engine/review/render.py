"""A review as readable terminal text, Markdown, a one-page HTML file, or JSON.

Nothing here reads the clock or the environment: the same review renders to the same bytes,
which is what lets the golden files in tests/review/golden stay stable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from engine.review.diff import ReviewDiff
from engine.review.model import Finding, PrincipleResult, Review
from engine.review.present import (
    ASSUMPTION_WORDS,
    assumption_value,
    cut,
    decided_by,
    decisions_hint,
    hints_once,
    overridden,
    short_where,
    shown_evidence,
    status_word,
)
from engine.review.templates import render_html, render_html_diff

FORMATS = ("text", "markdown", "html", "json")


def render(review: Review, fmt: str) -> str:
    renderers: dict[str, Callable[[Review], str]] = {
        "text": render_text,
        "markdown": render_markdown,
        "html": render_html,
        "json": render_json,
    }
    return renderers[fmt](review)


def render_diff(diff: ReviewDiff, fmt: str) -> str:
    renderers: dict[str, Callable[[ReviewDiff], str]] = {
        "text": render_text_diff,
        "markdown": render_markdown_diff,
        "html": render_html_diff,
        "json": render_json_diff,
    }
    return renderers[fmt](diff)


def render_json(review: Review) -> str:
    return json.dumps(review.as_record(), ensure_ascii=False, indent=2) + "\n"


def render_json_diff(diff: ReviewDiff) -> str:
    return json.dumps(diff.as_record(), ensure_ascii=False, indent=2) + "\n"


# --- text ------------------------------------------------------------------------------------


def render_text(review: Review) -> str:
    lines = [
        f"Review of {review.name}  ({review.programme_id}@{review.version})",
        f"  {review.file}",
        "",
        f"{review.verdict.word.upper()}: {review.verdict.summary}",
        "",
        "The six principles",
    ]
    for number, result in enumerate(review.principles, 1):
        lines += list(_text_principle(number, result))
    lines += ["", "Design checks"]
    for finding, hint in hints_once(review.findings):
        lines += list(_text_finding(finding, hint))
    lines += ["", "Assumptions (s = stated in the proposal, d = default)"]
    lines += [
        f"  {'s' if a.stated else 'd'}  {ASSUMPTION_WORDS[a.name]}: "
        f"{assumption_value(a.name, a.value)}"
        for a in review.assumptions
    ]
    lines += ["", *_text_decisions(review)]
    return "\n".join(lines) + "\n"


def _text_principle(number: int, result: PrincipleResult) -> Iterator[str]:
    p = result.principle
    by = decided_by(result)
    yield f"  {status_word(result.status):<16} {number}. {p.title} {p.chinese}  ({by})"
    pad = " " * 22
    if result.decision:
        note = overridden(result)
        yield f"{pad}reviewer: {result.decision.reason}" + (f" ({note})" if note else "")
    structure, hidden, claims = shown_evidence(result)
    for item in structure:
        yield f"{pad}{item.where}  {cut(item.text)}"
    if hidden:
        yield f"{pad}... and {hidden} more"
    for claim in claims:
        yield f'{pad}claim {claim.where}  "{cut(claim.text)}"'
    if result.remedy:
        yield f"{pad}would satisfy: {result.remedy}"


def _text_finding(finding: Finding, hint: str | None) -> Iterator[str]:
    yield f"  {finding.severity:<8} [{finding.check}] {finding.where}"
    yield f"           {finding.message}"
    if hint:
        yield f"           hint: {hint}"


def _text_decisions(review: Review) -> list[str]:
    info = review.decisions
    if info is None:
        return ["Reviewer decisions: " + decisions_hint(review)]
    lines = [f"Reviewer decisions: {info.file} ({info.reviewer}, {info.date})"]
    if info.stale:
        lines.append(
            f"  note: recorded for version {info.programme_version}, the proposal is now "
            f"{review.version}; check they still hold"
        )
    return lines


def render_text_diff(diff: ReviewDiff) -> str:
    old, new = diff.old, diff.new
    lines = [
        f"Changes from {old.file} ({old.version}) to {new.file} ({new.version})",
        f"Verdict: {old.verdict.word} ({old.verdict.met} of 6) -> "
        f"{new.verdict.word} ({new.verdict.met} of 6)",
        "",
        "Principles",
    ]
    lines += [
        f"  {c.new.principle.title}: {status_word(c.old.status)} ({c.old.decided_by}) -> "
        f"{status_word(c.new.status)} ({c.new.decided_by})"
        for c in diff.principles
    ] or ["  no change"]
    lines += ["", "Design findings"]
    for c in diff.findings:
        lines.append(
            f"  {c.kind:<9}{c.current.severity:<8} [{c.current.check}] {c.current.where}  "
            f"{c.current.message}"
        )
        lines += [f"{' ' * 19}{part}" for part in c.before_after()]
    if not diff.findings:
        lines.append("  no change")
    lines += ["", "Programme changes"]
    lines += [f"  {c.kind:<9}{c.what}  {c.file}:{c.line}" for c in diff.changes] or ["  no change"]
    return "\n".join(lines) + "\n"


# --- Markdown --------------------------------------------------------------------------------


def md(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def render_markdown(review: Review) -> str:
    v = review.verdict
    out = [
        f"# Review: {md(review.name)}",
        "",
        f"Programme `{review.programme_id}`, version `{review.version}`, file `{review.file}`.",
        "",
        f"**Verdict: {v.word}.** {v.summary}.",
        "",
        "## The six principles",
        "",
        "| # | Principle | Status | Decided by | Evidence |",
        "|---|---|---|---|---|",
    ]
    for number, result in enumerate(review.principles, 1):
        out.append(_md_principle_row(number, result, review.file))
    unmet = [r for r in review.principles if r.remedy]
    if unmet:
        out += ["", "### What would satisfy the rest", ""]
        out += [f"- **{r.principle.title}**: {md(r.remedy or '')}." for r in unmet]
    out += [
        "",
        "## Design checks",
        "",
        "| Severity | Check | Where | Finding |",
        "|---|---|---|---|",
    ]
    out += [_md_finding_row(f, hint, review.file) for f, hint in hints_once(review.findings)]
    out += ["", "## Assumptions", "", "| Assumption | Value | Source |", "|---|---|---|"]
    out += [
        f"| {ASSUMPTION_WORDS[a.name]} | {assumption_value(a.name, a.value)} | "
        f"{'stated' if a.stated else 'default'} |"
        for a in review.assumptions
    ]
    out += ["", "## Reviewer decisions", "", *_md_decisions(review)]
    return "\n".join(out) + "\n"


def _md_principle_row(number: int, result: PrincipleResult, main: str) -> str:
    p = result.principle
    cells = []
    if result.decision:
        note = overridden(result)
        cells.append(f"*Reviewer:* {md(result.decision.reason)}" + (f" ({note})" if note else ""))
    structure, hidden, claims = shown_evidence(result)
    cells += [f"{short_where(e.file, e.line, main)}: {md(cut(e.text))}" for e in structure]
    if hidden:
        cells.append(f"and {hidden} more")
    cells += [f'*Claim*, {short_where(c.file, c.line, main)}: "{md(cut(c.text))}"' for c in claims]
    return (
        f"| {number} | {p.title} {p.chinese} | **{status_word(result.status)}** | "
        f"{md(decided_by(result))} | {'<br>'.join(cells) or '(nothing found)'} |"
    )


def _md_finding_row(finding: Finding, hint: str | None, main: str) -> str:
    text = md(finding.message) + (f"<br>*Hint:* {md(hint)}" if hint else "")
    where = short_where(finding.file, finding.line, main)
    return f"| {finding.severity} | `{finding.check}` | {where} | {text} |"


def _md_decisions(review: Review) -> list[str]:
    info = review.decisions
    if info is None:
        return [decisions_hint(review) + "."]
    lines = [f"From `{info.file}`: {md(info.reviewer)}, {info.date}."]
    if info.stale:
        lines += [
            "",
            f"**Note:** recorded for version `{info.programme_version}`; the proposal is now "
            f"`{review.version}`. Check they still hold.",
        ]
    lines += ["", "| Principle | Decision | Reviewer | Date | Reason |", "|---|---|---|---|---|"]
    for result in review.principles:
        d = result.decision
        if d:
            lines.append(
                f"| {result.principle.title} | {d.decision} | {md(d.reviewer)} | {d.date} | "
                f"{md(d.reason)} |"
            )
    return lines


def render_markdown_diff(diff: ReviewDiff) -> str:
    old, new = diff.old, diff.new
    out = [
        f"# Review changes: {md(new.name)}",
        "",
        f"From `{old.file}` (version `{old.version}`) to `{new.file}` (version `{new.version}`).",
        "",
        f"**Verdict: {old.verdict.word} ({old.verdict.met} of 6) → "
        f"{new.verdict.word} ({new.verdict.met} of 6).**",
        "",
        "## Principles",
        "",
    ]
    out += [
        f"- **{c.new.principle.title}**: {status_word(c.old.status)} ({c.old.decided_by}) → "
        f"{status_word(c.new.status)} ({c.new.decided_by})"
        for c in diff.principles
    ] or ["No change."]
    out += ["", "## Design findings", ""]
    if diff.findings:
        out += ["| Change | Severity | Check | Where | Finding |", "|---|---|---|---|---|"]
        out += [
            f"| {c.kind} | {c.current.severity} | `{c.current.check}` | "
            f"{c.current.file}:{c.current.line} | "
            f"{md(' '.join([c.current.message, *c.before_after()]))} |"
            for c in diff.findings
        ]
    else:
        out.append("No change.")
    out += ["", "## Programme changes", ""]
    if diff.changes:
        out += ["| Change | What | Where |", "|---|---|---|"]
        out += [f"| {c.kind} | {md(c.what)} | {c.file}:{c.line} |" for c in diff.changes]
    else:
        out.append("No change.")
    return "\n".join(out) + "\n"
