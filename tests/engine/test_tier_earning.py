"""A level's own ``earn_multiplier`` at the till (issue 12): 0 earns nothing (earning only for
paid or higher tiers), below 1 earns less, and ``earn.multipliers`` wins where both name a tier."""

from __future__ import annotations

import pytest

from tests.engine.conftest import line, sale

LEVELS = """
earn: {{points: 1, per: 1{multipliers}}}
tiers:
  metrics: {{spend: {{kind: spend}}}}
  qualifying: {{window: {{kind: calendar_year}}}}
  levels:
    - {{id: basic, name: Basic, earn_multiplier: {basic}}}
    - id: paid
      name: Paid
      requires: {{metric: spend, at_least: 1000}}
"""


@pytest.mark.parametrize(("basic", "total"), [("0", 0), ("0.5", 18), ("1", 37)])
def test_a_levels_earn_multiplier_scales_its_members_base_points(quote, basic, total):
    programme = LEVELS.format(basic=basic, multipliers="")
    q = quote(programme, {"id": "m1", "tier": "basic"}, sale(line("a", "x", "37.00")))
    assert q.earned.total == total


def test_a_tier_without_its_own_multiplier_earns_the_base_rate(quote):
    programme = LEVELS.format(basic="0", multipliers="")
    q = quote(programme, {"id": "m1", "tier": "paid"}, sale(line("a", "x", "37.00")))
    assert q.earned.total == 37


def test_earn_multipliers_win_over_a_levels_own(quote):
    programme = LEVELS.format(basic="0", multipliers=", multipliers: {basic: 2}")
    q = quote(programme, {"id": "m1", "tier": "basic"}, sale(line("a", "x", "37.00")))
    assert q.earned.total == 74
