"""The quote's tier progress: the tier after a sale and the closest path to the next."""

from decimal import Decimal
from pathlib import Path

from engine.policy.loader import load_programme
from engine.tiering.model import parse
from engine.tiering.progress import progress
from engine.tiering.requirements import Shortfall

D = Decimal
ROOT = Path(__file__).resolve().parents[2]


def model_of(name):
    return parse(load_programme(ROOT / "rules" / name / "programme.yaml").document["tiers"])


def test_a_hotel_member_three_nights_short_is_told_3_nights_to_gold():
    got = progress(
        model_of("hotel-nights"), "member", {"nights": D(14), "stays": D(2)}, {"nights": D(3)}
    )
    assert (got.tier_after, got.next_tier, got.upgraded) == ("member", "gold", False)
    assert got.path == (Shortfall("nights", D(3), D(20)),)


def test_the_sixth_stay_makes_gold_at_once_and_points_at_platinum():
    got = progress(
        model_of("hotel-nights"),
        "member",
        {"nights": D(10), "stays": D(5)},
        {"stays": D(1), "nights": D(1)},
    )
    assert (got.tier_after, got.upgraded, got.next_tier) == ("gold", True, "platinum")
    assert got.path == (Shortfall("stays", D(9), D(15)),)


def test_an_airline_member_sees_both_parts_of_an_and_still_missing():
    got = progress(
        model_of("airline-miles"),
        "blue",
        {"segments": D(28), "distance": D(20000), "fares": D(250000)},
        {"segments": D(1)},
    )
    assert got.next_tier == "silver"
    assert got.path == (Shortfall("segments", D(1), D(30)), Shortfall("fares", D(50000), D(300000)))


def test_a_sale_never_downgrades_and_the_invitation_tier_is_never_next():
    got = progress(model_of("airline-miles"), "gold", {}, {"fares": D(100)})
    assert (got.tier_after, got.next_tier, got.path) == ("gold", None, ())
