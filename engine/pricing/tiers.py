"""Tier progression on a sale: an upgrade happens the moment a threshold is crossed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.tiering import progress as tier_progress
from engine.tiering.model import TierModel
from engine.tiering.quantities import LineFigures, Stay, contribution
from engine.tiering.requirements import Path

# The "line" a sale's per-transaction quantities and its stays are kept under (a return takes
# them back only with the last of the sale's lines).
WHOLE_SALE = ""


@dataclass(frozen=True)
class Progress:
    """Where the member stands after the sale."""

    tier_before: str | None
    tier_after: str | None
    qualifying_before: Decimal
    qualifying_after: Decimal
    next_tier: str | None
    next_threshold: Decimal | None
    # Programmes declaring ``tiers.metrics``: what is still needed for ``next_tier`` (the
    # closest path), the window totals after the sale, and what the sale adds per metric and
    # per line (``WHOLE_SALE`` for per-transaction quantities and stays).
    path: Path | None = None
    totals_after: Mapping[str, Decimal] | None = None
    added_by_line: Mapping[str, Mapping[str, Decimal]] | None = None

    @property
    def upgraded(self) -> bool:
        return self.tier_after != self.tier_before

    @property
    def remaining(self) -> Decimal | None:
        if self.path is not None:
            # One metric left to meet: its remainder; a combined shortfall has no one number.
            return self.path[0].remaining if len(self.path) == 1 else None
        if self.next_threshold is None:
            return None
        return max(self.next_threshold - self.qualifying_after, Decimal(0))

    @property
    def added(self) -> dict[str, Decimal]:
        """What the sale adds to each metric (all lines)."""
        total: dict[str, Decimal] = {}
        for amounts in (self.added_by_line or {}).values():
            for metric, amount in amounts.items():
                total[metric] = total.get(metric, Decimal(0)) + amount
        return total


def metric_json(progress: Progress) -> dict[str, Any]:
    """The metric side of progress as JSON (the quote's ``tier`` and the member view's):
    amounts are counts, not money, so exact and without trailing zeros; {} for programmes
    on today's spend ladder."""
    if progress.path is None:
        return {}
    remaining, threshold = progress.remaining, progress.next_threshold
    return {
        "remaining_to_next": amount_text(remaining) if remaining is not None else None,
        "next_threshold": amount_text(threshold) if threshold is not None else None,
        "totals": {m: amount_text(v) for m, v in (progress.totals_after or {}).items()},
        "path": [
            {
                "metric": s.metric,
                "remaining": amount_text(s.remaining),
                "at_least": amount_text(s.at_least),
            }
            for s in progress.path
        ],
    }


def amount_text(value: Decimal) -> str:
    """A metric amount as exact text without trailing zeros ("3", "1.5", "40000")."""
    return f"{value.normalize():f}"


def metric_progress(
    model: TierModel,
    tier_before: str | None,
    totals: Mapping[str, Decimal],
    sale: Mapping[str, Any],
    figures: Mapping[str, LineFigures],
    qualifying: tuple[Decimal, Decimal],
    earlier: Sequence[Stay] = (),
) -> Progress:
    """Progress by the declared metrics: each metric's contribution per line, then the tier
    the window totals reach and the closest path to the next level."""
    by_line = added_by_line(model, sale, figures, earlier)
    added = {
        m: sum((a.get(m, Decimal(0)) for a in by_line.values()), Decimal(0)) for m in model.metrics
    }
    result = tier_progress.progress(model, tier_before, totals, added)
    path = result.path
    threshold = path[0].at_least if len(path) == 1 else None
    return Progress(
        tier_before,
        result.tier_after,
        qualifying[0],
        qualifying[1],
        result.next_tier,
        threshold,
        path=path,
        totals_after=result.totals_after,
        added_by_line=by_line,
    )


def added_by_line(
    model: TierModel,
    sale: Mapping[str, Any],
    figures: Mapping[str, LineFigures],
    earlier: Sequence[Stay] = (),
) -> dict[str, dict[str, Decimal]]:
    """Each line's contribution to per-line metrics; stays and per-transaction quantities
    under ``WHOLE_SALE`` (a stay may span two folios, so it belongs to the sale)."""
    result: dict[str, dict[str, Decimal]] = {}
    for metric in model.metrics.values():
        if metric.kind == "stays" or metric.per == "transaction" or metric.legacy:
            amount = contribution(metric, sale, figures, earlier)
            if amount:
                result.setdefault(WHOLE_SALE, {})[metric.id] = amount
            continue
        for line in sale.get("lines", ()):
            amount = contribution(metric, {**sale, "lines": [line]}, figures)
            if amount:
                result.setdefault(line["id"], {})[metric.id] = amount
    return result


def thresholds(
    levels: Sequence[Mapping[str, Any]], resolved: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """Amount thresholds by tier: stated amounts, or top-percent ones resolved at review."""
    known: dict[str, Decimal] = {}
    for level in levels[1:]:
        threshold = level.get("threshold", {})
        if "amount" in threshold:
            known[level["id"]] = Decimal(threshold["amount"])
        elif level["id"] in resolved:
            known[level["id"]] = max(Decimal(resolved[level["id"]]), Decimal(level.get("floor", 0)))
    return known


def progress(
    levels: Sequence[Mapping[str, Any]],
    amounts: Mapping[str, Decimal],
    tier_before: str | None,
    qualifying_before: Decimal,
    increment: Decimal,
) -> Progress:
    """The tier after adding ``increment`` to qualifying spend; a sale never downgrades."""
    return Ladder(levels, amounts).progress(tier_before, qualifying_before, increment)


class Ladder:
    """The tiers in order with their amount thresholds, read once for many sales."""

    def __init__(self, levels: Sequence[Mapping[str, Any]], amounts: Mapping[str, Decimal]) -> None:
        self.order = [level["id"] for level in levels]
        # A tier's rank is its first position, as list.index would say.
        self.rank: dict[str | None, int] = {
            tier: index for index, tier in reversed(list(enumerate(self.order)))
        }
        self.amounts = amounts

    def progress(
        self, tier_before: str | None, qualifying_before: Decimal, increment: Decimal
    ) -> Progress:
        """The tier after adding ``increment`` to qualifying spend; a sale never downgrades."""
        order, amounts = self.order, self.amounts
        after = qualifying_before + increment
        current = tier_before if tier_before in self.rank else (order[0] if order else None)
        rank = self.rank.get(current, -1)
        for index in range(rank + 1, len(order)):
            tier = order[index]
            if tier in amounts and after >= amounts[tier]:
                current, rank = tier, index
        next_tier = next((t for t in order[rank + 1 :] if t in amounts), None)
        return Progress(
            tier_before,
            current,
            qualifying_before,
            after,
            next_tier,
            amounts[next_tier] if next_tier else None,
        )
