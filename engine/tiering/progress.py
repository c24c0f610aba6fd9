"""A sale's tier progress, as the quote shows it: the tier after the sale and the closest
path to the next level ("3 nights to Gold"). A sale never downgrades."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.tiering.model import TierModel
from engine.tiering.requirements import Path, Totals, gap
from engine.tiering.status import qualified


@dataclass(frozen=True)
class Progress:
    tier_before: str | None
    tier_after: str
    totals_after: dict[str, Decimal]
    next_tier: str | None
    path: Path  # what is still needed for ``next_tier``; empty when there is none

    @property
    def upgraded(self) -> bool:
        return self.tier_after != self.tier_before


def progress(model: TierModel, held: str | None, before: Totals, added: Totals) -> Progress:
    """Where a member holding ``held`` with window totals ``before`` stands after ``added``."""
    after = {m: before.get(m, Decimal(0)) + added.get(m, Decimal(0)) for m in model.metrics}
    held_rank = model.level(held).rank if held in model.order else 0
    rank = max(qualified(model, held, after)[0].rank, held_rank)
    upcoming = [(lv.id, lv.requires) for lv in model.levels[rank + 1 :] if lv.requires is not None]
    if not upcoming:
        return Progress(held, model.levels[rank].id, after, None, ())
    next_id, requires = upcoming[0]
    return Progress(held, model.levels[rank].id, after, next_id, gap(requires, after))
