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
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from engine.calendar import InactivityLapse, PeriodKind, StatusRule, Through
from engine.tiering.model import TierModel
from engine.tiering.model import parse as parse_tiers

_EMPTY: Mapping[str, Any] = MappingProxyType({})

QUALIFYING_PERIOD = "calendar_year"
QUALIFYING_METRIC = "spend"
STATUS_LASTS = "end_of_next_period"
STATUS_THROUGH = "day_before"
DOWNGRADE = "to_qualified"
BASKET_BONUSES = "keep_while_qualifies"  # on_return.basket_bonuses
ROUNDING = "floor"
ROUNDING_SCOPE = "basket"
REMAINDERS = "drop"  # the fraction rounding cuts off is lost (carry: kept for the next sale)
ROUND_AT = "base"  # round the base, then multiply (the behaviour before round_at existed)
MAX_BILL_PERCENT = 100
TENDER_PRORATION = "proportional"
LOCALE = "en"
# What resets inactivity when the programme does not say: every activity the ledger records
# (the ledger's own choice before expiry.inactivity.reset_by existed).
INACTIVITY_RESETS = ("purchase", "return", "redemption", "adjustment", "merge")
INACTIVITY_LAPSE = "same_day"


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
    # The tier language's model (metrics, windows, requirements), parsed once; None without levels.
    tiering: TierModel | None = None
    # Whether the programme declares ``tiers.metrics`` (the extended language): the quote and
    # the ledger then count per-metric window totals; today's programmes keep their spend path.
    counts_metrics: bool = False

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
            tiering=parse_tiers(tiers) if tiers.get("levels") else None,
            counts_metrics=bool(tiers.get("metrics")),
        )

    @property
    def ids(self) -> list[str]:
        return [level["id"] for level in self.levels]


@dataclass(frozen=True, slots=True)
class DatedRate:
    """One entry of ``earn.schedule``: the base rate times ``multiplier`` from one day through
    another, both inclusive (an open end: always)."""

    effective_from: date | None
    effective_until: date | None
    multiplier: Decimal

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> DatedRate:
        start, end = entry.get("effective_from"), entry.get("effective_until")
        return cls(
            effective_from=date.fromisoformat(str(start)) if start is not None else None,
            effective_until=date.fromisoformat(str(end)) if end is not None else None,
            multiplier=Decimal(str(entry["multiplier"])),
        )

    def in_force(self, day: date) -> bool:
        after_start = self.effective_from is None or self.effective_from <= day
        return after_start and (self.effective_until is None or day <= self.effective_until)

    @property
    def span(self) -> str:
        start = self.effective_from.isoformat() if self.effective_from else "the start"
        end = self.effective_until.isoformat() if self.effective_until else "further notice"
        return f"{start} to {end}"


@dataclass(frozen=True, slots=True)
class EarnPolicy:
    """The ``earn:`` section: rates, rounding, caps and when points become spendable."""

    section: Mapping[str, Any]  # compiled by engine.pricing.earning (Rates, cap_limit)
    points: int
    per: Decimal
    rounding: str
    rounding_scope: str
    round_at: str  # "base": multipliers act on the rounded base; "total": on the exact base
    remainders: str  # "drop" or "carry" to the member's next sale
    multipliers: Mapping[str, Any]
    excluded_categories: tuple[str, ...]
    excluded_skus: tuple[str, ...]
    caps: Mapping[str, Any]
    pending_days: int
    earn_on_points_paid: bool
    basket_bonuses: str  # on_return.basket_bonuses
    cap_period: str | None  # caps.per_period.period
    cap_resets_on: date | None  # caps.per_period.resets_on (its month and day), for ``year``
    schedule: tuple[DatedRate, ...]  # schedule: dated multipliers of the base rate
    tender_rates: Mapping[str, Decimal]  # tenders.rates: method → multiplier (absent: x1)
    tender_proration: str  # tenders.proration

    @classmethod
    def of(cls, earn: Mapping[str, Any]) -> EarnPolicy:
        excluded = earn.get("exclude", _EMPTY)
        tenders = earn.get("tenders", _EMPTY)
        return cls(
            section=earn,
            points=earn.get("points", 1),
            per=Decimal(str(earn.get("per", 1))),
            rounding=earn.get("rounding", ROUNDING),
            rounding_scope=earn.get("rounding_scope", ROUNDING_SCOPE),
            round_at=earn.get("round_at", ROUND_AT),
            remainders=earn.get("remainders", REMAINDERS),
            multipliers=earn.get("multipliers", _EMPTY),
            excluded_categories=tuple(excluded.get("categories", ())),
            excluded_skus=tuple(excluded.get("skus", ())),
            caps=earn.get("caps", _EMPTY),
            pending_days=earn.get("pending_days", 0),
            earn_on_points_paid=earn.get("earn_on_points_paid", False),
            basket_bonuses=earn.get("on_return", _EMPTY).get("basket_bonuses", BASKET_BONUSES),
            cap_period=earn.get("caps", _EMPTY).get("per_period", _EMPTY).get("period"),
            cap_resets_on=_month_day(earn.get("caps", _EMPTY).get("per_period", _EMPTY)),
            schedule=tuple(DatedRate.of(entry) for entry in earn.get("schedule", ())),
            tender_rates=MappingProxyType(
                {m: Decimal(str(rate)) for m, rate in tenders.get("rates", _EMPTY).items()}
            ),
            tender_proration=tenders.get("proration", TENDER_PRORATION),
        )

    @property
    def exclude(self) -> Mapping[str, Any]:
        """The ``exclude`` block as written (what a stored sale line was measured against)."""
        return self.section.get("exclude", _EMPTY)


