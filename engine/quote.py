"""Price one transaction for one member: the quote a till receives.

Order of computation (documented in rules/README.md):
tier discounts → rule and campaign discounts → redemption → earning → caps →
tier progression. Money is handled in integer minor units inside, Decimal at
the edges; points are integers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from engine.calendar import expiry_of, pending_until, zone
from engine.earning import (
    Earned,
    apply_caps,
    base_points,
    cap_limit,
    line_rate,
    multiplier_bonus,
)
from engine.errors import InputError, RedemptionError
from engine.facts import build_facts
from engine.model import Line, Member, Transaction
from engine.money import Currency, allocate, currency, from_minor, to_minor
from engine.offers import Applied, Skipped, audience_conditions, compile_offers, select
from engine.points import consume_lots, redemption_value, validate_redemption
from engine.policy.loader import Programme
from engine.policy.problems import Problem
from engine.rules.matching import build_matcher
from engine.rules.tree import parse_when
from engine.tiers import Progress, progress, thresholds

MatcherKind = Literal["durable", "python"]


@dataclass
class LineState:
    """A basket line while it is being priced (amounts in minor units)."""

    index: int
    line: Line
    amount: int
    discounts: list[tuple[str, int]] = field(default_factory=list)
    redeemed: int = 0

    @property
    def after_discounts(self) -> int:
        return self.amount - sum(amount for _, amount in self.discounts)

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
            "status": "pending" if self.pending_until else "spendable",
            "spendable_from": self.pending_until.isoformat() if self.pending_until else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
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

    def quote(
        self,
        member: Member,
        transaction: Transaction,
        *,
        at: datetime | None = None,
        explain: bool = False,
    ) -> Quote:
        """The quote for ``transaction`` by ``member``, evaluated at ``at`` (default: its time)."""
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
        )
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
            expires_at=expiry_of(at, self.document.get("expiry", {}), self.tz)
            if earned.total
            else None,
            tier=tier,
            applied=applied,
            messages=messages,
            trace=trace,
            not_applied=skipped if explain else None,
            exponent=self.currency.exponent,
        )

    def _check_tier(self, member: Member) -> None:
        known = [level["id"] for level in self.levels]
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
        level = next((lv for lv in self.levels if lv["id"] == member.tier), None)
        for benefit in (level or {}).get("benefits", []):
            if benefit["kind"] != "discount" or "percent" not in benefit:
                continue
            source = f"tier:{member.tier}"
            total = _percent_of(sum(s.after_discounts for s in states), benefit["percent"])
            _spread(source, total, states)
            trace.append(
                TraceEntry(
                    source,
                    "discount",
                    f"{benefit['percent']}% off: {self._money(total)}",
                    f"{member.tier} members: {benefit['description']}",
                )
            )

    def _apply_discounts(
        self, applied: Sequence[Applied], states: list[LineState], trace: list[TraceEntry]
    ) -> list[str]:
        messages = []
        for entry in applied:
            for effect in entry.offer.effects:
                if "message" in effect:
                    messages.append(effect["message"])
                elif "discount" in effect:
                    amount = self._discount(entry, effect["discount"], states)
                    trace.append(
                        TraceEntry(
                            entry.offer.source, "discount", self._money(amount), entry.reason
                        )
                    )
                elif "free_item" in effect:
                    amount = _free_item(
                        entry.offer.source, effect["free_item"], states, self.currency
                    )
                    trace.append(
                        TraceEntry(
                            entry.offer.source,
                            "free_item",
                            f"one item free: {self._money(amount)}",
                            entry.reason,
                        )
                    )
        return messages

    def _discount(
        self, entry: Applied, discount: Mapping[str, Any], states: list[LineState]
    ) -> int:
        targets = _targets(discount.get("apply_to", "basket"), entry.lines, states)
        base = sum(s.after_discounts for s in targets)
        if "percent" in discount:
            total = _percent_of(base, discount["percent"])
        else:
            total = min(to_minor(Decimal(discount["amount"]), self.currency), base)
        _spread(entry.offer.source, total, targets)
        return total

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
        found = _cheapest(reward["free_item"], states, self.currency)
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
        earn = self.document["earn"]
        pays_with_points_earn = earn.get("earn_on_points_paid", False)
        exact = [
            Fraction(
                s.after_discounts if pays_with_points_earn else s.payable,
                10**self.currency.exponent,
            )
            * line_rate(earn, s.line.category, s.line.sku)
            for s in states
        ]
        earned = Earned(base=base_points(earn, exact))
        multiplier = earn.get("multipliers", {}).get(member.tier)
        if multiplier is not None:
            earned.tier_bonus = multiplier_bonus(earned.base, multiplier)
            trace.append(
                TraceEntry(
                    f"tier:{member.tier}",
                    "points_multiplier",
                    f"x{multiplier}: +{earned.tier_bonus}",
                    f"{member.tier} members earn x{multiplier}",
                )
            )
        for entry in applied:
            self._bonuses(entry, earned, trace)
        apply_caps(earned, cap_limit(earn, member.earned_in_period))
        if earned.capped:
            trace.append(TraceEntry("caps", "cap", f"-{earned.capped} points", "earning cap"))
        return earned

    def _bonuses(self, entry: Applied, earned: Earned, trace: list[TraceEntry]) -> None:
        bonuses = earned.campaign_bonus if entry.offer.kind == "campaign" else earned.rule_bonus
        for effect in entry.offer.effects:
            if "points_multiplier" in effect:
                points = multiplier_bonus(earned.base, effect["points_multiplier"])
                detail = f"x{effect['points_multiplier']}: +{points}"
            elif "bonus_points" in effect:
                points = effect["bonus_points"]
                detail = f"+{points}"
            else:
                continue
            bonuses[entry.offer.source] = bonuses.get(entry.offer.source, 0) + points
            trace.append(TraceEntry(entry.offer.source, "points", detail, entry.reason))

    # --- tiers and dates ---------------------------------------------------------------

    def _progress(self, member: Member, states: list[LineState]) -> Progress:
        earn = self.document["earn"]
        counted = [
            s
            for s in states
            if line_rate(earn, s.line.category, s.line.sku) or not _excluded(earn, s.line)
        ]
        metric = self.document.get("tiers", {}).get("qualifying", {}).get("metric", "spend")
        if metric == "spend":
            increment = from_minor(sum(s.payable for s in counted), self.currency)
        elif metric == "visits":
            increment = Decimal(1)
        else:
            increment = Decimal(sum(s.line.quantity for s in counted))
        return progress(
            self.levels, self.thresholds, member.tier, member.qualifying_spend, increment
        )

    def _pending(self, at: datetime) -> datetime | None:
        days = self.document["earn"].get("pending_days", 0)
        return pending_until(at, days, self.tz) if days else None

    def _money(self, minor: int) -> str:
        return f"{from_minor(minor, self.currency)} {self.currency.code}"


def _excluded(earn: Mapping[str, Any], line: Line) -> bool:
    excluded = earn.get("exclude", {})
    return line.category in excluded.get("categories", ()) or line.sku in excluded.get("skus", ())


def _percent_of(minor: int, percent: Decimal | int) -> int:
    """Percent of an amount, rounded down: a discount never exceeds what was promised."""
    return int(Fraction(minor) * Fraction(percent) / 100)


def _spread(source: str, total: int, states: Sequence[LineState]) -> None:
    """Split a discount over lines in proportion to what is left on each."""
    weights = [max(s.after_discounts, 0) for s in states]
    if total <= 0 or not any(weights):
        return
    for state, share in zip(states, allocate(total, weights), strict=True):
        if share:
            state.discounts.append((source, share))


def _spread_redemption(value: int, states: Sequence[LineState]) -> None:
    weights = [max(s.after_discounts, 0) for s in states]
    if value <= 0 or not any(weights):
        return
    for state, share in zip(states, allocate(value, weights), strict=True):
        state.redeemed += share


def _targets(on: Any, bound: tuple[int, ...], states: list[LineState]) -> list[LineState]:
    if on == "basket":
        return states
    if on == "matched_lines":
        return [states[i] for i in bound] if bound else states
    return [s for s in states if _selected(on, s.line)]


def _selected(selector: Mapping[str, Any], line: Line) -> bool:
    return all(_holds(test, getattr(line, key)) for key, test in selector.items())


def _holds(test: Any, value: str) -> bool:
    """Selectors name items by category or SKU: a value, a list, or in/not_in/eq/ne."""
    if isinstance(test, list):
        return value in map(str, test)
    if isinstance(test, Mapping):
        checks = {
            "eq": lambda v: value == str(v),
            "ne": lambda v: value != str(v),
            "in": lambda v: value in map(str, v),
            "not_in": lambda v: value not in map(str, v),
        }
        return all(checks[op](v) for op, v in test.items() if op in checks)
    return value == str(test)


def _cheapest(
    spec: Mapping[str, Any], states: list[LineState], cur: Currency
) -> tuple[LineState, int] | None:
    """The cheapest matching item (one unit) and what making it free is worth."""
    selector = {k: spec[k] for k in ("sku", "category") if k in spec}
    candidates = [s for s in states if _selected(selector, s.line) and s.after_discounts > 0]
    if not candidates:
        return None
    cheapest = min(candidates, key=lambda s: (s.line.unit_price, s.index))
    value = min(to_minor(cheapest.line.unit_price, cur), cheapest.after_discounts)
    if "max_price" in spec:
        value = min(value, to_minor(Decimal(spec["max_price"]), cur))
    return cheapest, value


def _free_item(source: str, spec: Mapping[str, Any], states: list[LineState], cur: Currency) -> int:
    found = _cheapest(spec, states, cur)
    if found is None:
        return 0
    state, value = found
    state.discounts.append((source, value))
    return value
