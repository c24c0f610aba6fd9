"""A validated programme as typed, frozen views, one per section, each read once.

Every default of the language is stated here, once (the schema says which keys may be
absent; this module says what their absence means). The rest of the engine reads these
views, never the raw YAML mapping: ``Programme.model`` builds them lazily, once per version.

Some views keep their validated section (``section``) for the few pricing and calendar
functions that compile a whole section themselves (``Rates``, ``expiry_on``): those read it
once, when an Evaluator is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from engine.calendar import PeriodKind, StatusRule, Through

_EMPTY: Mapping[str, Any] = MappingProxyType({})

QUALIFYING_PERIOD = "calendar_year"
QUALIFYING_METRIC = "spend"
STATUS_LASTS = "end_of_next_period"
STATUS_THROUGH = "day_before"
DOWNGRADE = "to_qualified"
BASKET_BONUSES = "keep_while_qualifies"  # on_return.basket_bonuses
ROUNDING = "floor"
ROUNDING_SCOPE = "basket"
MAX_BILL_PERCENT = 100
LOCALE = "en"


@dataclass(frozen=True, slots=True)
class Identity:
    """The ``programme:`` section: who the programme is, in which money and zone."""

    id: str
    name: str
    currency: str
    timezone: str
    locale: str
    pitch: str | None

    @classmethod
    def of(cls, meta: Mapping[str, Any]) -> Identity:
        return cls(
            id=str(meta["id"]),
            name=meta["name"],
            currency=meta["currency"],
            timezone=meta["timezone"],
            locale=meta.get("locale", LOCALE),
            pitch=meta.get("pitch"),
        )


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """The ``tiers:`` section (a programme without one has no levels)."""

    levels: tuple[Mapping[str, Any], ...]
    period: PeriodKind  # qualifying.period
    metric: str  # qualifying.metric
    status_lasts: StatusRule
    status_through: Through
    downgrade: str  # the word, from either form: one_level, or {to: one_level, grace_months: 3}

    @classmethod
    def of(cls, tiers: Mapping[str, Any]) -> TierPolicy:
        qualifying = tiers.get("qualifying", _EMPTY)
        return cls(
            levels=tuple(tiers.get("levels", ())),
            period=qualifying.get("period", QUALIFYING_PERIOD),
            metric=qualifying.get("metric", QUALIFYING_METRIC),
            status_lasts=tiers.get("status_lasts", STATUS_LASTS),
            status_through=tiers.get("status_through", STATUS_THROUGH),
            downgrade=_downgrade_word(tiers.get("downgrade", DOWNGRADE)),
        )

    @property
    def ids(self) -> list[str]:
        return [level["id"] for level in self.levels]


@dataclass(frozen=True, slots=True)
class EarnPolicy:
    """The ``earn:`` section: rates, rounding, caps and when points become spendable."""

    section: Mapping[str, Any]  # compiled by engine.pricing.earning (Rates, cap_limit)
    points: int
    per: Decimal
    rounding: str
    rounding_scope: str
    multipliers: Mapping[str, Any]
    excluded_categories: tuple[str, ...]
    excluded_skus: tuple[str, ...]
    caps: Mapping[str, Any]
    pending_days: int
    earn_on_points_paid: bool
    basket_bonuses: str  # on_return.basket_bonuses

    @classmethod
    def of(cls, earn: Mapping[str, Any]) -> EarnPolicy:
        excluded = earn.get("exclude", _EMPTY)
        return cls(
            section=earn,
            points=earn.get("points", 1),
            per=Decimal(str(earn.get("per", 1))),
            rounding=earn.get("rounding", ROUNDING),
            rounding_scope=earn.get("rounding_scope", ROUNDING_SCOPE),
            multipliers=earn.get("multipliers", _EMPTY),
            excluded_categories=tuple(excluded.get("categories", ())),
            excluded_skus=tuple(excluded.get("skus", ())),
            caps=earn.get("caps", _EMPTY),
            pending_days=earn.get("pending_days", 0),
            earn_on_points_paid=earn.get("earn_on_points_paid", False),
            basket_bonuses=earn.get("on_return", _EMPTY).get("basket_bonuses", BASKET_BONUSES),
        )

    @property
    def exclude(self) -> Mapping[str, Any]:
        """The ``exclude`` block as written (what a stored sale line was measured against)."""
        return self.section.get("exclude", _EMPTY)


@dataclass(frozen=True, slots=True)
class BurnPolicy:
    """The ``burn:`` section: what points are worth and the reward catalogue."""

    section: Mapping[str, Any]
    points: int
    worth: Decimal
    minimum: int
    step: int | None
    max_bill_percent: Decimal | int
    catalogue: tuple[Mapping[str, Any], ...]

    @classmethod
    def of(cls, burn: Mapping[str, Any]) -> BurnPolicy:
        return cls(
            section=burn,
            points=burn["points"],
            worth=Decimal(str(burn["worth"])),
            minimum=burn.get("minimum", 0),
            step=burn.get("step"),
            max_bill_percent=burn.get("max_bill_percent", MAX_BILL_PERCENT),
            catalogue=tuple(burn.get("catalogue", ())),
        )

    def reward(self, reward_id: str) -> Mapping[str, Any] | None:
        return next((r for r in self.catalogue if r["id"] == reward_id), None)


@dataclass(frozen=True, slots=True)
class ExpiryPolicy:
    """The ``expiry:`` section (absent: points never expire)."""

    section: Mapping[str, Any]  # compiled by engine.calendar (expiry_on, expiry_of)
    stated: bool  # the programme has an ``expiry:`` section
    inactivity_months: int | None
    clawback: str | None

    @classmethod
    def of(cls, expiry: Mapping[str, Any] | None) -> ExpiryPolicy:
        stated = expiry is not None
        expiry = expiry if expiry is not None else _EMPTY
        return cls(
            section=expiry,
            stated=stated,
            inactivity_months=expiry.get("inactivity", _EMPTY).get("months"),
            clawback=expiry.get("clawback"),
        )


@dataclass(frozen=True, slots=True)
class VoucherTerms:
    """Where and how long an issued voucher may be used."""

    expires_in_days: int | None  # None: no end
    channels: tuple[str, ...]  # empty: every channel

    @classmethod
    def of(cls, section: Mapping[str, Any]) -> VoucherTerms:
        return cls(section.get("expires_in_days"), tuple(section.get("channels", ())))


@dataclass(frozen=True, slots=True)
class Conversion:
    """One ``vouchers.conversions`` entry: each period, points become one voucher."""

    id: str
    every: str  # month quarter year
    step: int
    worth: Decimal
    minimum: int  # default: one step
    terms: VoucherTerms

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> Conversion:
        return cls(
            id=entry["id"],
            every=entry["every"],
            step=entry["step"],
            worth=Decimal(str(entry["worth"])),
            minimum=entry.get("minimum", entry["step"]),
            terms=VoucherTerms.of(entry),
        )


@dataclass(frozen=True, slots=True)
class Certificate:
    """``vouchers.certificate``: a yearly voucher worth a percent of the year's spend."""

    id: str
    percent: Decimal
    cap: Decimal | None
    minimum: Decimal  # default: 0.01, a certificate worth nothing is not issued
    days_after_renewal: int  # default 0: on the anniversary of joining
    terms: VoucherTerms

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> Certificate:
        cap = entry.get("cap")
        return cls(
            id=entry["id"],
            percent=Decimal(str(entry["percent"])),
            cap=Decimal(str(cap)) if cap is not None else None,
            minimum=Decimal(str(entry.get("minimum", "0.01"))),
            days_after_renewal=entry.get("days_after_renewal", 0),
            terms=VoucherTerms.of(entry),
        )


