"""The review as strict as the domain notes: a concrete reason to join, points that feel
worth something, catalogue prices at the burn value, the benefit mix, and diffs that call a
finding "resolved" only when it is."""

from __future__ import annotations

from engine.review.diff import diff_reviews
from engine.review.render import render_diff
from engine.review.scorecard import review_programme
from tests.review.helpers import BURN, load, plain_tiers, proposal, review_of


def status(text: str, key: str) -> str:
    return review_of(text).principle(key).status


def catalogue(points: int, price: str = "6") -> str:
    return f"""
    burn:
      points: 100
      worth: 1
      catalogue:
        - id: cola
          name: A bottle of cola
          points: {points}
          free_item: {{category: drinks, max_price: {price}}}
    """


def test_a_pitch_of_hello_is_no_reason_to_join_even_with_spendable_points():
    result = review_of(proposal(BURN, pitch="Hello.")).principle("reason_to_join")
    assert result.status == "not_met"
    assert "the pitch states no amount, rate or named benefit" in [e.text for e in result.evidence]


def test_a_pitch_with_a_rate_or_a_named_benefit_is_concrete():
    assert (
        status(proposal(BURN, pitch="1 point per yuan, 100 points = 1 yuan off."), "reason_to_join")
        == "met"
    )
    assert status(proposal(BURN, pitch="Members get free coffee."), "reason_to_join") == "met"
    assert status(proposal(BURN, pitch="Join and save."), "reason_to_join") == "not_met"


def test_points_worth_a_ten_thousandth_of_a_yuan_are_no_reason_to_join_and_are_flagged():
    worthless = "burn:\n  points: 10000\n  worth: 1\n"
    text = proposal(worthless, points=100, per="1", pitch="100 points for every yuan!")
    review = review_of(text)
    assert review.principle("reason_to_join").status == "not_met"
    (feel,) = review.findings_of("points.feel")
    assert feel.severity == "warning" and "feel worthless" in feel.message
    assert feel.measured["point_value"] == "0.0001"


def test_one_point_per_100_yuan_is_too_slow_to_collect():
    (feel,) = review_of(proposal(BURN, points=1, per="100")).findings_of("points.feel")
    assert feel.severity == "warning"
    assert "1 point per 100 CNY" in feel.message and "too slow" in feel.message


def test_the_recommended_rates_feel_right():
    assert review_of(proposal(BURN)).findings_of("points.feel") == []


def test_a_6_yuan_item_for_6000_points_at_100_to_1_is_an_inflated_price():
    (found,) = review_of(proposal(catalogue(6000))).findings_of("burn.catalogue")
    assert found.severity == "serious"
    assert "priced 10x its value" in found.message
    assert found.measured == {
        "points": "6000",
        "points_worth": "60",
        "item_value": "6",
        "times": "10",
    }
    assert found.hint == "price it at 600 points"


def test_a_reward_priced_at_its_burn_value_passes():
    (found,) = review_of(proposal(catalogue(600))).findings_of("burn.catalogue")
    assert found.severity == "ok"


def test_a_programme_with_only_internal_hard_benefits_is_warned_about_its_mix():
    body = (
        "benefits:\n  - kind: free\n    description: Free tea\n    source: internal\n    cost: hard"
    )
    (mix,) = review_of(proposal(plain_tiers("Standard", bodies={0: body}))).findings_of(
        "benefits.mix"
    )
    assert mix.severity == "warning"
    assert "no external benefit and no soft benefit" in mix.message
    assert mix.measured["source.internal"] == "1" and mix.measured["cost.hard"] == "1"


def test_external_and_soft_benefits_make_a_good_mix():
    body = (
        "benefits:\n"
        "  - kind: privilege\n    description: A service line\n    source: internal\n"
        "    cost: soft\n"
        "  - kind: welfare\n    description: Partner hotel 10% off\n    source: external\n"
        "    cost: hard\n"
    )
    (mix,) = review_of(proposal(plain_tiers("Standard", bodies={0: body}))).findings_of(
        "benefits.mix"
    )
    assert mix.severity == "ok"
    assert "source: 1 internal, 1 external; cost: 1 hard, 1 soft" in mix.message


def _changes(old: str, new: str):
    a, b = load(old), load(new)
    return diff_reviews(a, review_programme(a), b, review_programme(b))


def test_a_repriced_reward_is_resolved_with_its_old_and_new_values():
    diff = _changes(proposal(catalogue(6000)), proposal(catalogue(600)))
    (change,) = [c for c in diff.findings if c.current.check == "burn.catalogue"]
    assert change.kind == "resolved"
    assert ("points", "6000", "600") in change.values
    assert ("severity", "serious", "ok") in change.values
    text = render_diff(diff, "text")
    assert "points: 6000 -> 600" in text and "now: 'A bottle of cola'" in text


def test_a_removed_reward_is_gone_not_resolved():
    diff = _changes(proposal(catalogue(6000)), proposal(BURN))
    (change,) = [c for c in diff.findings if c.current.check == "burn.catalogue"]
    assert change.kind == "gone"
    assert "not a fix" in render_diff(diff, "text")


def test_an_inflated_reward_replaced_by_another_inflated_one_is_changed_not_resolved():
    tea = catalogue(3000, "3").replace("id: cola", "id: tea").replace("A bottle of cola", "Tea")
    diff = _changes(proposal(catalogue(6000)), proposal(tea))
    (change,) = [c for c in diff.findings if c.current.check == "burn.catalogue"]
    assert change.kind == "changed"
    assert ("points", "6000", "3000") in change.values


def test_a_fixed_reward_beside_a_newly_inflated_one_is_resolved_and_new():
    extra = (
        "        - id: tea\n          name: Tea\n          points: {}\n"
        "          free_item: {{category: drinks, max_price: 3}}\n"
    )
    before = proposal(catalogue(6000).rstrip(" ") + extra.format(300))
    after = proposal(catalogue(600).rstrip(" ") + extra.format(3000))
    diff = _changes(before, after)
    kinds = sorted(c.kind for c in diff.findings if c.current.check == "burn.catalogue")
    assert kinds == ["new", "resolved"]
