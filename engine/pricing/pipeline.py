"""Price one transaction for one member: the quote a till receives.

Order of computation (documented in rules/README.md):
tier discounts → rule and campaign discounts → redemption → earning → caps →
tier progression. Money is handled in integer minor units inside, Decimal at
the edges; points are integers.

Everything a quote reads from the programme is read once, when the ``Evaluator`` is built
(``engine.pricing.plan``); this module is the per-sale pipeline, and ``engine.pricing.result``
the quote it returns.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache, partial
from typing import Any, Literal

from engine.calendar import cap_period, expiry_on, local_date, pending_until_day, zone
from engine.errors import InputError, RedemptionError
from engine.money import Currency, allocate, currency, from_minor, to_minor
from engine.policy.loader import Programme
from engine.policy.model import BurnPolicy, ExpiryPolicy, ProgrammeModel
from engine.policy.problems import Problem
from engine.pricing.attribution import basket_condition, is_basket_level, redeemed_by_line, split
from engine.pricing.earning import Earned, Running, apply_caps, cap_limit, tender_factor
from engine.pricing.facts import build_facts
from engine.pricing.model import Member, MemberOffer, Transaction
from engine.pricing.offers import (
    Applied,
    Offer,
    Skipped,
    Trial,
    audience_conditions,
    compile_offers,
    select,
    trials,
)
from engine.pricing.plan import (
    Bonus,
    Discount,
    Effects,
    FreeItem,
    LineTest,
    Message,
    Multiplier,
    compile_effects,
    compile_free_item,
    compile_plan,
    compile_selector,
)
from engine.pricing.points import consume_lots, redemption_value, round_ratio, validate_redemption
from engine.pricing.result import LineState, Quote, TraceEntry
from engine.pricing.tiers import Ladder, Progress, metric_progress, thresholds
from engine.pricing.vouchers import use_vouchers
from engine.rules import Facts, build_matcher
from engine.rules.explain import why_not
from engine.rules.parser import parse_when
from engine.tiering.model import TierModel
from engine.tiering.quantities import LineFigures

MatcherKind = Literal["durable", "python"]
_DAYS_CACHED = 1024  # local days whose expiry and pending dates an Evaluator keeps


class Evaluator:
    """A programme version compiled for evaluation; build once, quote many times."""

    def __init__(
        self,
        programme: Programme,
        *,
        matcher: MatcherKind = "durable",
        resolved_thresholds: Mapping[str, Decimal] | None = None,
    ) -> None:
        model = programme.model
        self.programme = programme
        self.currency = currency(model.identity.currency)
        self.tz = zone(model.identity.timezone)
        self.levels = model.tiers.levels
        # The tier language's model when the programme declares metrics (top-percent levels
        # as the review resolved them); today's programmes keep the spend ladder below.
        tiering = model.tiers.tiering
        self.tier_model: TierModel | None = (
            tiering.with_resolved(resolved_thresholds or {})
            if tiering is not None and model.tiers.counts_metrics
            else None
        )
        self.thresholds = {
            tier: amount.quantize(self.currency.quantum)
            for tier, amount in thresholds(self.levels, resolved_thresholds or {}).items()
        }
        self.offers = compile_offers(model.rules, model.campaigns, self.tz)
        conditions = [
            parse_when(o.condition_id, o.when, currency_exponent=self.currency.exponent)
            for o in self.offers
        ] + [
            parse_when(cid, when, currency_exponent=self.currency.exponent)
            for cid, when in audience_conditions(model.campaigns)
        ]
        self.matcher = build_matcher(matcher, f"{programme.ruleset_name}.{matcher}", conditions)
        self._by_id = {condition.rule_id: condition for condition in conditions}
        self.trials = trials(model.campaigns)
        self.plan = compile_plan(
            model, Ladder(self.levels, self.thresholds), self.offers, self.currency
        )
        self._cache_dates(model.expiry)

    @property
    def model(self) -> ProgrammeModel:
        """The programme's typed views (what the ledger, outreach and campaigns read)."""
        return self.programme.model

    @property
    def document(self) -> Mapping[str, Any]:
        """The raw programme mapping, for tests and tools (see ``Programme.raw``)."""
        return self.programme.raw()

    def _trials(self, campaigns: Collection[str]) -> list[Trial]:
        known = {c["id"] for c in self.model.campaigns}
        unknown = sorted(set(campaigns) - known)
        if unknown:
            raise InputError(
                "unknown campaigns to try",
                [
                    Problem(f"'{c}' is not a campaign of {self.programme.id}", ("campaigns",))
                    for c in unknown
                ],
            )
        # A sunshine campaign has no groups to place the member in: trying it only lifts its window.
        return [self.trials.get(c) or Trial(c, 0.0, ()) for c in campaigns]

    def _cache_dates(self, expiry: ExpiryPolicy) -> None:
        # Expiry and pending dates depend only on the local day of the sale: kept per day.
        self._expiry_on = lru_cache(_DAYS_CACHED)(
            partial(expiry_on, policy=expiry.section, tz=self.tz)
        )
        self._pending_on = lru_cache(_DAYS_CACHED)(
            partial(pending_until_day, pending_days=self.plan.pending_days, tz=self.tz)
        )

    def quote(
        self,
        member: Member,
        transaction: Transaction,
        *,
        at: datetime | None = None,
        explain: bool = False,
        stopped_campaigns: Collection[str] = (),
        try_campaigns: Collection[str] = (),
    ) -> Quote:
        """The quote for ``transaction`` by ``member``, evaluated at ``at`` (default: its time).

        ``stopped_campaigns`` are campaigns whose budget is spent: their offers do not apply.
        ``try_campaigns`` are evaluated as if live (a draft tried on a real member): windows are
        ignored and an unassigned member gets the downpour group a launch would give them.
        """
        at = at or transaction.at
        self._check_tier(member)
        states = [
            LineState(i, line, to_minor(line.amount, self.currency))
            for i, line in enumerate(transaction.lines)
        ]
        trace: list[TraceEntry] = []
        self._tier_discounts(member, states, trace)
        facts = build_facts(member, transaction, states, at=at, tz=self.tz, currency=self.currency)
        applied, skipped = select(
            self.offers,
            self.matcher.match(facts),
            at=at,
            usage=member.usage,
            assignments=member.campaigns,
            stopped=stopped_campaigns,
            trying=self._trials(try_campaigns),
            member_id=member.id,
            unmet=partial(self._unmet, facts) if explain else None,
            explain=explain,
        )
        if member.offers:
            applied, skipped = _with_member_offers(member.offers, applied, skipped, states, at)
        messages = self._apply_discounts(applied, states, trace)
        vouchers = use_vouchers(member, transaction, states, at, trace, self.currency)
        redeemed, lots, reward = self._redeem(member, transaction, states, at, trace)
        factor = self._dated_factor(at, trace) * self._tender_factor(transaction, trace)
        earned = self._earn(member, applied, states, trace, factor, at)
        tier = self._progress(member, states, transaction)
        pending = self._pending(at)
        return Quote(
            programme=self.programme.id,
            version=self.programme.version,
            currency=self.currency.code,
            transaction_id=transaction.id,
            member_id=member.id,
            evaluated_at=at,
            lines=states,
            redeemed_points=redeemed,
            redeemed_lots=lots,
            reward=reward,
            earned=earned,
            pending_until=pending,
            expires_at=self._expiry_on(local_date(at, self.tz)) if earned.total else None,
            tier=tier,
            applied=applied,
            messages=messages,
            trace=trace,
            not_applied=skipped if explain else None,
            exponent=self.currency.exponent,
            earn_factor=factor,
            vouchers=vouchers,
        )

    def _unmet(self, facts: Facts, condition_id: str) -> str:
        return why_not(self._by_id[condition_id], facts, self.currency.exponent)

    def _check_tier(self, member: Member) -> None:
        known = self.plan.tier_ids
        if member.tier is not None and member.tier not in known:
            raise InputError(
                "the member state is invalid",
                [
                    Problem(
                        f"'{member.tier}' is not a tier of {self.programme.id}",
                        ("tier",),
                        hint=f"known tiers: {', '.join(known)}" if known else "it has no tiers",
                    )
                ],
            )

    # --- discounts ---------------------------------------------------------------------

    def _tier_discounts(
        self, member: Member, states: list[LineState], trace: list[TraceEntry]
    ) -> None:
        for discount in self.plan.discounts_by_tier.get(member.tier, ()):
            total = _percent_of(sum(s.after_discounts for s in states), discount.percent)
            _spread(discount.source, total, states)
            trace.append(
                TraceEntry(
                    discount.source,
                    "discount",
                    f"{discount.percent}% off: {self._money(total)}",
                    discount.reason,
                )
            )

    def _apply_discounts(
        self, applied: Sequence[Applied], states: list[LineState], trace: list[TraceEntry]
    ) -> list[str]:
        messages = []
        for entry in applied:
            source = entry.offer.source
            for effect in self._effects_of(entry.offer).sale:
                if isinstance(effect, Message):
                    messages.append(effect.text)
                elif isinstance(effect, Discount):
                    amount = _discount(source, effect, entry.lines, states)
                    trace.append(TraceEntry(source, "discount", self._money(amount), entry.reason))
                else:
                    amount = _free_item(source, effect, states, self.currency)
                    trace.append(
                        TraceEntry(
                            source,
                            "free_item",
                            f"one item free: {self._money(amount)}",
                            entry.reason,
                        )
                    )
        return messages

    def _effects_of(self, offer: Offer) -> Effects:
        """An offer's compiled effects; a member offer's are compiled for its sale only."""
        effects = self.plan.effects.get(offer.condition_id)
        return effects if effects is not None else compile_effects(offer, self.currency)

    # --- redemption --------------------------------------------------------------------

    def _redeem(
        self,
        member: Member,
        transaction: Transaction,
        states: list[LineState],
        at: datetime,
        trace: list[TraceEntry],
    ) -> tuple[int, list[tuple[str, int]], str | None]:
        if not (transaction.redeem_points or transaction.claim_reward):
            return 0, [], None
        burn = self.model.burn
        if burn is None:
            raise RedemptionError(
                "redemption.not_offered", "This programme does not let members redeem points."
            )
        self._check_basket(burn, states)
        lots = member.spendable_lots(at)
        balance = sum(lot.points for lot in lots)
        if transaction.claim_reward:
            points, value, paid = self._claim(
                transaction.claim_reward, burn, balance, states, member.tier
            )
        else:
            points = transaction.redeem_points
            worth = self._worth(burn, transaction.channel, at, trace)
            value, paid = self._redeem_value(points, burn, balance, states, worth), states
        _spread_redemption(value, paid)
        taken = consume_lots(lots, points)
        trace.append(
            TraceEntry(
                "redemption",
                "points",
                f"{points} points pay {self._money(value)}",
                f"reward '{transaction.claim_reward}'"
                if transaction.claim_reward
                else "requested by the member",
            )
        )
        return points, taken, transaction.claim_reward

    def _check_basket(self, burn: BurnPolicy, states: list[LineState]) -> None:
        """``burn.min_basket``: points pay only on a bill (after discounts) at least this big."""
        if burn.min_basket is None:
            return
        bill = from_minor(sum(s.after_discounts for s in states), self.currency)
        if bill < burn.min_basket:
            raise RedemptionError(
                "redemption.below_min_basket",
                f"Points can pay only on a bill of at least {burn.min_basket} "
                f"{self.currency.code}; this one comes to {bill}.",
            )

    def _worth(
        self, burn: BurnPolicy, channel: str, at: datetime, trace: list[TraceEntry]
    ) -> Decimal:
        """What ``burn.points`` are worth on this channel and day (``burn.values``)."""
        day = local_date(at, self.tz)
        found = burn.value_on(channel, day)
        if found is None:
            return burn.worth
        where = f"on {', '.join(found.channels)}" if found.channels else "on every channel"
        trace.append(
            TraceEntry(
                "burn.values",
                "point_value",
                f"points worth x{found.dated.multiplier}",
                f"{where}, {found.dated.span}; redeemed on {day} via '{channel}'",
            )
        )
        return burn.worth * found.dated.multiplier

    def _redeem_value(
        self, points: int, burn: BurnPolicy, balance: int, states: list[LineState], worth: Decimal
    ) -> int:
        bill = sum(s.after_discounts for s in states)
        share = burn.max_bill_percent
        value = validate_redemption(
            points,
            balance=balance,
            value_of=lambda n: redemption_value(n, burn.points, worth, self.currency),
            minimum=burn.minimum,
            step=burn.step,
            max_value=from_minor(_percent_of(bill, share), self.currency),
        )
        return to_minor(value, self.currency)

    def _claim(
        self,
        reward_id: str,
        burn: BurnPolicy,
        balance: int,
        states: list[LineState],
        tier: str | None,
    ) -> tuple[int, int, list[LineState]]:
        """Points and value of a catalogue reward, and the lines it pays for."""
        reward = burn.reward(reward_id)
        if reward is None:
            raise RedemptionError(
                "redemption.unknown_reward", f"There is no reward '{reward_id}' in the catalogue."
            )
        if "tiers" in reward and tier not in reward["tiers"]:
            raise RedemptionError(
                "redemption.reward_not_for_tier",
                f"'{reward['name']}' is for {' and '.join(reward['tiers'])} members; "
                f"this member is {tier or 'without a tier'}.",
            )
        if reward["points"] > balance:
            raise RedemptionError(
                "redemption.exceeds_balance",
                f"'{reward['name']}' needs {reward['points']:,} points; "
                f"the balance is {balance:,}.",
            )
        if "voucher" in reward:
            bill = sum(s.after_discounts for s in states)
            voucher = min(to_minor(Decimal(reward["voucher"]), self.currency), bill)
            return reward["points"], voucher, states
        item = compile_free_item(reward["free_item"], self.currency)
        found = _cheapest(item, states, self.currency)
        if found is None:
            raise RedemptionError(
                "redemption.reward_not_in_basket",
                f"'{reward['name']}' needs a matching item in the basket.",
            )
        return reward["points"], found[1], [found[0]]

    # --- earning -----------------------------------------------------------------------

    def _earn(
        self,
        member: Member,
        applied: Sequence[Applied],
        states: list[LineState],
        trace: list[TraceEntry],
        factor: Fraction,
        at: datetime,
    ) -> Earned:
        weighted = self._weighted(states, factor)
        plan = self.plan
        running = Running(
            weighted if plan.round_per_line else [sum(weighted)],
            plan.points_denominator * factor.denominator,
            plan.rounding,
            on_total=plan.round_total,
            carried=member.points_remainder if plan.carry_remainders else None,
        )
        self._trace_base(running, trace)
        earned = Earned(base=running.base, remainder=running.remainder)
        multiplier = self.plan.multipliers.get(member.tier)
        if multiplier is not None:
            earned.tier_bonus = multiplier.added_to(running)
            trace.append(
                TraceEntry(
                    f"tier:{member.tier}",
                    "points_multiplier",
                    f"{multiplier.label}: {earned.tier_bonus:+d}{self._on_total}",
                    f"{member.tier} members earn {multiplier.label}",
                )
            )
        for entry in applied:
            effects = self._effects_of(entry.offer).points
            if effects:
                _bonuses(entry, effects, earned, running, trace, self._on_total)
        apply_caps(earned, cap_limit(self.model.earn.section, member.earned_in_period))
        if earned.capped:
            trace.append(
                TraceEntry("caps", "cap", f"-{earned.capped} points", self._cap_reason(member, at))
            )
        return earned

    def _cap_reason(self, member: Member, at: datetime) -> str:
        """Which cap cut the points and, for a per-period cap, when it starts again."""
        earn = self.model.earn
        if earn.cap_period is None:
            return "earning cap"
        try:
            _, last = cap_period(
                earn.cap_period,
                local_date(at, self.tz),
                joined=member.joined,
                resets_on=earn.cap_resets_on,
            )
        except InputError:  # a membership year without a join date (a bare quote)
            return f"earning cap (per {earn.cap_period})"
        return f"earning cap (per {earn.cap_period}; resets on {last + timedelta(days=1)})"

    def _weighted(self, states: Sequence[LineState], factor: Fraction) -> list[int]:
        """Each line's base points times ``points_denominator * factor.denominator``: what it
        paid (in minor units) times its rate's weight times the tenders' factor."""
        weight = self.plan.rates.weight
        paid_with_points_earns = self.plan.earn_on_points_paid
        return [
            (s.after_discounts if paid_with_points_earns else s.payable)
            * weight(s.line.category, s.line.sku)
            * factor.numerator
            for s in states
        ]

    def _dated_factor(self, at: datetime, trace: list[TraceEntry]) -> Fraction:
        """The base rate's multiplier in force on the sale's local day (``earn.schedule``)."""
        day = local_date(at, self.tz)
        entry = next((e for e in self.model.earn.schedule if e.in_force(day)), None)
        if entry is None:
            return Fraction(1)
        trace.append(
            TraceEntry(
                "earn.schedule",
                "earn_rate",
                f"base points x{entry.multiplier}",
                f"the rate in force on {day} (from {entry.span})",
            )
        )
        return Fraction(entry.multiplier)

    def _tender_factor(self, transaction: Transaction, trace: list[TraceEntry]) -> Fraction:
        """The base points' multiplier for how the sale was paid (``earn.tenders``)."""
        rates = self.plan.tender_rates
        tenders = transaction.tenders
        factor = tender_factor(rates, [(t.method, t.amount) for t in tenders])
        if factor != 1 or (rates and tenders):
            paid = ", ".join(f"{t.method} {t.amount} x{rates.get(t.method, 1)}" for t in tenders)
            shown = (Decimal(factor.numerator) / Decimal(factor.denominator)).quantize(
                Decimal("0.0001")
            )
            trace.append(
                TraceEntry(
                    "tenders",
                    "earn_rate",
                    f"{paid}: base points x{shown.normalize():f}",
                    "earn.tenders: each tender earns its share of the payment at its rate",
                )
            )
        return factor

    @property
    def _on_total(self) -> str:
        return " (on the exact base, rounded with the total)" if self.plan.round_total else ""

    def _trace_base(self, running: Running, trace: list[TraceEntry]) -> None:
        """Show the base's rounding when it changed something (or the programme rounds the
        total, where later steps start from the exact base)."""
        exact = running.exact_base
        if running.carried is not None and running.remainder is not None:
            trace.append(
                TraceEntry(
                    "earn",
                    "base_points",
                    f"{_shown(running.carried)} carried + {_shown(exact)} → {running.base}, "
                    f"{_shown(running.remainder)} carried on",
                    "earn.remainders: carry",
                )
            )
            return
        if exact == running.base and not self.plan.round_total:
            return
        shown = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.0001"))
        scope = "per line" if self.plan.round_per_line else "per basket"
        when = "rounded with the total" if self.plan.round_total else "rounded first"
        trace.append(
            TraceEntry(
                "earn",
                "base_points",
                f"{shown.normalize():f} → {running.base} ({self.plan.rounding}, {scope})",
                f"earn.round_at: {'total' if self.plan.round_total else 'base'} ({when})",
            )
        )

    # --- what each line earned (the record a return reverses) ----------------------------

    def attribution(self, quote: Quote) -> dict[str, Any]:
        """Per line, exactly what it earned, paid with points and counted toward the tier;
        basket-level bonuses apart. JSON-ready; see ``engine.pricing.attribution``."""
        states = quote.lines
        basis = self._weighted(states, quote.earn_factor)
        denominator = self.plan.points_denominator * quote.earn_factor.denominator
        if self.plan.round_per_line:
            base = [round_ratio(w, denominator, self.plan.rounding) for w in basis]
        else:
            total = round_ratio(sum(basis), denominator, self.plan.rounding)
            base = split(total, basis)
        parts: list[dict[str, int]] = [{} for _ in states]
        earned = quote.earned
        _attribute(parts, "base", earned.base, base)
        multiplier = self.plan.multipliers.get(quote.tier.tier_before)
        if multiplier is not None:
            _attribute(parts, "tier", earned.tier_bonus, split(multiplier.bonus(sum(base)), base))
        basket = []
        for entry in quote.applied:
            effects = self._effects_of(entry.offer).points
            if not effects:
                continue
            offer = entry.offer
            bonuses = earned.campaign_bonus if offer.kind == "campaign" else earned.rule_bonus
            points = bonuses.get(offer.source, 0)
            if is_basket_level(offer.when, offer.effects):
                basket.append(
                    {"source": offer.source, "points": points, "when": basket_condition(offer.when)}
                )
            else:
                uncapped = _line_bonuses(effects, entry.lines, states, base)
                _attribute(parts, offer.source, points, uncapped)
        return {
            "policy": self.plan.basket_policy,
            "lines": self._line_records(quote, parts),
            "basket": basket,
            "visit": 10**self.currency.exponent if self.plan.metric == "visits" else 0,
        }

    def _line_records(self, quote: Quote, parts: list[dict[str, int]]) -> list[dict[str, Any]]:
        states = quote.lines
        redeemed = redeemed_by_line(quote.redeemed_points, [s.redeemed for s in states])
        unit = 10**self.currency.exponent
        records = []
        for state, line_parts, points in zip(states, parts, redeemed, strict=True):
            line = state.line
            counted = not self.plan.rates.excluded(line.category, line.sku)
            if self.plan.metric == "spend":
                qualifying = state.payable if counted else 0
            else:
                qualifying = line.quantity * unit if counted and self.plan.metric != "visits" else 0
            campaign_money: dict[str, int] = {}
            for source, amount in state.discounts:
                if source.startswith("campaign:"):
                    campaign_money[source] = campaign_money.get(source, 0) + amount
            records.append(
                {
                    "id": line.id,
                    "quantity": line.quantity,
                    "points": line_parts,
                    "redeemed_points": points,
                    "qualifying": qualifying,
                    "campaign_money": campaign_money,
                    "value": state.after_discounts,
                }
            )
        return records

    # --- tiers and dates ---------------------------------------------------------------

    def _progress(
        self, member: Member, states: list[LineState], transaction: Transaction
    ) -> Progress:
        # Excluded lines earn nothing and do not qualify; a line earning at a rate of 0
        # (an override) still qualifies.
        excluded = self.plan.rates.excluded
        counted = [s for s in states if not excluded(s.line.category, s.line.sku)]
        if self.tier_model is not None:
            return self._metric_progress(member, states, counted, transaction)
        if self.plan.metric == "spend":
            increment = from_minor(sum(s.payable for s in counted), self.currency)
        elif self.plan.metric == "visits":
            increment = Decimal(1)
        else:
            increment = Decimal(sum(s.line.quantity for s in counted))
        return self.plan.ladder.progress(member.tier, member.qualifying_spend, increment)

    def _metric_progress(
        self,
        member: Member,
        states: list[LineState],
        counted: list[LineState],
        transaction: Transaction,
    ) -> Progress:
        """Progress by the declared metrics (``tiers.metrics``): spend is each counted line's
        payable amount; nights, stays, segments... what the sale and its lines say."""
        assert self.tier_model is not None
        kept = {s.line.id for s in counted}
        figures = {
            s.line.id: LineFigures(
                spend=from_minor(s.payable, self.currency) if s.line.id in kept else Decimal(0)
            )
            for s in states
        }
        spend = sum((f.spend for f in figures.values()), Decimal(0))
        qualifying = (member.qualifying_spend, member.qualifying_spend + spend)
        return metric_progress(
            self.tier_model,
            member.tier,
            member.metric_totals,
            transaction.tier_view(),
            figures,
            qualifying,
            member.stays,
        )

    def _pending(self, at: datetime) -> datetime | None:
        if not self.plan.pending_days:
            return None
        return self._pending_on(local_date(at, self.tz))

    def _money(self, minor: int) -> str:
        return f"{from_minor(minor, self.currency)} {self.currency.code}"


