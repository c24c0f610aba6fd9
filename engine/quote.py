"""Price one transaction for one member: the quote a till receives.

Order of computation (documented in rules/README.md):
tier discounts → rule and campaign discounts → redemption → earning → caps →
tier progression. Money is handled in integer minor units inside, Decimal at
the edges; points are integers.

Everything a quote reads from the programme document is read once, when the ``Evaluator``
is built (``Evaluator._compile_plan``): rates as integer weights, tier discounts and
multipliers, every offer's effects with their amounts in minor units and their line
selectors compiled. A quote only does the arithmetic of its own sale.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache, partial
from operator import attrgetter
from typing import Any, Literal

from engine.attribution import (
    DEFAULT_BASKET_POLICY,
    basket_condition,
    is_basket_level,
    redeemed_by_line,
    split,
)
from engine.calendar import expiry_on, local_date, pending_until_day, zone
from engine.earning import Earned, Rates, apply_caps, base_points, bonus_ratio, cap_limit
from engine.errors import InputError, RedemptionError
from engine.facts import build_facts
from engine.model import Line, Member, MemberOffer, Transaction
from engine.money import Currency, allocate, currency, from_minor, to_minor
from engine.offers import (
    Applied,
    Offer,
    Skipped,
    Trial,
    audience_conditions,
    compile_offers,
    select,
    trials,
)
from engine.points import (
    Rounding,
    consume_lots,
    redemption_value,
    round_ratio,
    validate_redemption,
)
from engine.policy.loader import Programme
from engine.policy.problems import Problem
from engine.rules import Facts, build_matcher
from engine.rules.explain import why_not
from engine.rules.parser import parse_when
from engine.tiers import Ladder, Progress, thresholds

MatcherKind = Literal["durable", "python"]
_DAYS_CACHED = 1024  # local days whose expiry and pending dates an Evaluator keeps


@dataclass
class LineState:
    """A basket line while it is being priced (amounts in minor units).

    Add discounts with ``discount()``: it keeps ``after_discounts`` up to date, which pricing
    reads many times per quote.
    """

    index: int
    line: Line
    amount: int
    discounts: list[tuple[str, int]] = field(default_factory=list)
    redeemed: int = 0
    after_discounts: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.after_discounts = self.amount - sum(amount for _, amount in self.discounts)

    def discount(self, source: str, amount: int) -> None:
        self.discounts.append((source, amount))
        self.after_discounts -= amount

    @property
    def payable(self) -> int:
        return self.after_discounts - self.redeemed


@dataclass(frozen=True)
class TraceEntry:
    source: str  # "tier:gold", "rule:combo", "campaign:rain/a", "redemption"
    effect: str
    detail: str
    reason: str


@dataclass
class Quote:
    """Everything a sale means for the member, computed exactly and explained."""

    programme: str
    version: str
    currency: str
    transaction_id: str
    member_id: str
    evaluated_at: datetime
    lines: list[LineState]
    redeemed_points: int
    redeemed_lots: list[tuple[str, int]]
    reward: str | None
    earned: Earned
    pending_until: datetime | None
    expires_at: datetime | None
    tier: Progress
    applied: list[Applied]
    messages: list[str]
    trace: list[TraceEntry]
    not_applied: list[Skipped] | None = None
    exponent: int = 2

    def money(self, minor: int) -> str:
        return str(from_minor(minor, currency(self.currency)))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view: money as exact decimal strings, times in ISO 8601."""
        total = sum(s.amount for s in self.lines)
        discounts = sum(s.amount - s.after_discounts for s in self.lines)
        redeemed = sum(s.redeemed for s in self.lines)
        result: dict[str, Any] = {
            "programme": self.programme,
            "version": self.version,
            "currency": self.currency,
            "transaction_id": self.transaction_id,
            "member_id": self.member_id,
            "evaluated_at": self.evaluated_at.isoformat(),
            "lines": [self._line(s) for s in self.lines],
            "totals": {
                "amount": self.money(total),
                "discounts": self.money(discounts),
                "redeemed_value": self.money(redeemed),
                "payable": self.money(total - discounts - redeemed),
            },
            "redemption": {
                "points": self.redeemed_points,
                "value": self.money(redeemed),
                "reward": self.reward,
                "lots": [{"lot_id": lot, "points": n} for lot, n in self.redeemed_lots],
            },
            "points": self._points(),
            "tier": self._tier(),
            "applied": [
                {"source": a.offer.source, "name": a.offer.name, "lines": list(a.lines)}
                for a in self.applied
            ],
            "messages": self.messages,
            "trace": [vars(entry) for entry in self.trace],
        }
        if self.not_applied is not None:
            result["not_applied"] = [
                {"source": s.offer.source, "name": s.offer.name, "reason": s.reason}
                for s in self.not_applied
            ]
        return result

    def _line(self, state: LineState) -> dict[str, Any]:
        return {
            "id": state.line.id,
            "sku": state.line.sku,
            "category": state.line.category,
            "amount": self.money(state.amount),
            "discounts": [{"source": s, "amount": self.money(a)} for s, a in state.discounts],
            "redeemed_value": self.money(state.redeemed),
            "payable": self.money(state.payable),
        }

    def _points(self) -> dict[str, Any]:
        earned = self.earned
        return {
            "base": earned.base,
            "tier_bonus": earned.tier_bonus,
            "rule_bonus": earned.rule_bonus,
            "campaign_bonus": earned.campaign_bonus,
            "capped": earned.capped,
            "total": earned.total,
            "status": _status(earned.total, self.pending_until),
            "spendable_from": self.pending_until.isoformat()
            if self.pending_until and earned.total > 0
            else None,
            # The last second of the last local day (§12), not its last microsecond.
            "expires_at": self.expires_at.isoformat("T", "seconds") if self.expires_at else None,
        }

    def _tier(self) -> dict[str, Any]:
        tier = self.tier
        remaining = tier.remaining
        return {
            "before": tier.tier_before,
            "after": tier.tier_after,
            "upgraded": tier.upgraded,
            "qualifying_before": str(tier.qualifying_before),
            "qualifying_after": str(tier.qualifying_after),
            "next": tier.next_tier,
            "next_threshold": str(tier.next_threshold) if tier.next_threshold is not None else None,
            "remaining_to_next": str(remaining) if remaining is not None else None,
        }


