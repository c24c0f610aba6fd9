"""Money: currencies, minor units, rounding toward zero, allocation of a discount over lines."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InputError, LoyaltyError
from engine.money import (
    Currency,
    allocate,
    currency,
    from_minor,
    is_known_currency,
    parse_money,
    quantize_down,
    to_minor,
)

CNY = currency("CNY")
JPY = currency("JPY")
KWD = currency("KWD")

ALL_TEST_CURRENCIES = st.sampled_from([CNY, JPY, KWD, currency("USD"), currency("EUR")])
AMOUNTS = st.decimals(min_value=-(10**12), max_value=10**12, allow_nan=False, places=6)


# --- currencies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "exponent"),
    [("CNY", 2), ("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3)],
)
def test_currency_knows_its_minor_unit_digits(code, exponent):
    assert currency(code) == Currency(code, exponent)


@pytest.mark.parametrize("code", ["XYZ", "cny", "CN", "", "DEM", "XAU", "XXX", "CNH"])
def test_unknown_withdrawn_or_non_tender_codes_are_refused_with_a_plain_message(code):
    assert not is_known_currency(code)
    with pytest.raises(InputError, match="not a currency in use"):
        currency(code)


def test_currency_errors_are_loyalty_errors_so_the_edges_render_them():
    with pytest.raises(LoyaltyError):
        currency("XYZ")


def test_is_known_currency_is_false_for_non_text():
    assert not is_known_currency(156)  # type: ignore[arg-type]


def test_currency_quantum_is_the_smallest_amount():
    assert CNY.quantum == Decimal("0.01")
    assert JPY.quantum == Decimal("1")
    assert KWD.quantum == Decimal("0.001")


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", Decimal("12.50")),
        ("0", Decimal(0)),
        ("-3.2", Decimal("-3.2")),
        (7, Decimal(7)),
        (Decimal("1.005"), Decimal("1.005")),
    ],
)
def test_parse_money_accepts_decimal_int_and_plain_decimal_text(value, expected):
    parsed = parse_money(value)
    assert parsed == expected
    assert isinstance(parsed, Decimal)


def test_parse_money_keeps_the_written_decimals():
    assert str(parse_money("12.50")) == "12.50"


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan")])
def test_parse_money_refuses_floats_because_they_are_not_exact(value):
    with pytest.raises(InputError, match="floats are refused"):
        parse_money(value)


@pytest.mark.parametrize("value", [True, False])
def test_parse_money_refuses_booleans(value):
    with pytest.raises(InputError, match="not an amount of money"):
        parse_money(value)


@pytest.mark.parametrize("value", ["abc", "", " 1", "1e3", "1_000", ".5", "5.", "NaN", "1,000"])
def test_parse_money_refuses_text_that_is_not_a_plain_amount(value):
    with pytest.raises(InputError, match=r"write it like 12\.50"):
        parse_money(value)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_parse_money_refuses_non_finite_decimals(value):
    with pytest.raises(InputError, match="finite"):
        parse_money(value)


def test_parse_money_refuses_other_types():
    with pytest.raises(InputError):
        parse_money(None)  # type: ignore[arg-type]


# --- minor units -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "cur", "minor"),
    [
        (Decimal("12.50"), CNY, 1250),
        (Decimal("12.5"), CNY, 1250),
        (Decimal("12.500"), CNY, 1250),
        (Decimal("12"), CNY, 1200),
        (Decimal("1E+2"), CNY, 10000),
        (Decimal("-0.01"), CNY, -1),
        (Decimal("0"), CNY, 0),
        (Decimal("1500"), JPY, 1500),
        (Decimal("1.234"), KWD, 1234),
    ],
)
def test_to_minor_converts_exactly(amount, cur, minor):
    assert to_minor(amount, cur) == minor


@pytest.mark.parametrize(
    ("amount", "cur"), [(Decimal("12.505"), CNY), (Decimal("0.5"), JPY), (Decimal("1.0001"), KWD)]
)
def test_to_minor_refuses_amounts_finer_than_the_currency_allows(amount, cur):
    with pytest.raises(InputError, match="more decimals than"):
        to_minor(amount, cur)


def test_to_minor_is_exact_beyond_decimal_context_precision():
    huge = Decimal("1234567890123456789012345678901234.56")
    assert to_minor(huge, CNY) == 123456789012345678901234567890123456


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), 1.5, 2])
def test_to_minor_refuses_anything_but_a_finite_decimal(amount):
    with pytest.raises(InputError, match="finite Decimal"):
        to_minor(amount, CNY)


@pytest.mark.parametrize(
    ("minor", "cur", "text"),
    [(1250, CNY, "12.50"), (5, CNY, "0.05"), (-1, CNY, "-0.01"), (0, CNY, "0.00"),
     (1500, JPY, "1500"), (1, KWD, "0.001")],
)  # fmt: skip
def test_from_minor_has_exactly_the_currency_decimals(minor, cur, text):
    assert str(from_minor(minor, cur)) == text


@pytest.mark.parametrize("minor", [1.0, True, "12"])
def test_from_minor_refuses_anything_but_an_int(minor):
    with pytest.raises(InputError, match="whole number of minor units"):
        from_minor(minor, CNY)


@given(minor=st.integers(min_value=-(10**40), max_value=10**40), cur=ALL_TEST_CURRENCIES)
def test_from_minor_and_to_minor_round_trip(minor, cur):
    assert to_minor(from_minor(minor, cur), cur) == minor


# --- rounding toward zero --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "cur", "text"),
    [
        (Decimal("1.239"), CNY, "1.23"),
        (Decimal("1.2"), CNY, "1.20"),
        (Decimal("-1.239"), CNY, "-1.23"),
        (Decimal("0.009"), CNY, "0.00"),
        (Decimal("99.99"), JPY, "99"),
        (Decimal("1.23456"), KWD, "1.234"),
        (Decimal("1E+3"), CNY, "1000.00"),
    ],
)
def test_quantize_down_cuts_toward_zero_to_minor_units(amount, cur, text):
    assert str(quantize_down(amount, cur)) == text


@given(amount=AMOUNTS, cur=ALL_TEST_CURRENCIES)
def test_quantize_down_never_creates_money(amount, cur):
    cut = quantize_down(amount, cur)
    assert abs(cut) <= abs(amount)
    assert abs(amount - cut) < cur.quantum
    assert cut.as_tuple().exponent == -cur.exponent  # exactly the currency's decimals


# --- allocation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (200, [1, 1, 1], [67, 67, 66]),
        (1000, [5000, 3000, 2000], [500, 300, 200]),
        (10, [3, 3, 4], [3, 3, 4]),
        (1, [1, 1], [1, 0]),
        (7, [0, 5, 0, 5], [0, 4, 0, 3]),
        (0, [1, 2, 3], [0, 0, 0]),
        (5, [1], [5]),
        (0, [], []),
        (999, [1, 2], [333, 666]),
        (100, [1, 2], [33, 67]),
    ],
)
def test_allocate_splits_by_largest_remainder_with_ties_to_the_lower_index(total, weights, parts):
    assert allocate(total, weights) == parts


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [(5, [0, 0], [3, 2]), (6, [0, 0, 0], [2, 2, 2]), (0, [0, 0], [0, 0])],
)
def test_allocate_with_all_zero_weights_splits_evenly(total, weights, parts):
    assert allocate(total, weights) == parts


def test_allocate_refuses_to_split_an_amount_over_no_lines():
    with pytest.raises(InputError, match="no lines"):
        allocate(5, [])


@pytest.mark.parametrize(("total", "weights"), [(-1, [1]), (1, [-1, 2]), (1, [1.5]), (True, [1])])
def test_allocate_refuses_negative_or_non_integer_inputs(total, weights):
    with pytest.raises(InputError, match="whole"):
        allocate(total, weights)


@given(
    total=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=30),
)
def test_allocate_sums_exactly_never_negative_and_stays_within_one_unit(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert all(part >= 0 for part in parts)
    whole = sum(weights)
    if whole:
        for part, weight in zip(parts, weights, strict=True):
            assert abs(part * whole - total * weight) < whole  # |part - exact share| < 1
            if weight == 0:
                assert part == 0


@given(
    total=st.integers(min_value=0, max_value=10**6),
    weights=st.lists(st.integers(min_value=0, max_value=10**4), min_size=1, max_size=10),
)
def test_allocate_is_deterministic(total, weights):
    assert allocate(total, weights) == allocate(total, list(weights))
