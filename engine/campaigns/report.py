"""After the window: did the downpour work? Each group against its holdout.

For every member frozen at launch: **activated** = at least one sale or redemption inside the
campaign window; **spend** = the sum of their sales' amounts in the window. Per group, the
activation rate p_g is compared with the rate p_h of the holdout members drawn from the same
group (their *stratum*: the group they would have joined; see ``Report.strata``), and the
whole campaign with the whole holdout.

* Lift = p_g - p_h, with Newcombe's hybrid score interval (his method 10) at 95%: Wilson
  intervals (l, u) for each rate, then [d - sqrt((p_g - l_g)^2 + (u_h - p_h)^2),
  d + sqrt((u_g - p_g)^2 + (p_h - l_h)^2)]. It stays inside [-1, 1] and behaves with small
  groups and rates near 0, where the plain Wald interval does not.
* Spend lift = mean spend per member of the group minus the holdout's, with a Welch (unequal
  variance) normal interval mean_g - mean_h +/- 1.96 sqrt(s_g^2/n_g + s_h^2/n_h).
* Real cost = the campaign's points issued to the group (``offer_uses``) by the domain formula
  ``real_cost_of_points``, plus the money its discounts and free items took off (face value);
  cost per incremental activation = real cost / (lift x members of the group).

Everything is aggregated in SQL (per member, then per group); only the sales that carry a
campaign offer are read back, to add up the money their discounts took off.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Float, and_, case, cast, func, select

from engine.campaigns.model import Context, campaign_window, groups_by_priority
from engine.campaigns.svg import BLUE, GREY, Canvas, nice_top
from engine.campaigns.targeting import HOLDOUT, Targeting, launched_summary
from engine.errors import InputError
from engine.ledger import dialect
from engine.ledger.kinds import ACTIVE_KINDS, PURCHASE_KINDS
from engine.ledger.tables import campaign_assignments, members, offer_uses, transactions
from engine.pricing.points import real_cost_of_points

Z95 = 1.959963984540054
ALL = "all"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Arm:
    """One set of members: a group, or a holdout stratum."""

    members: int
    activated: int
    spend: float
    spend_squares: float

    @property
    def rate(self) -> float:
        return self.activated / self.members if self.members else 0.0

    @property
    def mean_spend(self) -> float:
        return self.spend / self.members if self.members else 0.0

    @property
    def spend_variance(self) -> float:
        if self.members < 2:
            return 0.0
        mean = self.mean_spend
        return max((self.spend_squares - self.members * mean * mean) / (self.members - 1), 0.0)

    def __add__(self, other: Arm) -> Arm:
        return Arm(
            self.members + other.members,
            self.activated + other.activated,
            self.spend + other.spend,
            self.spend_squares + other.spend_squares,
        )


NOBODY = Arm(0, 0, 0.0, 0.0)


@dataclass(frozen=True)
class Comparison:
    group: str
    treated: Arm
    holdout: Arm
    points: int
    money: Decimal
    real_cost: Decimal

    @property
    def lift(self) -> float:
        return self.treated.rate - self.holdout.rate

    @property
    def lift_interval(self) -> tuple[float, float] | None:
        if not self.treated.members or not self.holdout.members:
            return None
        return newcombe(
            self.treated.activated,
            self.treated.members,
            self.holdout.activated,
            self.holdout.members,
        )

    @property
    def spend_lift(self) -> float:
        return self.treated.mean_spend - self.holdout.mean_spend

    @property
    def spend_interval(self) -> tuple[float, float] | None:
        if self.treated.members < 2 or self.holdout.members < 2:
            return None
        se = math.sqrt(
            self.treated.spend_variance / self.treated.members
            + self.holdout.spend_variance / self.holdout.members
        )
        return self.spend_lift - Z95 * se, self.spend_lift + Z95 * se

    @property
    def incremental(self) -> float:
        return self.lift * self.treated.members

    @property
    def cost_per_incremental(self) -> Decimal | None:
        if self.incremental <= 0:
            return None
        return (self.real_cost / Decimal(str(self.incremental))).quantize(CENT)

    def as_dict(self) -> dict[str, Any]:
        interval, spend = self.lift_interval, self.spend_interval
        return {
            "group": self.group,
            "members": self.treated.members,
            "activated": self.treated.activated,
            "activation_rate": round(self.treated.rate, 4),
            "holdout_members": self.holdout.members,
            "holdout_activated": self.holdout.activated,
            "holdout_rate": round(self.holdout.rate, 4),
            "lift": round(self.lift, 4),
            "lift_ci95": None if interval is None else [round(v, 4) for v in interval],
            "spend": round(self.treated.spend, 2),
            "spend_per_member": round(self.treated.mean_spend, 2),
            "holdout_spend_per_member": round(self.holdout.mean_spend, 2),
            "spend_lift_per_member": round(self.spend_lift, 2),
            "spend_lift_ci95": None if spend is None else [round(v, 2) for v in spend],
            "points_issued": self.points,
            "money_off": str(self.money),
            "real_cost": str(self.real_cost),
            "incremental_activations": round(self.incremental, 1),
            "cost_per_incremental_activation": None
            if self.cost_per_incremental is None
            else str(self.cost_per_incremental),
        }


@dataclass(frozen=True)
class Report:
    programme: str
    campaign_id: str
    currency: str
    window: tuple[datetime, datetime]
    at: datetime
    strata: str  # where the holdout members' groups come from
    comparisons: list[Comparison]  # every group, then ALL

    @property
    def finished(self) -> bool:
        return self.at > self.window[1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "programme": self.programme,
            "campaign": self.campaign_id,
            "currency": self.currency,
            "window": [t.isoformat() for t in self.window],
            "at": self.at.isoformat(),
            "finished": self.finished,
            "holdout_strata": self.strata,
            "methods": {
                "activation": "a sale or redemption inside the window",
                "lift_ci95": "Newcombe hybrid score interval (Wilson), difference of proportions",
                "spend_lift_ci95": "Welch normal interval, difference of means",
            },
            "groups": [c.as_dict() for c in self.comparisons],
        }


# --- statistics -------------------------------------------------------------------------------


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def newcombe(a1: int, n1: int, a2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 - p2 (method 10, 1998)."""
    p1, p2 = a1 / n1, a2 / n2
    l1, u1 = wilson(a1, n1, z)
    l2, u2 = wilson(a2, n2, z)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt(
        (u1 - p1) ** 2 + (p2 - l2) ** 2
    )


