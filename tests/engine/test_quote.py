"""Pricing a sale: each semantic of rules/README.md "How a sale is priced", on both matchers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from engine.errors import InputError, RedemptionError
from tests.engine.conftest import line, sale

EARN = "earn: {points: 1, per: 1}\n"
MEMBER = {"id": "m1"}


def test_base_points_round_down_once_per_basket_by_default(quote):
    q = quote(EARN, MEMBER, sale(line("a", "x", "10.50"), line("b", "y", "20.80")))
    assert q.earned.base == 31  # 31.30 → 31


def test_line_rounding_rounds_each_line_down(quote):
    programme = "earn: {points: 1, per: 1, rounding_scope: line}\n"
    q = quote(programme, MEMBER, sale(line("a", "x", "10.50"), line("b", "y", "20.80")))
    assert q.earned.base == 30  # 10 + 20


def test_round_half_up_rounds_the_basket_to_nearest(quote):
    programme = "earn: {points: 1, per: 1, rounding: round_half_up}\n"
    assert quote(programme, MEMBER, sale(line("a", "x", "10.50"))).earned.base == 11


def test_five_points_per_ten_yuan_is_computed_exactly(quote):
    programme = "earn: {points: 5, per: 10}\n"
    assert quote(programme, MEMBER, sale(line("a", "x", "19.99"))).earned.base == 9


TIERS = """
earn: {points: 1, per: 1, multipliers: {gold: 1.5, platinum: 2},
       exclude: {categories: [tobacco]}, overrides: [{category: beans, points: 2, per: 1}]}
tiers:
  qualifying: {period: calendar_year}
  levels:
    - {id: standard, name: Standard}
    - id: gold
      name: Gold
      threshold: {amount: 1000}
      benefits: [{kind: discount, percent: 10, description: "10% off"}]
    - {id: platinum, name: Platinum, threshold: {amount: 5000}}
"""


def test_tier_multiplier_adds_a_rounded_down_tier_bonus(quote):
    q = quote(TIERS, {"id": "m1", "tier": "platinum"}, sale(line("a", "x", "101.00")))
    assert (q.earned.base, q.earned.tier_bonus, q.earned.total) == (101, 101, 202)


def test_tier_discount_comes_off_before_points_are_earned(quote):
    q = quote(TIERS, {"id": "m1", "tier": "gold"}, sale(line("a", "x", "100.00")))
    data = q.as_dict()
    assert data["totals"] == {
        "amount": "100.00",
        "discounts": "10.00",
        "redeemed_value": "0.00",
        "payable": "90.00",
    }
    assert (q.earned.base, q.earned.tier_bonus) == (90, 45)


def test_excluded_categories_earn_nothing_and_do_not_qualify(quote):
    q = quote(
        TIERS,
        {"id": "m1"},
        sale(line("a", "cig", "50.00", category="tobacco"), line("b", "x", "10.00")),
    )
    assert q.earned.base == 10
    assert q.tier.qualifying_after == Decimal("10.00")


def test_a_category_override_replaces_the_rate(quote):
    q = quote(TIERS, {"id": "m1"}, sale(line("a", "b1", "30.00", category="beans")))
    assert q.earned.base == 60


def test_crossing_an_amount_threshold_upgrades_at_once_and_shows_progress(quote):
    member = {"id": "m1", "tier": "standard", "qualifying_spend": "950.00"}
    q = quote(TIERS, member, sale(line("a", "x", "60.00")))
    assert (q.tier.tier_before, q.tier.tier_after, q.tier.upgraded) == ("standard", "gold", True)
    assert q.tier.next_tier == "platinum"
    assert q.tier.remaining == Decimal("3990.00")


def test_a_sale_never_downgrades(quote):
    q = quote(TIERS, {"id": "m1", "tier": "platinum"}, sale(line("a", "x", "1.00")))
    assert q.tier.tier_after == "platinum" and q.tier.next_tier is None


RULES = """
earn: {points: 1, per: 1}
rules:
  - id: combo
    name: Coffee and pastry
    when: {lines: [{category: coffee}, {category: pastry}]}
    then: [{discount: {amount: 5}}, {message: "Combo!"}]
  - id: big-basket
    name: Spend 100 get 50 points
    when: {transaction: {amount: {gte: 100}}}
    then: [{bonus_points: 50}]
  - id: weekend-double
    name: Double points at weekends
    when: {transaction: {weekday: [sat, sun]}}
    then: [{points_multiplier: 2}]
