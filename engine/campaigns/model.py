"""A programme's campaigns as the campaign tools read them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from engine.calendar import zone
from engine.errors import InputError, UnknownError
from engine.money import Currency, currency
from engine.policy.model import ProgrammeLike, ProgrammeModel, model_of
from engine.pricing.offers import DEFAULT_PRIORITY, compile_offers

# The domain's worked example, used when the programme's review states no assumptions.
DEFAULT_REDEMPTION_RATE = Decimal("0.8")
DEFAULT_COST_RATIO = Decimal("0.75")


@dataclass(frozen=True)
class Context:
    """What every campaign tool needs of a programme: its id, views, zone and currency."""

    programme: str
    model: ProgrammeModel
    tz: ZoneInfo
    currency: Currency
    source: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, programme: ProgrammeLike) -> Context:
        """The context of a programme's views, or of a validated mapping (tests, benchmarks)."""
        model = model_of(programme)
        meta = model.identity
        source = None if isinstance(programme, ProgrammeModel) else programme
        return cls(meta.id, model, zone(meta.timezone), currency(meta.currency), source)

    @property
    def document(self) -> Mapping[str, Any]:
        """The mapping this context was made from, for tests that read or vary it."""
        if self.source is None:
            raise TypeError("this context was made from a programme's views, not a mapping")
        return self.source

    def campaign(self, campaign_id: str) -> Mapping[str, Any]:
        for found in self.model.campaigns:
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
        return self.model.tiers.ids

    def burn(self) -> tuple[int, Decimal]:
        """Points and what they are worth (100 points = 1.00 → (100, Decimal('1.00')))."""
        burn = self.model.burn
        if burn is None:  # no redemption: the worked example's 100 points = 1.00
            return 100, Decimal(1)
        return int(burn.points), burn.worth

    def assumptions(self) -> tuple[Decimal, Decimal]:
        """Redemption rate and cost-of-goods ratio as fractions (review.assumptions or 80%/75%)."""
        given = self.model.review.assumptions
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
    offer = compile_offers((), [campaign], tz)[0]
    assert offer.window is not None  # the schema requires a window
    return offer.window
