"""How long status lasts, and one member's review: upgrade, renewal, hysteresis, soft landing,
grace, lifetime, reinstatement — and agreement with today's rules where the syntax is today's."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.calendar import status_valid_until
from engine.tiering.model import Downgrade, Validity, Window, parse
from engine.tiering.status import Held, decide, qualified, reinstated, valid_until
from engine.tiering.windows import Anchors

d = date
D = Decimal
HOTEL = parse(
    {
        "metrics": {"nights": {"kind": "nights"}, "stays": {"kind": "stays"}},
        "qualifying": {"window": {"kind": "calendar_year"}},
        "validity": {"kind": "fixed_date", "month": 2, "years": 2},
        "downgrade": {"to": "one_level", "grace_months": 3, "reinstate_months": 6},
        "levels": [
            {"id": "member", "name": "M"},
            {"id": "silver", "name": "S", "requires": {"metric": "nights", "at_least": 10}},
            {
                "id": "gold",
                "name": "G",
                "requires": {
                    "any_of": [
                        {"metric": "nights", "at_least": 20},
                        {"metric": "stays", "at_least": 6},
                    ]
                },
                "requalify": {"metric": "nights", "at_least": 16},
            },
            {
                "id": "platinum",
                "name": "P",
                "requires": {"metric": "nights", "at_least": 50},
                "lifetime": {"metric": "nights", "at_least": 1000},
            },
        ],
    }
)
REVIEW = d(2027, 12, 31)


def test_fixed_date_validity_runs_to_the_end_of_february_two_years_after_the_window():
    assert valid_until(HOTEL, d(2027, 5, 3)) == d(2029, 2, 28)
    assert valid_until(HOTEL, d(2026, 5, 3)) == d(2028, 2, 29)


def test_a_fixed_day_past_the_months_end_is_the_months_last_day():
    model = replace(HOTEL, validity=Validity("fixed_date", month=6, day=30, years=1))
    assert valid_until(model, d(2027, 1, 1)) == d(2028, 6, 30)


def test_months_from_upgrade_run_to_the_end_of_the_month_n_months_on():
    model = replace(HOTEL, validity=Validity("months_from_upgrade", months=12))
    assert valid_until(model, d(2027, 5, 10)) == d(2028, 5, 31)
    assert valid_until(model, d(2027, 1, 31)) == d(2028, 1, 31)


def test_until_next_review_is_the_end_of_the_window_and_from_a_review_the_next_one():
    model = replace(HOTEL, validity=Validity("until_next_review"))
    assert valid_until(model, d(2027, 5, 10)) == d(2027, 12, 31)
    assert valid_until(model, REVIEW) == d(2028, 12, 31)


def test_rest_of_this_year_and_all_of_next_follows_an_april_year():
    model = replace(
        HOTEL,
        window=Window("year_from_month", start_month=4),
        validity=Validity("rest_of_year_and_next"),
    )
    assert valid_until(model, d(2027, 11, 1)) == d(2029, 3, 31)


@pytest.mark.parametrize("rule", ["end_of_period", "end_of_next_period", "rolling_12_months"])
@pytest.mark.parametrize("period", ["calendar_year", "rolling_12_months", "anniversary_year"])
@pytest.mark.parametrize("through", ["day_before", "anniversary"])
def test_todays_status_rules_mean_what_they_meant(rule, period, through):
    model = parse(
        {
            "qualifying": {"period": period},
            "status_lasts": rule,
            "status_through": through,
            "levels": [{"id": "a", "name": "A"}],
        }
    )
    joined = d(2024, 2, 29)
    for earned in (d(2027, 2, 28), d(2028, 2, 29), d(2027, 12, 31)):
        assert valid_until(model, earned, Anchors(joined=joined)) == status_valid_until(
            earned, rule, period, joined=joined, through=through
        )


def test_reaching_gold_needs_20_nights_but_keeping_it_needs_16():
    assert qualified(HOTEL, "silver", {"nights": D(16)})[0].id == "silver"
    assert qualified(HOTEL, "gold", {"nights": D(16)})[0].id == "gold"
    assert qualified(HOTEL, "platinum", {"nights": D(16)})[0].id == "gold"


def test_a_member_who_reaches_a_level_is_upgraded_from_the_day_after_the_review():
    decision = decide(HOTEL, Held("silver", d(2028, 2, 29)), REVIEW, {"stays": D(6)})
    assert (decision.tier, decision.reason) == ("gold", "upgraded")
    assert decision.effective == d(2028, 1, 1)
    assert decision.valid_until == d(2029, 2, 28)


def test_renewing_never_shortens_a_longer_status():
    held = Held("gold", d(2030, 2, 28))
    decision = decide(HOTEL, held, REVIEW, {"nights": D(16)})
    assert (decision.tier, decision.valid_until, decision.reason) == (
        "gold",
        d(2030, 2, 28),
        "renewed",
    )


def test_a_status_still_running_is_kept_whatever_the_totals():
    decision = decide(HOTEL, Held("platinum", d(2028, 2, 29)), REVIEW, {})
    assert (decision.tier, decision.reason) == ("platinum", "unchanged")
    assert not decision.changes(Held("platinum", d(2028, 2, 29)))


def test_a_soft_landing_drops_one_level_after_the_grace_and_lasts_to_that_windows_end():
    decision = decide(HOTEL, Held("platinum", d(2027, 2, 28)), REVIEW, {"nights": D(3)})
    assert (decision.tier, decision.reason) == ("gold", "soft_landing")
    assert decision.effective == d(2028, 1, 1)  # grace ran 1 Mar → 1 Jun 2027, before the review
    assert decision.valid_until == d(2028, 12, 31)


def test_grace_moves_the_drop_past_the_review_when_status_ran_out_late():
    model = replace(HOTEL, window=Window("year_from_month", start_month=4))
    decision = decide(model, Held("platinum", d(2027, 2, 28)), d(2027, 3, 31), {})
    assert decision.effective == d(2027, 6, 1)
    assert decision.valid_until == d(2028, 3, 31)


def test_to_qualified_drops_straight_to_the_level_the_totals_give():
    model = replace(HOTEL, downgrade=Downgrade("to_qualified"))
    decision = decide(model, Held("platinum", d(2027, 2, 28)), REVIEW, {"nights": D(3)})
    assert (decision.tier, decision.valid_until, decision.reason) == ("member", None, "dropped")


def test_never_keeps_the_level():
    model = replace(HOTEL, downgrade=Downgrade("never"))
    decision = decide(model, Held("platinum", d(2027, 2, 28)), REVIEW, {})
    assert (decision.tier, decision.valid_until) == ("platinum", None)


def test_lifetime_nights_give_a_status_that_never_runs_out():
    decision = decide(HOTEL, Held("gold", REVIEW), REVIEW, {}, lifetime={"nights": D(1000)})
    assert (decision.tier, decision.valid_until, decision.reason) == ("platinum", None, "lifetime")


def test_a_member_without_a_tier_is_placed_by_the_totals():
    decision = decide(HOTEL, Held(None, None), REVIEW, {"nights": D(11)})
    assert (decision.tier, decision.reason) == ("silver", "placed")


def test_status_that_would_end_with_the_reviewed_window_places_nobody_above_the_base():
    model = parse(
        {
            "qualifying": {"period": "calendar_year"},
            "status_lasts": "end_of_period",
            "downgrade": "to_qualified",
            "levels": [
                {"id": "a", "name": "A"},
                {"id": "b", "name": "B", "threshold": {"amount": 100}},
            ],
        }
    )
    decision = decide(model, Held("b", REVIEW), REVIEW, {"spend": D(500)})
    assert (decision.tier, decision.reason) == ("a", "dropped")


def test_requalifying_within_six_months_of_a_drop_gives_the_level_back():
    back = reinstated(HOTEL, "gold", d(2028, 1, 1), d(2028, 5, 20), {"nights": D(16)})
    assert back is not None and (back.tier, back.effective) == ("gold", d(2028, 5, 20))
    assert back.valid_until == d(2030, 2, 28)


def test_requalifying_after_six_months_or_short_of_it_gives_nothing_back():
    assert reinstated(HOTEL, "gold", d(2028, 1, 1), d(2028, 7, 1), {"nights": D(16)}) is None
    assert reinstated(HOTEL, "gold", d(2028, 1, 1), d(2028, 5, 1), {"nights": D(15)}) is None


ORDER = ["member", "silver", "gold", "platinum"]
held_tiers = st.sampled_from(ORDER)
nights = st.integers(0, 80).map(D)
ran_out = st.dates(min_value=d(2026, 1, 1), max_value=d(2029, 12, 31))


@given(held_tiers, nights, ran_out)
def test_a_soft_landing_never_drops_more_than_one_level(tier, n, until):
    decision = decide(HOTEL, Held(tier, until), REVIEW, {"nights": n})
    assert ORDER.index(decision.tier) >= ORDER.index(tier) - 1


@given(held_tiers, nights, ran_out, st.sampled_from(["one_level", "to_qualified", "never"]))
def test_a_review_never_leaves_a_member_below_what_their_totals_qualify_for(tier, n, until, to):
    model = replace(HOTEL, downgrade=Downgrade(to))
    decision = decide(model, Held(tier, until), REVIEW, {"nights": n})
    level, _ = qualified(model, tier, {"nights": n})
    assert ORDER.index(decision.tier) >= ORDER.index(level.id)
    assert decision.effective > REVIEW
