"""Tier progression on a sale: an upgrade happens the moment a threshold is crossed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Progress:
    """Where the member stands after the sale."""

    tier_before: str | None
    tier_after: str | None
    qualifying_before: Decimal
    qualifying_after: Decimal
    next_tier: str | None
    next_threshold: Decimal | None

    @property
    def upgraded(self) -> bool:
        return self.tier_after != self.tier_before

    @property
    def remaining(self) -> Decimal | None:
        if self.next_threshold is None:
            return None
        return max(self.next_threshold - self.qualifying_after, Decimal(0))


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
