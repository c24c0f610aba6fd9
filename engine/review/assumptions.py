"""The figures a review computes with: the proposal's own, or stated defaults.

Each default is named in the report, so nobody mistakes a default for the proposer's estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.review.model import Assumption

# The domain's worked example: 80% of points redeemed, 75% cost of goods (25% gross margin).
DEFAULT_REDEMPTION_RATE = Decimal(80)
DEFAULT_COST_OF_GOODS = Decimal(75)
# Between 0.5% and 5% of spend given back through points is the usual range for retail.
DEFAULT_RETURN_BAND = (Decimal("0.5"), Decimal(5))
DEFAULT_WORDS_PER_MINUTE = 150
DEFAULT_CHARACTERS_PER_MINUTE = 240


@dataclass(frozen=True)
class Assumptions:
    redemption_rate_percent: Decimal
    cost_of_goods_percent: Decimal
    return_band_percent: tuple[Decimal, Decimal]
    words_per_minute: int
    characters_per_minute: int
    stated: frozenset[str]

    def is_stated(self, name: str) -> bool:
        return name in self.stated

    def listed(self) -> tuple[Assumption, ...]:
        low, high = self.return_band_percent
        rows = (
            ("redemption_rate_percent", f"{_num(self.redemption_rate_percent)}%"),
            ("cost_of_goods_percent", f"{_num(self.cost_of_goods_percent)}%"),
            ("return_band_percent", f"{_num(low)}% to {_num(high)}%"),
            ("words_per_minute", str(self.words_per_minute)),
            ("characters_per_minute", str(self.characters_per_minute)),
        )
        return tuple(Assumption(name, value, name in self.stated) for name, value in rows)


def read_assumptions(doc: Mapping[str, Any]) -> Assumptions:
    return assumptions_of(doc.get("review", {}).get("assumptions", {}))


def assumptions_of(given: Mapping[str, Any]) -> Assumptions:
    """The ``review.assumptions`` mapping read, each missing one at its default."""
    rate = given.get("speaking_rate", {})
    stated = {k for k in given if k != "speaking_rate"} | set(rate)
    band = given.get("return_band_percent")
    return Assumptions(
        redemption_rate_percent=Decimal(
            given.get("redemption_rate_percent", DEFAULT_REDEMPTION_RATE)
        ),
        cost_of_goods_percent=Decimal(given.get("cost_of_goods_percent", DEFAULT_COST_OF_GOODS)),
        return_band_percent=_band(band) if band else DEFAULT_RETURN_BAND,
        words_per_minute=int(rate.get("words_per_minute", DEFAULT_WORDS_PER_MINUTE)),
        characters_per_minute=int(rate.get("characters_per_minute", DEFAULT_CHARACTERS_PER_MINUTE)),
        stated=frozenset(stated),
    )


def _band(band: list[Any]) -> tuple[Decimal, Decimal]:
    low, high = sorted(Decimal(b) for b in band)  # [2, 1] still means 1% to 2%
    return low, high


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"