# --- the pricing plan: the programme document, read once per Evaluator ----------------------

LineTest = Callable[[Line], bool]


@dataclass(frozen=True)
class _TierDiscount:
    source: str  # "tier:platinum"
    percent: Decimal | int
    reason: str


@dataclass(frozen=True)
class _Multiplier:
    """A points multiplier M: it adds base * (M - 1), rounded down."""

    label: str  # "x1.5", as traces show it
    numerator: int  # M - 1 == numerator / denominator, exactly
    denominator: int

    @classmethod
    def of(cls, multiplier: Decimal | int) -> _Multiplier:
        return cls(f"x{multiplier}", *bonus_ratio(multiplier))

    def bonus(self, base: int) -> int:
        return base * self.numerator // self.denominator


@dataclass(frozen=True)
class _Message:
    text: str


@dataclass(frozen=True)
class _Discount:
    apply_to: str | LineTest  # "basket", "matched_lines" or a compiled line selector
    percent: Decimal | int | None  # a percent of the targets' total; None: ``amount``
    amount: int  # minor units, at most the targets' total


@dataclass(frozen=True)
class _FreeItem:
    """The cheapest matching item (one unit) free, up to ``max_price`` (minor units)."""

    selector: LineTest
    max_price: int | None


@dataclass(frozen=True)
class _Bonus:
    points: int


