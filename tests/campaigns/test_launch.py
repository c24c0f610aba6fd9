"""Launch freezes the assignment; the engine then gives each group's offer to its members only."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from engine.campaigns.launch import launch
from engine.campaigns.model import Context
from engine.campaigns.targeting import HOLDOUT, preview
from engine.errors import ConflictError, InputError
from engine.ledger.check import check
from engine.ledger.tables import campaign_assignments, campaign_budgets
from engine.policy.loader import load_programme
from tests.campaigns.conftest import AFTER, CAMPAIGN, LAUNCH_AT, SHANGHAI, launched, populate
from tests.ledger.conftest import sale

IN_WINDOW = "2026-04-14T10:00:00+08:00"
RICE = ("RICE", "rice_and_oil", "50.00", 1)


def members_of(database, group: str) -> list[str]:
    with database.connect() as conn:
        return list(
            conn.execute(
                select(campaign_assignments.c.member_id)
                .where(campaign_assignments.c.group_id == group)
                .order_by(campaign_assignments.c.member_id)
            ).scalars()
        )


def test_launch_freezes_exactly_what_the_preview_showed(database, recommended):
    populate(database, recommended, 1500)
    with database.connect() as conn:
        shown = preview(conn, recommended, CAMPAIGN, LAUNCH_AT, sample=0).by_group()
    result = launch(database, recommended, CAMPAIGN, LAUNCH_AT)
    assert result.created
    assert result.groups == {g: n for g, n in shown.items() if g is not None}
    with database.connect() as conn:
        row = conn.execute(select(campaign_budgets)).mappings().one()
        stored = conn.execute(select(func.count()).select_from(campaign_assignments)).scalar()
    assert row["budget_points"] == 3_000_000 and row["spent_points"] == 0
    assert row["audience_size"] == stored == result.assigned


def test_launching_again_is_a_no_op_and_a_changed_relaunch_is_refused(database, recommended):
    first = launched(database, recommended)
    again = launch(database, recommended, CAMPAIGN, LAUNCH_AT)
    assert not again.created and again.groups == first.groups
    assert again.launched_at == LAUNCH_AT
    with pytest.raises(ConflictError, match="frozen one stands"):
        launch(database, recommended, CAMPAIGN, datetime(2026, 4, 20, tzinfo=SHANGHAI))
    with pytest.raises(ConflictError, match="cannot be launched"):
        launch(database, recommended, CAMPAIGN, AFTER)
    with database.connect() as conn:
        assert conn.execute(select(func.count()).select_from(campaign_assignments)).scalar() == (
            first.assigned
        )


def test_only_downpour_campaigns_are_launched(database):
    retail = Context.of(load_programme("rules/calendar-retail/programme.yaml").document)
    sunshine = next(c["id"] for c in retail.document["campaigns"] if c["kind"] == "sunshine")
    with pytest.raises(InputError, match="sunshine"):
        launch(database, retail, sunshine, LAUNCH_AT)


def test_the_engine_applies_each_groups_offer_only_to_its_members(database, recommended, shop):
    launched(database, recommended)
    member, held = members_of(database, "a")[0], members_of(database, HOLDOUT)[0]
    other = members_of(database, "c")[0]
    body = sale("q1", RICE, at=IN_WINDOW)
    source = f"campaign:{CAMPAIGN}/a"
    quote = shop.quote("recommended", member, body, explain=True)
    assert source in [a.offer.source for a in quote.applied]
    assert quote.earned.campaign_bonus[source] > 0
    for outsider, reason in ((held, "holdout"), (other, "not in group 'a'")):
        quote = shop.quote("recommended", outsider, body, explain=True)
        assert source not in [a.offer.source for a in quote.applied]
        skipped = {s.offer.source: s.reason for s in quote.not_applied or []}
        assert reason in skipped[source]


def test_the_frozen_group_outlives_the_members_change(database, recommended, shop):
    launched(database, recommended)
    member = members_of(database, "a")[0]
    committed = shop.commit_sale("recommended", member, sale("s1", RICE, at=IN_WINDOW))
    assert f"campaign:{CAMPAIGN}/a" in committed.response["points"]["campaign_bonus"]
    # The member's balance now far exceeds the audience's window: still in group a,
    # and a relaunch that would drop them is refused.
    assert committed.response["balance_after"] > 1499
    assert members_of(database, "a")[0] == member
    with pytest.raises(ConflictError):
        launch(database, recommended, CAMPAIGN, LAUNCH_AT)
    assert check(database) == []
