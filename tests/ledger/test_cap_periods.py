"""Earning caps per calendar year, per year from a reset day, and per membership year: the
ledger counts each member's points in the right period and the cap starts again on its day;
on both backends."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from engine.ledger.service import Ledger
from engine.ledger.tables import period_points
from engine.pricing import Evaluator
from tests.ledger.conftest import BEANS, sale

SHOP = "coffee-shop"
NOW = datetime(2027, 6, 1, tzinfo=UTC)


def capped(evaluator: Evaluator, **per_period) -> Evaluator:
    document = dict(evaluator.document)
    document["earn"] = {**document["earn"], "caps": {"per_period": {"points": 300, **per_period}}}
    programme = dataclasses.replace(evaluator.programme, document=document)
    return Evaluator(programme, matcher="python")


def earned(database, evaluator: Evaluator, *days: str) -> list[int]:
    """Points each one-bag sale (196 uncapped) earns, one sale per day, joined 5 March 2026."""
    ledger = Ledger(database, {SHOP: evaluator}, clock=lambda: NOW)
    ledger.enrol(SHOP, "m1", {"joined": "2026-03-05"})
    points = []
    for index, day in enumerate(days):
        outcome = ledger.commit_sale(
            SHOP, "m1", sale(f"t{index}", BEANS, at=f"{day}T12:00:00+08:00")
        )
        points.append(outcome.response["points"]["total"])
    return points


DAYS = ("2026-11-24", "2027-02-02", "2027-03-05")


def test_a_calendar_year_cap_starts_again_on_the_first_of_january(database, coffee):
    assert earned(database, capped(coffee, period="year"), *DAYS) == [196, 196, 104]


def test_a_membership_year_cap_starts_again_on_the_join_anniversary(database, coffee):
    assert earned(database, capped(coffee, period="membership_year"), *DAYS) == [196, 104, 196]
    with database.connect() as conn:
        stored = conn.execute(
            period_points.select().where(period_points.c.period == "myear")
        ).mappings()
        assert sorted((row["starts"].isoformat(), row["points"]) for row in stored) == [
            ("2026-03-05", 300),
            ("2027-03-05", 196),
        ]


def test_a_year_cap_with_a_reset_day_starts_again_on_that_day(database, coffee):
    evaluator = capped(coffee, period="year", resets_on="02-01")
    assert earned(database, evaluator, "2026-11-24", "2027-01-20", "2027-02-02") == [196, 104, 196]
