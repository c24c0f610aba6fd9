"""The report measures the lift planted in a simulated window, with Newcombe's interval."""

from __future__ import annotations

from decimal import Decimal
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from engine.campaigns.demo import mix, respond
from engine.campaigns.report import chart, newcombe, report, table, wilson
from engine.errors import InputError
from engine.ledger.tables import campaign_assignments
from engine.pricing.points import real_cost_of_points
from tests.campaigns.conftest import AFTER, CAMPAIGN, launched
from tests.campaigns.test_launch import IN_WINDOW, RICE, members_of
from tests.ledger.conftest import sale

RATES = {"a": 0.5, "b": 0.45, "c": 0.55, "d": 0.4, "holdout": 0.1}


def test_intervals_match_newcombes_published_examples():
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert newcombe(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=1e-4)
    assert newcombe(9, 10, 3, 10) == pytest.approx((0.1705, 0.8090), abs=1e-4)
    assert newcombe(5, 56, 0, 29) == pytest.approx((-0.0381, 0.1926), abs=1e-4)


def expected_activations(database) -> dict[str, tuple[int, int]]:
    """Group → (members, activated) recomputed from the planted draw, member by member."""
    with database.connect() as conn:
        rows = conn.execute(
            select(campaign_assignments.c.member_id, campaign_assignments.c.group_id)
        )
        found: dict[str, tuple[int, int]] = {}
        for member, group in rows:
            buys = mix(int(member.removeprefix("demo-")), 400, 1) % 10000 < round(
                RATES[group] * 1e4
            )
            n, a = found.get(group, (0, 0))
            found[group] = (n + 1, a + buys)
    return found


def test_the_planted_lift_is_measured(database, recommended):
    launched(database, recommended, members=8000)
    respond(database, recommended, CAMPAIGN, RATES, bonus=300)
    with database.connect() as conn:
        result = report(conn, recommended, CAMPAIGN, AFTER)
    truth = expected_activations(database)
    by_group = {c.group: c for c in result.comparisons}
    for group in "abcd":
        compared = by_group[group]
        assert (compared.treated.members, compared.treated.activated) == truth[group]
        assert compared.points == 300 * compared.treated.activated
        assert compared.real_cost == real_cost_of_points(
            compared.points, 100, Decimal(1), Decimal("0.8"), Decimal("0.75")
        ).quantize(Decimal("0.01"))
    overall = by_group["all"]
    assert (overall.holdout.members, overall.holdout.activated) == truth["holdout"]
    planted = sum(RATES[g] * truth[g][0] for g in "abcd") / overall.treated.members - 0.1
    low, high = overall.lift_interval
    assert low < planted < high and low > 0.25
    assert sum(by_group[g].holdout.members for g in "abcd") == overall.holdout.members
    assert overall.spend_interval[0] > 0  # the offered members spent more
    assert result.finished and "all" in table(result)
    assert ElementTree.fromstring(chart(result)).tag.endswith("svg")


def test_a_report_through_the_engine_counts_points_and_money(database, recommended, shop):
    launched(database, recommended)
    a_member, c_member = members_of(database, "a")[0], members_of(database, "c")[0]
    held = members_of(database, "holdout")[0]
    big = ("FRUIT", "fresh_produce", "80.00", 1)
    earned = shop.commit_sale("recommended", a_member, sale("s1", RICE, at=IN_WINDOW))
    shop.commit_sale("recommended", c_member, sale("s2", big, at=IN_WINDOW))
    shop.commit_sale("recommended", held, sale("s3", RICE, at=IN_WINDOW))
    with database.connect() as conn:
        result = report(conn, recommended, CAMPAIGN, AFTER)
    by_group = {c.group: c.as_dict() for c in result.comparisons}
    bonus = earned.response["points"]["campaign_bonus"][f"campaign:{CAMPAIGN}/a"]
    assert by_group["a"]["activated"] == 1 and by_group["a"]["points_issued"] == bonus
    assert by_group["c"]["money_off"] == "15.00" and by_group["c"]["spend"] == 80.0
    assert by_group["all"]["holdout_activated"] == 1
    assert by_group["all"]["real_cost"] == str(
        (
            real_cost_of_points(bonus, 100, Decimal(1), Decimal("0.8"), Decimal("0.75"))
            + Decimal(15)
        ).quantize(Decimal("0.01"))
    )


def test_a_campaign_not_launched_has_no_report(database, recommended):
    with database.connect() as conn, pytest.raises(InputError, match="not launched"):
        report(conn, recommended, CAMPAIGN, AFTER)
