"""The typed tier model: today's syntax maps onto it with the same meaning; the extended
syntax parses into metrics, windows, requirements, validity, downgrade and milestones."""

from decimal import Decimal
from pathlib import Path

import pytest

from engine.policy.loader import load_programme
from engine.tiering.model import Leaf, Window, downgrade_word, parse
from engine.tiering.requirements import AllOf, AnyOf

ROOT = Path(__file__).resolve().parents[2]


def model_of(name: str):
    return parse(load_programme(ROOT / "rules" / name / "programme.yaml").document["tiers"])


def test_todays_amount_thresholds_become_leaves_on_the_one_declared_metric():
    model = model_of("coffee-shop")
    assert list(model.metrics) == ["spend"]
    assert model.metrics["spend"].kind == "spend"
    assert model.window == Window("rolling_months", months=12)
    assert model.level("gold").requires == Leaf("spend", Decimal(800))
    assert model.level("platinum").requires == Leaf("spend", Decimal(3000))
    assert model.levels[0].requires is None
    assert model.validity.kind == "legacy"
    assert model.validity.legacy_rule == "rolling_12_months"
    assert model.downgrade.to == "to_qualified"


def test_top_percent_levels_are_unreachable_until_resolved_then_never_below_their_floor():
    model = model_of("recommended")
    assert model.level("gold").requires is None
    assert model.level("gold").top_percent == Decimal(20)
    resolved = model.with_resolved({"gold": Decimal("1200.00"), "platinum": Decimal("99999")})
    assert resolved.level("gold").requires == Leaf(
        "spend", max(Decimal(1200), model.level("gold").floor)
    )
    assert resolved.level("platinum").requires == Leaf("spend", Decimal(99999))


def test_an_anniversary_period_is_a_membership_year_from_joining():
    tiers = {"qualifying": {"period": "anniversary_year"}, "levels": [{"id": "a", "name": "A"}]}
    assert parse(tiers).window == Window("membership_year", anchor="join")


def test_todays_visits_metric_is_a_counter_carried_by_the_transaction():
    tiers = {
        "qualifying": {"metric": "visits", "period": "calendar_year"},
        "levels": [{"id": "a", "name": "A"}],
    }
    metric = parse(tiers).metrics["visits"]
    assert (metric.kind, metric.per, metric.legacy) == (
        "counter",
        "transaction",
        "one_per_transaction",
    )


def test_the_hotel_programme_parses_nights_or_stays_with_a_softer_requalification():
    model = model_of("hotel-nights")
    assert set(model.metrics) == {"nights", "stays"}
    assert model.metrics["nights"].exclude_flags == {"award"}
    assert model.level("gold").requires == AnyOf(
        (Leaf("nights", Decimal(20)), Leaf("stays", Decimal(6)))
    )
    assert model.level("gold").keep == AnyOf(
        (Leaf("nights", Decimal(16)), Leaf("stays", Decimal(5)))
    )
    assert model.level("platinum").keep == model.level("platinum").requires
    assert model.level("platinum").lifetime == Leaf("nights", Decimal(1000))
    assert (model.validity.kind, model.validity.month, model.validity.years) == ("fixed_date", 2, 2)
    assert (model.downgrade.to, model.downgrade.grace_months) == ("one_level", 3)
    (milestone,) = model.milestones
    assert (milestone.every, milestone.after, milestone.points) == (10, 40, 5000)


def test_the_airline_programme_parses_segments_or_distance_and_spend_on_an_april_year():
    model = model_of("airline-miles")
    assert model.window == Window("year_from_month", start_month=4)
    silver = model.level("silver").requires
    assert isinstance(silver, AllOf)
    assert silver.items[1] == Leaf("fares", Decimal(300000))
    factors = [(m.values, m.by) for m in model.metrics["segments"].multipliers]
    assert factors == [({"J", "C"}, Decimal("1.5")), ({"Q", "V"}, Decimal("0.5"))]
    assert model.metrics["distance"].quantity == "distance_km"
    assert model.level("diamond").invitation_only
    assert model.level("diamond").requires is None


@pytest.mark.parametrize("tier", [None, "nobody-knows"])
def test_an_unknown_or_missing_tier_reads_as_the_base_level(tier):
    assert model_of("coffee-shop").level(tier).id == "standard"


def test_code_reading_only_todays_downgrade_word_gets_it_from_either_form():
    assert downgrade_word("one_level") == "one_level"
    assert downgrade_word({"to": "one_level", "grace_months": 3}) == "one_level"
