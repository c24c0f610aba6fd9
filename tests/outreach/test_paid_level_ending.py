"""paid_level_ending: the renewal reminder for a bought level about to end, once per term,
never for a level already renewed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.ledger.service import Ledger
from tests.outreach.helpers import member, programme, run, tasks, trigger


@pytest.fixture
def reminding(database):
    evaluator = programme(
        [
            trigger(
                "paid_level_ending",
                days_before=14,
                template="{name}: your {paid_tier} ends on {ends_on}, in {days_left} days; "
                "renew for {fee_money}.",
            )
        ]
    )
    member(database, evaluator, "m1")
    member(database, evaluator, "m2")
    clock = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
    ledger = Ledger(database, {evaluator.programme.id: evaluator}, clock=lambda: clock)
    ledger.buy_level(evaluator.programme.id, "m1", {"level": "platinum"}, key="p1")
    return evaluator, ledger


def test_a_bought_level_ending_within_the_lead_time_is_reminded_once(database, reminding):
    evaluator, _ = reminding
    assert run(database, evaluator, date(2027, 2, 22)).total == 0  # 15 days before the end
    report = run(database, evaluator, date(2027, 2, 23))
    assert report.created == {"paid-level-ending": 1}
    [task] = tasks(database)
    assert task["member_id"] == "m1" and task["cycle"] == "platinum:2027-03-09"
    assert task["message"] == (
        "Name m1: your Platinum 白金卡 ends on 9 March 2027, in 14 days; renew for HK$1,880.00."
    )
    assert run(database, evaluator, date(2027, 2, 24)).total == 0


def test_a_renewed_level_is_not_reminded(database, reminding):
    evaluator, ledger = reminding
    ledger.buy_level(evaluator.programme.id, "m1", {"level": "platinum"}, key="p2")
    assert run(database, evaluator, date(2027, 2, 23)).total == 0
