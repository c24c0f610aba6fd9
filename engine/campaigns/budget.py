"""A campaign's budget before launch: the marketer's estimate.

The counter the till spends (``campaign_budgets``, reserved inside the sale's transaction)
lives in the ledger, ``engine.ledger.budgets``.

**The estimate.** Per group: expected responders = targets x response rate (the group's
``response_rate_percent``, else the campaign's, else 10% flagged as assumed), and per
responder the offer's points and money on a typical basket; perceived value = points at face
value + money; real cost = the domain formula for points, (perceived value / 2) x redemption
rate x cost-of-goods ratio (``engine.pricing.points.real_cost_of_points``), plus discounts at face
value and free items at cost (value x cost-of-goods ratio). Beside it, the **sunshine**
alternative spends the same budget on every member: each buyer's points are multiplied by
1 + budget / (expected buyers x base points of a basket), where expected buyers = members x
the share who bought in the last window-length. "The same budget" is the downpour's expected
perceived value in points (``sunshine``) and, when the campaign states a cap, the whole cap
(``sunshine_at_cap``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from engine.campaigns.model import Context, campaign_window, groups_by_priority
from engine.campaigns.targeting import HOLDOUT, preview
from engine.ledger.kinds import PURCHASE_KINDS
from engine.ledger.tables import members, transactions
from engine.money import from_minor
from engine.pricing.points import real_cost_of_points

DEFAULT_RESPONSE_RATE = Decimal("0.10")
DEFAULT_BASKET = Decimal(100)
CENT = Decimal("0.01")

# --- the estimate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reward:
    """What one responder gets: points, money off (discounts) and goods (free items, at value)."""

    points: int = 0
    money: Decimal = Decimal(0)
    goods: Decimal = Decimal(0)


@dataclass(frozen=True)
class Figures:
    """Expected outcome of one group (or of the whole campaign)."""

    targets: int
    responders: Decimal
    points: int
    perceived_value: Decimal
    real_cost: Decimal


@dataclass(frozen=True)
class GroupEstimate:
    group: str
    name: str
    response_rate: Decimal
    rate_assumed: bool
    per_responder: Reward
    figures: Figures


@dataclass(frozen=True)
class Sunshine:
    """The same budget spread over every member."""

    members: int
    activity_rate: Decimal
    buyers: Decimal
    budget_points: int
    multiplier: Decimal | None  # None: nobody is expected to buy, so no multiplier exists
    points_per_member: Decimal
    real_cost: Decimal
    window_days: int = 0

    @property
    def headline(self) -> str:
        if self.multiplier is None:
            return (
                f"no comparison: no member bought in the {self.window_days} days before, "
                "so no buyer is expected to share the offer"
            )
        return f"{self.multiplier:.2f}x points for everyone"


@dataclass(frozen=True)
class Estimate:
    programme: str
    campaign_id: str
    currency: str
    basket: Decimal
    redemption_rate: Decimal
    cost_ratio: Decimal
    groups: list[GroupEstimate]
    total: Figures
    holdout: int
    budget: dict[str, Any]
    sunshine: Sunshine
    sunshine_at_cap: Sunshine | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["sunshine"]["headline"] = self.sunshine.headline
        if self.sunshine_at_cap is not None:
            result["sunshine_at_cap"]["headline"] = self.sunshine_at_cap.headline
        return _jsonable(result)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def estimate(
    conn: Connection,
    context: Context,
    campaign_id: str,
    at: datetime | None,
    *,
    basket: Decimal | None = None,
) -> Estimate:
    """The downpour's expected responders, points and cost per group, and the sunshine twin.

    Without ``at`` the estimate is made now, unless the ledger's history stopped before the
    campaign's window length: then it is made as of the last purchase (and says so), since
    "now" would find no recent buyer and print 0 expected buyers from stale history."""
    campaign = context.downpour(campaign_id)
    at, stale = _default_moment(conn, context, campaign, at)
    targets = preview(conn, context, campaign_id, at, sample=0).by_group()
    typical = basket if basket is not None else _average_basket(conn, context, at)
    rate, ratio = context.assumptions()
    groups = [
        _group(context, campaign, group, targets.get(group["id"], 0), typical)
        for group in groups_by_priority(campaign)
    ]
    total = _sum([g.figures for g in groups])
    cap = _cap_points(context, campaign)
    same_spend = _points_worth(context, total.perceived_value)
    sunshine = _sunshine(conn, context, campaign, at, typical, same_spend)
    at_cap = None if cap is None else _sunshine(conn, context, campaign, at, typical, cap)
    notes = ([stale] if stale else []) + _notes(groups, cap, total)
    return Estimate(
        context.programme,
        campaign_id,
        context.currency.code,
        typical,
        rate,
        ratio,
        groups,
        total,
        targets.get(HOLDOUT, 0),
        dict(campaign.get("budget", {})),
        sunshine,
        at_cap,
        notes,
    )


def _group(
    context: Context,
    campaign: Mapping[str, Any],
    group: Mapping[str, Any],
    targets: int,
    basket: Decimal,
) -> GroupEstimate:
    percent = group.get("response_rate_percent", campaign.get("response_rate_percent"))
    rate = DEFAULT_RESPONSE_RATE if percent is None else Decimal(str(percent)) / 100
    reward = offer_reward(context, group["offer"], max(basket, _minimum_amount(group)))
    responders = Decimal(targets) * rate
    points = int((responders * reward.points).to_integral_value(ROUND_HALF_UP))
    figures = Figures(
        targets,
        responders.quantize(CENT),
        points,
        _perceived(context, points, responders * (reward.money + reward.goods)),
        _real_cost(context, points, responders * reward.money, responders * reward.goods),
    )
    return GroupEstimate(
        group["id"], group.get("name", group["id"]), rate, percent is None, reward, figures
    )


def offer_reward(context: Context, offer: list[Mapping[str, Any]], basket: Decimal) -> Reward:
    """What an offer gives on a basket of ``basket`` (tier multipliers left aside)."""
    base = base_points(context, basket)
    cap = context.model.earn.caps.get("per_transaction")
    points, money, goods = 0, Decimal(0), Decimal(0)
    for effect in offer:
        if "points_multiplier" in effect:
            points += math.floor(base * (Decimal(str(effect["points_multiplier"])) - 1))
        elif "bonus_points" in effect:
            points += int(effect["bonus_points"])
        elif "discount" in effect:
            money += _discount(effect["discount"], basket)
        elif "free_item" in effect:
            goods += Decimal(str(effect["free_item"].get("max_price", 0)))
    if cap is not None:
        points = max(min(points, int(cap) - base), 0)
    return Reward(points, money, goods)


def base_points(context: Context, basket: Decimal) -> int:
    """Points a basket earns at the programme's base rate (rounded down)."""
    earn = context.model.earn
    rate = Decimal(str(earn.points)) / earn.per
    return math.floor(basket * rate)


