"""Quote, commit, replay, conflict, return: what a till does."""

from __future__ import annotations

from engine.pricing.offers import in_holdout
from tests.api.conftest import SALE

BASE = "/v1/programmes/coffee-shop"


def test_committing_a_sale_returns_the_quote_and_the_new_balance(pos, member):
    response = pos.post(f"{BASE}/transactions", json=SALE)
    body = response.get_json()
    assert response.status_code == 201 and response.headers["Idempotent-Replayed"] == "false"
    assert body["status"] == "committed" and body["points"]["total"] == body["balance_after"] == 352
    assert body["version"]


def test_a_retried_sale_replays_the_same_answer(pos, member):
    first = pos.post(f"{BASE}/transactions", json=SALE)
    again = pos.post(f"{BASE}/transactions", json=SALE)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()


def test_the_same_id_with_another_body_is_409(pos, member):
    pos.post(f"{BASE}/transactions", json=SALE)
    changed = {**SALE, "store": "elsewhere"}
    response = pos.post(f"{BASE}/transactions", json=changed)
    assert response.status_code == 409 and response.get_json()["title"] == "Conflict"


def test_the_idempotency_key_header_may_repeat_the_sales_id(pos, member):
    headers = {"Idempotency-Key": SALE["id"]}
    first = pos.post(f"{BASE}/transactions", json=SALE, headers=headers)
    second = pos.post(f"{BASE}/transactions", json=SALE)
    assert first.status_code == 201 and second.headers["Idempotent-Replayed"] == "true"
    assert first.get_json() == second.get_json()


def test_a_quote_for_a_stored_member_stores_nothing(pos, member, as_role):
    body = {"member_id": member, "transaction": {k: v for k, v in SALE.items() if k != "member_id"}}
    quoted = pos.post(f"{BASE}/quote", json=body).get_json()
    assert quoted["points"]["total"] == 352
    view = as_role("pos").get(f"{BASE}/members/{member}").get_json()
    assert view["balance"]["total"] == 0


def test_a_quote_for_an_inline_member_with_a_what_if_date_and_explain(pos):
    body = {
        "member": {"id": "anyone", "tier": "gold"},
        "transaction": {k: v for k, v in SALE.items() if k != "member_id"},
        "at": "2026-12-18T09:00:00+08:00",
        "explain": True,
    }
    quoted = pos.post(f"{BASE}/quote", json=body).get_json()
    assert quoted["evaluated_at"] == "2026-12-18T09:00:00+08:00"
    assert "not_applied" in quoted


def test_a_refused_redemption_is_422_with_its_code(pos, member):
    response = pos.post(f"{BASE}/transactions", json={**SALE, "id": "t9", "redeem_points": 100})
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "redemption.exceeds_balance"


def test_invalid_bodies_list_every_problem_with_its_path(pos, member):
    bad = {
        **SALE,
        "at": "2026-11-24",
        "lines": [{"id": "1", "sku": "X", "quantity": 0, "unit_price": "1.001"}],
    }
    body = pos.post(f"{BASE}/transactions", json=bad).get_json()
    assert body["status"] == 422
    assert {e["path"] for e in body["errors"]} == {"at", "lines[0].quantity"}


def test_a_whole_return_claws_back_the_points(pos, member):
    pos.post(f"{BASE}/transactions", json=SALE)
    response = pos.post(
        f"{BASE}/transactions/t1/returns", json={"id": "r1", "at": "2026-11-25T10:00:00+08:00"}
    )
    body = response.get_json()
    assert response.status_code == 201
    assert body["refund"]["points_clawed_back"] == 352 and body["balance_after"] == 0


def test_a_return_of_an_unknown_sale_is_404(pos, member):
    response = pos.post(
        f"{BASE}/transactions/nope/returns", json={"id": "r1", "at": "2026-11-25T10:00:00+08:00"}
    )
    assert response.status_code == 404


def test_a_marketer_can_try_a_campaign_before_it_is_live(as_role):
    campaign = "reactivate-near-critical-point"  # rules/recommended: April, 100x for group a
    member_id = next(f"m{n}" for n in range(100) if not in_holdout(campaign, f"m{n}", 10))
    member = {
        "id": member_id,
        "tier": "standard",
        "tags": {"gender": "female", "age_band": "25-34", "preference": "fresh_produce"},
        "last_purchase_at": "2026-08-01T10:00:00+08:00",
        "lots": [{"id": "l1", "points": 1200, "earned_at": "2026-03-01T10:00:00+08:00"}],
    }
    transaction = {k: v for k, v in SALE.items() if k != "member_id"}
    body = {"member": member, "transaction": transaction}
    client = as_role("marketer")
    live = client.post("/v1/programmes/recommended/quote", json=body).get_json()
    tried = client.post("/v1/programmes/recommended/quote", json={**body, "campaigns": [campaign]})
    assert live["points"]["campaign_bonus"] == {}
    assert list(tried.get_json()["points"]["campaign_bonus"]) == [f"campaign:{campaign}/a"]


def test_trying_an_unknown_campaign_is_422_on_its_field(as_role):
    transaction = {k: v for k, v in SALE.items() if k != "member_id"}
    body = {"member": {"id": "m9"}, "transaction": transaction, "campaigns": ["nope"]}
    refused = as_role("marketer").post("/v1/programmes/recommended/quote", json=body)
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["path"] == "campaigns"
    body["campaigns"] = "not a list"
    assert (
        as_role("marketer").post("/v1/programmes/recommended/quote", json=body).status_code == 422
    )


def test_a_huge_line_amount_is_422_on_its_field_before_any_rule_runs(pos):
    huge = {"id": "1", "sku": "X", "quantity": 100000, "unit_price": "99999999999999999999"}
    body = {
        "member": {"id": "anyone"},
        "transaction": {"id": "t1", "at": SALE["at"], "lines": [huge]},
    }
    response = pos.post(f"{BASE}/quote", json=body)
    problem = response.get_json()
    assert response.status_code == 422
    assert [e["path"] for e in problem["errors"]] == ["lines[0].unit_price"]
    assert "at most 10,000,000,000,000.00 CNY" in problem["errors"][0]["message"]
