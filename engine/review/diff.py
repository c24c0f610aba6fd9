"""What changed between two versions of a proposal: the verdict, the principles, the
findings, and the sections and items (rules, campaigns, tiers… by id) behind them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.policy.loader import Programme
from engine.policy.problems import Path, render_path
from engine.review.model import Finding, PrincipleResult, Review, locate

# Lists whose items have ids: compared item by item, so a report says "rule 'x' changed"
# instead of "rules changed".
KEYED: dict[Path, str] = {
    ("rules",): "rule",
    ("campaigns",): "campaign",
    ("outreach",): "outreach trigger",
    ("tiers", "levels"): "tier level",
    ("burn", "catalogue"): "reward",
}
# Mappings compared field by field below the top level ("earn.per changed").
DEEPER: tuple[Path, ...] = (("review", "claims"),)
_MISSING = object()

ChangeKind = Literal["added", "removed", "changed"]
FindingChangeKind = Literal["new", "resolved", "changed", "gone"]


@dataclass(frozen=True)
class Change:
    """A section, field or item that differs between the two versions."""

    kind: ChangeKind
    what: str
    path: str
    file: str | None
    line: int | None

    def as_record(self) -> dict[str, object]:
        return {
            "change": self.kind,
            "what": self.what,
            "path": self.path,
            "file": self.file,
            "line": self.line,
        }


@dataclass(frozen=True)
class PrincipleChange:
    old: PrincipleResult
    new: PrincipleResult

    def as_record(self) -> dict[str, object]:
        return {
            "principle": self.new.key,
            "title": self.new.principle.title,
            "old": {"status": self.old.status, "decided_by": self.old.decided_by},
            "new": {"status": self.new.status, "decided_by": self.new.decided_by},
        }


@dataclass(frozen=True)
class FindingChange:
    kind: FindingChangeKind
    old: Finding | None
    new: Finding | None

    @property
    def current(self) -> Finding:
        found = self.new if self.kind not in ("resolved", "gone") else self.old
        assert found is not None
        return found

    @property
    def values(self) -> list[tuple[str, str | None, str | None]]:
        """(what, old, new) for each measured figure, and the severity, that differs."""
        old = self.old.measured if self.old else {}
        new = self.new.measured if self.new else {}
        found = [(k, old.get(k), new.get(k)) for k in dict.fromkeys([*old, *new])]
        shown = [(k, a, b) for k, a, b in found if a != b]
        if self.old and self.new and self.old.severity != self.new.severity:
            shown.insert(0, ("severity", self.old.severity, self.new.severity))
        return shown

    def before_after(self) -> list[str]:
        """What a changed finding was and is: the old message, then each figure old -> new."""
        if self.kind == "gone":
            return ["(what it was about is no longer in the proposal: not a fix)"]
        parts = []
        if self.old and self.new and self.old.message != self.new.message:
            earlier = self.kind != "resolved"  # a resolved finding is shown as it was
            parts.append(f"was: {self.old.message}" if earlier else f"now: {self.new.message}")
        parts += [f"{what}: {old or '-'} -> {new or '-'}" for what, old, new in self.values]
        return parts

    def as_record(self) -> dict[str, object]:
        return {
            "change": self.kind,
            "values": [{"what": k, "old": a, "new": b} for k, a, b in self.values],
            "old": self.old.as_record() if self.old else None,
            "new": self.new.as_record() if self.new else None,
        }


@dataclass(frozen=True)
class ReviewDiff:
    old: Review
    new: Review
    principles: tuple[PrincipleChange, ...]
    findings: tuple[FindingChange, ...]
    changes: tuple[Change, ...]

    @property
    def verdict_changed(self) -> bool:
        return self.old.verdict != self.new.verdict

    def as_record(self) -> dict[str, object]:
        return {
            "old": {"file": self.old.file, "version": self.old.version, **_verdict(self.old)},
            "new": {"file": self.new.file, "version": self.new.version, **_verdict(self.new)},
            "verdict_changed": self.verdict_changed,
            "principles": [p.as_record() for p in self.principles],
            "findings": [f.as_record() for f in self.findings],
            "changes": [c.as_record() for c in self.changes],
            "new_review": self.new.as_record(),
        }


def _verdict(review: Review) -> dict[str, object]:
    return review.verdict.as_record()


def diff_reviews(
    old: Programme, old_review: Review, new: Programme, new_review: Review
) -> ReviewDiff:
    """Compare two reviewed versions of a proposal."""
    principles = tuple(
        PrincipleChange(a, b)
        for a, b in zip(old_review.principles, new_review.principles, strict=True)
        if (a.status, a.decided_by) != (b.status, b.decided_by)
    )
    return ReviewDiff(
        old_review,
        new_review,
        principles,
        tuple(_finding_changes(old_review.findings, new_review.findings)),
        tuple(_compare((), old.document, new.document, old, new)),
    )


def _matters(finding: Finding | None) -> bool:
    return finding is not None and finding.severity != "ok"


def _keyed_findings(findings: tuple[Finding, ...]) -> dict[tuple[str, str, int], Finding]:
    """Findings by (check, path, n): two findings of one check on one path stay apart."""
    seen: Counter[tuple[str, str]] = Counter()
    keyed = {}
    for finding in findings:
        keyed[(*finding.key, seen[finding.key])] = finding
        seen[finding.key] += 1
    return keyed


def _finding_changes(old: tuple[Finding, ...], new: tuple[Finding, ...]) -> Iterator[FindingChange]:
    """A finding is "resolved" only when the new version ran the same check and it passed
    (shown beside the old finding); one whose check found nothing to measure any more is
    "gone" (its subject was removed: nothing was fixed); one that moved to another path
    under the same check is "changed"."""
    before, after = _keyed_findings(old), _keyed_findings(new)
    lost = [k for k in before if _matters(before[k]) and k not in after]
    appeared = [k for k in after if _matters(after[k]) and k not in before]
    moved = _pair_moved(lost, appeared)
    for key in dict.fromkeys([*before, *after]):
        a, b = before.get(key), after.get(key)
        if key in moved:
            yield FindingChange("changed", a, after[moved[key]])
        elif key in moved.values():
            continue
        elif _matters(a) and b is None:
            passed = next((f for f in new if f.check == key[0] and not _matters(f)), None)
            yield FindingChange("resolved" if passed else "gone", a, passed)
        elif _matters(a) and not _matters(b):
            yield FindingChange("resolved", a, b)
        elif _matters(b) and not _matters(a):
            yield FindingChange("new", a, b)
        elif a and b and _matters(b) and (a.severity, a.message) != (b.severity, b.message):
            yield FindingChange("changed", a, b)


def _pair_moved(
    lost: list[tuple[str, str, int]], appeared: list[tuple[str, str, int]]
) -> dict[tuple[str, str, int], tuple[str, str, int]]:
    """Pair a lost finding with a new one of the same check: the problem moved, not went."""
    pairs = {}
    free = list(appeared)
    for key in lost:
        match = next((k for k in free if k[0] == key[0]), None)
        if match is not None:
            pairs[key] = match
            free.remove(match)
    return pairs


def _compare(
    path: Path, old: Any, new: Any, before: Programme, after: Programme
) -> Iterator[Change]:
    if old == new:
        return
    if path in KEYED and (isinstance(old, list) or isinstance(new, list)):
        # A list that is missing on one side (no campaigns yet) is an empty list there.
        old_items = old if isinstance(old, list) else []
        new_items = new if isinstance(new, list) else []
        yield from _keyed(path, old_items, new_items, before, after)
    elif isinstance(old, Mapping) and isinstance(new, Mapping) and _descend(path):
        for key in dict.fromkeys([*old, *new]):
            yield from _compare(
                (*path, key), old.get(key, _MISSING), new.get(key, _MISSING), before, after
            )
    else:
        yield _change(path, render_path(path), old, new, before, after)


def _descend(path: Path) -> bool:
    return len(path) < 2 or path in DEEPER


def _keyed(
    path: Path, old: list[Any], new: list[Any], before: Programme, after: Programme
) -> Iterator[Change]:
    noun = KEYED[path]
    old_ids = {item.get("id"): (i, item) for i, item in enumerate(old)}
    new_ids = {item.get("id"): (i, item) for i, item in enumerate(new)}
    for ident in dict.fromkeys([*new_ids, *old_ids]):
        a, b = old_ids.get(ident), new_ids.get(ident)
        if a and b and a[1] == b[1]:
            continue
        index = b[0] if b else a[0] if a else 0
        yield _change(
            (*path, index),
            f"{noun} '{ident}'",
            a[1] if a else _MISSING,
            b[1] if b else _MISSING,
            before,
            after,
            old_path=(*path, a[0]) if a else None,
        )


def _change(
    path: Path,
    what: str,
    old: Any,
    new: Any,
    before: Programme,
    after: Programme,
    old_path: Path | None = None,
) -> Change:
    kind: ChangeKind = "added" if old is _MISSING else "removed" if new is _MISSING else "changed"
    # A removed item is shown where it was in the old version.
    source, at = (before, old_path or path) if kind == "removed" else (after, path)
    where = locate(source.positions, at)
    return Change(
        kind,
        what,
        render_path(path),
        where.file if where else None,
        where.line if where else None,
    )
