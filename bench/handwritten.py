"""Baseline B: the coffee-shop programme written by hand, for this one programme only.

* ``match``: one hand-written closure per rule of rules/coffee-shop/programme.yaml, on the
  same ``Facts`` the engine's matchers get; the result has the matchers' shape.
* ``quote``: from the same parsed ``Member``/``Transaction`` as ``Evaluator.quote``: its own
  minimal facts, ``match``, then the pricing arithmetic reduced to the essentials in integer
  minor units: tier discount, rule discounts (largest-remainder spread), earning with the
  line rates, tier and rule bonuses, the daily cap, the per-member limit and tier progress.
  Left out: trace and reason texts, Decimal results, redemption, expiry and pending dates.

``bench.checks`` verifies both against the engine before anything is timed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.pricing.model import Member, Transaction
from engine.rules.facts import Facts

Record = Mapping[str, Any]
Found = tuple[str, tuple[int, ...]]
Rule = Callable[[Record, Record, Sequence[Record]], Iterable[Found]]

TZ = ZoneInfo("Asia/Shanghai")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BACK, COMBO = "rule:back-within-three-days", "rule:coffee-pastry-combo"
MEMBER_DAY, BEANS = "rule:member-day-18th", "rule:two-bags-of-beans"
EARLY = "rule:weekday-early-bird"
_WORKDAYS = frozenset(WEEKDAYS[:5])
_MEMBER_DAYS = frozenset(20260018 + 100 * month for month in range(3, 13))
_NONE: tuple[Found, ...] = ()


def _back(tx: Record, member: Record, lines: Sequence[Record]) -> Iterable[Found]:
    days = member.get("days_since_last_purchase")
    return ((BACK, ()),) if days is not None and 1 <= days <= 3 else _NONE


def _combo(tx: Record, member: Record, lines: Sequence[Record]) -> Iterable[Found]:
    coffees = [line["index"] for line in lines if line.get("category") == "coffee"]
    if not coffees:
        return _NONE
    pastries = [line["index"] for line in lines if line.get("category") == "pastry"]
    return [(COMBO, (c, p)) for c in coffees for p in pastries if c != p]


def _member_day(tx: Record, member: Record, lines: Sequence[Record]) -> Iterable[Found]:
    return ((MEMBER_DAY, ()),) if tx.get("date") in _MEMBER_DAYS else _NONE


def _beans(tx: Record, member: Record, lines: Sequence[Record]) -> Iterable[Found]:
    return [
        (BEANS, (line["index"],))
        for line in lines
        if line.get("category") == "beans" and (line.get("quantity") or 0) >= 2
    ]


def _early(tx: Record, member: Record, lines: Sequence[Record]) -> Iterable[Found]:
    hour = tx.get("hour")
    early = tx.get("weekday") in _WORKDAYS and hour is not None and 7 <= hour <= 9
    return ((EARLY, ()),) if early else _NONE


RULES: tuple[Rule, ...] = (_back, _combo, _member_day, _beans, _early)


def match_records(tx: Record, member: Record, lines: Sequence[Record]) -> list[Found]:
    found = [hit for rule in RULES for hit in rule(tx, member, lines)]
    found.sort()
    return found


def match(facts: Facts) -> list[Found]:
    """Every (rule id, bound line indexes), sorted, as ``Matcher.match`` returns them."""
    return match_records(facts.transaction, facts.member, facts.lines)


# --- the quote, reduced to integers --------------------------------------------------------

_TIER_PERCENT = {"platinum": 5}
_TIER_BONUS = {"gold": (1, 2), "platinum": (1, 1)}  # multiplier - 1 as a fraction
_THRESHOLDS = (("gold", 80_000), ("platinum", 300_000))  # minor units
_RANK = {"standard": 0, "gold": 1, "platinum": 2}
_DAILY_CAP, _BACK_LIMIT, _BACK_BONUS = 2000, 4, 20


@dataclass(frozen=True)
class HandQuote:
    applied: tuple[str, ...]
    discounts: int
    payable: int
    points: int
    capped: int
    tier_after: str


def quote(member: Member, transaction: Transaction) -> HandQuote:
    local = transaction.at.astimezone(TZ)
    amounts = [int(line.amount * 100) for line in transaction.lines]
    records = [
        {"index": i, "category": line.category, "quantity": line.quantity}
        for i, line in enumerate(transaction.lines)
    ]
    found = match_records(_tx_record(local), _member_record(member, local), records)
    bound = _eligible(member, _first_binding(found))
    paid = _discounted(member, transaction, amounts, bound)
    points, capped = _points(member, transaction, paid, bound)
    return HandQuote(
        applied=tuple(bound),
        discounts=sum(amounts) - sum(paid),
        payable=sum(paid),
        points=points,
        capped=capped,
        tier_after=_tier_after(member, transaction, paid),
    )


def _tx_record(local: datetime) -> dict[str, Any]:
    day = local.date()
    return {
        "date": day.year * 10000 + day.month * 100 + day.day,
        "weekday": WEEKDAYS[day.weekday()],
        "hour": local.hour,
    }


def _member_record(member: Member, local: datetime) -> dict[str, Any]:
    if member.last_purchase_at is None:
        return {}
    last = member.last_purchase_at.astimezone(TZ).date()
    return {"days_since_last_purchase": (local.date() - last).days}


def _first_binding(found: list[Found]) -> dict[str, tuple[int, ...]]:
    bound: dict[str, tuple[int, ...]] = {}
    for rule_id, lines in found:
        bound.setdefault(rule_id, lines)
    return bound


def _eligible(member: Member, bound: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """The per-member limit of back-within-three-days (4 a month)."""
    if (
        BACK in bound
        and member.usage.get("back-within-three-days", {}).get("month", 0) >= _BACK_LIMIT
    ):
        del bound[BACK]
    return bound


def _discounted(
    member: Member, transaction: Transaction, amounts: list[int], bound: Mapping[str, Any]
) -> list[int]:
    paid = list(amounts)
    everything = range(len(paid))
    percent = _TIER_PERCENT.get(member.tier or "")
    if percent:
        _spread(paid, everything, sum(paid) * percent // 100)
    if COMBO in bound:
        _spread(paid, bound[COMBO], min(600, sum(paid[i] for i in bound[COMBO])))
    if BEANS in bound:
        _spread(paid, bound[BEANS], sum(paid[i] for i in bound[BEANS]) * 10 // 100)
    if EARLY in bound:
        coffees = [i for i, line in enumerate(transaction.lines) if line.category == "coffee"]
        _spread(paid, coffees, sum(paid[i] for i in coffees) * 15 // 100)
    return paid


def _spread(paid: list[int], targets: Sequence[int], total: int) -> None:
    """Take ``total`` off ``targets`` in proportion to what is left (largest remainder)."""
    weights = [max(paid[i], 0) for i in targets]
    whole = sum(weights)
    if total <= 0 or not whole:
        return
    shares = [total * w // whole for w in weights]
    left = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda k: -(total * weights[k] % whole))
    for k in order[:left]:
        shares[k] += 1
    for i, share in zip(targets, shares, strict=True):
        paid[i] -= share


def _rate(category: str, sku: str) -> int:
    if category == "gift_cards":
        return 0
    if sku == "MUG-ANNIV-2026":
        return 3
    return 2 if category == "beans" else 1


def _points(
    member: Member, transaction: Transaction, paid: list[int], bound: Mapping[str, Any]
) -> tuple[int, int]:
    lines = transaction.lines
    base = sum(p * _rate(line.category, line.sku) for p, line in zip(paid, lines, strict=True))
    base //= 100
    num, den = _TIER_BONUS.get(member.tier or "", (0, 1))
    total = base + base * num // den
    if MEMBER_DAY in bound:
        total += base
    if BACK in bound:
        total += _BACK_BONUS
    limit = max(_DAILY_CAP - member.earned_in_period.get("day", 0), 0)
    capped = max(total - limit, 0)
    return total - capped, capped


def _tier_after(member: Member, transaction: Transaction, paid: list[int]) -> str:
    lines = transaction.lines
    counted = sum(p for p, line in zip(paid, lines, strict=True) if line.category != "gift_cards")
    after = int(member.qualifying_spend * 100) + counted
    tier = member.tier or "standard"
    for name, threshold in _THRESHOLDS:
        if _RANK[name] > _RANK[tier] and after >= threshold:
            tier = name
    return tier
