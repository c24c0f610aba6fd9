"""The pricing plan: everything a quote reads from the programme, read once per Evaluator.

Rates as integer weights, tier discounts and multipliers, every offer's effects with their
amounts in minor units and their line selectors compiled. ``compile_plan`` builds it; the
per-sale pipeline (``engine.pricing.pipeline``) only does the arithmetic of its own sale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Any, cast

from engine.money import Currency, to_minor
from engine.policy.model import ProgrammeModel
from engine.pricing.earning import Rates, Running, bonus_ratio
from engine.pricing.model import Line
from engine.pricing.offers import Offer
from engine.pricing.points import Rounding
from engine.pricing.tiers import Ladder

LineTest = Callable[[Line], bool]


@dataclass(frozen=True)
class TierDiscount:
    source: str  # "tier:platinum"
    percent: Decimal | int
    reason: str


@dataclass(frozen=True)
class Multiplier:
    """A points multiplier M: it adds base * (M - 1), rounded down."""

    label: str  # "x1.5", as traces show it
    numerator: int  # M - 1 == numerator / denominator, exactly
    denominator: int

    @classmethod
    def of(cls, multiplier: Decimal | int) -> Multiplier:
        return cls(f"x{multiplier}", *bonus_ratio(multiplier))

    def bonus(self, base: int) -> int:
        return base * self.numerator // self.denominator

    def added_to(self, running: Running) -> int:
        """What it adds to a sale's points, rounded where the programme says."""
        return running.bonus(self.numerator, self.denominator)


@dataclass(frozen=True)
class Message:
    text: str


@dataclass(frozen=True)
class Discount:
    apply_to: str | LineTest  # "basket", "matched_lines" or a compiled line selector
    percent: Decimal | int | None  # a percent of the targets' total; None: ``amount``
    amount: int  # minor units, at most the targets' total


@dataclass(frozen=True)
class FreeItem:
    """The cheapest matching item (one unit) free, up to ``max_price`` (minor units)."""

    selector: LineTest
    max_price: int | None


@dataclass(frozen=True)
class Bonus:
    points: int


@dataclass(frozen=True)
class Effects:
    """One offer's effects in the order the programme lists them, split by the step of the
    quote they act in: the sale (discounts, free items, messages), then the points."""

    sale: tuple[Message | Discount | FreeItem, ...]
    points: tuple[Multiplier | Bonus, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """A programme's pricing, compiled: what ``Evaluator.quote`` reads on every sale."""

    tier_ids: tuple[str, ...]
    discounts_by_tier: Mapping[str | None, tuple[TierDiscount, ...]]
    effects: Mapping[str, Effects]  # by offer condition id
    rates: Rates
    points_denominator: int  # base points are sum(amount * weight) / this, amounts in minor units
    earn_on_points_paid: bool
    rounding: Rounding
    round_per_line: bool
    round_total: bool  # round_at: total — multipliers act on the exact base, rounded once
    carry_remainders: bool  # earn.remainders: carry
    multipliers: Mapping[str | None, Multiplier]
    ladder: Ladder
    metric: str
    basket_policy: str
    pending_days: int
    tender_rates: Mapping[str, Decimal]  # earn.tenders.rates; empty: every tender earns x1


def compile_plan(
    model: ProgrammeModel, ladder: Ladder, offers: Sequence[Offer], cur: Currency
) -> Plan:
    """Everything ``quote`` reads from the programme, read here once."""
    earn, levels = model.earn, model.tiers.levels
    rates = Rates(earn.section)
    return Plan(
        tier_ids=tuple(level["id"] for level in levels),
        discounts_by_tier=discounts_by_tier(levels),
        effects={o.condition_id: compile_effects(o, cur) for o in offers},
        rates=rates,
        points_denominator=rates.denominator * 10**cur.exponent,
        earn_on_points_paid=earn.earn_on_points_paid,
        rounding=cast(Rounding, earn.rounding),
        round_per_line=earn.rounding_scope == "line",
        round_total=earn.round_at == "total",
        carry_remainders=earn.remainders == "carry",
        multipliers={
            tier: Multiplier.of(multiplier)
            for tier, multiplier in (level_multipliers(levels) | dict(earn.multipliers)).items()
        },
        ladder=ladder,
        metric=model.tiers.metric,
        basket_policy=earn.basket_bonuses,
        pending_days=earn.pending_days,
        tender_rates=earn.tender_rates,
    )


def level_multipliers(levels: Sequence[Mapping[str, Any]]) -> dict[str, Decimal]:
    """Each level's own ``earn_multiplier`` (0 or below 1 included; 1 adds nothing and is
    left out so traces stay as they were); ``earn.multipliers`` wins where both name a tier."""
    return {
        level["id"]: Decimal(str(level["earn_multiplier"]))
        for level in levels
        if "earn_multiplier" in level and Decimal(str(level["earn_multiplier"])) != 1
    }


def discounts_by_tier(
    levels: Sequence[Mapping[str, Any]],
) -> dict[str | None, tuple[TierDiscount, ...]]:
    """Each tier's percent discounts (the first level of an id counts, as everywhere)."""
    found: dict[str | None, tuple[TierDiscount, ...]] = {}
    for level in levels:
        tier = level["id"]
        found.setdefault(
            tier,
            tuple(
                TierDiscount(
                    f"tier:{tier}",
                    benefit["percent"],
                    f"{tier} members: {benefit['description']}",
                )
                for benefit in level.get("benefits", [])
                if benefit["kind"] == "discount" and "percent" in benefit
            ),
        )
    return found


def compile_effects(offer: Offer, cur: Currency) -> Effects:
    sale: list[Message | Discount | FreeItem] = []
    points: list[Multiplier | Bonus] = []
    for effect in offer.effects:
        if "message" in effect:
            sale.append(Message(effect["message"]))
        elif "discount" in effect:
            sale.append(_compile_discount(effect["discount"], cur))
        elif "free_item" in effect:
            sale.append(compile_free_item(effect["free_item"], cur))
        if "points_multiplier" in effect:
            points.append(Multiplier.of(effect["points_multiplier"]))
        elif "bonus_points" in effect:
            points.append(Bonus(effect["bonus_points"]))
    return Effects(tuple(sale), tuple(points))


def _compile_discount(discount: Mapping[str, Any], cur: Currency) -> Discount:
    on = discount.get("apply_to", "basket")
    apply_to = on if on in ("basket", "matched_lines") else compile_selector(on)
    if "percent" in discount:
        return Discount(apply_to, discount["percent"], 0)
    return Discount(apply_to, None, to_minor(Decimal(discount["amount"]), cur))


def compile_free_item(spec: Mapping[str, Any], cur: Currency) -> FreeItem:
    selector = compile_selector({k: spec[k] for k in ("sku", "category") if k in spec})
    max_price = to_minor(Decimal(spec["max_price"]), cur) if "max_price" in spec else None
    return FreeItem(selector, max_price)


def compile_selector(selector: Mapping[str, Any]) -> LineTest:
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