@dataclass(frozen=True, slots=True)
class VoucherPolicy:
    """The ``vouchers:`` section (absent: nothing is issued by schedule)."""

    conversions: tuple[Conversion, ...] = ()
    anniversary_percent: Decimal | None = None  # bonus points, % of the year's earned
    anniversary_cap: int | None = None
    certificate: Certificate | None = None

    @classmethod
    def of(cls, section: Mapping[str, Any]) -> VoucherPolicy:
        bonus = section.get("anniversary_bonus")
        certificate = section.get("certificate")
        return cls(
            conversions=tuple(Conversion.of(c) for c in section.get("conversions", ())),
            anniversary_percent=Decimal(str(bonus["percent"])) if bonus else None,
            anniversary_cap=bonus.get("cap") if bonus else None,
            certificate=Certificate.of(certificate) if certificate else None,
        )

    def conversion(self, conversion_id: str) -> Conversion | None:
        return next((c for c in self.conversions if c.id == conversion_id), None)


@dataclass(frozen=True, slots=True)
class ReviewNotes:
    """The ``review:`` section: claims and assumptions a reviewer reads."""

    claims: tuple[Any, ...]
    assumptions: Mapping[str, Any]
    theme: Any

    @classmethod
    def of(cls, review: Mapping[str, Any]) -> ReviewNotes:
        return cls(
            claims=tuple(review.get("claims", ())),
            assumptions=review.get("assumptions", _EMPTY),
            theme=review.get("theme"),
        )


