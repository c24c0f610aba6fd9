"""Returns against an earlier sale, whole or by line and quantity.

A sale records what each of its lines earned (``engine.pricing.attribution``); a return takes back,
per returned line and quantity, exactly that: base points, rates, the tier bonus and
line-level offer bonuses. Bonuses earned by the basket as a whole follow the programme's
``earn.on_return.basket_bonuses`` (kept while the rest still qualifies, clawed back, or
prorated). Redeemed points are refunded to the lots they came from (so they keep their expiry)
in proportion to the value of the returned lines they paid for; tier progress drops by the
returned lines' qualifying amounts; campaign budgets get back what the returned items cost.
Everything per line is rounded on the cumulative quantity returned: after any series of
partial returns the totals are what the same items returned at once would give, and a
complete return takes back exactly what the sale earned. Sales recorded before per-line
records existed are returned in proportion to money, as before.

A clawback the sale's own lot cannot cover is taken from other lots, then becomes debt
(``expiry.clawback: negative_balance``, the default) or is deducted from the money refunded
(``deduct_money``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select, update

from engine.errors import InputError, UnknownTransaction
from engine.ledger import budgets as budget
from engine.ledger import dialect
from engine.ledger.offers import give_back_uses
from engine.ledger.postings import (
    add_period_points,
    change_tier,
    journal_entry,
    reverse_sale_metrics,
    shift_lot,
)
from engine.ledger.state import Needs, counted_model, member_row
from engine.ledger.tables import (
    lots,
    members,
    offer_uses,
    returned_lines,
    sale_attributions,
    transactions,
)
from engine.ledger.vouchers import void_sale_vouchers
from engine.money import from_minor, to_minor
from engine.policy.problems import Problem
from engine.pricing import Evaluator
from engine.pricing.attribution import cumulative
from engine.pricing.facts import build_facts
from engine.pricing.model import Line, Member, Transaction
from engine.pricing.points import redemption_value
from engine.rules import build_matcher
from engine.rules.parser import parse_when


@dataclass(frozen=True)
class ReturnedLine:
    line_id: str
    quantity: int


@dataclass(frozen=True)
class Share:
    """What the returned items were worth in the sale (minor units) and of its totals."""

    payable: int  # money paid for the returned items
    redeemed: int  # points' money value on the returned items
    qualifying: int  # money paid on returned items that counted toward the tier


def load_sale(conn: Connection, programme: str, sale_id: str) -> RowMapping:
    row = (
        conn.execute(
            select(transactions).where(
                transactions.c.programme == programme,
                transactions.c.id == sale_id,
                transactions.c.kind == "sale",
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise UnknownTransaction(f"no sale '{sale_id}' in programme '{programme}'")
    return row


def parse_return(body: Mapping[str, Any]) -> tuple[str, datetime, list[ReturnedLine] | None]:
    problems = []
    if not isinstance(body.get("id"), str) or not body["id"]:
        problems.append(Problem("missing required field 'id' (the return's own id)", ("id",)))
    at = _moment(body.get("at"), problems)
    lines = None
    if body.get("lines") == []:
        problems.append(
            Problem("give at least one line, or leave lines out to return it all", ("lines",))
        )
    elif "lines" in body and not isinstance(body["lines"], list):
        problems.append(Problem("lines must be a list of {line_id, quantity}", ("lines",)))
    elif "lines" in body:
        lines = [_returned_line(item, i, problems) for i, item in enumerate(body["lines"])]
    if problems:
        raise InputError("the return is invalid", problems)
    return body["id"], at, lines


def _moment(text: Any, problems: list[Problem]) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        problems.append(Problem("'at' must be a date and time with offset", ("at",)))
        return datetime.min
    if moment.tzinfo is None:
        problems.append(Problem(f"'{text}' has no time zone offset", ("at",)))
    return moment


def _returned_line(item: Any, index: int, problems: list[Problem]) -> ReturnedLine:
    path = ("lines", index)
    if not isinstance(item, Mapping) or not isinstance(item.get("line_id"), str):
        problems.append(Problem("each returned line needs a line_id", path))
        return ReturnedLine("", 0)
    quantity = item.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        problems.append(
            Problem("quantity must be a whole number of at least 1", (*path, "quantity"))
        )
        return ReturnedLine(item["line_id"], 0)
    return ReturnedLine(item["line_id"], quantity)


def remaining_quantities(conn: Connection, programme: str, sale: RowMapping) -> dict[str, int]:
    sold = {line["id"]: line["quantity"] for line in sale["request"]["lines"]}
    rows = conn.execute(
        select(returned_lines.c.line_id, returned_lines.c.quantity).where(
            returned_lines.c.programme == programme, returned_lines.c.sale_id == sale["id"]
        )
    )
    for line_id, quantity in rows:
        sold[line_id] -= quantity
    return sold


def check_quantities(requested: Sequence[ReturnedLine], left: Mapping[str, int]) -> None:
    problems = []
    for index, line in enumerate(requested):
        if line.line_id not in left:
            problems.append(
                Problem(f"the sale has no line '{line.line_id}'", ("lines", index, "line_id"))
            )
        elif line.quantity > left[line.line_id]:
            problems.append(
                Problem(
                    f"only {left[line.line_id]} of line '{line.line_id}' can still be returned",
                    ("lines", index, "quantity"),
                )
            )
    if problems:
        raise InputError("the return is invalid", problems)


def returned_share(evaluator: Evaluator, sale: RowMapping, counts: Mapping[str, int]) -> Share:
    """The money value of ``counts`` (line id → quantity) within the stored quote."""
    sold = {line["id"]: line["quantity"] for line in sale["request"]["lines"]}
    excluded = evaluator.model.earn.exclude
    payable = redeemed = qualifying = Fraction(0)
    for line in sale["response"]["lines"]:
        part = Fraction(counts.get(line["id"], 0), sold[line["id"]])
        line_payable = part * to_minor(Decimal(line["payable"]), evaluator.currency)
        payable += line_payable
        redeemed += part * to_minor(Decimal(line["redeemed_value"]), evaluator.currency)
        counted = line["category"] not in excluded.get("categories", ()) and line[
            "sku"
        ] not in excluded.get("skus", ())
        qualifying += line_payable if counted else 0
    return Share(_half_up(payable), _half_up(redeemed), _half_up(qualifying))


def _half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def cumulative_points(total: int, part: int, whole: int) -> int:
    """Points for ``part`` of ``whole`` when ``total`` belong to the whole (half up)."""
    return 0 if whole == 0 else _half_up(Fraction(total * part, whole))


def refund_lots(
    conn: Connection, sale: RowMapping, points: int, return_id: str, at: datetime
) -> None:
    """Give redeemed points back to the lots they came from, latest-expiring first."""
    taken = list(reversed(sale["response"]["redemption"]["lots"]))
    for entry in taken:
        if points <= 0:
            return
        back = min(points, entry["points"])
        lot_id = int(entry["lot_id"])
        shift_lot(conn, sale["programme"], sale["member_id"], lot_id, back, "refund", return_id, at)
        points -= back


def claw_back(conn: Connection, sale: RowMapping, points: int, return_id: str, at: datetime) -> int:
    """Take points back: the sale's own lot first, then the member's other lots.

    Returns the shortfall that no lot could cover.
    """
    candidates = conn.execute(
        select(lots.c.id, lots.c.points_left)
        .where(
            lots.c.programme == sale["programme"],
            lots.c.member_id == sale["member_id"],
            lots.c.points_left > 0,
        )
        .order_by((lots.c.transaction_id == sale["id"]).desc(), lots.c.expires_at, lots.c.id)
    ).all()
    for lot_id, left in candidates:
        if points == 0:
            break
        take = min(points, left)
        shift_lot(
            conn, sale["programme"], sale["member_id"], lot_id, -take, "clawback", return_id, at
        )
        points -= take
    return points


def previous_returns(conn: Connection, programme: str, sale_id: str) -> tuple[int, int]:
    """Points already clawed back and refunded by earlier returns of this sale."""
    row = conn.execute(
        select(
            func.coalesce(
                func.sum(transactions.c.points_earned - transactions.c.points_settled), 0
            ),
            func.coalesce(func.sum(transactions.c.points_redeemed), 0),
        ).where(
            transactions.c.programme == programme,
            transactions.c.original_id == sale_id,
            transactions.c.kind == "return",
        )
    ).one()
    return -int(row[0]), -int(row[1])


def record_lines(
    conn: Connection,
    programme: str,
    sale_id: str,
    counts: Mapping[str, int],
    left: Mapping[str, int],
    sold: Mapping[str, int],
) -> None:
    dialect_insert = _upsert(conn)
    for line_id, quantity in counts.items():
        if quantity:
            total = sold[line_id] - left[line_id] + quantity
            statement = dialect_insert(returned_lines).values(
                programme=programme, sale_id=sale_id, line_id=line_id, quantity=total
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["programme", "sale_id", "line_id"], set_={"quantity": total}
                )
            )


def _upsert(conn: Connection) -> Any:
    return dialect.insert(conn)


def money_for_points(evaluator: Evaluator, points: int) -> Decimal:
    burn = evaluator.model.burn
    if not burn or points <= 0:
        return Decimal(0).quantize(evaluator.currency.quantum)
    return redemption_value(points, burn.points, burn.worth, evaluator.currency)


def revert_offer_uses(conn: Connection, programme: str, sale_id: str) -> None:
    conn.execute(
        update(offer_uses)
        .where(offer_uses.c.programme == programme, offer_uses.c.transaction_id == sale_id)
        .values(reverted=True)
    )


def reconsider_tier(
    conn: Connection,
    evaluator: Evaluator,
    sale: RowMapping,
    spend: Decimal,
    today: Any,
    at: datetime,
) -> str | None:
    """Undo an upgrade the sale caused if the spend left no longer reaches it."""
    tier = sale["response"]["tier"]
    row = member_row(conn, sale["programme"], sale["member_id"])
    threshold = evaluator.thresholds.get(tier["after"])
    if (
        not tier["upgraded"]
        or row["tier"] != tier["after"]
        or threshold is None
        or spend >= threshold
    ):
        return row["tier"]
    values = change_tier(
        conn,
        evaluator,
        row,
        tier["before"],
        today,
        at,
        "downgrade: a return took qualifying spend below the threshold",
    )
    conn.execute(
        update(members)
        .where(members.c.programme == row["programme"], members.c.id == row["id"])
        .values(**values)
    )
    return tier["before"]


def from_cents(evaluator: Evaluator, minor: int) -> Decimal:
    return from_minor(minor, evaluator.currency)


@dataclass(frozen=True)
class Plan:
    """What a return changes, computed before anything is written."""

    counts: dict[str, int]  # line id → quantity returned now
    left: dict[str, int]  # line id → quantity returnable before this return
    sold: dict[str, int]
    claw: int  # points to take back now
    refund: int  # redeemed points to give back now
    money: int  # money refunded for the items (minor units)
    qualifying: int  # tier progress removed, in minor units of the tier metric
    complete: bool  # nothing of the sale is left after this return
    lines: tuple[LineBack, ...] = ()  # per returned line, the points it takes back
    basket: tuple[BasketBack, ...] = ()  # what each basket-level bonus does
    policy: str | None = None  # the sale's basket-bonus policy; None: a sale before per-line
    budgets: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # source → points, money


@dataclass(frozen=True)
class LineBack:
    line_id: str
    quantity: int
    points: int


@dataclass(frozen=True)
class BasketBack:
    source: str
    points: int  # what the bonus earned at the sale
    clawed_back: int  # taken back by this return
    decision: str  # why, for the response


@dataclass(frozen=True)
class Quantities:
    """A return's quantities per line: sold, returned before it and after it."""

    sold: Mapping[str, int]
    before: Mapping[str, int]
    after: Mapping[str, int]

    def moved(self, line_id: str, total: int) -> int:
        """What this return takes of ``total`` carried by all units of a line: the cumulative
        share after it minus the cumulative share before it (see ``cumulative``)."""
        sold = self.sold[line_id]
        return cumulative(total, self.after[line_id], sold) - cumulative(
            total, self.before[line_id], sold
        )


