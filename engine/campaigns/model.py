"""A programme's campaigns as the campaign tools read them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from engine.calendar import zone
from engine.errors import InputError, UnknownError
from engine.money import Currency, currency
from engine.pricing.offers import DEFAULT_PRIORITY, compile_offers

# The domain's worked example, used when the programme's review states no assumptions.
DEFAULT_REDEMPTION_RATE = Decimal("0.8")
DEFAULT_COST_RATIO = Decimal("0.75")


@dataclass(frozen=True)
class Context:
    """What every campaign tool needs of a programme: its id, document, zone and currency."""

    programme: str
    document: Mapping[str, Any]
    tz: ZoneInfo
    currency: Currency

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> Context:
        meta = document["programme"]
        return cls(meta["id"], document, zone(meta["timezone"]), currency(meta["currency"]))

    def campaign(self, campaign_id: str) -> Mapping[str, Any]:
        for found in self.document.get("campaigns", []):
            if found["id"] == campaign_id:
                return found
        raise UnknownError(f"no campaign '{campaign_id}' in programme '{self.programme}'")

    def downpour(self, campaign_id: str) -> Mapping[str, Any]:
        found = self.campaign(campaign_id)
        if found["kind"] != "downpour":
            raise InputError(
                f"campaign '{campaign_id}' is a {found['kind']} campaign: only downpour "
                "campaigns have groups, a holdout and a frozen assignment"
            )
        return found

    def tiers(self) -> list[str]:
        return [level["id"] for level in self.document.get("tiers", {}).get("levels", [])]

    def burn(self) -> tuple[int, Decimal]:
        """Points and what they are worth (100 points = 1.00 → (100, Decimal('1.00')))."""
        burn = self.document.get("burn", {})
        return int(burn.get("points", 100)), Decimal(str(burn.get("worth", 1)))

    def assumptions(self) -> tuple[Decimal, Decimal]:
        """Redemption rate and cost-of-goods ratio as fractions (review.assumptions or 80%/75%)."""
        given = self.document.get("review", {}).get("assumptions", {})
        rate = given.get("redemption_rate_percent")
        cost = given.get("cost_of_goods_percent")
        return (
            DEFAULT_REDEMPTION_RATE if rate is None else Decimal(str(rate)) / 100,
            DEFAULT_COST_RATIO if cost is None else Decimal(str(cost)) / 100,
        )


def groups_by_priority(campaign: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A downpour campaign's groups in assignment order: lowest priority first, then file order."""
    indexed = enumerate(campaign.get("groups", []))
    ordered = sorted(indexed, key=lambda pair: (pair[1].get("priority", DEFAULT_PRIORITY), pair[0]))
    return [group for _, group in ordered]


def campaign_window(campaign: Mapping[str, Any], tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The campaign's first and last instant, read exactly as the engine reads it."""
    offer = compile_offers({"campaigns": [campaign]}, tz)[0]
    assert offer.window is not None  # the schema requires a window
    return offer.window
