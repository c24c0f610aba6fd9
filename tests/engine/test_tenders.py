"""Earning by how the member paid (``earn.tenders``): each tender earns its share of the base
points at its method's rate, prorated by amount; a return reverses what the sale earned."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from engine.errors import InputError
from engine.money import currency
from engine.pricing.earning import tender_factor
from engine.pricing.model import parse_transaction
from tests.engine.conftest import line, sale

SHOP = """
earn:
  points: 1
  per: 1
  tenders:
    rates: {stored_value: 2, gift_card: 0}
    proration: proportional
"""
MEMBER = {"id": "m1"}


def paid(*tenders: tuple[str, str]) -> list[dict[str, str]]:
    return [{"method": method, "amount": amount} for method, amount in tenders]


def test_a_sale_paid_by_card_alone_earns_the_base_rate(quote):
    q = quote(SHOP, MEMBER, sale(line("a", "x", "100.00"), tenders=paid(("card", "100.00"))))
    assert q.earned.total == 100


def test_a_stored_value_tender_earns_double_on_its_share(quote):
    # 60 by card at x1 and 40 from the stored-value wallet at x2: 60 + 80 = 140.
    tenders = paid(("card", "60.00"), ("stored_value", "40.00"))
    q = quote(SHOP, MEMBER, sale(line("a", "x", "100.00"), tenders=tenders))
    assert q.earned.base == 140
    assert q.as_dict()["trace"][0] == {
        "source": "tenders",
        "effect": "earn_rate",
        "detail": "card 60.00 x1, stored_value 40.00 x2: base points x1.4",
        "reason": "earn.tenders: each tender earns its share of the payment at its rate",
    }


def test_a_gift_card_share_earns_nothing_and_the_rest_is_rounded_once(quote):
    # 33.33 of 99.99 paid by gift card: 99.99 x 66.66 / 99.99 = 66.66 → 66 (floor).
    tenders = paid(("card", "66.66"), ("gift_card", "33.33"))
    q = quote(SHOP, MEMBER, sale(line("a", "x", "99.99"), tenders=tenders))
    assert q.earned.base == 66


def test_without_tenders_the_sale_earns_the_base_rate_and_the_trace_is_silent(quote):
    q = quote(SHOP, MEMBER, sale(line("a", "x", "100.00")))
    assert q.earned.total == 100
    assert q.as_dict()["trace"] == []


def test_a_programme_without_tender_rates_ignores_tenders(quote):
    q = quote(
        "earn: {points: 1, per: 1}\n",
        MEMBER,
        sale(line("a", "x", "100.00"), tenders=paid(("stored_value", "100.00"))),
    )
    assert q.earned.total == 100


def test_tier_multipliers_act_on_the_tender_weighted_base(quote):
    programme = SHOP.replace("  per: 1\n", "  per: 1\n  multipliers: {gold: 2}\n") + (
        "tiers:\n  qualifying: {period: calendar_year}\n"
        "  levels: [{id: standard, name: S}, {id: gold, name: G, threshold: {amount: 100}}]\n"
    )
    tenders = paid(("stored_value", "50.00"), ("card", "50.00"))
    q = quote(
        programme, {"id": "m1", "tier": "gold"}, sale(line("a", "x", "100.00"), tenders=tenders)
    )
    assert (q.earned.base, q.earned.tier_bonus) == (150, 150)


def test_the_attribution_a_return_reverses_carries_the_tender_weighting(quote, matcher):
    from engine.pricing import Evaluator
    from engine.pricing.model import parse_member
    from tests.engine.conftest import programme_from

    evaluator = Evaluator(programme_from(SHOP), matcher=matcher)
    cny = evaluator.currency
    tenders = paid(("card", "60.00"), ("stored_value", "40.00"))
    transaction = sale(line("a", "x", "70.00"), line("b", "y", "30.00"), tenders=tenders)
    q = evaluator.quote(parse_member(MEMBER, cny), parse_transaction(transaction, cny))
    record = evaluator.attribution(q)
    assert [entry["points"] for entry in record["lines"]] == [{"base": 98}, {"base": 42}]


def test_the_factor_is_each_rate_weighted_by_its_tenders_share():
    rates = {"stored_value": Decimal(2), "gift_card": Decimal(0)}
    assert tender_factor(rates, [("card", Decimal("60")), ("stored_value", Decimal("40"))]) == (
        Fraction(7, 5)
    )
    assert tender_factor(rates, []) == 1
    assert tender_factor({}, [("stored_value", Decimal("40"))]) == 1


def test_a_tender_without_an_amount_is_refused_naming_where():
    with pytest.raises(InputError) as caught:
        parse_transaction(
            sale(line("a", "x", "1.00"), tenders=[{"method": "card"}]), currency("CNY")
        )
    assert "tenders" in str(caught.value.problems[0].path)


def test_a_tender_amount_finer_than_the_currency_is_refused_naming_where():
    with pytest.raises(InputError) as caught:
        parse_transaction(
            sale(line("a", "x", "1.00"), tenders=paid(("card", "1.001"))), currency("CNY")
        )
    assert caught.value.problems[0].path == ("tenders", 0, "amount")
