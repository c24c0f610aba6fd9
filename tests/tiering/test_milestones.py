"""Milestones: a bonus each time a window total crosses an amount."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.tiering.milestones import crossings
from engine.tiering.model import Milestone

D = Decimal
EVERY_TEN_AFTER_40 = Milestone("ten", "nights", 5000, every=D(10), after=D(40))
LISTED = Milestone("listed", "nights", 1000, at=(D(10), D(25), D(50)))


def test_every_ten_nights_after_the_fortieth_pays_at_50_60_70():
    assert crossings(EVERY_TEN_AFTER_40, D(38), D(52)) == (D(50),)
    assert crossings(EVERY_TEN_AFTER_40, D(49), D(71)) == (D(50), D(60), D(70))
    assert crossings(EVERY_TEN_AFTER_40, D(0), D(40)) == ()


def test_a_listed_milestone_pays_each_amount_it_crosses():
    assert crossings(LISTED, D(9), D(25)) == (D(10), D(25))
    assert crossings(LISTED, D(25), D(49)) == ()


def test_up_to_stops_the_series():
    capped = Milestone("cap", "nights", 1, every=D(10), after=D(0), up_to=D(30))
    assert crossings(capped, D(0), D(100)) == (D(10), D(20), D(30))


def test_a_return_that_lowers_the_total_crosses_nothing():
    assert crossings(EVERY_TEN_AFTER_40, D(61), D(48)) == ()


totals = st.integers(0, 200).map(D)


@given(totals, totals, totals)
def test_crossing_in_two_steps_pays_what_crossing_in_one_pays(a, b, c):
    low, mid, high = sorted((a, b, c))
    for milestone in (EVERY_TEN_AFTER_40, LISTED):
        whole = crossings(milestone, low, high)
        assert crossings(milestone, low, mid) + crossings(milestone, mid, high) == whole