@dataclass(frozen=True)
class _Effects:
    """One offer's effects in the order the programme lists them, split by the step of the
    quote they act in: the sale (discounts, free items, messages), then the points."""

    sale: tuple[_Message | _Discount | _FreeItem, ...]
    points: tuple[_Multiplier | _Bonus, ...]


class Evaluator:
    """A programme version compiled for evaluation; build once, quote many times."""

    def __init__(
        self,
        programme: Programme,
        *,
        matcher: MatcherKind = "durable",
        resolved_thresholds: Mapping[str, Decimal] | None = None,
    ) -> None:
        document = programme.document
        self.programme = programme
        self.document = document
        self.currency = currency(document["programme"]["currency"])
        self.tz = zone(document["programme"]["timezone"])
        self.levels = document.get("tiers", {}).get("levels", [])
        self.thresholds = {
            tier: amount.quantize(self.currency.quantum)
            for tier, amount in thresholds(self.levels, resolved_thresholds or {}).items()
        }
        self.offers = compile_offers(document, self.tz)
        conditions = [
            parse_when(o.condition_id, o.when, currency_exponent=self.currency.exponent)
            for o in self.offers
        ] + [
            parse_when(cid, when, currency_exponent=self.currency.exponent)
            for cid, when in audience_conditions(document)
        ]
        self.matcher = build_matcher(matcher, f"{programme.ruleset_name}.{matcher}", conditions)
        self._by_id = {condition.rule_id: condition for condition in conditions}
        self.trials = trials(document)
        self._compile_plan(document)

    def _trials(self, campaigns: Collection[str]) -> list[Trial]:
        known = {c["id"] for c in self.document.get("campaigns", [])}
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

    def _compile_plan(self, document: Mapping[str, Any]) -> None:
        """Everything ``quote`` reads from the document, read here once."""
        earn = document["earn"]
        self._tier_ids = tuple(level["id"] for level in self.levels)
        self._discounts_by_tier = _discounts_by_tier(self.levels)
        self._effects = {o.condition_id: _compile_effects(o, self.currency) for o in self.offers}
        self._rates = Rates(earn)
        # Base points are sum(amount * weight) / _points_denominator, amounts in minor units.
        self._points_denominator = self._rates.denominator * 10**self.currency.exponent
        self._earn_on_points_paid = earn.get("earn_on_points_paid", False)
        self._rounding: Rounding = earn.get("rounding", "floor")
        self._round_per_line = earn.get("rounding_scope", "basket") == "line"
        self._multipliers: dict[str | None, _Multiplier] = {
            tier: _Multiplier.of(multiplier)
            for tier, multiplier in earn.get("multipliers", {}).items()
        }
        self._ladder = Ladder(self.levels, self.thresholds)
        self._metric = document.get("tiers", {}).get("qualifying", {}).get("metric", "spend")
        on_return = earn.get("on_return", {})
        self._basket_policy = on_return.get("basket_bonuses", DEFAULT_BASKET_POLICY)
        self._pending_days = earn.get("pending_days", 0)
        # Expiry and pending dates depend only on the local day of the sale: kept per day.
        self._expiry_on = lru_cache(_DAYS_CACHED)(
            partial(expiry_on, policy=document.get("expiry", {}), tz=self.tz)
        )
        self._pending_on = lru_cache(_DAYS_CACHED)(
            partial(pending_until_day, pending_days=self._pending_days, tz=self.tz)
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
        )
        if member.offers:
            applied, skipped = _with_member_offers(member.offers, applied, skipped, states, at)
        messages = self._apply_discounts(applied, states, trace)
        redeemed, lots, reward = self._redeem(member, transaction, states, at, trace)
        earned = self._earn(member, applied, states, trace)
        tier = self._progress(member, states)
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
        )

    def _unmet(self, facts: Facts, condition_id: str) -> str:
        return why_not(self._by_id[condition_id], facts, self.currency.exponent)

    def _check_tier(self, member: Member) -> None:
        known = self._tier_ids
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
        for discount in self._discounts_by_tier.get(member.tier, ()):
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
                if isinstance(effect, _Message):
                    messages.append(effect.text)
                elif isinstance(effect, _Discount):
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

    def _effects_of(self, offer: Offer) -> _Effects:
        """An offer's compiled effects; a member offer's are compiled for its sale only."""
        effects = self._effects.get(offer.condition_id)
        return effects if effects is not None else _compile_effects(offer, self.currency)

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
        burn = self.document.get("burn")
        if burn is None:
            raise RedemptionError(
                "redemption.not_offered", "This programme does not let members redeem points."
            )
        lots = member.spendable_lots(at)
        balance = sum(lot.points for lot in lots)
        if transaction.claim_reward:
            points, value, paid = self._claim(transaction.claim_reward, burn, balance, states)
        else:
            points = transaction.redeem_points
            value, paid = self._redeem_value(points, burn, balance, states), states
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

    def _redeem_value(
        self, points: int, burn: Mapping[str, Any], balance: int, states: list[LineState]
    ) -> int:
        bill = sum(s.after_discounts for s in states)
        share = burn.get("max_bill_percent", 100)
        value = validate_redemption(
            points,
            balance=balance,
            value_of=lambda n: redemption_value(
                n, burn["points"], Decimal(burn["worth"]), self.currency
            ),
            minimum=burn.get("minimum", 0),
            step=burn.get("step"),
            max_value=from_minor(_percent_of(bill, share), self.currency),
        )
        return to_minor(value, self.currency)

    def _claim(
        self, reward_id: str, burn: Mapping[str, Any], balance: int, states: list[LineState]
    ) -> tuple[int, int, list[LineState]]:
        """Points and value of a catalogue reward, and the lines it pays for."""
        reward = next((r for r in burn.get("catalogue", []) if r["id"] == reward_id), None)
        if reward is None:
            raise RedemptionError(
                "redemption.unknown_reward", f"There is no reward '{reward_id}' in the catalogue."
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
        item = _compile_free_item(reward["free_item"], self.currency)
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
    ) -> Earned:
        weight = self._rates.weight
        paid_with_points_earns = self._earn_on_points_paid
        weighted = [
            (s.after_discounts if paid_with_points_earns else s.payable)
            * weight(s.line.category, s.line.sku)
            for s in states
        ]
        base = base_points(
            weighted, self._points_denominator, self._rounding, per_line=self._round_per_line
        )
        earned = Earned(base=base)
        multiplier = self._multipliers.get(member.tier)
        if multiplier is not None:
            earned.tier_bonus = multiplier.bonus(earned.base)
            trace.append(
                TraceEntry(
                    f"tier:{member.tier}",
                    "points_multiplier",
                    f"{multiplier.label}: {earned.tier_bonus:+d}",
                    f"{member.tier} members earn {multiplier.label}",
                )
            )
        for entry in applied:
            effects = self._effects_of(entry.offer).points
            if effects:
                _bonuses(entry, effects, earned, trace)
        apply_caps(earned, cap_limit(self.document["earn"], member.earned_in_period))
        if earned.capped:
            trace.append(TraceEntry("caps", "cap", f"-{earned.capped} points", "earning cap"))
        return earned

    # --- what each line earned (the record a return reverses) ----------------------------

    def attribution(self, quote: Quote) -> dict[str, Any]:
        """Per line, exactly what it earned, paid with points and counted toward the tier;
        basket-level bonuses apart. JSON-ready; see ``engine.attribution``."""
        states = quote.lines
        weight = self._rates.weight
        basis = [
            (s.after_discounts if self._earn_on_points_paid else s.payable)
            * weight(s.line.category, s.line.sku)
            for s in states
        ]
        if self._round_per_line:
            base = [round_ratio(w, self._points_denominator, self._rounding) for w in basis]
        else:
            total = round_ratio(sum(basis), self._points_denominator, self._rounding)
            base = split(total, basis)
        parts: list[dict[str, int]] = [{} for _ in states]
        earned = quote.earned
        _attribute(parts, "base", earned.base, base)
        multiplier = self._multipliers.get(quote.tier.tier_before)
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
            "policy": self._basket_policy,
            "lines": self._line_records(quote, parts),
            "basket": basket,
            "visit": 10**self.currency.exponent if self._metric == "visits" else 0,
        }

    def _line_records(self, quote: Quote, parts: list[dict[str, int]]) -> list[dict[str, Any]]:
        states = quote.lines
        redeemed = redeemed_by_line(quote.redeemed_points, [s.redeemed for s in states])
        unit = 10**self.currency.exponent
        records = []
        for state, line_parts, points in zip(states, parts, redeemed, strict=True):
            line = state.line
            counted = not self._rates.excluded(line.category, line.sku)
            if self._metric == "spend":
                qualifying = state.payable if counted else 0
            else:
                qualifying = line.quantity * unit if counted and self._metric != "visits" else 0
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

    def _progress(self, member: Member, states: list[LineState]) -> Progress:
        # Excluded lines earn nothing and do not qualify; a line earning at a rate of 0
        # (an override) still qualifies.
        excluded = self._rates.excluded
        counted = [s for s in states if not excluded(s.line.category, s.line.sku)]
        if self._metric == "spend":
            increment = from_minor(sum(s.payable for s in counted), self.currency)
        elif self._metric == "visits":
            increment = Decimal(1)
        else:
            increment = Decimal(sum(s.line.quantity for s in counted))
        return self._ladder.progress(member.tier, member.qualifying_spend, increment)

    def _pending(self, at: datetime) -> datetime | None:
        if not self._pending_days:
            return None
        return self._pending_on(local_date(at, self.tz))

    def _money(self, minor: int) -> str:
        return f"{from_minor(minor, self.currency)} {self.currency.code}"