def plan(
    conn: Connection, evaluator: Evaluator, sale: RowMapping, requested: list[ReturnedLine] | None
) -> Plan:
    left = remaining_quantities(conn, sale["programme"], sale)
    sold = {line["id"]: line["quantity"] for line in sale["request"]["lines"]}
    items = (
        requested if requested is not None else [ReturnedLine(k, v) for k, v in left.items() if v]
    )
    check_quantities(items, left)
    counts: dict[str, int] = {}
    for item in items:
        counts[item.line_id] = counts.get(item.line_id, 0) + item.quantity
    check_quantities([ReturnedLine(k, v) for k, v in counts.items()], left)
    if not any(counts.values()):
        raise InputError(
            "the return is invalid", [Problem("nothing of this sale is left to return", ())]
        )
    before = {k: sold[k] - left[k] for k in sold}
    after = {k: before[k] + counts.get(k, 0) for k in sold}
    whole, done, now = (returned_share(evaluator, sale, c) for c in (sold, after, before))
    common = {
        "counts": counts,
        "left": left,
        "sold": sold,
        "money": done.payable - now.payable,
        "complete": all(after[k] == sold[k] for k in sold),
    }
    attribution = stored_attribution(conn, sale)
    if attribution is None:
        return _proportional_plan(conn, sale, (whole, done, now), common)
    quantities = Quantities(sold, before, after)
    return _per_line_plan(conn, evaluator, sale, attribution, quantities, common)


