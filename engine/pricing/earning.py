"""Points earned on a sale: base rate, overrides, exclusions, bonuses and caps.

All arithmetic is exact: rates are fractions, kept as integers over one common denominator
so a quote adds and rounds whole numbers only. Rounding happens once per line or once per
basket, as the programme says, and every bonus is rounded down.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from engine.pricing.points import Rounding, round_fraction, round_ratio

CUT_ORDER = ("campaign", "rule", "tier", "base")  # what caps remove first


@dataclass
class Earned:
    """Points earned on one sale, by where they come from."""

    base: int = 0
    tier_bonus: int = 0
    rule_bonus: dict[str, int] = field(default_factory=dict)
    campaign_bonus: dict[str, int] = field(default_factory=dict)
    capped: int = 0  # points removed by caps
    remainder: Fraction | None = None  # carried to the next sale (None: dropped)

    @property
    def total(self) -> int:
        return (
            self.base
            + self.tier_bonus
            + sum(self.rule_bonus.values())
            + sum(self.campaign_bonus.values())
        )


class Rates:
    """The ``earn`` section's rates, read once: a line's rate depends only on its category
    and SKU. Exclusions come first, then the first SKU override, then the first category
    override, else the base rate.

    Every rate is kept as a whole *weight* over one common ``denominator``, so a quote adds
    and rounds integers only.
    """

    def __init__(self, earn: Mapping[str, Any]) -> None:
        excluded = earn.get("exclude", {})
        self.excluded_categories = frozenset(excluded.get("categories", ()))
        self.excluded_skus = frozenset(excluded.get("skus", ()))
        base = Fraction(earn["points"]) / Fraction(earn["per"])
        by_sku: dict[str, Fraction] = {}
        by_category: dict[str, Fraction] = {}
        for override in earn.get("overrides", []):
            if "multiplier" in override:
                rate = base * Fraction(override["multiplier"])
            else:
                rate = Fraction(override["points"]) / Fraction(override.get("per", 1))
            if "sku" in override:
                by_sku.setdefault(override["sku"], rate)
            if "category" in override:
                by_category.setdefault(override["category"], rate)
        rates = [base, *by_sku.values(), *by_category.values()]
        self.denominator = math.lcm(*(rate.denominator for rate in rates))
        self.base_weight = self._weight(base)
        self.sku_weights = {sku: self._weight(rate) for sku, rate in by_sku.items()}
        self.category_weights = {cat: self._weight(rate) for cat, rate in by_category.items()}

    def _weight(self, rate: Fraction) -> int:
        return rate.numerator * (self.denominator // rate.denominator)

    def excluded(self, category: str, sku: str) -> bool:
        return category in self.excluded_categories or sku in self.excluded_skus

    def weight(self, category: str, sku: str) -> int:
        """The line's rate times ``denominator``: a whole number."""
        if self.excluded(category, sku):
            return 0
        found = self.sku_weights.get(sku)
        return self.category_weights.get(category, self.base_weight) if found is None else found

    def rate(self, category: str, sku: str) -> Fraction:
        """Points per currency unit for a line."""
        return Fraction(self.weight(category, sku), self.denominator)


def line_rate(earn: Mapping[str, Any], category: str, sku: str) -> Fraction:
    """Points per currency unit for a line: exclusions, then SKU, then category overrides."""
    return Rates(earn).rate(category, sku)


def base_points(
    weighted: Iterable[int], denominator: int, mode: Rounding, *, per_line: bool
) -> int:
    """Base points from each line's ``amount * weight``, all over ``denominator``: rounded
    once per line (``rounding_scope: line``) or once for the basket, by ``mode``."""
    if per_line:
        return sum(round_ratio(points, denominator, mode) for points in weighted)
    return round_ratio(sum(weighted), denominator, mode)


class Running:
    """A sale's points as multipliers add up, rounded where the programme says (``round_at``).

    ``parts`` are the exact base points over ``denominator``: one per line under
    ``rounding_scope: line``, else one for the basket. ``base`` is their rounded sum.
    Under ``round_at: base`` a multiplier adds (M - 1) times the rounded base, rounded down;
    under ``round_at: total`` the factors add up on the exact base and each multiplier adds
    what it changes in the rounded total, so the sale's points are rounded once.
    """

    def __init__(
        self,
        parts: Sequence[int],
        denominator: int,
        mode: Rounding,
        *,
        on_total: bool,
        carried: Fraction | None = None,
    ) -> None:
        self.parts = tuple(parts)
        self.denominator = denominator
        self.mode = mode
        self.on_total = on_total
        self.carried = carried
        self.remainder: Fraction | None = None
        if carried is None:
            self.base = sum(round_ratio(part, denominator, mode) for part in self.parts)
        else:  # earn.remainders: carry (floor, one basket): what is cut off is kept
            exact = self.exact_base + carried
            self.base = math.floor(exact)
            self.remainder = exact - self.base
        self.factor = Fraction(1)
        self.rounded = self.base

    @property
    def exact_base(self) -> Fraction:
        return Fraction(sum(self.parts), self.denominator)

    def bonus(self, numerator: int, denominator: int) -> int:
        """What a multiplier with M - 1 == numerator / denominator adds."""
        if not self.on_total:
            return self.base * numerator // denominator
        self.factor += Fraction(numerator, denominator)
        total = sum(
            round_fraction(Fraction(part, self.denominator) * self.factor, self.mode)
            for part in self.parts
        )
        added, self.rounded = total - self.rounded, total
        return added


def tender_factor(rates: Mapping[str, Decimal], tenders: Iterable[tuple[str, Decimal]]) -> Fraction:
    """The base points' multiplier for how a sale was paid (``earn.tenders``, proportional):
    each tender's rate (1 when its method is not listed) weighted by its share of all tenders.
    No tenders, or none with an amount, is x1."""
    paid = [(Fraction(amount), Fraction(rates.get(method, 1))) for method, amount in tenders]
    total = sum((amount for amount, _ in paid), Fraction(0))
    if not rates or total <= 0:
        return Fraction(1)
    return sum((amount * rate for amount, rate in paid), Fraction(0)) / total


def bonus_ratio(multiplier: Decimal | int) -> tuple[int, int]:
    """``multiplier - 1`` as (numerator, denominator), exactly: what a multiplier adds."""
    numerator, denominator = multiplier.as_integer_ratio()
    return numerator - denominator, denominator


def multiplier_bonus(base: int, multiplier: Decimal | int) -> int:
    """A multiplier M adds base * (M - 1), rounded down; multipliers add, never compound."""
    numerator, denominator = bonus_ratio(multiplier)
    return base * numerator // denominator


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
    # A tier multiplier below 1 makes the tier bonus negative: nothing to cut there.
    taken = min(max(getattr(earned, attribute), 0), excess)
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