# --- the report -------------------------------------------------------------------------------


def report(conn: Connection, context: Context, campaign_id: str, at: datetime) -> Report:
    """Activation, spend and real cost of each group against its holdout (module docstring)."""
    campaign = context.downpour(campaign_id)
    window = campaign_window(campaign, context.tz)
    targeting = Targeting(context, campaign_id, at, dialect.name(conn))
    assigned, strata = _assigned(targeting)
    if launched_summary(conn, context.programme, campaign_id) is None:
        raise InputError(f"campaign '{campaign_id}' was not launched: nobody is assigned to it")
    arms = _arms(conn, context.programme, assigned, window)
    points, money = _costs(conn, context, campaign_id, assigned, window)
    order = [g["id"] for g in groups_by_priority(campaign)]
    comparisons = [_compare(context, g, arms, points, money) for g in order]
    comparisons.append(_overall(context, order, arms, points, money))
    return Report(
        context.programme, campaign_id, context.currency.code, window, at, strata, comparisons
    )


def _assigned(targeting: Targeting) -> tuple[Any, str]:
    """Assigned members with their stratum: their group, or the group a holdout was drawn from."""
    a = campaign_assignments.c
    if "stratum" in campaign_assignments.c:
        stratum: ColumnElement[Any] = a.stratum
        source = "frozen at launch"
    else:
        stratum = case((a.group_id == HOLDOUT, targeting.group_of()), else_=a.group_id)
        source = "re-derived from the holdout members' current tier and tags"
    query = (
        select(a.member_id, a.group_id, stratum.label("stratum"))
        .join(members, and_(members.c.programme == a.programme, members.c.id == a.member_id))
        .where(a.programme == targeting.context.programme, a.campaign_id == targeting.campaign_id)
    )
    return query.subquery("assigned"), source


