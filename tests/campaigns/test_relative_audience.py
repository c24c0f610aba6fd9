"""Audiences relative to the detected critical point: resolved at preview and launch from the
latest analysis, recorded with the launch; a hand-typed band that disagrees is warned about."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from engine.campaigns.critical import NoCriticalPoint
from engine.campaigns.launch import launch
from engine.campaigns.model import Context
from engine.campaigns.targeting import preview
from engine.ledger.tables import campaign_critical_points
from engine.policy.loader import validate_document
from tests.campaigns.conftest import CAMPAIGN, LAUNCH_AT, populate


def with_audience(context: Context, audience: dict[str, Any]) -> Context:
    document = copy.deepcopy(dict(context.document))
    (campaign,) = [c for c in document["campaigns"] if c["id"] == CAMPAIGN]
    campaign["audience"] = audience
    return Context.of(document)


RELATIVE = {"critical_point": {"below": 500}, "days_inactive": {"gte": 60}}
TYPED = {"balance": {"between": [1000, 1499]}, "days_inactive": {"gte": 60}}


def test_the_relative_audience_targets_the_band_just_below_the_detected_point(
    database, recommended
):
    populate(database, recommended, 3000)  # the demo plants the critical point at 1,500
    relative, typed = with_audience(recommended, RELATIVE), with_audience(recommended, TYPED)
    with database.connect() as conn:
        found = preview(conn, relative, CAMPAIGN, LAUNCH_AT, sample=0)
        by_hand = preview(conn, typed, CAMPAIGN, LAUNCH_AT, sample=0)
    assert found.critical_point is not None
    assert (found.critical_point["balance"], found.critical_point["band"]) == (1500, [1000, 1499])
    assert found.critical_point["source"] == "analysis"
    assert found.counts == by_hand.counts and found.audience > 0
    assert found.warnings == [] and by_hand.warnings == []


def test_the_launch_records_the_band_and_keeps_it(database, recommended):
    populate(database, recommended, 3000)
    relative = with_audience(recommended, RELATIVE)
    launched = launch(database, relative, CAMPAIGN, LAUNCH_AT)
    assert launched.created and launched.critical_point is not None
    assert launched.critical_point["band"] == [1000, 1499]
    with database.connect() as conn:
        row = conn.execute(select(campaign_critical_points)).one()
        assert (row.balance, row.band_low, row.band_high) == (1500, 1000, 1499)
        later = preview(conn, relative, CAMPAIGN, LAUNCH_AT, sample=0)
    assert later.critical_point is not None and later.critical_point["source"] == "launch"
    again = launch(database, relative, CAMPAIGN, LAUNCH_AT)
    assert not again.created and again.groups == launched.groups
    assert again.as_dict()["critical_point"]["balance"] == 1500


def test_a_hand_typed_band_away_from_the_detected_point_is_warned_about(database, recommended):
    populate(database, recommended, 3000)
    far = with_audience(recommended, {"balance": {"between": [500, 999]}})
    with database.connect() as conn:
        shown = preview(conn, far, CAMPAIGN, LAUNCH_AT, sample=0)
    (warning,) = shown.warnings
    assert "500 to 999" in warning and "critical point (1,500 points" in warning
    assert shown.as_dict()["warnings"] == [warning]


def test_without_history_a_relative_audience_is_refused_with_the_reason(database, recommended):
    relative = with_audience(recommended, RELATIVE)
    with database.connect() as conn, pytest.raises(NoCriticalPoint) as refused:
        preview(conn, relative, CAMPAIGN, LAUNCH_AT)
    assert "no history" in str(refused.value)
    assert refused.value.status == 409


def test_a_sunshine_campaign_cannot_use_a_relative_audience():
    text = """programme: {id: p, name: P, currency: CNY, timezone: Asia/Shanghai, pitch: "Free tea."}
earn: {points: 1, per: 1}
burn: {points: 100, worth: 1}
campaigns:
  - id: s
    name: S
    kind: sunshine
    window: {from: "2026-01-01", until: "2026-01-31"}
    audience:
      critical_point: {below: 300}
    offer: [{points_multiplier: 2}]
"""
    report = validate_document(text.encode("utf-8"), "p.yaml")
    messages = [p.render() for p in report.problems if p.severity == "error"]
    assert any("only a downpour campaign" in m and "p.yaml:10" in m for m in messages), messages