@dataclass(frozen=True, slots=True)
class PointValue:
    """One entry of ``burn.values``: points worth ``multiplier`` times ``worth`` when redeemed
    in one of ``channels`` (any, if empty) on a day ``dated`` holds."""

    channels: tuple[str, ...]
    dated: DatedRate

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> PointValue:
        return cls(tuple(entry.get("channels", ())), DatedRate.of(entry))

    def holds(self, channel: str, day: date) -> bool:
        return (not self.channels or channel in self.channels) and self.dated.in_force(day)


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
    min_basket: Decimal | None  # min_basket: the smallest bill points may pay
    values: tuple[PointValue, ...]  # values: worth by channel and date

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
            min_basket=Decimal(str(burn["min_basket"])) if "min_basket" in burn else None,
            values=tuple(PointValue.of(entry) for entry in burn.get("values", ())),
        )

    def value_on(self, channel: str, day: date) -> PointValue | None:
        """The first ``values`` entry holding for a redemption in ``channel`` on ``day``."""
        return next((v for v in self.values if v.holds(channel, day)), None)

    def reward(self, reward_id: str) -> Mapping[str, Any] | None:
        return next((r for r in self.catalogue if r["id"] == reward_id), None)


@dataclass(frozen=True, slots=True)
class ExpiryPolicy:
    """The ``expiry:`` section (absent: points never expire)."""

    section: Mapping[str, Any]  # compiled by engine.calendar (expiry_on, expiry_of)
    stated: bool  # the programme has an ``expiry:`` section
    inactivity_months: int | None
    clawback: str | None
    inactivity_resets: tuple[str, ...]  # inactivity.reset_by
    inactivity_lapse: InactivityLapse  # inactivity.lapse
    exempt_tags: Mapping[str, tuple[str, ...]]  # inactivity.exempt.tags
    exempt_tiers: tuple[str, ...]  # inactivity.exempt.tiers

    @classmethod
    def of(cls, expiry: Mapping[str, Any] | None) -> ExpiryPolicy:
        stated = expiry is not None
        expiry = expiry if expiry is not None else _EMPTY
        inactivity = expiry.get("inactivity", _EMPTY)
        exempt = inactivity.get("exempt", _EMPTY)
        return cls(
            section=expiry,
            stated=stated,
            inactivity_months=inactivity.get("months"),
            clawback=expiry.get("clawback"),
            inactivity_resets=tuple(inactivity.get("reset_by", INACTIVITY_RESETS)),
            inactivity_lapse=inactivity.get("lapse", INACTIVITY_LAPSE),
            exempt_tags=MappingProxyType(
                {tag: _strings(values) for tag, values in exempt.get("tags", _EMPTY).items()}
            ),
            exempt_tiers=tuple(exempt.get("tiers", ())),
        )

    def exempt(self, tier: str | None, tags: Mapping[str, Any]) -> bool:
        """Whether a member with this tier and these tags never lapses for inactivity."""
        if tier is not None and tier in self.exempt_tiers:
            return True
        return any(
            value in allowed
            for tag, allowed in self.exempt_tags.items()
            for value in _strings(tags.get(tag, ()))
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
    holidays: tuple[Mapping[str, Any], ...]  # what holiday greetings name
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
            holidays=tuple(document.get("holidays", ())),
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


def _strings(value: Any) -> tuple[str, ...]:
    """A tag's value or values as text (a member tag may hold one value or a list)."""
    values = value if isinstance(value, list | tuple) else (value,)
    return tuple(str(v) for v in values)


def _month_day(period: Mapping[str, Any]) -> date | None:
    """``resets_on: "04-01"`` as a date in the leap year 2000 (only its month and day count)."""
    text = period.get("resets_on")
    return None if text is None else date.fromisoformat(f"2000-{text}")