"""


def test_a_multi_line_rule_applies_once_however_many_combinations_match(quote):
    basket = sale(
        line("c1", "latte", "30.00", category="coffee"),
        line("c2", "mocha", "30.00", category="coffee"),
        line("p1", "croissant", "20.00", category="pastry"),
    )
    q = quote(RULES, MEMBER, basket)
    assert [a.offer.id for a in q.applied] == ["combo"]
    assert q.as_dict()["totals"]["discounts"] == "5.00"
    assert q.messages == ["Combo!"]


def test_a_multi_line_rule_needs_distinct_lines(quote):
    q = quote(RULES, MEMBER, sale(line("c1", "latte", "30.00", 2, category="coffee")))
    assert q.applied == []


def test_a_basket_discount_is_spread_over_lines_in_proportion(quote):
    basket = sale(
        line("c1", "latte", "30.00", category="coffee"),
        line("p1", "bun", "10.00", category="pastry"),
    )
    lines = quote(RULES, MEMBER, basket).as_dict()["lines"]
    assert [ln["discounts"] for ln in lines] == [
        [{"source": "rule:combo", "amount": "3.75"}],
        [{"source": "rule:combo", "amount": "1.25"}],
    ]


def test_amount_conditions_see_the_basket_before_our_discounts(quote):
    q = quote(RULES, MEMBER, sale(line("a", "x", "100.00")))
    assert q.earned.rule_bonus == {"rule:big-basket": 50}


def test_multipliers_add_to_the_base_and_never_compound(quote):
    saturday = "2026-11-28T10:00:00+08:00"
    q = quote(RULES, MEMBER, sale(line("a", "x", "100.00"), at=saturday))
    assert q.earned.rule_bonus == {"rule:big-basket": 50, "rule:weekend-double": 100}
    assert q.earned.total == 250


def test_weekday_is_read_in_the_programme_time_zone(quote):
    # Friday 23:30 UTC is Saturday 07:30 in Shanghai.
    q = quote(RULES, MEMBER, sale(line("a", "x", "10.00"), at="2026-11-27T23:30:00+00:00"))
    assert "weekend-double" in [a.offer.id for a in q.applied]


EXCLUSIVE = """
earn: {points: 1, per: 1}
rules:
  - {id: small, name: Small, priority: 20, then: [{bonus_points: 5}]}
  - {id: big, name: Big, priority: 10, stacking: exclusive, then: [{bonus_points: 100}],
     when: {transaction: {amount: {gte: 50}}}}
  - {id: bigger, name: Bigger, priority: 30, stacking: exclusive, then: [{bonus_points: 500}]}
"""


def test_the_first_exclusive_rule_by_priority_stands_alone(quote):
    q = quote(EXCLUSIVE, MEMBER, sale(line("a", "x", "60.00")), explain=True)
    assert [a.offer.id for a in q.applied] == ["big"]
    reasons = {s.offer.id: s.reason for s in q.not_applied}
    assert reasons == {"small": "rule 'big' is exclusive", "bigger": "rule 'big' is exclusive"}


def test_without_a_match_the_next_exclusive_rule_wins(quote):
    q = quote(EXCLUSIVE, MEMBER, sale(line("a", "x", "10.00")))
    assert [a.offer.id for a in q.applied] == ["bigger"]


LIMITED = """
earn: {points: 1, per: 1}
rules:
  - id: december
    name: December bonus
    window: {from: "2026-12-01", until: "2026-12-31"}
    limit: {per_member: 1, period: day}
    then: [{bonus_points: 10}]
"""


def test_a_rule_outside_its_window_does_not_apply_and_explain_says_why(quote):
    q = quote(LIMITED, MEMBER, sale(line("a", "x", "10.00")), explain=True)
    assert q.applied == []
    assert q.not_applied[0].reason.startswith("outside its window (2026-12-01T00:00:00+08:00")


def test_a_what_if_date_evaluates_the_basket_on_another_day(quote):
    at = datetime.fromisoformat("2026-12-01T00:00:00+08:00")
    q = quote(LIMITED, MEMBER, sale(line("a", "x", "10.00")), at=at)
    assert q.earned.rule_bonus == {"rule:december": 10}


def test_the_window_covers_the_whole_last_local_day(quote):
    q = quote(LIMITED, MEMBER, sale(line("a", "x", "10.00"), at="2026-12-31T23:59:00+08:00"))
    assert q.earned.rule_bonus == {"rule:december": 10}


def test_a_used_up_per_member_limit_stops_the_rule(quote):
    member = {"id": "m1", "usage": {"december": {"day": 1}}}
    q = quote(
        LIMITED, member, sale(line("a", "x", "10.00"), at="2026-12-02T10:00:00+08:00"), explain=True
    )
    assert q.applied == []
    assert q.not_applied[0].reason == "per-member limit reached (1 of 1 per day)"


BURN = """
earn: {points: 1, per: 1}
burn: {points: 100, worth: 1, minimum: 100, step: 100, max_bill_percent: 50,
       catalogue: [{id: free-coffee, name: Free coffee, points: 250, free_item: {category: coffee}},
                   {id: voucher, name: Voucher, points: 500, voucher: 5}]}