@dataclass(frozen=True, slots=True)
class ProgrammeModel:
    """Every section of a validated programme, typed; rules, campaigns and outreach triggers
    stay the validated mappings the rule-tree compilers read."""

    identity: Identity
    tiers: TierPolicy
    earn: EarnPolicy
    burn: BurnPolicy | None  # None: members cannot redeem
    expiry: ExpiryPolicy
    rules: tuple[Mapping[str, Any], ...]
    campaigns: tuple[Mapping[str, Any], ...]
    outreach: tuple[Mapping[str, Any], ...]
    review: ReviewNotes
    vouchers: VoucherPolicy = VoucherPolicy()

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> ProgrammeModel:
        """The views of a validated document (read once; the document is not kept)."""
        burn = document.get("burn")
        return cls(
            identity=Identity.of(document["programme"]),
            tiers=TierPolicy.of(document.get("tiers", _EMPTY)),
            earn=EarnPolicy.of(document.get("earn", _EMPTY)),
            burn=BurnPolicy.of(burn) if burn is not None else None,
            expiry=ExpiryPolicy.of(document.get("expiry")),
            rules=tuple(document.get("rules", ())),
            campaigns=tuple(document.get("campaigns", ())),
            outreach=tuple(document.get("outreach", ())),
            review=ReviewNotes.of(document.get("review", _EMPTY)),
            vouchers=VoucherPolicy.of(document.get("vouchers", _EMPTY)),
        )

    def campaign(self, campaign_id: str) -> Mapping[str, Any] | None:
        return next((c for c in self.campaigns if c["id"] == campaign_id), None)

    def trigger(self, trigger_id: str) -> Mapping[str, Any] | None:
        return next((t for t in self.outreach if t["id"] == trigger_id), None)

    def with_campaigns(self, campaigns: tuple[Mapping[str, Any], ...]) -> ProgrammeModel:
        """The same programme with other campaigns (a draft estimated on its own)."""
        return replace(self, campaigns=campaigns)


ProgrammeLike = ProgrammeModel | Mapping[str, Any]


def model_of(programme: ProgrammeLike) -> ProgrammeModel:
    """A programme's views, given as views or (by tests and tools) as a validated mapping."""
    return programme if isinstance(programme, ProgrammeModel) else ProgrammeModel.of(programme)


def _downgrade_word(raw: str | Mapping[str, Any]) -> str:
    return str(raw if isinstance(raw, str) else raw["to"])