def _discount(discount: Mapping[str, Any], basket: Decimal) -> Decimal:
    if "amount" in discount:
        return min(Decimal(str(discount["amount"])), basket)
    return (basket * Decimal(str(discount.get("percent", 0))) / 100).quantize(CENT)


def _minimum_amount(group: Mapping[str, Any]) -> Decimal:
    """The least basket the group's ``when.transaction.amount`` accepts (0 if none)."""
    test = group.get("when", {}).get("transaction", {}).get("amount")
    if isinstance(test, Mapping):
        low = test.get("gte", test.get("gt", test.get("eq")))
        if low is None and "between" in test:
            low = test["between"][0]
        return Decimal(str(low)) if low is not None else Decimal(0)
    if isinstance(test, int | float | str) and not isinstance(test, bool):
        return Decimal(str(test))
    return Decimal(0)


def _face_value(context: Context, points: int | Decimal) -> Decimal:
    burn_points, worth = context.burn()
    return Decimal(points) * worth / burn_points


def _points_worth(context: Context, value: Decimal) -> int:
    """The points whose face value is ``value`` (rounded down)."""
    burn_points, worth = context.burn()
    return math.floor(value / worth * burn_points)


def _perceived(context: Context, points: int, money: Decimal) -> Decimal:
    return (_face_value(context, points) + money).quantize(CENT)


def _real_cost(context: Context, points: int, money: Decimal, goods: Decimal) -> Decimal:
    burn_points, worth = context.burn()
    rate, ratio = context.assumptions()
    of_points = real_cost_of_points(points, burn_points, worth, rate, ratio)
    return (of_points + money + goods * ratio).quantize(CENT)