expiry: {rolling: {days: 365}}
"""
LOTS = {
    "id": "m1",
    "lots": [
        {
            "id": "late",
            "points": 400,
            "earned_at": "2026-06-01T10:00:00+08:00",
            "expires_at": "2027-06-01T23:59:59+08:00",
        },
        {
            "id": "soon",
            "points": 200,
            "earned_at": "2026-01-01T10:00:00+08:00",
            "expires_at": "2027-01-01T23:59:59+08:00",
        },
        {
            "id": "gone",
            "points": 900,
            "earned_at": "2025-01-01T10:00:00+08:00",
            "expires_at": "2025-12-31T23:59:59+08:00",
        },
    ],
}


def test_redeemed_points_pay_part_of_the_bill_from_the_soonest_expiring_lots(quote):
    q = quote(BURN, LOTS, sale(line("a", "x", "10.00"), redeem_points=300))
    data = q.as_dict()
    assert data["redemption"]["value"] == "3.00"
    assert data["redemption"]["lots"] == [
        {"lot_id": "soon", "points": 200},
        {"lot_id": "late", "points": 100},
    ]
    assert data["totals"]["payable"] == "7.00"


def test_the_part_paid_with_points_does_not_earn(quote):
    assert quote(BURN, LOTS, sale(line("a", "x", "10.00"), redeem_points=300)).earned.base == 7


@pytest.mark.parametrize(
    "points,code",
    [
        (50, "redemption.below_minimum"),
        (150, "redemption.not_a_step"),
        (700, "redemption.exceeds_balance"),  # the expired lot does not count
        (600, "redemption.exceeds_bill_share"),  # 6.00 of a 10.00 bill, 50% allowed
    ],
)
def test_a_refused_redemption_has_its_own_error_code(quote, points, code):
    with pytest.raises(RedemptionError) as refused:
        quote(BURN, LOTS, sale(line("a", "x", "10.00"), redeem_points=points))
    assert refused.value.code == code


def test_a_catalogue_reward_makes_the_cheapest_matching_item_free(quote):
    basket = sale(
        line("a", "latte", "32.00", category="coffee"),
        line("b", "americano", "24.00", category="coffee"),
        claim_reward="free-coffee",
    )
    data = quote(BURN, LOTS, basket).as_dict()
    assert data["redemption"]["points"] == 250
    assert [ln["redeemed_value"] for ln in data["lines"]] == ["0.00", "24.00"]


def test_a_reward_without_its_item_in_the_basket_is_refused(quote):
    with pytest.raises(RedemptionError) as refused:
        quote(
            BURN,
            LOTS,
            sale(line("a", "bun", "8.00", category="pastry"), claim_reward="free-coffee"),
        )
    assert refused.value.code == "redemption.reward_not_in_basket"


def test_new_points_expire_at_the_end_of_the_local_day_365_days_later(quote):
    q = quote(BURN, MEMBER, sale(line("a", "x", "10.00"), at="2026-11-24T23:30:00+08:00"))
    # Shown to the second (the last second of the day), never as 23:59:59.999999.
    assert q.as_dict()["points"]["expires_at"] == "2027-11-24T23:59:59+08:00"


CAPPED = """
earn: {points: 1, per: 1, caps: {per_transaction: 120}, multipliers: {gold: 2}}
tiers:
  qualifying: {period: calendar_year}
  levels: [{id: standard, name: S}, {id: gold, name: G, threshold: {amount: 100}}]
rules:
  - {id: bonus, name: Bonus, then: [{bonus_points: 30}]}
"""


def test_caps_cut_rule_bonuses_before_tier_bonus_and_base(quote):
    q = quote(CAPPED, {"id": "m1", "tier": "gold"}, sale(line("a", "x", "80.00")))
    # base 80 + tier 80 + rule 30 = 190, capped at 120: rule bonus goes, then 40 of the tier bonus.
    assert (q.earned.base, q.earned.tier_bonus, q.earned.rule_bonus, q.earned.capped) == (
        80,
        40,
        {"rule:bonus": 0},
        70,
    )


def test_a_per_period_cap_counts_what_was_already_earned(quote):
    programme = "earn: {points: 1, per: 1, caps: {per_period: {points: 100, period: month}}}\n"
    q = quote(
        programme, {"id": "m1", "earned_in_period": {"month": 90}}, sale(line("a", "x", "50.00"))
    )
    assert q.earned.total == 10


PENDING = "earn: {points: 1, per: 1, pending_days: 14}\n"


def test_pending_points_become_spendable_after_the_pending_period(quote):
    points = quote(PENDING, MEMBER, sale(line("a", "x", "10.00"))).as_dict()["points"]
    assert points["status"] == "pending"
    assert points["spendable_from"] == "2026-12-08T00:00:00+08:00"


CAMPAIGNS = """
earn: {points: 1, per: 1}
campaigns:
  - id: rain
    name: Reactivation
    kind: downpour
    window: {from: "2026-11-01", until: "2026-11-30"}
    holdout_percent: 10
    groups:
      - {id: a, filter: {tags: {gender: female}}, offer: [{points_multiplier: 100}]}
      - {id: b, offer: [{bonus_points: 500}]}
  - id: sun
    name: Everyone
    kind: sunshine
    window: {from: "2026-11-01", until: "2026-11-30"}
    audience: {balance: {gte: 100}}
    offer: [{points_multiplier: 2}]
