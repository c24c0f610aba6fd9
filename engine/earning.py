"""Points earned on a sale: base rate, overrides, exclusions, bonuses and caps.

All arithmetic is on exact fractions; rounding happens once per line or once
per basket, as the programme says, and every bonus is rounded down.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from engine.points import round_fraction

CUT_ORDER = ("campaign", "rule", "tier", "base")  # what caps remove first


@dataclass
class Earned:
    """Points earned on one sale, by where they come from."""

    base: int = 0
    tier_bonus: int = 0
    rule_bonus: dict[str, int] = field(default_factory=dict)
    campaign_bonus: dict[str, int] = field(default_factory=dict)
    capped: int = 0  # points removed by caps

    @property
    def total(self) -> int:
        return (
            self.base
            + self.tier_bonus
            + sum(self.rule_bonus.values())
            + sum(self.campaign_bonus.values())
        )


def line_rate(earn: Mapping[str, Any], category: str, sku: str) -> Fraction:
    """Points per currency unit for a line: exclusions, then SKU, then category overrides."""
    excluded = earn.get("exclude", {})
    if category in excluded.get("categories", ()) or sku in excluded.get("skus", ()):
        return Fraction(0)
    base = Fraction(earn["points"]) / Fraction(earn["per"])
    overrides = earn.get("overrides", [])
    chosen = next((o for o in overrides if o.get("sku") == sku), None) or next(
        (o for o in overrides if "category" in o and o["category"] == category), None
    )
    if chosen is None:
        return base
    if "multiplier" in chosen:
        return base * Fraction(chosen["multiplier"])
    return Fraction(chosen["points"]) / Fraction(chosen.get("per", 1))


def base_points(earn: Mapping[str, Any], exact_per_line: Sequence[Fraction]) -> int:
    """Round once per line or once for the basket (``rounding_scope``), floor by default."""
    mode = earn.get("rounding", "floor")
    if earn.get("rounding_scope", "basket") == "line":
        return sum(round_fraction(points, mode) for points in exact_per_line)
    return round_fraction(sum(exact_per_line, Fraction(0)), mode)


def multiplier_bonus(base: int, multiplier: Decimal | int) -> int:
    """A multiplier M adds base * (M - 1), rounded down; multipliers add, never compound."""
    return math.floor(Fraction(base) * (Fraction(multiplier) - 1))


def apply_caps(earned: Earned, limit: int | None) -> None:
    """Cut points above ``limit``: campaign bonuses first, then rules, tier, base."""
    if limit is None or earned.total <= limit:
        return
    excess = earned.total - max(limit, 0)
    earned.capped = excess
    for source in CUT_ORDER:
        excess = _cut(earned, source, excess)
        if excess == 0:
            return


def _cut(earned: Earned, source: str, excess: int) -> int:
    if source in ("campaign", "rule"):
        bonuses = earned.campaign_bonus if source == "campaign" else earned.rule_bonus
        for key in reversed(list(bonuses)):
            taken = min(bonuses[key], excess)
            bonuses[key] -= taken
            excess -= taken
        return excess
    attribute = "tier_bonus" if source == "tier" else "base"
    taken = min(getattr(earned, attribute), excess)
    setattr(earned, attribute, getattr(earned, attribute) - taken)
    return excess - taken


def cap_limit(earn: Mapping[str, Any], earned_in_period: Mapping[str, int]) -> int | None:
    """The most points this sale may still earn under per-transaction and per-period caps."""
    caps = earn.get("caps", {})
    limits = []
    if "per_transaction" in caps:
        limits.append(caps["per_transaction"])
    if "per_period" in caps:
        period = caps["per_period"]
        limits.append(max(period["points"] - earned_in_period.get(period["period"], 0), 0))
    return min(limits) if limits else None