def _proportional_plan(
    conn: Connection, sale: RowMapping, shares: tuple[Share, Share, Share], common: dict[str, Any]
) -> Plan:
    """A sale recorded before per-line attribution: points in proportion to the money."""
    whole, done, now = shares
    clawed, refunded = previous_returns(conn, sale["programme"], sale["id"])
    value = lambda s: s.payable + s.redeemed  # noqa: E731 - the items' value after discounts
    earned = sale["response"]["points"]["total"]
    redeemed = sale["response"]["redemption"]["points"]
    return Plan(
        claw=cumulative_points(earned, value(done), value(whole)) - clawed,
        refund=cumulative_points(redeemed, done.redeemed, whole.redeemed) - refunded,
        qualifying=done.qualifying - now.qualifying,
        **common,
    )


def _per_line_plan(
    conn: Connection,
    evaluator: Evaluator,
    sale: RowMapping,
    attribution: Mapping[str, Any],
    quantities: Quantities,
    common: dict[str, Any],
) -> Plan:
    """Each returned line takes back what it earned; basket bonuses follow the policy."""
    budgets: dict[str, list[int]] = {}
    lines, refund, qualifying = [], 0, 0
    for record in attribution["lines"]:
        line_id = record["id"]
        points = 0
        for source, total in record["points"].items():
            moved = quantities.moved(line_id, total)
            points += moved
            _charge(budgets, source, moved, 0)
        for source, total in record["campaign_money"].items():
            _charge(budgets, source, 0, quantities.moved(line_id, total))
        refund += quantities.moved(line_id, record["redeemed_points"])
        qualifying += quantities.moved(line_id, record["qualifying"])
        returned = quantities.after[line_id] - quantities.before[line_id]
        if returned:
            lines.append(LineBack(line_id, returned, points))
    if common["complete"]:
        qualifying += attribution.get("visit", 0)
    policy = attribution["policy"]
    earlier = earlier_basket_clawbacks(conn, sale)
    basket = tuple(
        _basket_item(evaluator, sale, attribution, item, policy, quantities, earlier, common)
        for item in attribution["basket"]
    )
    for back in basket:
        _charge(budgets, back.source, back.clawed_back, 0)
    return Plan(
        claw=sum(line.points for line in lines) + sum(back.clawed_back for back in basket),
        refund=refund,
        qualifying=qualifying,
        lines=tuple(lines),
        basket=basket,
        policy=policy,
        budgets={source: (p, m) for source, (p, m) in budgets.items() if p or m},
        **common,
    )