def _shown(points: Fraction) -> str:
    """Points with a fraction as the trace shows them: to 4 decimals, no trailing zeros."""
    exact = Decimal(points.numerator) / Decimal(points.denominator)
    return f"{exact.quantize(Decimal('0.0001')).normalize():f}"


# --- member offers (outreach entitlements) -----------------------------------------------


def _with_member_offers(
    held: Sequence[MemberOffer],
    applied: list[Applied],
    skipped: list[Skipped],
    states: Sequence[LineState],
    at: datetime,
) -> tuple[list[Applied], list[Skipped]]:
    """Add the member's outreach offers after rules and campaigns: each applies once to a sale
    inside its window while uses are left and, with ``on``, when a basket line matches it.
    They combine with everything (an exclusive rule is about rules). A member holding two
    offers of one trigger (two occasions) gets one per sale: the first to end."""
    applied, skipped = list(applied), list(skipped)
    triggers_used: set[str] = set()
    for entitlement in sorted(held, key=lambda o: (o.valid_until, o.id)):
        offer = Offer(
            kind="outreach",
            id=entitlement.trigger,
            name=entitlement.name,
            condition_id=f"outreach:{entitlement.id}",
            when={},
            effects=(*entitlement.effects, {"message": f"Offer used: {entitlement.name}"}),
        )
        selector = compile_selector(entitlement.on) if entitlement.on else None
        lines = tuple(s.index for s in states if selector is None or selector(s.line))
        if not entitlement.live(at):
            skipped.append(Skipped(offer, "outside its window or used up"))
        elif entitlement.trigger in triggers_used:
            skipped.append(Skipped(offer, "another offer of this trigger applies to this sale"))
        elif selector is not None and not lines:
            skipped.append(Skipped(offer, f"no basket line matches {dict(entitlement.on or {})}"))
        else:
            until = entitlement.valid_until.isoformat()
            reason = f"granted by outreach '{entitlement.trigger}', valid until {until}"
            applied.append(Applied(offer, lines if selector else (), reason))
            triggers_used.add(entitlement.trigger)
    return applied, skipped


