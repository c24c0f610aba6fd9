"""Outreach offers are honoured at the till: a trigger's ``grants`` makes its offer a member
offer that the member's quotes apply within its window and limit, a committed sale uses, and
a whole return gives back. Through the HTTP stack, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from api import create_app
from engine.ledger.check import check
from engine.ledger.tables import member_offers
from engine.outreach.run import run_outreach
from engine.policy.loader import load_programme, validate_document
from engine.pricing import Evaluator
from engine.pricing.model import Member, MemberOffer, parse_transaction
from tests.outreach.helpers import NOW, member

DAY = date(2026, 3, 16)  # a Monday; coffee-shop's member day (the 18th) is not in the window
LAPSED_SINCE = datetime(2026, 3, 1, 2, tzinfo=UTC)  # 15 days before DAY: past 7 + 3 days
BONUS = "outreach:missed-the-habit"
BIRTHDAY_DRINK = "outreach:birthday-drink"
BASE = "/v1/programmes/coffee-shop"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def app(database_url, database):
    app = create_app({"database_url": database_url, "matcher": "python", "auth": False})
    coffee = app.extensions["loyalty"].registry["coffee-shop"]
    member(database, coffee, "lapsed", tier="standard", last_purchase_at=LAPSED_SINCE)
    member(
        database,
        coffee,
        "regular",
        tier="standard",
        last_purchase_at=datetime(2026, 3, 15, tzinfo=UTC),
    )
    yield app
    app.extensions["loyalty"].database.dispose()


def run(app, on: date = DAY) -> dict[str, Any]:
    coffee = app.extensions["loyalty"].registry["coffee-shop"]
    return run_outreach(app.extensions["loyalty"].database, coffee, on, now=NOW).as_dict()


def sale(sale_id: str, at: str, category: str = "coffee", member_id: str = "lapsed") -> dict:
    return {
        "member_id": member_id,
        "id": sale_id,
        "at": at,
        "lines": [
            {"id": "1", "sku": "LATTE", "category": category, "quantity": 1, "unit_price": "30"}
        ],
    }


def quote(client, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    transaction = {k: v for k, v in body.items() if k != "member_id"}
    answer = client.post(
        f"{BASE}/quote", json={"member_id": body["member_id"], "transaction": transaction, **extra}
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def sources(answer: dict[str, Any]) -> list[str]:
    return [entry["source"] for entry in answer["applied"]]


def test_the_lapse_message_grants_its_bonus_once_at_the_till(app, database):
    report = run(app)
    assert report["created"]["missed-the-habit"] == 1
    assert report["granted"] == {"birthday-drink": 0, "missed-the-habit": 1}
    client = app.test_client()
    first = sale("s1", "2026-03-17T09:00:00+08:00")
    quoted = quote(client, first)
    assert BONUS in sources(quoted)
    assert quoted["points"]["rule_bonus"][BONUS] == 50
    assert "Offer used: 50 bonus points" in quoted["messages"]

    committed = client.post(f"{BASE}/transactions", json=first)
    assert committed.status_code == 201
    assert committed.get_json()["points"]["rule_bonus"][BONUS] == 50
    with database.connect() as conn:
        assert conn.execute(select(member_offers.c.uses_left)).scalar_one() == 0

    second = client.post(f"{BASE}/transactions", json=sale("s2", "2026-03-17T10:00:00+08:00"))
    assert second.status_code == 201
    assert BONUS not in sources(second.get_json())
    assert BONUS not in second.get_json()["points"]["rule_bonus"]


def test_a_retried_sale_does_not_use_the_offer_twice(app, database):
    run(app)
    client = app.test_client()
    body = sale("s1", "2026-03-17T09:00:00+08:00")
    first = client.post(f"{BASE}/transactions", json=body).get_json()
    again = client.post(f"{BASE}/transactions", json=body).get_json()
    assert first == again
    with database.connect() as conn:
        assert conn.execute(select(member_offers.c.uses_left)).scalar_one() == 0


@pytest.mark.parametrize(
    "at",
    ["2026-03-15T23:59:59+08:00", "2026-03-23T00:00:00+08:00"],
    ids=["the day before the message", "the day after the seventh day"],
)
def test_outside_its_window_the_offer_does_not_apply(app, at):
    run(app)
    client = app.test_client()
    explained = quote(client, sale("s1", at), explain=True)
    assert BONUS not in sources(explained)
    assert BONUS not in explained["points"]["rule_bonus"]
    committed = client.post(f"{BASE}/transactions", json=sale("s1", at)).get_json()
    assert BONUS not in sources(committed)


def test_the_last_day_of_the_window_still_counts(app):
    run(app)
    assert BONUS in sources(quote(app.test_client(), sale("s1", "2026-03-22T23:59:00+08:00")))


def test_a_sale_without_coffee_keeps_the_offer_for_a_coffee(app, database):
    run(app)
    client = app.test_client()
    tea = client.post(f"{BASE}/transactions", json=sale("s1", "2026-03-17T09:00:00+08:00", "tea"))
    assert BONUS not in sources(tea.get_json())
    explained = quote(client, sale("q", "2026-03-17T09:30:00+08:00", "tea"), explain=True)
    reasons = {s["source"]: s["reason"] for s in explained["not_applied"]}
    assert "no basket line matches" in reasons[BONUS]
    coffee = client.post(f"{BASE}/transactions", json=sale("s2", "2026-03-17T10:00:00+08:00"))
    assert BONUS in sources(coffee.get_json())


def test_only_the_member_the_message_went_to_holds_the_offer(app):
    run(app)
    other = quote(app.test_client(), sale("s1", "2026-03-17T09:00:00+08:00", member_id="regular"))
    assert BONUS not in sources(other)


def test_a_rerun_the_same_day_grants_nothing_more(app, database):
    run(app)
    assert run(app)["granted"]["missed-the-habit"] == 0
    with database.connect() as conn:
        rows = conn.execute(select(member_offers)).mappings().all()
    assert len(rows) == 1
    (row,) = rows
    assert (row["member_id"], row["trigger_id"], row["uses"]) == ("lapsed", "missed-the-habit", 1)
    assert row["effect"]["on"] == {"category": "coffee"}


def test_a_whole_return_gives_the_use_back(app, database):
    run(app)
    client = app.test_client()
    client.post(f"{BASE}/transactions", json=sale("s1", "2026-03-17T09:00:00+08:00"))
    returned = client.post(
        f"{BASE}/transactions/s1/returns", json={"id": "r1", "at": "2026-03-17T11:00:00+08:00"}
    )
    assert returned.status_code == 201
    with database.connect() as conn:
        assert conn.execute(select(member_offers.c.uses_left)).scalar_one() == 1
    again = client.post(f"{BASE}/transactions", json=sale("s2", "2026-03-18T09:00:00+08:00"))
    assert BONUS in sources(again.get_json())


def test_a_merged_member_keeps_the_offer_under_the_identity_it_joins(app, database):
    run(app)
    ledger = app.extensions["loyalty"].ledger
    ledger.merge("coffee-shop", "lapsed", "regular", actor="agent", key="merge-1")
    client = app.test_client()
    body = sale("s1", "2026-03-17T09:00:00+08:00", member_id="regular")
    assert BONUS in sources(client.post(f"{BASE}/transactions", json=body).get_json())
    assert check(database) == []


def test_ledger_check_finds_an_offer_whose_uses_disagree_with_its_sales(app, database):
    run(app)
    app.test_client().post(f"{BASE}/transactions", json=sale("s1", "2026-03-17T09:00:00+08:00"))
    assert check(database) == []
    with database.begin() as conn:
        conn.execute(update(member_offers).values(uses_left=1))
    (found,) = check(database)
    assert found.subject == "lapsed"
    assert "has 1 of 1 uses left but 1 sales hold a use of it" in found.message


def test_a_birthday_drink_is_free_at_the_till_once(app, database):
    coffee = app.extensions["loyalty"].registry["coffee-shop"]
    member(database, coffee, "birthday", tier="standard", birthday=date(1990, 3, 16))
    run(app)
    client = app.test_client()
    body = sale("b1", "2026-03-20T09:00:00+08:00", member_id="birthday")
    first = client.post(f"{BASE}/transactions", json=body).get_json()
    assert BIRTHDAY_DRINK in sources(first)
    assert first["totals"]["payable"] == "0.00"
    second = client.post(f"{BASE}/transactions", json={**body, "id": "b2"}).get_json()
    assert BIRTHDAY_DRINK not in sources(second)
    assert second["totals"]["payable"] != "0.00"


# --- validation ----------------------------------------------------------------------------

PROGRAMME = """\
programme: {id: granting, name: Granting, pitch: Points, currency: CNY, timezone: Asia/Shanghai}
earn: {points: 1, per: 1}
rules:
  - {id: lapse, name: A rule, then: [{bonus_points: 1}]}
