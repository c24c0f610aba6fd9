"""What points are worth by channel and date (``burn.values``) and the smallest bill points may
pay (``burn.min_basket``); one redemption per sale."""

from __future__ import annotations

import pytest

from engine.errors import RedemptionError
from tests.engine.conftest import line, sale

VALUES = """
earn: {points: 1, per: 1}
burn:
  points: 100
  worth: 1.00
  min_basket: 50.00
  values:
    - {channels: [travel], effective_until: "2026-06-30", multiplier: 3}
    - {channels: [travel], effective_from: "2026-07-01", multiplier: 2}
"""
RICH = {
    "id": "m1",
    "lots": [{"id": "lot", "points": 10000, "earned_at": "2026-01-01T10:00:00+08:00"}],
}


def redeem(quote, points: int, *, channel: str, at: str, price: str = "500.00"):
    transaction = sale(line("a", "x", price), redeem_points=points, at=at, channel=channel)
    return quote(VALUES, RICH, transaction)


@pytest.mark.parametrize(
    ("channel", "at", "value"),
    [
        ("store", "2026-06-20T10:00:00+08:00", "10.00"),
        ("travel", "2026-06-20T10:00:00+08:00", "30.00"),
        ("travel", "2026-06-30T23:59:00+08:00", "30.00"),
        ("travel", "2026-07-01T00:00:00+08:00", "20.00"),
    ],
)
def test_points_are_worth_more_for_travel_three_times_until_june_then_twice(
    quote, channel: str, at: str, value: str
):
    q = redeem(quote, 1000, channel=channel, at=at)
    assert q.as_dict()["redemption"]["value"] == value


def test_the_trace_says_which_value_applied(quote):
    q = redeem(quote, 1000, channel="travel", at="2026-07-02T10:00:00+08:00")
    entry = next(t for t in q.as_dict()["trace"] if t["source"] == "burn.values")
    assert entry["detail"] == "points worth x2"
    assert entry["reason"] == (
        "on travel, 2026-07-01 to further notice; redeemed on 2026-07-02 via 'travel'"
    )


def test_points_cannot_pay_on_a_bill_below_the_minimum_basket(quote):
    with pytest.raises(RedemptionError) as caught:
        redeem(quote, 500, channel="store", at="2026-07-02T10:00:00+08:00", price="49.99")
    assert caught.value.code == "redemption.below_min_basket"
    assert str(caught.value) == (
        "Points can pay only on a bill of at least 50.00 CNY; this one comes to 49.99."
    )


def test_a_bill_of_exactly_the_minimum_basket_may_be_paid_with_points(quote):
    q = redeem(quote, 500, channel="store", at="2026-07-02T10:00:00+08:00", price="50.00")
    assert q.as_dict()["redemption"]["value"] == "5.00"


def test_a_sale_without_redemption_is_not_held_to_the_minimum_basket(quote):
    q = quote(VALUES, RICH, sale(line("a", "x", "10.00")))
    assert q.earned.total == 10
