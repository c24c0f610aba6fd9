"""A return after the earn rate changed takes back what the sale earned at its own rate, not
the rate in force on the day of the return; on both backends."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from engine.ledger.check import check
from engine.ledger.service import Ledger
from engine.pricing import Evaluator
from tests.ledger.conftest import BEANS, sale

SHOP = "coffee-shop"


def dated(evaluator: Evaluator) -> Evaluator:
    document = dict(evaluator.document)
    document["earn"] = {
        **document["earn"],
        "schedule": [
            {"effective_until": "2026-06-30", "multiplier": 2},
            {"effective_from": "2026-07-01", "multiplier": 1.5},
        ],
    }
    programme = dataclasses.replace(evaluator.programme, document=document)
    return Evaluator(programme, matcher="python")


def test_a_return_after_the_rate_changed_takes_back_what_the_sale_earned(database, coffee):
    ledger = Ledger(database, {SHOP: dated(coffee)}, clock=lambda: datetime(2026, 7, 5, tzinfo=UTC))
    ledger.enrol(SHOP, "m1", {"joined": "2026-01-05"})
    bought = ledger.commit_sale(SHOP, "m1", sale("s1", BEANS, at="2026-06-20T12:00:00+08:00"))
    assert bought.response["points"]["total"] == 392  # 98 x 2 per yuan x2 in June
    returned = ledger.return_items(
        SHOP, "s1", {"id": "r1", "at": "2026-07-05T12:00:00+08:00"}
    ).response
    assert returned["refund"]["points_clawed_back"] == 392
    assert check(database) == []
