"""Points: rounding, earning, value, return on spend, real cost, redemption checks, lots."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InputError, RedemptionError
from engine.money import currency, to_minor
from engine.pricing.points import (
    PointsLot,
    consume_lots,
    points_for,
    points_needed,
    real_cost_of_points,
    redemption_value,
    return_on_spend,
    round_points,
    validate_redemption,
)

CNY = currency("CNY")
JPY = currency("JPY")
D = Decimal


# --- rounding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "floor", "half_up", "ceil"),
    [
        ("18.9", 18, 19, 19),
        ("18.5", 18, 19, 19),
        ("18.49", 18, 18, 19),
        ("18", 18, 18, 18),
        ("0", 0, 0, 0),
        ("0.5", 0, 1, 1),
        ("-2.5", -3, -3, -2),
        ("-2.4", -3, -2, -2),
    ],
)
def test_round_points_follows_each_named_mode(value, floor, half_up, ceil):
    assert round_points(D(value), "floor") == floor
    assert round_points(D(value), "round_half_up") == half_up
    assert round_points(D(value), "ceil") == ceil


def test_round_points_returns_a_plain_int():
    assert type(round_points(D("3.7"), "floor")) is int


def test_round_points_refuses_an_unknown_mode():
    with pytest.raises(InputError, match="floor, round_half_up, ceil"):
        round_points(D(1), "bankers")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1.5, D("NaN"), "2"])
def test_round_points_refuses_anything_but_a_finite_decimal(value):
    with pytest.raises(InputError):
        round_points(value, "floor")


# --- earning ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "points", "per", "mode", "earned"),
    [
        ("37.80", 1, "1", "floor", 37),
        ("37.80", 1, "1", "round_half_up", 38),
        ("37.80", 5, "10", "floor", 18),
        ("37.80", 5, "10", "round_half_up", 19),
        ("37.00", 5, "10", "round_half_up", 19),
        ("37.00", 5, "10", "ceil", 19),
        ("9.99", 1, "1", "ceil", 10),
        ("0", 1, "1", "ceil", 0),
        ("100", 0, "1", "ceil", 0),
        ("10", 1, "3", "ceil", 4),
        ("9.9", 1, "3.3", "floor", 3),
        ("0.99", 1, "1", "floor", 0),
    ],
)
def test_points_for_applies_the_earn_ratio_then_rounds_once(amount, points, per, mode, earned):
    assert points_for(D(amount), points, D(per), mode) == earned


def test_points_for_is_exact_where_decimal_division_would_not_be():
    # 9.9 / 3.3 is exactly 3; an approximate 2.999... would floor to 2.
    assert points_for(D("9.9"), 1, D("3.3"), "floor") == 3
    assert points_for(D("33"), 10, D("3.3"), "floor") == 100


def test_points_for_floors_by_default():
    assert points_for(D("1.99"), 1, D(1)) == 1


@pytest.mark.parametrize(
    ("amount", "points", "per", "message"),
    [
        (D("-1"), 1, D(1), "amount must be at least 0"),
        (D("10"), 1, D(0), "per must be more than 0"),
        (D("10"), -1, D(1), "points must be a whole number"),
        (10.0, 1, D(1), "amount must be a finite Decimal"),
    ],
)
def test_points_for_refuses_bad_rates_and_negative_amounts(amount, points, per, message):
    with pytest.raises(InputError, match=message):
        points_for(amount, points, per, "floor")


@given(
    amount=st.decimals(min_value=0, max_value=10**7, places=2),
    points=st.integers(min_value=1, max_value=20),
    per=st.decimals(min_value=D("0.01"), max_value=100, places=2),
)
def test_floor_earns_no_more_than_ceil_and_they_differ_by_at_most_one(amount, points, per):
    low = points_for(amount, points, per, "floor")
    mid = points_for(amount, points, per, "round_half_up")
    high = points_for(amount, points, per, "ceil")
    assert low <= mid <= high <= low + 1


# --- what points are worth -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "burn_points", "worth", "cur", "value"),
    [
        (100, 100, "1", CNY, "1.00"),
        (1234, 100, "1", CNY, "12.34"),
        (1, 100, "1", CNY, "0.01"),
        (99, 100, "1", CNY, "0.99"),
        (50, 50, "1", CNY, "1.00"),
        (1, 3, "1", CNY, "0.33"),
        (2, 3, "1", CNY, "0.66"),
        (0, 100, "1", CNY, "0.00"),
        (150, 100, "1", JPY, "1"),
        (1500, 100, "5", CNY, "75.00"),
    ],
)
def test_redemption_value_is_cut_to_minor_units_toward_zero(points, burn_points, worth, cur, value):
    assert str(redemption_value(points, burn_points, D(worth), cur)) == value


@pytest.mark.parametrize(
    ("value", "burn_points", "worth", "cur", "points"),
    [
        ("1.00", 100, "1", CNY, 100),
        ("12.34", 100, "1", CNY, 1234),
        ("0.33", 3, "1", CNY, 1),
        ("0.34", 3, "1", CNY, 2),
        ("1.00", 3, "1", CNY, 3),
        ("1", 100, "1", JPY, 100),
        ("0.005", 100, "1", CNY, 1),
        ("0", 100, "1", CNY, 0),
    ],
)
def test_points_needed_is_the_fewest_points_worth_at_least_the_value(
    value, burn_points, worth, cur, points
):
    assert points_needed(D(value), burn_points, D(worth), cur) == points


@given(
    minor=st.integers(min_value=0, max_value=10**8),
    burn_points=st.integers(min_value=1, max_value=1000),
    worth=st.decimals(min_value=D("0.01"), max_value=100, places=2),
)
def test_points_needed_inverts_redemption_value(minor, burn_points, worth):
    value = D(minor) / 100
    needed = points_needed(value, burn_points, worth, CNY)
    assert redemption_value(needed, burn_points, worth, CNY) >= value
    if needed:
        assert redemption_value(needed - 1, burn_points, worth, CNY) < value


@given(
    points=st.integers(min_value=0, max_value=10**9),
    burn_points=st.integers(min_value=1, max_value=1000),
    worth=st.decimals(min_value=D("0.01"), max_value=100, places=4),
)
def test_redemption_value_never_exceeds_the_exact_value(points, burn_points, worth):
    value = redemption_value(points, burn_points, worth, CNY)
    exact = D(points) * worth / D(burn_points)
    assert value <= exact
    assert exact - value < D("0.01") + D("1e-20")
    to_minor(value, CNY)  # whole minor units


@pytest.mark.parametrize(
    ("burn_points", "worth", "message"),
    [(0, D(1), "burn points"), (100, D(0), "worth must be more than 0")],
)
def test_burn_rate_must_be_positive(burn_points, worth, message):
    with pytest.raises(InputError, match=message):
        redemption_value(100, burn_points, worth, CNY)


# --- return on spend and real cost -----------------------------------------------------------


@pytest.mark.parametrize(
    ("earn_points", "earn_per", "burn_points", "burn_worth", "ratio"),
    [
        (1, "1", 50, "1", "0.02"),
        (1, "1", 100, "1", "0.01"),
        (5, "10", 100, "1", "0.005"),
        (2, "1", 100, "1", "0.02"),
        (1, "1", 100, "2", "0.02"),
    ],
)
def test_return_on_spend_is_the_fraction_of_spend_given_back(
    earn_points, earn_per, burn_points, burn_worth, ratio
):
    assert return_on_spend(earn_points, D(earn_per), burn_points, D(burn_worth)) == D(ratio)


def test_return_on_spend_of_a_non_terminating_ratio_is_precise_to_28_digits():
    assert return_on_spend(1, D(3), 100, D(1)) == D(1) / D(300)


def test_real_cost_of_points_matches_the_domain_worked_example():
    # 1,000 points at 100 = 1 CNY is 10 CNY perceived; (10 / 2) x 0.8 x 0.75 = 3.
    assert real_cost_of_points(1000, 100, D(1), D("0.8"), D("0.75")) == D("3")


@pytest.mark.parametrize(
    ("points", "rate", "ratio", "cost"),
    [(1000, "1", "1", "5"), (1000, "0", "0.75", "0"), (1, "0.8", "0.75", "0.003"), (0, "1", "1", "0")],
)  # fmt: skip
def test_real_cost_of_points_is_half_the_value_times_both_rates(points, rate, ratio, cost):
    assert real_cost_of_points(points, 100, D(1), D(rate), D(ratio)) == D(cost)


@pytest.mark.parametrize(("rate", "ratio"), [("80", "0.75"), ("0.8", "75"), ("-0.1", "0.5")])
def test_real_cost_rates_must_be_fractions_between_0_and_1(rate, ratio):
    with pytest.raises(InputError, match="0"):
        real_cost_of_points(1000, 100, D(1), D(rate), D(ratio))


# --- validating a redemption -----------------------------------------------------------------

VALUE_OF = partial(redemption_value, burn_points=100, worth=D(1), cur=CNY)


def redeem(requested, **overrides):
    rules = {"balance": 5000, "value_of": VALUE_OF, "minimum": 500, "step": 100}
    rules.update(overrides)
    return validate_redemption(requested, **rules)


@pytest.mark.parametrize(
    ("requested", "overrides", "code"),
    [
        (0, {}, "redemption.not_positive"),
        (-100, {}, "redemption.not_positive"),
        (400, {}, "redemption.below_minimum"),
        (550, {}, "redemption.not_a_step"),
        (5100, {}, "redemption.exceeds_balance"),
        (1000, {"balance": -20}, "redemption.exceeds_balance"),
        (3000, {"max_value": D("29.99")}, "redemption.exceeds_bill_share"),
    ],
)
def test_validate_redemption_refuses_with_a_distinct_stable_code(requested, overrides, code):
    with pytest.raises(RedemptionError) as refused:
        redeem(requested, **overrides)
    assert refused.value.code == code
    assert str(refused.value)  # a plain message for the till


def test_validate_redemption_returns_the_money_value_when_allowed():
    assert redeem(3000, max_value=D("30.00")) == D("30.00")
    assert redeem(5000) == D("50.00")


def test_validate_redemption_checks_the_request_before_the_balance_and_the_bill():
    # 450 is below the minimum, not a step, above the balance and over the bill share at once.
    with pytest.raises(RedemptionError) as refused:
        redeem(450, balance=10, max_value=D(0))
    assert refused.value.code == "redemption.below_minimum"


def test_validate_redemption_without_step_or_minimum_accepts_any_positive_amount():
    assert validate_redemption(7, balance=7, value_of=VALUE_OF) == D("0.07")


def test_validate_redemption_step_message_suggests_the_nearest_steps():
    with pytest.raises(RedemptionError, match="try 500 or 600"):
        redeem(550)
    with pytest.raises(RedemptionError, match=r"try 1,000\)"):
        validate_redemption(50, balance=5000, value_of=VALUE_OF, step=1000)


@pytest.mark.parametrize(
    ("requested", "overrides", "message"),
    [(1.5, {}, "whole number"), (True, {}, "whole number"), (500, {"step": 0}, "step"),
     (500, {"minimum": -1}, "minimum"), (500, {"balance": "5000"}, "balance")],
)  # fmt: skip
def test_validate_redemption_refuses_malformed_arguments_as_input_errors(
    requested, overrides, message
):
    with pytest.raises(InputError, match=message):
        redeem(requested, **overrides)


# --- consuming lots --------------------------------------------------------------------------

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def lot(lot_id, available, *, earned_day=0, expires_day=None):
    expires = None if expires_day is None else T0 + timedelta(days=expires_day)
    return PointsLot(lot_id, available, T0 + timedelta(days=earned_day), expires)


def test_consume_lots_spends_the_soonest_expiring_first():
    lots = [lot("late", 100, expires_day=300), lot("soon", 100, expires_day=30)]
    assert consume_lots(lots, 150) == [("soon", 100), ("late", 50)]


def test_consume_lots_spends_never_expiring_lots_last():
    lots = [lot("forever", 500), lot("dated", 100, expires_day=999)]
    assert consume_lots(lots, 200) == [("dated", 100), ("forever", 100)]


def test_consume_lots_breaks_expiry_ties_by_earning_time_then_id():
    lots = [
        lot("b", 10, earned_day=1, expires_day=90),
        lot("c", 10, earned_day=2, expires_day=90),
        lot("a", 10, earned_day=1, expires_day=90),
    ]
    assert consume_lots(lots, 25) == [("a", 10), ("b", 10), ("c", 5)]


def test_consume_lots_orders_never_expiring_lots_by_earning_time():
    lots = [lot("new", 10, earned_day=5), lot("old", 10, earned_day=1)]
    assert consume_lots(lots, 15) == [("old", 10), ("new", 5)]


def test_consume_lots_compares_expiry_instants_across_time_zones():
    shanghai = timezone(timedelta(hours=8))
    early = PointsLot("x", 10, T0, datetime(2025, 6, 1, 7, tzinfo=shanghai))  # 23:00 UTC 31 May
    later = PointsLot("y", 10, T0, datetime(2025, 5, 31, 23, 30, tzinfo=UTC))
    assert consume_lots([later, early], 10) == [("x", 10)]


def test_consume_lots_skips_empty_lots_and_takes_nothing_for_zero():
    lots = [lot("empty", 0, expires_day=1), lot("full", 10, expires_day=2)]
    assert consume_lots(lots, 5) == [("full", 5)]
    assert consume_lots(lots, 0) == []


def test_consume_lots_refuses_more_than_the_lots_hold():
    with pytest.raises(RedemptionError) as refused:
        consume_lots([lot("a", 10), lot("b", 5)], 16)
    assert refused.value.code == "redemption.exceeds_balance"


@pytest.mark.parametrize(
    ("lots", "points", "message"),
    [
        ([lot("a", 10), lot("a", 5)], 1, "share an id"),
        ([lot("a", -1)], 0, "whole number"),
        ([PointsLot("a", 5, datetime(2025, 1, 1))], 1, "no time zone"),
        ([lot("a", 5)], -1, "whole number"),
    ],
)
def test_consume_lots_refuses_malformed_lots(lots, points, message):
    with pytest.raises(InputError, match=message):
        consume_lots(lots, points)


LOTS = st.lists(
    st.builds(
        lot,
        st.uuids().map(str),
        st.integers(min_value=0, max_value=1000),
        earned_day=st.integers(min_value=0, max_value=400),
        expires_day=st.none() | st.integers(min_value=0, max_value=800),
    ),
    max_size=12,
    unique_by=lambda item: item.id,
)


@given(lots=LOTS, data=st.data())
def test_consume_lots_takes_exactly_what_is_asked_and_no_lot_beyond_what_it_has(lots, data):
    held = sum(item.available for item in lots)
    points = data.draw(st.integers(min_value=0, max_value=held))
    taken = consume_lots(lots, points)
    by_id = {item.id: item for item in lots}
    assert sum(count for _, count in taken) == points
    assert len({lot_id for lot_id, _ in taken}) == len(taken)
    for lot_id, count in taken:
        assert 0 < count <= by_id[lot_id].available
    # Only the last lot touched may be left partly full: earlier ones are emptied.
    for lot_id, count in taken[:-1]:
        assert count == by_id[lot_id].available