def _charge(budgets: dict[str, list[int]], source: str, points: int, money: int) -> None:
    if source.startswith("campaign:"):
        spent = budgets.setdefault(source, [0, 0])
        spent[0] += points
        spent[1] += money


def _basket_item(
    evaluator: Evaluator,
    sale: RowMapping,
    attribution: Mapping[str, Any],
    item: Mapping[str, Any],
    policy: str,
    quantities: Quantities,
    earlier: Mapping[str, int],
    common: Mapping[str, Any],
) -> BasketBack:
    source, points = item["source"], item["points"]
    owed = points - earlier.get(source, 0)  # not yet taken back by earlier returns
    if common["complete"]:
        return BasketBack(source, points, owed, "clawed back: nothing of the sale is left")
    if policy == "claw_back":
        return BasketBack(source, points, owed, "clawed back in full on a return")
    if policy == "prorate":
        share = prorated(points, attribution["lines"], quantities)
        return BasketBack(source, points, share - earlier.get(source, 0), "prorated")
    if owed == 0:
        return BasketBack(source, points, 0, "already clawed back")
    if still_qualifies(evaluator, sale, item["when"], quantities):
        return BasketBack(source, points, 0, "kept: the remaining basket still qualifies")
    return BasketBack(source, points, owed, "clawed back: the remaining basket no longer qualifies")