outreach:
  - id: OUTREACH_ID
    trigger: lapse
    cycle_days: 7
    channel: sms
    template: "50 bonus points on your next coffee"
    OFFER
    grants: GRANTS
"""


def problems(outreach_id: str, offer: str, grants: str) -> list[str]:
    text = PROGRAMME.replace("OUTREACH_ID", outreach_id).replace("OFFER", offer)
    report = validate_document(text.replace("GRANTS", grants).encode(), "granting.yaml")
    return [problem.render() for problem in report.problems if problem.severity == "error"]


def test_a_well_formed_grant_validates():
    assert problems("win-back", "offer: [{bonus_points: 50}]", "{valid_days: 7}") == []
    assert problems("win-back", "offer: [{bonus_points: 50}]", GRANT_IN_FULL) == []


GRANT_IN_FULL = "{valid_days: 7, uses: 2, on: {category: [coffee, tea]}, name: 50 points}"


@pytest.mark.parametrize(
    ("outreach_id", "offer", "grants", "found"),
    [
        ("win-back", "", "{valid_days: 7}", "needs an 'offer' that gives something"),
        ("win-back", "offer: [{message: hi}]", "{valid_days: 7}", "needs an 'offer'"),
        ("lapse", "offer: [{bonus_points: 50}]", "{valid_days: 7}", "also a rule or campaign"),
        ("win-back", "offer: [{bonus_points: 50}]", "{uses: 1}", "valid_days"),
        ("win-back", "offer: [{bonus_points: 50}]", "{valid_days: 0}", "grants.valid_days"),
        ("win-back", "offer: [{bonus_points: 50}]", "{valid_days: 7, on: {}}", "grants.on"),
    ],
)
def test_a_grant_without_an_offer_an_id_or_a_window_is_refused(outreach_id, offer, grants, found):
    found_problems = problems(outreach_id, offer, grants)
    assert any(found in p for p in found_problems), found_problems


# --- the quote, on a member state --------------------------------------------------------------


def held(offer_id: int, *, days: int, trigger: str = "missed-the-habit") -> MemberOffer:
    start = datetime(2026, 3, 16, tzinfo=SHANGHAI)
    return MemberOffer(
        id=offer_id,
        trigger=trigger,
        name="50 bonus points",
        effects=({"bonus_points": 50},),
        on={"category": "coffee"},
        valid_from=start,
        valid_until=start + timedelta(days=days),
        uses_left=1,
    )


def test_two_offers_of_one_trigger_give_one_bonus_per_sale_the_first_to_end_first():
    coffee = Evaluator(load_programme("rules/coffee-shop/programme.yaml"), matcher="python")
    later, sooner = held(1, days=20), held(2, days=5)
    member_state = Member(id="m", tier="standard", offers=(later, sooner))
    body = sale("s1", "2026-03-17T09:00:00+08:00")
    transaction = parse_transaction(
        {k: v for k, v in body.items() if k != "member_id"}, coffee.currency
    )
    quoted = coffee.quote(member_state, transaction, explain=True)
    assert quoted.earned.rule_bonus == {BONUS: 50}
    assert [a.offer.condition_id for a in quoted.applied if a.offer.kind == "outreach"] == [
        "outreach:2"
    ]
    reasons = {s.offer.condition_id: s.reason for s in quoted.not_applied or []}
    assert reasons["outreach:1"] == "another offer of this trigger applies to this sale"