# --- member offers (outreach entitlements) -----------------------------------------------


def _status(total: int, pending_until: datetime | None) -> str:
    """A sale that earns no points has nothing pending or spendable: ``none``."""
    if total <= 0:
        return "none"
    return "pending" if pending_until else "spendable"


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
        selector = _compile_selector(entitlement.on) if entitlement.on else None
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


# --- compiling the plan ------------------------------------------------------------------


def _discounts_by_tier(
    levels: Sequence[Mapping[str, Any]],
) -> dict[str | None, tuple[_TierDiscount, ...]]:
    """Each tier's percent discounts (the first level of an id counts, as everywhere)."""
    found: dict[str | None, tuple[_TierDiscount, ...]] = {}
    for level in levels:
        tier = level["id"]
        found.setdefault(
            tier,
            tuple(
                _TierDiscount(
                    f"tier:{tier}",
                    benefit["percent"],
                    f"{tier} members: {benefit['description']}",
                )
                for benefit in level.get("benefits", [])
                if benefit["kind"] == "discount" and "percent" in benefit
            ),
        )
    return found


def _compile_effects(offer: Offer, cur: Currency) -> _Effects:
    sale: list[_Message | _Discount | _FreeItem] = []
    points: list[_Multiplier | _Bonus] = []
    for effect in offer.effects:
        if "message" in effect:
            sale.append(_Message(effect["message"]))
        elif "discount" in effect:
            sale.append(_compile_discount(effect["discount"], cur))
        elif "free_item" in effect:
            sale.append(_compile_free_item(effect["free_item"], cur))
        if "points_multiplier" in effect:
            points.append(_Multiplier.of(effect["points_multiplier"]))
        elif "bonus_points" in effect:
            points.append(_Bonus(effect["bonus_points"]))
    return _Effects(tuple(sale), tuple(points))