def _arms(
    conn: Connection, programme: str, assigned: Any, window: tuple[datetime, datetime]
) -> dict[tuple[str, str | None], Arm]:
    t = transactions.c
    paid = cast(t.response[("totals", "amount")].as_float(), Float)
    amount = case((t.kind.in_(PURCHASE_KINDS), paid), else_=0.0)
    per_member = (
        select(
            assigned.c.member_id,
            assigned.c.group_id,
            assigned.c.stratum,
            func.max(case((t.id.is_not(None), 1), else_=0)).label("activated"),
            func.coalesce(func.sum(amount), 0.0).label("spend"),
        )
        .select_from(assigned)
        .outerjoin(
            transactions,
            and_(
                t.programme == programme,
                t.member_id == assigned.c.member_id,
                t.kind.in_(ACTIVE_KINDS),
                t.at >= window[0],
                t.at <= window[1],
            ),
        )
        .group_by(assigned.c.member_id, assigned.c.group_id, assigned.c.stratum)
        .subquery("per_member")
    )
    rows = conn.execute(
        select(
            per_member.c.group_id,
            per_member.c.stratum,
            func.count(),
            func.sum(per_member.c.activated),
            func.sum(per_member.c.spend),
            func.sum(per_member.c.spend * per_member.c.spend),
        ).group_by(per_member.c.group_id, per_member.c.stratum)
    )
    return {
        (group, stratum): Arm(int(n), int(active or 0), float(spend or 0), float(squares or 0))
        for group, stratum, n, active, spend, squares in rows
    }


def _costs(
    conn: Connection,
    context: Context,
    campaign_id: str,
    assigned: Any,
    window: tuple[datetime, datetime],
) -> tuple[dict[str, int], dict[str, Decimal]]:
    """Campaign points (offer_uses) and money off (the sales' discounts) per group."""
    u = offer_uses.c
    joined = (
        select(assigned.c.group_id, u.points, transactions.c.response)
        .select_from(assigned)
        .join(offer_uses, and_(u.member_id == assigned.c.member_id, u.offer_id == campaign_id))
        .join(
            transactions,
            and_(transactions.c.programme == u.programme, transactions.c.id == u.transaction_id),
        )
        .where(
            u.programme == context.programme,
            u.reverted.is_(False),
            u.at >= window[0],
            u.at <= window[1],
        )
    )
    points: dict[str, int] = {}
    money: dict[str, Decimal] = {}
    for group, given, response in conn.execute(joined):
        points[group] = points.get(group, 0) + int(given or 0)
        money[group] = money.get(group, Decimal(0)) + _money_off(response, campaign_id)
    return points, money


def _money_off(response: Any, campaign_id: str) -> Decimal:
    body = json.loads(response) if isinstance(response, str) else response
    prefix = f"campaign:{campaign_id}"
    return sum(
        (
            Decimal(str(d["amount"]))
            for line in body.get("lines", [])
            for d in line.get("discounts", [])
            if d.get("source", "") == prefix or d.get("source", "").startswith(prefix + "/")
        ),
        Decimal(0),
    )


def _cost(context: Context, points: int, money: Decimal) -> Decimal:
    burn_points, worth = context.burn()
    rate, ratio = context.assumptions()
    return (real_cost_of_points(points, burn_points, worth, rate, ratio) + money).quantize(CENT)