# --- pricing arithmetic ----------------------------------------------------------------


def _percent_of(minor: int, percent: Decimal | int) -> int:
    """Percent of an amount, rounded toward zero: a discount never exceeds what was promised.
    Exact for any percent (7.5 is 15/2): integers only, no Fraction objects."""
    numerator, denominator = percent.as_integer_ratio()
    share = abs(minor * numerator) // (denominator * 100)
    return share if minor * numerator >= 0 else -share


def _spread(source: str, total: int, states: Sequence[LineState]) -> None:
    """Split a discount over lines in proportion to what is left on each."""
    weights = [max(s.after_discounts, 0) for s in states]
    if total <= 0 or not any(weights):
        return
    for state, share in zip(states, allocate(total, weights), strict=True):
        if share:
            state.discount(source, share)


def _spread_redemption(value: int, states: Sequence[LineState]) -> None:
    weights = [max(s.after_discounts, 0) for s in states]
    if value <= 0 or not any(weights):
        return
    for state, share in zip(states, allocate(value, weights), strict=True):
        state.redeemed += share


def _bonuses(
    entry: Applied,
    effects: Sequence[Multiplier | Bonus],
    earned: Earned,
    running: Running,
    trace: list[TraceEntry],
    note: str,
) -> None:
    bonuses = earned.campaign_bonus if entry.offer.kind == "campaign" else earned.rule_bonus
    source = entry.offer.source
    for effect in effects:
        if isinstance(effect, Multiplier):
            points = effect.added_to(running)
            detail = f"{effect.label}: +{points}{note}"
        else:
            points = effect.points
            detail = f"+{points}"
        bonuses[source] = bonuses.get(source, 0) + points
        trace.append(TraceEntry(source, "points", detail, entry.reason))


