"""Language edges from issue 13: burn worth below a cent, tier multipliers below 1, what
``--explain`` says about a condition, and how the quote shows points it did not earn."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.money import currency
from engine.policy.loader import validate_document
from engine.pricing.points import points_needed, redemption_value
from tests.engine.conftest import BASE, line, sale

CNY = currency("CNY")
SUB_CENT = """
earn: {points: 1, per: 1}
burn: {points: 1, worth: 0.007}
"""
THOUSAND_POINTS = {
    "id": "m1",
    "lots": [
        {
            "id": "lot",
            "points": 1000,
            "earned_at": "2026-06-01T10:00:00+08:00",
            "expires_at": "2027-06-01T23:59:59+08:00",
        }
    ],
}


def test_a_burn_worth_below_a_cent_is_accepted_as_an_exact_ratio():
    report = validate_document((BASE + SUB_CENT).encode(), "sub-cent")
    assert report.ok, [p.render() for p in report.problems]
    assert not report.problems


@pytest.mark.parametrize(
    ("points", "paid"),
    [(1000, "7.00"), (143, "1.00"), (142, "0.99"), (1, "0.00"), (999, "6.99")],
)
def test_points_worth_a_fraction_of_a_cent_pay_the_exact_value_cut_to_the_cent(
    quote, points: int, paid: str
):
    q = quote(SUB_CENT, THOUSAND_POINTS, sale(line("a", "x", "100.00"), redeem_points=points))
    assert q.as_dict()["redemption"] == {
        "points": points,
        "value": paid,
        "reward": None,
        "lots": [{"lot_id": "lot", "points": points}],
    }


def test_the_points_needed_for_an_amount_round_up_at_a_sub_cent_worth():
    # 1.00 needs 1.00 / 0.007 = 142.86 points: 143, and 143 points pay 1.001, cut to 1.00.
    assert points_needed(Decimal("1.00"), 1, Decimal("0.007"), CNY) == 143
    assert redemption_value(143, 1, Decimal("0.007"), CNY) == Decimal("1.00")


TIERS = """
earn: {{points: 1, per: 1, multipliers: {{standard: {standard}, gold: 2}}{caps}}}
tiers:
  qualifying: {{period: calendar_year}}
  levels: [{{id: standard, name: S}}, {{id: gold, name: G, threshold: {{amount: 100}}}}]
rules:
  - {{id: double, name: Double, then: [{{points_multiplier: 2}}]}}
"""


@pytest.mark.parametrize(
    ("multiplier", "tier_bonus", "total"),
    [("0.5", -19, 37 - 19 + 37), ("0", -37, 37), ("1", 0, 74)],
)
def test_a_tier_multiplier_below_one_earns_less_and_multipliers_still_add(
    quote, multiplier: str, tier_bonus: int, total: int
):
    programme = TIERS.format(standard=multiplier, caps="")
    q = quote(programme, {"id": "m1", "tier": "standard"}, sale(line("a", "x", "37.00")))
    # base 37; the tier adds 37 x (m - 1) rounded down (-18.5 → -19, so base and tier bonus
    # come to 18 = 37 x 0.5 rounded down); the rule's x2 adds 37.
    assert (q.earned.base, q.earned.tier_bonus, q.earned.total) == (37, tier_bonus, total)
    trace = [t["detail"] for t in q.as_dict()["trace"] if t["source"] == "tier:standard"]
    assert trace == [f"x{multiplier}: {tier_bonus:+d}"]


def test_a_cap_never_grows_a_negative_tier_bonus(quote):
    programme = TIERS.format(standard="0.5", caps=", caps: {per_transaction: 40}")
    q = quote(programme, {"id": "m1", "tier": "standard"}, sale(line("a", "x", "100.00")))
    # base 100 - 50 (x0.5) + 100 (rule x2) = 150, capped at 40: the rule's 100 goes, then 10 of
    # the base; the tier's -50 stays as it is.
    assert (q.earned.base, q.earned.tier_bonus, q.earned.rule_bonus) == (
        90,
        -50,
        {"rule:double": 0},
    )
    assert q.earned.total == 40


@pytest.mark.parametrize("multiplier", ["-1", "101"])
def test_a_tier_multiplier_outside_0_to_100_is_refused(multiplier: str):
    text = BASE + TIERS.format(standard=multiplier, caps="")
    report = validate_document(text.encode(), "tiers")
    assert [p.path for p in report.problems if p.is_error] == [("earn", "multipliers", "standard")]


def test_a_rule_multiplier_below_one_is_refused():
    text = (
        BASE
        + "earn: {points: 1, per: 1}\nrules:\n  - {id: r, name: R, then: [{points_multiplier: 0.5}]}\n"
    )
    report = validate_document(text.encode(), "rule-multiplier")
    assert [p.path for p in report.problems if p.is_error] == [
        ("rules", 0, "then", 0, "points_multiplier")
    ]


EXPLAIN = """
earn: {points: 1, per: 1}
tiers:
  qualifying: {period: calendar_year}
  levels: [{id: standard, name: S}, {id: gold, name: G, threshold: {amount: 100}}]
rules:
  - {id: member-day, name: Day, when: {transaction: {day_of_month: [18]}}, then: [{bonus_points: 5}]}
  - {id: festive, name: Festive, when: {transaction: {month_day: {between: ["12-20", "01-05"]}}},
     then: [{bonus_points: 5}]}
  - {id: big, name: Big, when: {transaction: {amount: {gte: 200}}}, then: [{bonus_points: 5}]}
  - {id: gold, name: Gold, when: {member: {tier: gold}}, then: [{bonus_points: 5}]}
  - {id: vip, name: VIP, when: {member: {tags: {segment: vip}}}, then: [{bonus_points: 5}]}
  - {id: back, name: Back, when: {member: {days_since_last_purchase: {lte: 3}}},
     then: [{bonus_points: 5}]}
  - {id: combo, name: Combo, when: {lines: [{category: coffee}, {category: pastry}]},
     then: [{bonus_points: 5}]}
  - {id: two, name: Two, when: {lines: [{category: coffee}, {category: coffee}]},
     then: [{bonus_points: 5}]}
"""


def test_explain_names_the_test_each_condition_failed(quote):
    member = {"id": "m1", "tier": "standard", "tags": {"segment": ["regular"]}}
    basket = sale(line("a", "x", "32.50", category="coffee"), at="2026-12-17T10:00:00+08:00")
    reasons = {
        s["source"]: s["reason"]
        for s in quote(EXPLAIN, member, basket, explain=True).as_dict()["not_applied"]
    }
    assert reasons == {
        "rule:member-day": "transaction.day_of_month needs one of [18]; it is 17",
        "rule:festive": "transaction.month_day needs from 12-20 to 01-05 (over new year); "
        "it is 12-17",
        "rule:big": "transaction.amount needs at least 200.00; it is 32.50",
        "rule:gold": "member.tier needs gold; it is standard",
        "rule:vip": "member.tags.segment needs one of [vip]; the member has regular",
        "rule:back": "member.days_since_last_purchase needs at most 3; the member has none",
        "rule:combo": "no basket line matches lines[1] (category pastry)",
        "rule:two": "the 2 line tests need 2 different basket lines",
    }


def test_a_sale_that_earns_no_points_is_neither_pending_nor_spendable(quote):
    programme = "earn: {points: 1, per: 1, pending_days: 14}\n"
    points = quote(programme, {"id": "m1"}, sale(line("a", "x", "0.50"))).as_dict()["points"]
    assert (points["total"], points["status"], points["spendable_from"], points["expires_at"]) == (
        0,
        "none",
        None,
        None,
    )
