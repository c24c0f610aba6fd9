"""Members: enrol, read with history pages, redeem, adjust."""

from __future__ import annotations

from tests.api.conftest import SALE

BASE = "/v1/programmes/coffee-shop/members"


def test_enrolling_twice_updates_the_profile(as_role):
    marketer = as_role("marketer")
    assert marketer.put(f"{BASE}/m1", json={"name": "Ann"}).status_code == 201
    assert marketer.put(f"{BASE}/m1", json={"name": "Anne"}).status_code == 200
    assert as_role("pos").get(f"{BASE}/m1").get_json()["name"] == "Anne"


def test_an_invalid_profile_is_422_with_paths(as_role):
    body = (
        as_role("marketer")
        .put(f"{BASE}/m1", json={"tags": "vip", "birthday": "1990-02-30"})
        .get_json()
    )
    assert {e["path"] for e in body["errors"]} == {"tags", "birthday"}


def test_the_member_view_shows_balance_tier_lots_and_paged_history(pos, member):
    for n in range(3):
        pos.post("/v1/programmes/coffee-shop/transactions", json={**SALE, "id": f"t{n}"})
    view = pos.get(f"{BASE}/{member}?limit=2").get_json()
    assert view["balance"] == {"total": 1056, "spendable": 1056, "pending": 0, "debt": 0}
    assert view["tier"]["id"] and view["tier"]["qualifying_spend"] == "529.20"
    assert len(view["lots"]) == 3
    page = view["history"]
    assert len(page["entries"]) == 2 and page["next_before"]
    rest = pos.get(f"{BASE}/{member}?limit=2&before={page['next_before']}").get_json()["history"]
    assert len(rest["entries"]) == 1 and rest["next_before"] is None


def test_an_unknown_member_is_404(pos):
    assert pos.get(f"{BASE}/ghost").status_code == 404


def test_redeeming_without_a_sale(pos, member):
    pos.post("/v1/programmes/coffee-shop/transactions", json=SALE)
    response = pos.post(f"{BASE}/{member}/redemptions", json={"id": "red-1", "points": 200})
    assert response.status_code == 201 and response.get_json()["value"] == "20.00"


def test_an_adjustment_records_the_actor_from_the_key(as_role, member):
    response = as_role("marketer").post(
        f"{BASE}/{member}/adjustments", json={"id": "adj-1", "points": 50, "reason": "goodwill"}
    )
    assert response.get_json()["actor"] == "api:marketer"