def _discount(
    source: str, discount: Discount, bound: tuple[int, ...], states: list[LineState]
) -> int:
    """Take the discount off its target lines; what it took in total."""
    targets = _targets(discount.apply_to, bound, states)
    base = sum(s.after_discounts for s in targets)
    if discount.percent is not None:
        total = _percent_of(base, discount.percent)
    else:
        total = min(discount.amount, base)
    _spread(source, total, targets)
    return total


def _targets(
    on: str | LineTest, bound: tuple[int, ...], states: list[LineState]
) -> list[LineState]:
    if on == "basket":
        return states
    if on == "matched_lines":
        return [states[i] for i in bound] if bound else states
    assert callable(on)  # a compiled selector
    return [s for s in states if on(s.line)]


def _cheapest(
    item: FreeItem, states: list[LineState], cur: Currency
) -> tuple[LineState, int] | None:
    """The cheapest matching item (one unit) and what making it free is worth."""
    candidates = [s for s in states if item.selector(s.line) and s.after_discounts > 0]
    if not candidates:
        return None
    cheapest = min(candidates, key=lambda s: (s.line.unit_price, s.index))
    value = min(to_minor(cheapest.line.unit_price, cur), cheapest.after_discounts)
    if item.max_price is not None:
        value = min(value, item.max_price)
    return cheapest, value


def _free_item(source: str, item: FreeItem, states: list[LineState], cur: Currency) -> int:
    found = _cheapest(item, states, cur)
    if found is None:
        return 0
    state, value = found
    state.discount(source, value)
    return value


def _attribute(parts: list[dict[str, int]], name: str, total: int, weights: list[int]) -> None:
    """Give each line its share of ``total`` (by ``weights``) under ``name``."""
    for line_parts, share in zip(parts, split(total, [abs(w) for w in weights]), strict=True):
        if share:
            line_parts[name] = line_parts.get(name, 0) + share


def _line_bonuses(
    effects: Sequence[Multiplier | Bonus],
    bound: tuple[int, ...],
    states: Sequence[LineState],
    base: list[int],
) -> list[int]:
    """A line-level offer's points per line before caps: a multiplier over the lines' base
    points, bonus points to the line(s) its condition bound."""
    per_line = [0] * len(states)
    for effect in effects:
        if isinstance(effect, Multiplier):
            shares = split(effect.bonus(sum(base)), base)
        else:
            shares = split(effect.points, [1 if s.index in bound else 0 for s in states])
        per_line = [a + b for a, b in zip(per_line, shares, strict=True)]
    return per_line