def prorated(points: int, records: Sequence[Mapping[str, Any]], quantities: Quantities) -> int:
    """A basket bonus's cumulative share for the returned units, weighed by what each line
    earned itself (by its value when no line earned anything), half up."""
    weights = {r["id"]: sum(r["points"].values()) for r in records}
    if not any(weights.values()):
        weights = {r["id"]: r["value"] for r in records}
    if not any(weights.values()):
        weights = {r["id"]: 1 for r in records}
    whole = sum(weights.values())
    returned = sum(
        Fraction(weights[line_id] * quantities.after[line_id], quantities.sold[line_id])
        for line_id in weights
        if quantities.sold[line_id]
    )
    return _half_up(points * returned / whole)


def still_qualifies(
    evaluator: Evaluator, sale: RowMapping, when: Mapping[str, Any], quantities: Quantities
) -> bool:
    """Whether what is left of the basket still meets a basket bonus's condition."""
    cur = evaluator.currency
    states: list[_Priced] = []
    for line in sale["request"]["lines"]:
        left = quantities.sold[line["id"]] - quantities.after[line["id"]]
        if left:
            kept = _remaining_line(line, left, cur)
            states.append(_Priced(len(states), kept, to_minor(kept.amount, cur)))
    if not states:
        return False
    request = sale["request"]
    sold = Transaction(
        sale["id"],
        sale["at"],
        tuple(s.line for s in states),
        store=request.get("store", ""),
        channel=request.get("channel", ""),
    )
    facts = build_facts(
        Member(sale["member_id"]), sold, states, at=sale["at"], tz=evaluator.tz, currency=cur
    )
    matcher = _basket_matcher(json.dumps(when, sort_keys=True), cur.exponent)
    return any(match.rule_id == "basket" for match in matcher.match(facts))


@dataclass(frozen=True)
class _Priced:
    index: int
    line: Line
    amount: int


def _remaining_line(line: Mapping[str, Any], left: int, cur: Any) -> Line:
    """The line with ``left`` units; the till's own discount shrinks with it (half up)."""
    discount = to_minor(Decimal(str(line.get("discount", 0))), cur)
    kept = cumulative(discount, left, line["quantity"])
    return Line(
        id=line["id"],
        sku=str(line["sku"]),
        quantity=left,
        unit_price=Decimal(str(line["unit_price"])),
        category=line.get("category", ""),
        discount=from_minor(kept, cur),
    )


@lru_cache(maxsize=256)
def _basket_matcher(when: str, exponent: int) -> Any:
    condition = parse_when("basket", json.loads(when), currency_exponent=exponent)
    return build_matcher("python", "returns_basket_recheck", [condition])


def stored_attribution(conn: Connection, sale: RowMapping) -> Any:
    """The per-line record written with the sale, or None for a sale recorded before them."""
    return conn.execute(
        select(sale_attributions.c.attribution).where(
            sale_attributions.c.programme == sale["programme"],
            sale_attributions.c.sale_id == sale["id"],
        )
    ).scalar()


def earlier_basket_clawbacks(conn: Connection, sale: RowMapping) -> dict[str, int]:
    """Points each basket bonus of the sale gave back in earlier returns (their responses)."""
    taken: dict[str, int] = {}
    rows = conn.execute(
        select(transactions.c.response).where(
            transactions.c.programme == sale["programme"],
            transactions.c.original_id == sale["id"],
            transactions.c.kind == "return",
        )
    )
    for (stored,) in rows:
        for item in stored.get("basket_bonuses", []):
            taken[item["source"]] = taken.get(item["source"], 0) + item["points_clawed_back"]
    return taken


@dataclass(frozen=True)
class Settled:
    balance: int
    debt_added: int
    money_points: int  # clawback shortfall settled in money
    money_deducted: Decimal
    tier: str | None