"""


def test_a_downpour_group_member_gets_the_group_offer(quote):
    q = quote(CAMPAIGNS, {"id": "m1", "campaigns": {"rain": "a"}}, sale(line("a", "x", "10.00")))
    assert q.earned.campaign_bonus == {"campaign:rain/a": 990}


def test_holdout_members_get_nothing_from_the_campaign(quote):
    q = quote(
        CAMPAIGNS,
        {"id": "m1", "campaigns": {"rain": "holdout"}},
        sale(line("a", "x", "10.00")),
        explain=True,
    )
    assert q.earned.campaign_bonus == {}
    assert "holdout" in {s.offer.id: s.reason for s in q.not_applied}["rain"]


def test_untargeted_members_get_no_downpour_offer(quote):
    q = quote(CAMPAIGNS, MEMBER, sale(line("a", "x", "10.00")))
    assert q.earned.campaign_bonus == {}


def test_a_sunshine_offer_reaches_everyone_in_its_audience(quote):
    rich = {
        "id": "m1",
        "lots": [{"id": "l", "points": 150, "earned_at": "2026-01-01T00:00:00+08:00"}],
    }
    q = quote(CAMPAIGNS, rich, sale(line("a", "x", "10.00")))
    assert q.earned.campaign_bonus == {"campaign:sun": 10}


def test_the_same_input_always_gives_the_same_quote(quote):
    first = quote(RULES, MEMBER, sale(line("c", "latte", "30.00", category="coffee"))).as_dict()
    second = quote(RULES, MEMBER, sale(line("c", "latte", "30.00", category="coffee"))).as_dict()
    assert first == second


def test_every_effect_is_traced_to_the_rule_that_caused_it(quote):
    basket = sale(
        line("c", "latte", "30.00", category="coffee"), line("p", "bun", "80.00", category="pastry")
    )
    trace = quote(RULES, MEMBER, basket).as_dict()["trace"]
    assert [(t["source"], t["effect"]) for t in trace] == [
        ("rule:combo", "discount"),
        ("rule:big-basket", "points"),
    ]
    assert trace[0]["reason"] == "lines: category = coffee + category = pastry"


DRAFT = """
earn: {points: 1, per: 1}
campaigns:
  - id: rain
    name: Reactivation
    kind: downpour
    window: {from: "2027-03-01", until: "2027-03-31"}
    audience: {balance: {lt: 1000}}
    groups:
      - {id: women, priority: 1, filter: {tags: {gender: female}}, offer: [{bonus_points: 500}]}
      - {id: others, priority: 2, offer: [{bonus_points: 50}]}
"""


def test_a_draft_campaign_can_be_tried_on_a_member_before_launch(quote):
    member = {"id": "m1", "tags": {"gender": "female"}}
    assert quote(DRAFT, member, sale(line("a", "x", "10.00"))).earned.campaign_bonus == {}
    tried = quote(DRAFT, member, sale(line("a", "x", "10.00")), try_campaigns=["rain"])
    assert tried.earned.campaign_bonus == {"campaign:rain/women": 500}


def test_a_tried_campaign_places_the_member_in_the_first_matching_group(quote):
    tried = quote(
        DRAFT,
        {"id": "m1", "tags": {"gender": "male"}},
        sale(line("a", "x", "1.00")),
        try_campaigns=["rain"],
    )
    assert tried.earned.campaign_bonus == {"campaign:rain/others": 50}


def test_a_tried_campaign_respects_its_audience(quote):
    rich = {
        "id": "m1",
        "lots": [{"id": "l", "points": 5000, "earned_at": "2026-01-01T00:00:00+08:00"}],
    }
    tried = quote(DRAFT, rich, sale(line("a", "x", "1.00")), try_campaigns=["rain"])
    assert tried.earned.campaign_bonus == {}


def test_trying_an_unknown_campaign_is_an_input_error(quote):
    with pytest.raises(InputError):
        quote(DRAFT, MEMBER, sale(line("a", "x", "1.00")), try_campaigns=["nope"])
