"""The budget counter never overspends, even with tills reserving at the same moment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import select, update

from engine.campaigns.budget import estimate, offer_reward
from engine.ledger.budgets import (
    charges,
    exhausted,
    open_budget,
    release,
    reserve,
    settle,
)
from engine.ledger.tables import campaign_budgets
from engine.pricing.points import real_cost_of_points
from tests.campaigns.conftest import CAMPAIGN, LAUNCH_AT, launched, populate
from tests.campaigns.test_launch import IN_WINDOW, RICE, members_of
from tests.ledger.conftest import sale

NOW = datetime(2026, 4, 12, tzinfo=UTC)


def spent(database, campaign="c") -> tuple[int, Decimal]:
    with database.connect() as conn:
        row = conn.execute(
            select(campaign_budgets.c.spent_points, campaign_budgets.c.spent_money).where(
                campaign_budgets.c.campaign_id == campaign
            )
        ).one()
    return row[0], Decimal(row[1])


def test_a_reservation_fits_or_is_refused_whole(database):
    with database.begin() as conn:
        open_budget(conn, "p", "c", at=NOW, points=1000)
        open_budget(conn, "p", "c", at=NOW, points=5)  # already open: nothing changes
        assert reserve(conn, "p", "c", 600)
        assert not reserve(conn, "p", "c", 401)  # would overrun: refused, nothing spent
        assert reserve(conn, "p", "c", 400)
        assert not reserve(conn, "p", "c", 1)
        assert exhausted(conn, "p") == {"c"}
        release(conn, "p", "c", 50)
        assert exhausted(conn, "p") == set()
        assert not reserve(conn, "p", "unknown", 1)  # no counter: a campaign not launched
    assert spent(database) == (950, Decimal(0))


def test_a_money_cap_is_checked_in_money(database):
    with database.begin() as conn:
        open_budget(conn, "p", "c", at=NOW, money=Decimal("100.00"))
        assert reserve(conn, "p", "c", 10_000, Decimal("99.99"))  # no points cap
        assert not reserve(conn, "p", "c", 0, Decimal("0.02"))
        assert reserve(conn, "p", "c", 0, Decimal("0.01"))
        release(conn, "p", "c", 20_000, Decimal("500"))  # never below zero
    assert spent(database) == (0, Decimal(0))


def test_parallel_tills_never_exceed_the_budget(database):
    """24 tills x 5 reservations of 70 points against a 1,000-point budget, all at once."""
    with database.begin() as conn:
        open_budget(conn, "p", "c", at=NOW, points=1000)
    tills, start = 24, threading.Barrier(24)
    granted: list[int] = []
    lock = threading.Lock()

    def till() -> None:
        start.wait()
        for _ in range(5):
            with database.begin() as conn:
                ok = reserve(conn, "p", "c", 70)
            with lock:
                granted.append(ok)

    threads = [threading.Thread(target=till) for _ in range(tills)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(granted) == tills * 5
    assert sum(granted) == 1000 // 70  # every reservation that fitted was granted, no more
    assert spent(database) == (70 * (1000 // 70), Decimal(0))


def test_a_failed_sale_gives_its_reservation_back(database):
    with database.begin() as conn:
        open_budget(conn, "p", "c", at=NOW, points=100)
    try:
        with database.begin() as conn:
            assert reserve(conn, "p", "c", 100)
            raise RuntimeError("the sale failed after reserving")
    except RuntimeError:
        pass
    assert spent(database) == (0, Decimal(0))


def test_charges_read_a_quotes_campaign_points_and_money():
    quote = SimpleNamespace(
        exponent=2,
        earned=SimpleNamespace(campaign_bonus={"campaign:rain/a": 800, "rule:x": 5}),
        lines=[
            SimpleNamespace(discounts=[("campaign:rain/a", 1500), ("tier:gold", 300)]),
            SimpleNamespace(discounts=[("campaign:sun", 250)]),
        ],
    )
    assert charges(quote) == {"rain": (800, Decimal("15.00")), "sun": (0, Decimal("2.50"))}


def test_offer_reward_follows_the_earn_rules(recommended):
    assert offer_reward(recommended, [{"bonus_points": 800}], Decimal(50)).points == 800
    # 100x on a 160 basket: 99 x 160 extra, but the 5,000-point cap per sale leaves 4,840
    assert offer_reward(recommended, [{"points_multiplier": 100}], Decimal(160)).points == 4840
    discount = offer_reward(recommended, [{"discount": {"percent": 10}}], Decimal("80.00"))
    assert discount.money == Decimal("8.00")
    free = offer_reward(
        recommended, [{"free_item": {"category": "x", "max_price": 12}}], Decimal(1)
    )
    assert free.goods == Decimal(12)


def test_the_estimate_applies_the_domain_formula_per_group(database, recommended):
    populate(database, recommended, 3000)
    with database.connect() as conn:
        result = estimate(conn, recommended, CAMPAIGN, LAUNCH_AT, basket=Decimal(100))
    b = next(g for g in result.groups if g.group == "b")
    assert b.response_rate == Decimal("0.12") and not b.rate_assumed
    assert b.figures.responders == (Decimal(b.figures.targets) * Decimal("0.12")).quantize(
        Decimal("0.01")
    )
    points = b.figures.points
    assert points == round(b.figures.targets * Decimal("0.12") * 800)
    assert b.figures.real_cost == real_cost_of_points(
        points, 100, Decimal(1), Decimal("0.8"), Decimal("0.75")
    ).quantize(Decimal("0.01"))
    assert b.figures.perceived_value == (Decimal(points) / 100).quantize(Decimal("0.01"))
    c = next(g for g in result.groups if g.group == "c")  # 15 off a basket of at least 60
    assert c.per_responder.money == Decimal(15) and c.figures.points == 0
    assert result.total.real_cost == sum(g.figures.real_cost for g in result.groups)
    sun = result.sunshine
    assert sun.members == 3000 and sun.budget_points == int(result.total.perceived_value * 100)
    expected = 1 + Decimal(sun.budget_points) / (Decimal(sun.members) * sun.activity_rate * 100)
    assert abs(sun.multiplier - expected) <= Decimal("0.01")
    assert result.sunshine_at_cap is not None and result.sunshine_at_cap.budget_points == 3_000_000
    assert "x points for everyone" in sun.headline


def test_settle_reserves_a_real_quotes_campaign_points_until_the_budget_is_spent(
    database, recommended, recommended_evaluator, shop
):
    launched(database, recommended)
    first, second = members_of(database, "a")[:2]
    body = sale("q1", RICE, at=IN_WINDOW)
    quotes = [shop.quote("recommended", m, body) for m in (first, second)]
    cost = quotes[0].earned.campaign_bonus[f"campaign:{CAMPAIGN}/a"]
    with database.begin() as conn:  # room for one sale's bonus only
        conn.execute(update(campaign_budgets).values(budget_points=cost + 10))
    document = recommended_evaluator.document
    with database.begin() as conn:
        assert settle(conn, document, quotes[0], LAUNCH_AT) == set()
        assert settle(conn, document, quotes[1], LAUNCH_AT) == {CAMPAIGN}
        assert exhausted(conn, "recommended") == set()  # 10 points left: not yet spent out
    assert spent(database, CAMPAIGN) == (cost, Decimal(0))