def settle(
    conn: Connection,
    evaluator: Evaluator,
    sale: RowMapping,
    row: RowMapping,
    plan: Plan,
    return_id: str,
    at: datetime,
) -> Settled:
    """Write the return: refunds, clawbacks, spend, tier and returned quantities."""
    refund_lots(conn, sale, plan.refund, return_id, at)
    shortfall = claw_back(conn, sale, plan.claw, return_id, at)
    debt, money_points = _cover(conn, evaluator, sale, shortfall, return_id, at)
    balance = row["balance"] + plan.refund - plan.claw + money_points
    spend = max(
        Decimal(row["qualifying_spend"]) - from_cents(evaluator, plan.qualifying), Decimal(0)
    )
    conn.execute(
        update(members)
        .where(members.c.programme == row["programme"], members.c.id == row["id"])
        .values(
            balance=balance,
            debt=row["debt"] + debt,
            qualifying_spend=spend,
            last_activity_at=at,
            updated_at=at,
        )
    )
    today = at.astimezone(evaluator.tz).date()
    tier = reconsider_tier(conn, evaluator, sale, spend, today, at)
    if plan.complete:
        revert_offer_uses(conn, sale["programme"], sale["id"])
        give_back_uses(conn, sale["programme"], sale["id"])  # outreach offers it used
        void_sale_vouchers(conn, sale["programme"], sale["id"], at)  # vouchers it issued
    release_budgets(conn, evaluator, sale["programme"], plan.budgets)
    if plan.policy is not None and plan.claw and Needs.of(evaluator.model).period_points:
        # The points no longer count toward the per-period caps of the days they were earned.
        add_period_points(
            conn, evaluator, sale["programme"], sale["member_id"], -plan.claw, sale["at"]
        )
    if counted_model(evaluator.model) is not None:
        reverse_sale_metrics(conn, sale, plan.counts, plan.left, plan.sold)
    record_lines(conn, sale["programme"], sale["id"], plan.counts, plan.left, plan.sold)
    return Settled(balance, debt, money_points, money_for_points(evaluator, money_points), tier)


def release_budgets(
    conn: Connection,
    evaluator: Evaluator,
    programme: str,
    spent: Mapping[str, tuple[int, int]],
) -> None:
    """Give campaigns' budgets back what the returned items had cost them (points clawed back
    and discounts on the returned units)."""
    per_campaign: dict[str, tuple[int, int]] = {}
    for source, (points, money) in spent.items():
        campaign = budget.campaign_of(source)
        if campaign:
            had = per_campaign.get(campaign, (0, 0))
            per_campaign[campaign] = (had[0] + points, had[1] + money)
    for campaign, (points, money) in sorted(per_campaign.items()):
        budget.release(conn, programme, campaign, points, from_cents(evaluator, money))


def _cover(
    conn: Connection,
    evaluator: Evaluator,
    sale: RowMapping,
    shortfall: int,
    return_id: str,
    at: datetime,
) -> tuple[int, int]:
    """A shortfall becomes debt (journalled) or is settled in money (not journalled)."""
    if shortfall == 0:
        return 0, 0
    if evaluator.model.expiry.clawback == "deduct_money":
        return 0, shortfall
    journal_entry(
        conn,
        sale["programme"],
        sale["member_id"],
        "clawback",
        -shortfall,
        return_id,
        at,
        reason="points already spent: owed as debt",
    )
    return shortfall, 0


def response(
    evaluator: Evaluator, sale: RowMapping, plan: Plan, settled: Settled, return_id: str
) -> dict[str, Any]:
    money = from_cents(evaluator, plan.money) - settled.money_deducted
    return {
        "status": "returned",
        "return_id": return_id,
        "sale_id": sale["id"],
        "programme": evaluator.programme.id,
        "version": evaluator.programme.version,
        "lines": [{"line_id": k, "quantity": v} for k, v in plan.counts.items() if v],
        "refund": {
            "money": str(max(money, Decimal(0))),
            "money_deducted_for_spent_points": str(settled.money_deducted),
            "points_refunded": plan.refund,
            "points_clawed_back": plan.claw,
            "debt_added": settled.debt_added,
        },
        "complete": plan.complete,
        **_per_line_response(plan),
        "balance_after": settled.balance,
        "tier_after": settled.tier,
    }


def _per_line_response(plan: Plan) -> dict[str, Any]:
    """What each returned line and each basket bonus gave back, and under which policy."""
    if plan.policy is None:
        return {}
    return {
        "points_by_line": [
            {"line_id": line.line_id, "quantity": line.quantity, "points_clawed_back": line.points}
            for line in plan.lines
        ],
        "basket_bonus_policy": plan.policy,
        "basket_bonuses": [
            {
                "source": back.source,
                "points": back.points,
                "points_clawed_back": back.clawed_back,
                "decision": back.decision,
            }
            for back in plan.basket
        ],
    }