def _compare(
    context: Context,
    group: str,
    arms: Mapping[tuple[str, str | None], Arm],
    points: Mapping[str, int],
    money: Mapping[str, Decimal],
) -> Comparison:
    treated = arms.get((group, group), NOBODY)
    holdout = arms.get((HOLDOUT, group), NOBODY)
    spent, off = points.get(group, 0), money.get(group, Decimal(0))
    return Comparison(group, treated, holdout, spent, off, _cost(context, spent, off))


def _overall(
    context: Context,
    groups: list[str],
    arms: Mapping[tuple[str, str | None], Arm],
    points: Mapping[str, int],
    money: Mapping[str, Decimal],
) -> Comparison:
    treated = sum((arm for (g, _), arm in arms.items() if g != HOLDOUT), NOBODY)
    holdout = sum((arm for (g, _), arm in arms.items() if g == HOLDOUT), NOBODY)
    spent = sum(points.get(g, 0) for g in groups)
    off = sum((money.get(g, Decimal(0)) for g in groups), Decimal(0))
    return Comparison(ALL, treated, holdout, spent, off, _cost(context, spent, off))


# --- rendering --------------------------------------------------------------------------------


def table(result: Report) -> str:
    """The comparison as a terminal table."""
    head = (
        f"{'group':<8} {'members':>8} {'active':>7} {'holdout':>8} {'hold.':>7} "
        f"{'lift':>7} {'95% CI':>17} {'spend/m':>9} {'real cost':>11} {'cost/incr.':>11}"
    )
    rows = [head, "-" * len(head)]
    for c in result.comparisons:
        interval = c.lift_interval
        ci = "-" if interval is None else f"{interval[0]:+.1%} to {interval[1]:+.1%}"
        per = c.cost_per_incremental
        rows.append(
            f"{c.group:<8} {c.treated.members:>8,} {c.treated.rate:>7.1%} {c.holdout.members:>8,} "
            f"{c.holdout.rate:>7.1%} {c.lift:>+7.1%} {ci:>17} {c.treated.mean_spend:>9.2f} "
            f"{c.real_cost:>11} {'-' if per is None else str(per):>11}"
        )
    rows.append("")
    rows.append(f"holdout strata: {result.strata}; currency {result.currency}")
    if not result.finished:
        rows.append(
            f"note: the window ends {result.window[1].isoformat()}; these figures are interim"
        )
    return "\n".join(rows)


def chart(result: Report) -> str:
    """Grouped bars: each group's activation rate beside its holdout's, with 95% intervals."""
    shown = result.comparisons
    top = nice_top(max([max(c.treated.rate, c.holdout.rate) for c in shown] + [0.05]) * 1.2)
    canvas = Canvas(
        f"{result.campaign_id}: activation in the window, group vs holdout", 0, len(shown), top
    )
    canvas.share_axis("activated")
    for i, c in enumerate(shown):
        _pair(canvas, i, c)
    canvas.text(
        canvas.x(0) + 4,
        470,
        "blue: offered   grey: holdout   bars: 95% Wilson interval",
        size=10,
        anchor="start",
    )
    return canvas.render()


def _pair(canvas: Canvas, i: int, c: Comparison) -> None:
    for offset, arm, colour in ((0.15, c.treated, BLUE), (0.5, c.holdout, GREY)):
        left, right = canvas.x(i + offset), canvas.x(i + offset + 0.33)
        canvas.bar(left, right, arm.rate, colour)
        if arm.members:
            low, high = wilson(arm.activated, arm.members)
            canvas.error_bar((left + right) / 2, low, high)
    canvas.text(canvas.x(i + 0.5), canvas.y(0) + 18, c.group, size=12, bold=True)
    canvas.text(canvas.x(i + 0.5), canvas.y(0) + 36, f"lift {c.lift:+.1%}", size=11)


__all__ = ["Report", "chart", "newcombe", "report", "table", "wilson"]
