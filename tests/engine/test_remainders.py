"""Remainders carried to the next sale (``earn.remainders: carry``) in an integer programme:
the fraction rounding cuts off is kept, shown and added to the member's next base points."""

from __future__ import annotations

from engine.policy.loader import validate_document
from tests.engine.conftest import BASE, line, sale

CARRY = "earn: {points: 1, per: 1, remainders: carry}\n"


def test_the_fraction_cut_off_is_shown_as_carried(quote):
    q = quote(CARRY, {"id": "m1"}, sale(line("a", "x", "9.60")))
    assert q.as_dict()["points"]["base"] == 9
    assert q.as_dict()["points"]["remainder"] == "0.6"


def test_a_carried_remainder_tops_up_the_next_sale(quote):
    q = quote(CARRY, {"id": "m1", "points_remainder": 0.6}, sale(line("a", "x", "9.60")))
    assert (q.earned.base, q.as_dict()["points"]["remainder"]) == (10, "0.2")
    assert q.as_dict()["trace"][0]["detail"] == "0.6 carried + 9.6 → 10, 0.2 carried on"


def test_a_programme_that_drops_remainders_shows_none(quote):
    q = quote(
        "earn: {points: 1, per: 1}\n",
        {"id": "m1", "points_remainder": 0.6},
        sale(line("a", "x", "9.60")),
    )
    assert q.earned.base == 9
    assert "remainder" not in q.as_dict()["points"]


def test_carrying_needs_the_base_rounded_down_once_per_basket():
    text = BASE + "earn: {points: 1, per: 1, remainders: carry, rounding: ceil, round_at: total}\n"
    problems = [p.render() for p in validate_document(text.encode(), "p").problems]
    assert len(problems) == 2
    assert "carrying remainders needs rounding: floor, not ceil" in problems[0]
    assert "carrying remainders needs round_at: base, not total" in problems[1]
