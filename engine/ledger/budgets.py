"""A campaign's budget counter: what the till spends, inside the sale's own transaction.

``campaign_budgets`` holds the cap (points or money) and what was spent.
``reserve`` adds a sale's cost with ONE guarded statement::

    UPDATE campaign_budgets SET spent = spent + :cost
    WHERE programme = :p AND campaign_id = :c AND (budget IS NULL OR spent + :cost <= budget)

and reports whether a row changed. Two tills reserving at once cannot both pass the guard: on
PostgreSQL the second UPDATE waits for the first's row lock and re-checks the guard on the row
the first committed; on SQLite writers are serialised (``BEGIN IMMEDIATE``). Run it in the
sale's own transaction, so a sale that fails releases its reservation by rolling back. A
reservation is all or nothing: a sale whose offer would overrun the cap gets no offer.

The marketer's estimate before launch stays in ``engine.campaigns.budget``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from engine.ledger import dialect
from engine.ledger.tables import campaign_budgets
from engine.policy.model import ProgrammeLike, model_of


def open_budget(
    conn: Connection,
    programme: str,
    campaign_id: str,
    *,
    at: datetime,
    points: int | None = None,
    money: Decimal | None = None,
    audience_size: int = 0,
) -> None:
    """Create the campaign's counter if it has none (a no-op otherwise)."""
    statement = dialect.insert(conn)(campaign_budgets).values(
        programme=programme,
        campaign_id=campaign_id,
        budget_points=points,
        budget_money=money,
        spent_points=0,
        spent_money=Decimal(0),
        launched_at=at,
        audience_size=audience_size,
    )
    conn.execute(statement.on_conflict_do_nothing(index_elements=["programme", "campaign_id"]))


def reserve(
    conn: Connection,
    programme: str,
    campaign_id: str,
    points: int,
    money: Decimal = Decimal(0),
) -> bool:
    """Spend ``points`` and ``money`` of the campaign's budget if both fit; False otherwise.

    False also when the campaign has no counter (a downpour campaign not launched). Atomic:
    see the module docstring. Call it inside the transaction that commits the sale.
    """
    if points < 0 or money < 0:
        raise ValueError("a reservation cannot be negative; use release()")
    budget = campaign_budgets.c
    done = conn.execute(
        update(campaign_budgets)
        .where(
            budget.programme == programme,
            budget.campaign_id == campaign_id,
            or_(
                budget.budget_points.is_(None), budget.spent_points + points <= budget.budget_points
            ),
            or_(budget.budget_money.is_(None), budget.spent_money + money <= budget.budget_money),
        )
        .values(spent_points=budget.spent_points + points, spent_money=budget.spent_money + money)
    )
    return done.rowcount == 1


def release(
    conn: Connection, programme: str, campaign_id: str, points: int, money: Decimal = Decimal(0)
) -> None:
    """Give back what a returned sale had reserved (never below zero)."""
    budget = campaign_budgets.c
    conn.execute(
        update(campaign_budgets)
        .where(budget.programme == programme, budget.campaign_id == campaign_id)
        .values(
            spent_points=dialect.greatest(conn, budget.spent_points - points, 0),
            spent_money=dialect.greatest(conn, budget.spent_money - money, 0),
        )
    )


def exhausted(conn: Connection, programme: str) -> set[str]:
    """Campaigns whose cap is fully spent: the quote should stop offering them."""
    budget = campaign_budgets.c
    rows = conn.execute(
        select(budget.campaign_id).where(
            budget.programme == programme,
            or_(
                and_(
                    budget.budget_points.is_not(None), budget.spent_points >= budget.budget_points
                ),
                and_(budget.budget_money.is_not(None), budget.spent_money >= budget.budget_money),
            ),
        )
    )
    return {campaign for (campaign,) in rows}


def charges(quote: Any) -> dict[str, tuple[int, Decimal]]:
    """What each campaign's offers cost in a quote: campaign id → (bonus points, money off).

    Money is the discounts and free items whose source is ``campaign:<id>[/group]``.
    """
    found: dict[str, tuple[int, Decimal]] = {}
    for source, points in quote.earned.campaign_bonus.items():
        campaign = campaign_of(source)
        if campaign:
            spent, money = found.get(campaign, (0, Decimal(0)))
            found[campaign] = (spent + points, money)
    for state in quote.lines:
        for source, minor in state.discounts:
            campaign = campaign_of(source)
            if campaign:
                spent, money = found.get(campaign, (0, Decimal(0)))
                found[campaign] = (spent, money + Decimal(minor).scaleb(-quote.exponent))
    return found


def settle(conn: Connection, document: ProgrammeLike, quote: Any, at: datetime) -> set[str]:
    """Reserve the cost of every budgeted campaign offer in ``quote``, all or nothing.

    Returns the campaigns whose budget could not take their cost; then nothing was reserved
    (a savepoint is rolled back) and the caller re-quotes without those campaigns and settles
    again. A sunshine campaign's counter is opened at its first sale; a downpour campaign's
    at launch (without one its offer never applied: nobody is assigned).
    """
    model = model_of(document)
    budgets = {c["id"]: c for c in model.campaigns if "budget" in c}
    programme = model.identity.id
    refused: set[str] = set()
    savepoint = conn.begin_nested()
    for campaign_id, (points, money) in sorted(charges(quote).items()):
        campaign = budgets.get(campaign_id)
        if campaign is None:
            continue
        if campaign["kind"] == "sunshine":
            cap = campaign["budget"]
            money_cap = cap.get("money")
            open_budget(
                conn,
                programme,
                campaign_id,
                at=at,
                points=cap.get("points"),
                money=None if money_cap is None else Decimal(str(money_cap)),
            )
        if not reserve(conn, programme, campaign_id, points, money):
            refused.add(campaign_id)
    if refused:
        savepoint.rollback()
    else:
        savepoint.commit()
    return refused


def would_refuse(conn: Connection, document: ProgrammeLike, quote: Any) -> set[str]:
    """Campaigns whose remaining budget cannot take their cost in ``quote`` (reads only).

    What ``settle`` would refuse, for dry-run quotes that must say what a commit would do.
    """
    model = model_of(document)
    budgets = {c["id"]: c["budget"] for c in model.campaigns if "budget" in c}
    costs = {c: cost for c, cost in charges(quote).items() if c in budgets}
    if not costs:
        return set()
    budget = campaign_budgets.c
    spent = {
        row.campaign_id: (row.spent_points, Decimal(row.spent_money))
        for row in conn.execute(
            select(budget.campaign_id, budget.spent_points, budget.spent_money).where(
                budget.programme == model.identity.id,
                budget.campaign_id.in_(costs),
            )
        )
    }
    return {c for c, cost in costs.items() if not _fits(budgets[c], spent.get(c), cost)}


def _fits(
    cap: Mapping[str, Any], spent: tuple[int, Decimal] | None, cost: tuple[int, Decimal]
) -> bool:
    points, money = spent or (0, Decimal(0))
    if "points" in cap and points + cost[0] > cap["points"]:
        return False
    return not ("money" in cap and money + cost[1] > Decimal(str(cap["money"])))


def campaign_of(source: str) -> str | None:
    """The campaign id of a trace source (``campaign:<id>[/group]``), else None."""
    if not source.startswith("campaign:"):
        return None
    return source.removeprefix("campaign:").split("/", 1)[0]


__all__ = ["charges", "exhausted", "open_budget", "release", "reserve", "settle"]
