"""Per-version figures of one replay, aggregated in one pass over its results.

Read from the results (money, points per sale) and from the scratch ledger the replay
wrote (the liability at the period's end, tiers, the next review's forecast).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from engine.backtest.liability import Liability, liability
from engine.backtest.replay import ZERO, Result
from engine.backtest.scratch import Scratch
from engine.backtest.value import burn_value, facts, real_cost
from engine.calendar import local_date, period_bounds
from engine.errors import LoyaltyError
from engine.ledger import jobs
from engine.ledger.state import current_spend
from engine.ledger.tables import members
from engine.pricing import Evaluator

NEAR = Decimal("0.10")  # "within 10% of a threshold"


@dataclass
class Breakdown:
    sales: int = 0
    amount: Decimal = ZERO
    discounts: Decimal = ZERO
    points: int = 0

    def add(self, amount: Decimal, discounts: Decimal, points: int, sales: int = 1) -> None:
        self.sales += sales
        self.amount += amount
        self.discounts += discounts
        self.points += points

    def as_dict(self) -> dict[str, Any]:
        return {
            "sales": self.sales,
            "amount": str(self.amount),
            "discounts": str(self.discounts),
            "points": self.points,
        }


@dataclass
class MemberFigures:
    sales: int = 0
    spend: Decimal = ZERO
    discounts: Decimal = ZERO
    earned: int = 0
    redeemed: int = 0
    refused: int = 0
    value: Decimal = ZERO  # discounts + face value of the points earned: what the member got
    tier_end: str | None = None
    tier_review: str | None = None


@dataclass
class Figures:
    version: str
    sales: int
    refused: int
    amount: Decimal
    discounts: Decimal
    points_issued: int
    points_redeemed: int
    points_expired: int
    reward_cost: Decimal  # discounts + real cost of the points issued
    reward_cost_percent: Decimal  # of sales
    end: Liability
    review_date: str | None
    tier_mix_end: dict[str, int]
    tier_mix_review: dict[str, int]
    near_threshold: int
    by_tier: dict[str, Breakdown] = field(default_factory=dict)
    by_store: dict[str, Breakdown] = field(default_factory=dict)
    by_category: dict[str, Breakdown] = field(default_factory=dict)
    members: dict[str, MemberFigures] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        end = self.end.as_dict()
        return {
            "version": self.version,
            "sales": self.sales,
            "refused": self.refused,
            "amount": str(self.amount),
            "discounts": str(self.discounts),
            "points": {
                "issued": self.points_issued,
                "redeemed": self.points_redeemed,
                "expired": self.points_expired,
            },
            "reward_cost": str(self.reward_cost),
            "reward_cost_percent": str(self.reward_cost_percent),
            "liability_at_end": {
                "points": end["points"]["outstanding"],
                "burn_value": end["value"]["burn_value"],
                "real_cost": end["value"]["real_cost"],
                "redemption_rate": end["redemption_rate"],
                "breakage_points": end["breakage"]["points"],
            },
            "tiers": {
                "at_end": self.tier_mix_end,
                "at_next_review": self.tier_mix_review,
                "next_review": self.review_date,
                "within_10_percent_of_next_threshold": self.near_threshold,
            },
            "by_tier": {k: v.as_dict() for k, v in sorted(self.by_tier.items())},
            "by_store": {k: v.as_dict() for k, v in sorted(self.by_store.items())},
            "by_category": {k: v.as_dict() for k, v in sorted(self.by_category.items())},
        }


def figures(
    scratch: Scratch, evaluator: Evaluator, results: list[Result], start: datetime, end: datetime
) -> Figures:
    known = facts(evaluator)
    at_start, at_end = (
        liability(scratch.engine, evaluator, start),
        liability(scratch.engine, evaluator, end),
    )
    people: dict[str, MemberFigures] = defaultdict(MemberFigures)
    by_tier: dict[str, Breakdown] = defaultdict(Breakdown)
    by_store: dict[str, Breakdown] = defaultdict(Breakdown)
    by_category: dict[str, Breakdown] = defaultdict(Breakdown)
    totals = Breakdown()
    refused = issued = redeemed = 0
    for result in results:
        who = people[result.member_id] if result.member_id else MemberFigures()
        if not result.ok:
            refused += 1
            who.refused += 1
            continue
        issued += result.earned
        redeemed += result.redeemed
        who.earned += result.earned
        who.redeemed += result.redeemed
        if result.kind != "sale":
            continue
        totals.add(result.amount, result.discounts, result.earned)
        by_tier[result.tier or "-"].add(result.amount, result.discounts, result.earned)
        by_store[result.store or "-"].add(result.amount, result.discounts, result.earned)
        for category, amount, discounts in result.lines:
            by_category[category or "-"].add(amount, discounts, 0, sales=0)
        who.sales += 1
        who.spend += result.amount
        who.discounts += result.discounts
    for who in people.values():
        who.value = who.discounts + burn_value(evaluator, known, who.earned)
    rate_used = at_end.redemption_rate if at_end.issued > 0 else known.assumed_redemption_rate
    cost = totals.discounts + real_cost(evaluator, known, max(issued, 0), rate_used)
    tiers_end, near = _tiers_at_end(scratch, evaluator, people, end)
    review_date, tiers_review = _review_forecast(scratch, evaluator, people, end)
    return Figures(
        version=evaluator.programme.version,
        sales=totals.sales,
        refused=refused,
        amount=totals.amount,
        discounts=totals.discounts,
        points_issued=issued,
        points_redeemed=redeemed,
        points_expired=at_end.expired - at_start.expired,
        reward_cost=cost,
        reward_cost_percent=_percent(cost, totals.amount),
        end=at_end,
        review_date=review_date,
        tier_mix_end=tiers_end,
        tier_mix_review=tiers_review,
        near_threshold=near,
        by_tier=dict(by_tier),
        by_store=dict(by_store),
        by_category=dict(by_category),
        members=dict(people),
    )


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(Decimal("0.01")) if whole else Decimal("0.00")


def _tiers_at_end(
    scratch: Scratch, evaluator: Evaluator, people: dict[str, MemberFigures], end: datetime
) -> tuple[dict[str, int], int]:
    """Tier mix at the period's end, and how many members are within 10% below the next
    level's threshold (by the qualifying spend the ledger counts at the period's last day)."""
    order = [level["id"] for level in evaluator.levels]
    last_day = local_date(end - timedelta(microseconds=1), evaluator.tz)
    mix: Counter[str] = Counter()
    near = 0
    query = select(members).where(
        members.c.programme == evaluator.programme.id, members.c.merged_into.is_(None)
    )
    with scratch.engine.connect() as conn:
        for row in conn.execute(query).mappings().all():
            mix[row["tier"] or "-"] += 1
            people[row["id"]].tier_end = row["tier"]  # every member: a drop needs no sale
            if row["tier"] not in order or order.index(row["tier"]) + 1 >= len(order):
                continue
            threshold = evaluator.thresholds.get(order[order.index(row["tier"]) + 1])
            if threshold is None:
                continue
            spend = current_spend(evaluator.model, row, last_day, conn)
            near += int(threshold * (1 - NEAR) <= spend < threshold)
    return dict(sorted(mix.items())), near


def _review_forecast(
    scratch: Scratch, evaluator: Evaluator, people: dict[str, MemberFigures], end: datetime
) -> tuple[str | None, dict[str, int]]:
    """Tiers after the next review if nothing more were bought: the real review job, run on
    a copy of the scratch ledger at the end of the qualifying period the period ends in."""
    kind = facts(evaluator).period_kind
    last_day = local_date(end - timedelta(microseconds=1), evaluator.tz)
    review_date = period_bounds(kind, last_day)[1] if kind == "calendar_year" else last_day  # type: ignore[arg-type]
    twin = scratch.copy(f"{scratch.path.stem}-review")
    try:
        jobs.tier_review(twin.engine, evaluator, review_date, now=end)
        with twin.engine.connect() as conn:
            rows = conn.execute(
                select(members.c.id, members.c.tier).where(
                    members.c.programme == evaluator.programme.id, members.c.merged_into.is_(None)
                )
            ).all()
    except LoyaltyError:
        return None, {}
    finally:
        twin.close()
    mix: Counter[str] = Counter()
    for member_id, tier in rows:
        mix[tier or "-"] += 1
        people[member_id].tier_review = tier
    return review_date.isoformat(), dict(sorted(mix.items()))