def _compile_discount(discount: Mapping[str, Any], cur: Currency) -> _Discount:
    on = discount.get("apply_to", "basket")
    apply_to = on if on in ("basket", "matched_lines") else _compile_selector(on)
    if "percent" in discount:
        return _Discount(apply_to, discount["percent"], 0)
    return _Discount(apply_to, None, to_minor(Decimal(discount["amount"]), cur))


def _compile_free_item(spec: Mapping[str, Any], cur: Currency) -> _FreeItem:
    selector = _compile_selector({k: spec[k] for k in ("sku", "category") if k in spec})
    max_price = to_minor(Decimal(spec["max_price"]), cur) if "max_price" in spec else None
    return _FreeItem(selector, max_price)


def _compile_selector(selector: Mapping[str, Any]) -> LineTest:
    """Selectors name items by category or SKU; every named field must hold."""
    tests = tuple((attrgetter(key), _compile_test(test)) for key, test in selector.items())
    if len(tests) == 1:  # the usual case, e.g. {category: coffee}: one call per line
        ((field_of, test),) = tests
        return lambda line: test(field_of(line))
    return lambda line: all(test(field_of(line)) for field_of, test in tests)


def _compile_test(test: Any) -> Callable[[str], bool]:
    """A value, a list, or in/not_in/eq/ne (other operators do not restrict). Values are
    compared as text: an unquoted 42 in YAML names the SKU "42"."""
    if isinstance(test, list):
        allowed = frozenset(map(str, test))
        return lambda value: value in allowed
    if isinstance(test, Mapping):
        checks = tuple(_OPERATORS[op](v) for op, v in test.items() if op in _OPERATORS)
        return lambda value: all(check(value) for check in checks)
    wanted = str(test)
    return lambda value: value == wanted


