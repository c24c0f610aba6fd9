"""A campaign's budget, enforced while sales are committed: once spent, the offer stops."""

from __future__ import annotations

import pytest

from engine.ledger.service import Ledger
from engine.policy.loader import validate_document
from engine.pricing import Evaluator
from tests.ledger.conftest import LATTE, sale
from tests.ledger.test_concurrency import TILLS, run_in_parallel

PROGRAMME = b"""
programme: {id: rain, name: Rain, currency: CNY, timezone: Asia/Shanghai, pitch: "double points"}
earn: {points: 1, per: 1}
campaigns:
  - id: double
    name: Double points this week
    kind: sunshine
    window: {from: "2026-11-23", until: "2026-11-29"}
    offer: [{bonus_points: 100}]
    budget: {points: 350}
"""


@pytest.fixture
def rain_ledger(database) -> Ledger:
    programme = validate_document(PROGRAMME, "rain.yaml").programmes[0]
    evaluator = Evaluator(programme, matcher="python")
    ledger = Ledger(database, {"rain": evaluator})
    for member in range(TILLS):
        ledger.enrol("rain", f"m{member}", {"joined": "2026-01-05"})
    return ledger


def test_a_campaign_stops_when_its_budget_is_spent(rain_ledger):
    bonuses = [
        rain_ledger.commit_sale("rain", "m0", sale(f"t{n}", LATTE)).response["points"][
            "campaign_bonus"
        ]
        for n in range(5)
    ]
    assert bonuses == [{"campaign:double": 100}] * 3 + [{}] * 2


def test_a_dry_run_quote_knows_the_budget_is_spent(rain_ledger):
    for n in range(4):
        rain_ledger.commit_sale("rain", "m0", sale(f"t{n}", LATTE))
    quote = rain_ledger.quote("rain", "m1", sale("q", LATTE), explain=True)
    assert quote.earned.campaign_bonus == {}
    assert {s.offer.id: s.reason for s in quote.not_applied}[
        "double"
    ] == "the campaign's budget is spent"


def test_parallel_sales_never_overspend_the_budget(rain_ledger):
    results = run_in_parallel(
        lambda i: rain_ledger.commit_sale("rain", f"m{i}", sale(f"p{i}", LATTE)).response
    )
    granted = [r for r in results if r["points"]["campaign_bonus"]]
    assert len(granted) == 3  # 3 x 100 fits in 350; a fourth would not
