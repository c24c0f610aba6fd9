"""The ledger keeps the remainder a member carries between sales (``earn.remainders: carry``):
nothing is lost over many small sales; on both backends."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from engine.ledger.check import check
from engine.ledger.service import Ledger
from engine.ledger.tables import members
from engine.pricing import Evaluator
from tests.ledger.conftest import sale

SHOP = "coffee-shop"
WATER = ("WATER", "drinks", "3.30", 1)  # 3.3 points at 1 per yuan


def carrying(evaluator: Evaluator) -> Evaluator:
    document = dict(evaluator.document)
    document["earn"] = {**document["earn"], "remainders": "carry"}
    programme = dataclasses.replace(evaluator.programme, document=document)
    return Evaluator(programme, matcher="python")


def test_ten_small_sales_earn_what_their_total_would(database, coffee):
    ledger = Ledger(
        database, {SHOP: carrying(coffee)}, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC)
    )
    ledger.enrol(SHOP, "m1", {"joined": "2026-01-05"})
    earned = [
        ledger.commit_sale(
            SHOP, "m1", sale(f"t{day}", WATER, at=f"2026-11-{day:02d}T12:00:00+08:00")
        ).response["points"]["base"]
        for day in range(20, 30)
    ]
    # Base points only (the shop's come-back rule adds its own bonus on some days).
    assert sum(earned) == 33  # 10 x 3.3: dropping the remainders would give 30
    assert earned[:4] == [3, 3, 3, 4]
    with database.connect() as conn:
        stored = conn.execute(members.select().where(members.c.id == "m1")).mappings().one()
    assert stored["points_remainder"] == 0
    assert check(database) == []