def _equal(v: Any) -> Callable[[str], bool]:
    wanted = str(v)
    return lambda value: value == wanted


def _not_equal(v: Any) -> Callable[[str], bool]:
    refused = str(v)
    return lambda value: value != refused


def _one_of(v: Any) -> Callable[[str], bool]:
    allowed = frozenset(map(str, v))
    return lambda value: value in allowed


def _none_of(v: Any) -> Callable[[str], bool]:
    refused = frozenset(map(str, v))
    return lambda value: value not in refused


_OPERATORS: Mapping[str, Callable[[Any], Callable[[str], bool]]] = {
    "eq": _equal,
    "ne": _not_equal,
    "in": _one_of,
    "not_in": _none_of,
}


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
    effects: Sequence[_Multiplier | _Bonus],
    earned: Earned,
    trace: list[TraceEntry],
) -> None:
    bonuses = earned.campaign_bonus if entry.offer.kind == "campaign" else earned.rule_bonus
    source = entry.offer.source
    for effect in effects:
        if isinstance(effect, _Multiplier):
            points = effect.bonus(earned.base)
            detail = f"{effect.label}: +{points}"
        else:
            points = effect.points
            detail = f"+{points}"
        bonuses[source] = bonuses.get(source, 0) + points
        trace.append(TraceEntry(source, "points", detail, entry.reason))


def _discount(
    source: str, discount: _Discount, bound: tuple[int, ...], states: list[LineState]
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
    item: _FreeItem, states: list[LineState], cur: Currency
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


def _free_item(source: str, item: _FreeItem, states: list[LineState], cur: Currency) -> int:
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
    effects: Sequence[_Multiplier | _Bonus],
    bound: tuple[int, ...],
    states: Sequence[LineState],
    base: list[int],
) -> list[int]:
    """A line-level offer's points per line before caps: a multiplier over the lines' base
    points, bonus points to the line(s) its condition bound."""
    per_line = [0] * len(states)
    for effect in effects:
        if isinstance(effect, _Multiplier):
            shares = split(effect.bonus(sum(base)), base)
        else:
            shares = split(effect.points, [1 if s.index in bound else 0 for s in states])
        per_line = [a + b for a, b in zip(per_line, shares, strict=True)]
    return per_line
