"""The design review reads declared tier metrics (issue 12, rules/README.md §24)."""

from __future__ import annotations

from engine.policy.loader import load_programme
from engine.review.checks import check_qualifying_metric


def findings(name: str) -> list[tuple[str, str]]:
    document = load_programme(f"rules/{name}/programme.yaml").document
    return [(f.severity, f.message) for f in check_qualifying_metric(document, None)]


def test_two_travel_metrics_are_noted_with_the_closest_path_at_the_till():
    assert findings("hotel-nights") == [
        ("info", "tiers qualify on nights, stays; the till shows the closest path to the next tier")
    ]


def test_three_metrics_are_a_warning():
    assert findings("airline-miles") == [
        (
            "warning",
            "tiers count 3 metrics (segments, distance, fares): members cannot count their own progress",
        )
    ]


def test_todays_spend_metric_is_still_ok():
    assert findings("calendar-retail") == [("ok", "one simple metric: spend")]
