"""A return takes back what the returned lines earned, not a share of the money (issue 19)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, select

from engine.ledger.check import check
from engine.ledger.tables import campaign_budgets, members, sale_attributions
from tests.ledger.programmes import GIFT_CARD_EARN, evaluator_for, ledger_on, line, sale_body

AT = "2026-11-25T10:00:00+08:00"
CAMPING = line("tent", "TENT-2P", "camping", "800.00")
GIFT_CARD = line("card", "GC-50", "gift_card", "50.00")


def give_back(ledger, programme: str, sale_id: str, return_id: str, *lines) -> dict[str, Any]:
    body: dict[str, Any] = {"id": return_id, "at": AT}
    if lines:
        body["lines"] = [{"line_id": line_id, "quantity": qty} for line_id, qty in lines]
    return ledger.return_items(programme, sale_id, body).response


def member_state(database, programme: str, member: str = "m1") -> tuple[int, int, Decimal]:
    with database.connect() as conn:
        row = (
            conn.execute(
                select(members).where(members.c.programme == programme, members.c.id == member)
            )
            .mappings()
            .one()
        )
    return row["balance"], row["debt"], Decimal(row["qualifying_spend"])


def shop(tmp_path, database, programme_id: str = "outdoor", **sections: Any):
    sections.setdefault("earn", GIFT_CARD_EARN)
    evaluator = evaluator_for(tmp_path, programme_id, **sections)
    ledger = ledger_on(database, evaluator)
    ledger.enrol(programme_id, "m1", {"joined": "2026-01-05"})
    return ledger


def test_returning_a_gift_card_that_earned_nothing_takes_nothing_back(tmp_path, database):
    ledger = shop(tmp_path, database)
    sold = ledger.commit_sale("outdoor", "m1", sale_body("s1", CAMPING, GIFT_CARD)).response
    assert sold["points"]["total"] == 8000
    back = give_back(ledger, "outdoor", "s1", "r1", ("card", 1))
    assert back["refund"]["points_clawed_back"] == 0
    assert back["refund"]["money"] == "50.00"
    assert back["balance_after"] == 8000
    assert back["points_by_line"] == [{"line_id": "card", "quantity": 1, "points_clawed_back": 0}]
    assert member_state(database, "outdoor") == (8000, 0, Decimal("800.00"))
    assert check(database) == []


def test_returning_the_line_that_earned_takes_back_all_it_earned(tmp_path, database):
    ledger = shop(tmp_path, database)
    ledger.commit_sale("outdoor", "m1", sale_body("s1", CAMPING, GIFT_CARD))
    back = give_back(ledger, "outdoor", "s1", "r1", ("tent", 1))
    assert back["refund"]["points_clawed_back"] == 8000 and back["balance_after"] == 0
    assert member_state(database, "outdoor") == (0, 0, Decimal(0))
    assert check(database) == []


def test_partial_returns_of_one_line_add_up_to_what_it_earned(tmp_path, database):
    # 3 units of 33.33 at 1 point per 1: 99.99 → 99 points (floor, on the basket); one unit
    # carries 33 (half up of 99/3), two 66, three 99.
    ledger = shop(tmp_path, database, earn={"points": 1, "per": 1})
    ledger.commit_sale("outdoor", "m1", sale_body("s1", line("a", "A", "x", "33.33", 3)))
    clawed = [
        give_back(ledger, "outdoor", "s1", f"r{i}", ("a", 1))["refund"]["points_clawed_back"]
        for i in range(3)
    ]
    assert clawed == [33, 33, 33]
    assert member_state(database, "outdoor") == (0, 0, Decimal(0))
    assert check(database) == []


def test_a_sku_multiplier_goes_back_with_its_own_line(tmp_path, database):
    earn = {"points": 1, "per": 1, "overrides": [{"sku": "MUG", "multiplier": 3}]}
    ledger = shop(tmp_path, database, earn=earn)
    ledger.commit_sale(
        "outdoor",
        "m1",
        sale_body("s1", line("mug", "MUG", "x", "10.00"), line("b", "B", "x", "10.00")),
    )
    assert (
        give_back(ledger, "outdoor", "s1", "r1", ("mug", 1))["refund"]["points_clawed_back"] == 30
    )
    assert member_state(database, "outdoor")[0] == 10


def test_a_line_level_rule_bonus_goes_back_with_the_line_it_was_given_for(tmp_path, database):
    rules = [
        {
            "id": "mug-bonus",
            "name": "Mug bonus",
            "when": {"lines": [{"sku": "MUG"}]},
            "then": [{"bonus_points": 100}],
        }
    ]
    ledger = shop(tmp_path, database, earn={"points": 1, "per": 1}, rules=rules)
    ledger.commit_sale(
        "outdoor",
        "m1",
        sale_body("s1", line("mug", "MUG", "x", "10.00"), line("b", "B", "x", "90.00")),
    )
    back = give_back(ledger, "outdoor", "s1", "r1", ("b", 1))
    assert back["refund"]["points_clawed_back"] == 90
    back = give_back(ledger, "outdoor", "s1", "r2", ("mug", 1))
    assert back["refund"]["points_clawed_back"] == 110 and back["balance_after"] == 0


SPEND_100_BONUS = [
    {
        "id": "spend-100",
        "name": "Spend 100, get 500 points",
        "when": {"transaction": {"amount": {"gte": 100}}},
        "then": [{"bonus_points": 500}],
    }
]


def two_lines(ledger) -> None:
    ledger.commit_sale(
        "outdoor",
        "m1",
        sale_body("s1", line("a", "A", "x", "80.00"), line("b", "B", "x", "40.00", 2)),
    )


def test_a_basket_bonus_is_kept_while_the_rest_still_qualifies_by_default(tmp_path, database):
    ledger = shop(tmp_path, database, earn={"points": 1, "per": 1}, rules=SPEND_100_BONUS)
    two_lines(ledger)  # 160 + 500
    first = give_back(ledger, "outdoor", "s1", "r1", ("b", 1))  # 120 left: still qualifies
    assert first["basket_bonus_policy"] == "keep_while_qualifies"
    assert first["basket_bonuses"] == [
        {
            "source": "rule:spend-100",
            "points": 500,
            "points_clawed_back": 0,
            "decision": "kept: the remaining basket still qualifies",
        }
    ]
    assert first["refund"]["points_clawed_back"] == 40
    second = give_back(ledger, "outdoor", "s1", "r2", ("b", 1))  # 80 left: no longer
    assert second["basket_bonuses"][0]["points_clawed_back"] == 500
    assert second["refund"]["points_clawed_back"] == 540
    third = give_back(ledger, "outdoor", "s1", "r3", ("a", 1))
    assert third["basket_bonuses"][0]["points_clawed_back"] == 0
    assert third["refund"]["points_clawed_back"] == 80 and third["balance_after"] == 0
    assert check(database) == []


def test_the_recheck_sees_the_sale_as_it_was_sold_store_channel_and_time(tmp_path, database):
    rules = [
        {
            **SPEND_100_BONUS[0],
            "when": {
                "transaction": {
                    "amount": {"gte": 100},
                    "channel": "app",
                    "store": "s9",
                    "weekday": ["tue"],
                    "hour": {"between": [11, 13]},
                }
            },
        }
    ]
    ledger = shop(tmp_path, database, earn={"points": 1, "per": 1}, rules=rules)
    body = sale_body(
        "s1",
        line("a", "A", "x", "80.00"),
        line("b", "B", "x", "40.00", 2),
        store="s9",
        channel="app",
    )
    assert ledger.commit_sale("outdoor", "m1", body).response["points"]["total"] == 660
    first = give_back(ledger, "outdoor", "s1", "r1", ("b", 1))  # on a Wednesday, at 10:00
    assert first["basket_bonuses"][0]["decision"] == "kept: the remaining basket still qualifies"


def test_a_basket_bonus_under_claw_back_goes_in_full_on_any_return(tmp_path, database):
    earn = {"points": 1, "per": 1, "on_return": {"basket_bonuses": "claw_back"}}
    ledger = shop(tmp_path, database, earn=earn, rules=SPEND_100_BONUS)
    two_lines(ledger)
    first = give_back(ledger, "outdoor", "s1", "r1", ("b", 1))
    assert first["refund"]["points_clawed_back"] == 540
    last = give_back(ledger, "outdoor", "s1", "r2")
    assert last["refund"]["points_clawed_back"] == 120 and last["balance_after"] == 0


def test_a_prorated_basket_bonus_goes_back_by_what_the_lines_earned(tmp_path, database):
    earn = {"points": 1, "per": 1, "on_return": {"basket_bonuses": "prorate"}}
    ledger = shop(tmp_path, database, earn=earn, rules=SPEND_100_BONUS)
    two_lines(ledger)  # a earned 80, b 80 (two units of 40)
    first = give_back(ledger, "outdoor", "s1", "r1", ("b", 1))  # a quarter of the earning
    assert first["basket_bonuses"][0]["points_clawed_back"] == 125
    assert first["refund"]["points_clawed_back"] == 165
    rest = give_back(ledger, "outdoor", "s1", "r2")
    assert rest["basket_bonuses"][0]["points_clawed_back"] == 375 and rest["balance_after"] == 0


def test_a_tier_multiplier_is_taken_back_with_the_line_it_multiplied(tmp_path, database):
    tiers = {
        "qualifying": {"metric": "spend", "period": "calendar_year"},
        "levels": [{"id": "standard", "name": "Standard"}],
    }
    earn = {**GIFT_CARD_EARN, "multipliers": {"standard": 1.5}}
    ledger = shop(tmp_path, database, earn=earn, tiers=tiers)
    sold = ledger.commit_sale("outdoor", "m1", sale_body("s1", CAMPING, GIFT_CARD)).response
    assert sold["points"]["total"] == 12000
    assert give_back(ledger, "outdoor", "s1", "r1", ("card", 1))["balance_after"] == 12000
    assert give_back(ledger, "outdoor", "s1", "r2", ("tent", 1))["balance_after"] == 0


def test_redeemed_points_go_back_in_proportion_to_the_returned_lines_value(tmp_path, database):
    burn = {"points": 100, "worth": 1}
    ledger = shop(tmp_path, database, earn={"points": 1, "per": 1}, burn=burn)
    ledger.commit_sale("outdoor", "m1", sale_body("s0", line("a", "A", "x", "500.00")))
    sold = ledger.commit_sale(
        "outdoor",
        "m1",
        sale_body(
            "s1",
            line("a", "A", "x", "75.00"),
            line("b", "B", "x", "25.00"),
            redeem_points=400,
            at="2026-11-24T13:00:00+08:00",
        ),
    ).response
    assert sold["totals"]["redeemed_value"] == "4.00"
    back = give_back(ledger, "outdoor", "s1", "r1", ("b", 1))
    assert back["refund"]["points_refunded"] == 100
    assert give_back(ledger, "outdoor", "s1", "r2")["refund"]["points_refunded"] == 300
    assert check(database) == []


def test_a_tier_progress_goes_back_by_the_returned_lines_qualifying_amount(tmp_path, database):
    tiers = {
        "qualifying": {"metric": "spend", "period": "calendar_year"},
        "levels": [{"id": "standard", "name": "Standard"}],
    }
    ledger = shop(tmp_path, database, tiers=tiers)
    ledger.commit_sale("outdoor", "m1", sale_body("s1", CAMPING, GIFT_CARD))
    give_back(ledger, "outdoor", "s1", "r1", ("card", 1))
    assert member_state(database, "outdoor")[2] == Decimal("800.00")
    give_back(ledger, "outdoor", "s1", "r2", ("tent", 1))
    assert member_state(database, "outdoor")[2] == Decimal(0)


def budgeted_campaign() -> list[dict[str, Any]]:
    return [
        {
            "id": "tents",
            "name": "Tent week",
            "kind": "sunshine",
            "window": {"from": "2026-11-01", "until": "2026-12-31"},
            "budget": {"points": 100000},
            "offer": [{"points_multiplier": 2}],
        }
    ]


def spent(database) -> int:
    with database.connect() as conn:
        return conn.execute(select(campaign_budgets.c.spent_points)).scalar_one()


@pytest.mark.parametrize("order", [("card", "tent"), ("tent", "card")])
def test_a_return_gives_a_campaign_its_budget_back(tmp_path, database, order):
    ledger = shop(tmp_path, database, campaigns=budgeted_campaign())
    sold = ledger.commit_sale("outdoor", "m1", sale_body("s1", CAMPING, GIFT_CARD)).response
    assert sold["points"]["campaign_bonus"] == {"campaign:tents": 8000}
    assert spent(database) == 8000
    give_back(ledger, "outdoor", "s1", "r1", (order[0], 1))
    assert spent(database) == (8000 if order[0] == "card" else 0)
    give_back(ledger, "outdoor", "s1", "r2", (order[1], 1))
    assert spent(database) == 0
    assert member_state(database, "outdoor")[0] == 0
    assert check(database) == []


def test_a_sale_recorded_before_per_line_earnings_is_still_returned_by_money(tmp_path, database):
    ledger = shop(tmp_path, database)
    ledger.commit_sale("outdoor", "m1", sale_body("s1", CAMPING, GIFT_CARD))
    with database.begin() as conn:  # as a sale posted before migration 0008 would be
        conn.execute(delete(sale_attributions))
    back = give_back(ledger, "outdoor", "s1", "r1", ("card", 1))
    assert back["refund"]["points_clawed_back"] == 471  # 8000 x 50 / 850, the old way
    assert "points_by_line" not in back and "basket_bonuses" not in back
    rest = give_back(ledger, "outdoor", "s1", "r2")
    assert rest["balance_after"] == 0
    assert check(database) == []


@pytest.mark.parametrize(
    ("metric", "after_sale", "after_first", "after_all"),
    [("visits", 1, 1, 0), ("nights", 3, 2, 0)],
)
def test_other_tier_metrics_go_back_in_their_own_units(
    tmp_path, database, metric, after_sale, after_first, after_all
):
    tiers = {
        "qualifying": {"metric": metric, "period": "calendar_year"},
        "levels": [{"id": "standard", "name": "Standard"}],
    }
    ledger = shop(tmp_path, database, tiers=tiers)
    ledger.commit_sale(
        "outdoor", "m1", sale_body("s1", line("n", "ROOM", "stay", "100.00", 3), GIFT_CARD)
    )
    assert member_state(database, "outdoor")[2] == after_sale
    give_back(ledger, "outdoor", "s1", "r1", ("n", 1), ("card", 1))
    assert member_state(database, "outdoor")[2] == after_first
    give_back(ledger, "outdoor", "s1", "r2")
    assert member_state(database, "outdoor")[2] == after_all
    assert check(database) == []


def test_returned_points_no_longer_count_toward_a_per_period_cap(tmp_path, database):
    earn = {"points": 1, "per": 1, "caps": {"per_period": {"points": 100, "period": "day"}}}
    ledger = shop(tmp_path, database, earn=earn)
    ledger.commit_sale("outdoor", "m1", sale_body("s1", line("a", "A", "x", "80.00")))
    give_back(ledger, "outdoor", "s1", "r1")
    again = sale_body("s2", line("a", "A", "x", "90.00"), at="2026-11-24T15:00:00+08:00")
    assert ledger.commit_sale("outdoor", "m1", again).response["points"]["total"] == 90
    assert check(database) == []


def test_a_return_gives_a_campaign_back_the_discount_on_the_returned_units(tmp_path, database):
    campaigns = [
        {
            "id": "tents",
            "name": "Tents 10% off",
            "kind": "sunshine",
            "window": {"from": "2026-11-01", "until": "2026-12-31"},
            "budget": {"money": 1000},
            "offer": [{"discount": {"percent": 10, "apply_to": {"category": "camping"}}}],
        }
    ]
    ledger = shop(tmp_path, database, campaigns=campaigns)
    tents = line("tent", "TENT-2P", "camping", "800.00", 3)
    ledger.commit_sale("outdoor", "m1", sale_body("s1", tents, GIFT_CARD))

    def spent_money() -> Decimal:
        with database.connect() as conn:
            return Decimal(conn.execute(select(campaign_budgets.c.spent_money)).scalar_one())

    assert spent_money() == Decimal("240.00")
    give_back(ledger, "outdoor", "s1", "r1", ("tent", 1), ("card", 1))
    assert spent_money() == Decimal("160.00")
    give_back(ledger, "outdoor", "s1", "r2", ("tent", 2))
    assert spent_money() == 0
    assert check(database) == []