def _sum(parts: list[Figures]) -> Figures:
    return Figures(
        sum(p.targets for p in parts),
        sum((p.responders for p in parts), Decimal(0)),
        sum(p.points for p in parts),
        sum((p.perceived_value for p in parts), Decimal(0)),
        sum((p.real_cost for p in parts), Decimal(0)),
    )


def _cap_points(context: Context, campaign: Mapping[str, Any]) -> int | None:
    budget = campaign.get("budget", {})
    if "points" in budget:
        return int(budget["points"])
    if "money" in budget:
        burn_points, worth = context.burn()
        return int(Decimal(str(budget["money"])) / worth * burn_points)
    return None


def _sunshine(
    conn: Connection,
    context: Context,
    campaign: Mapping[str, Any],
    at: datetime,
    basket: Decimal,
    budget_points: int,
) -> Sunshine:
    start, end = campaign_window(campaign, context.tz)
    everyone, recent = _activity(conn, context, at, end - start)
    rate = Decimal(recent) / everyone if everyone else Decimal(0)
    buyers = Decimal(everyone) * rate
    base = base_points(context, basket) or 1
    multiplier = 1 + Decimal(budget_points) / (buyers * base) if buyers else None
    burn_points, worth = context.burn()
    ratio = context.assumptions()
    return Sunshine(
        everyone,
        rate.quantize(Decimal("0.0001")),
        buyers.quantize(CENT),
        budget_points,
        None if multiplier is None else multiplier.quantize(CENT),
        (Decimal(budget_points) / everyone if everyone else Decimal(0)).quantize(CENT),
        real_cost_of_points(budget_points, burn_points, worth, *ratio).quantize(CENT),
        (end - start).days,
    )


def _default_moment(
    conn: Connection, context: Context, campaign: Mapping[str, Any], at: datetime | None
) -> tuple[datetime, str | None]:
    """``at`` as given, or now; or the last purchase when history ended a window ago."""
    if at is not None:
        return at, None
    now = datetime.now(UTC).astimezone(context.tz)
    last = conn.execute(
        select(func.max(members.c.last_purchase_at)).where(members.c.programme == context.programme)
    ).scalar_one_or_none()
    start, end = campaign_window(campaign, context.tz)
    if last is None or last >= now - (end - start):
        return now, None
    last = last.astimezone(context.tz)
    return last, (
        f"no date given and no purchase in the {(end - start).days} days before now: "
        f"estimated as of the last purchase in the ledger, {last:%Y-%m-%d %H:%M} "
        "(give --at or ?at= to choose)"
    )


def _activity(conn: Connection, context: Context, at: datetime, span: timedelta) -> tuple[int, int]:
    """Members, and members who bought within ``span`` before ``at`` (the sunshine's buyers)."""
    since = at - span
    recent = func.count().filter(members.c.last_purchase_at >= since)
    row = conn.execute(
        select(func.count(), recent).where(
            members.c.programme == context.programme, members.c.merged_into.is_(None)
        )
    ).one()
    return int(row[0]), int(row[1])


def _average_basket(conn: Connection, context: Context, at: datetime) -> Decimal:
    """The mean sale amount over the 90 days before ``at`` (DEFAULT_BASKET without history)."""
    amount = transactions.c.response[("totals", "amount")].as_float()
    mean = conn.execute(
        select(func.avg(amount)).where(
            transactions.c.programme == context.programme,
            transactions.c.kind.in_(PURCHASE_KINDS),
            transactions.c.at >= at - timedelta(days=90),
            transactions.c.at <= at,
        )
    ).scalar_one_or_none()
    if mean is None:
        return DEFAULT_BASKET
    return Decimal(str(mean)).quantize(from_minor(1, context.currency))


def _notes(groups: list[GroupEstimate], cap: int | None, total: Figures) -> list[str]:
    notes = [
        f"group {g.group}: no response_rate_percent, {g.response_rate:.0%} assumed"
        for g in groups
        if g.rate_assumed
    ]
    if cap is not None and total.points > cap:
        notes.append(
            f"expected points {total.points:,} exceed the budget of {cap:,}: "
            "the offer stops once the budget is spent"
        )
    return notes


__all__ = ["Estimate", "estimate", "offer_reward"]
