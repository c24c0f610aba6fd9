"""Member profiles over HTTP on SQLite and PostgreSQL: PUT replaces but keeps ``joined``,
PATCH merges (RFC 7396), every change is in the profile history, enrolment races are safe."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from api import create_app
from tests.ledger.conftest import database_url, postgres_schema, postgres_url  # noqa: F401

MEMBERS = "/v1/programmes/coffee-shop/members"
FULL = {
    "name": "Ann",
    "birthday": "1990-05-17",
    "joined": "2026-01-05",
    "tags": {"segment": "student", "stores": ["a", "b"]},
    "contact": {"email": "ann@example.com", "phone": "+86 138 0000 0000"},
    "consent": {"email": True, "sms": False},
}
MERGE_PATCH = "application/merge-patch+json"


@pytest.fixture
def app(database_url):  # noqa: F811 - every test here runs on both backends
    app = create_app({"database_url": database_url, "matcher": "python"})
    yield app
    app.extensions["loyalty"].database.dispose()


@pytest.fixture
def marketer(as_role):
    return as_role("marketer")


@pytest.fixture
def ann(marketer) -> str:
    assert marketer.put(f"{MEMBERS}/m1", json=FULL).status_code == 201
    return f"{MEMBERS}/m1"


def profile(client, url: str) -> dict:
    view = client.get(url).get_json()
    return {field: view[field] for field in FULL}


def history(client, url: str) -> list[dict]:
    return client.get(f"{url}/profile-history").get_json()["entries"]


def patch(client, url: str, body, content_type: str = MERGE_PATCH):
    return client.patch(url, json=body, headers={"Content-Type": content_type})


# --- PUT -----------------------------------------------------------------------------------


def test_a_put_without_joined_keeps_the_stored_join_date(marketer, ann):
    assert marketer.put(ann, json={"name": "Anne"}).status_code == 200
    assert profile(marketer, ann)["joined"] == "2026-01-05"


def test_a_put_replaces_the_profile_and_the_history_keeps_what_it_replaced(marketer, ann):
    marketer.put(ann, json={"name": "Anne"})
    assert profile(marketer, ann) == {
        "name": "Anne",
        "birthday": None,
        "joined": "2026-01-05",
        "tags": {},
        "contact": {},
        "consent": {},
    }
    latest = history(marketer, ann)[0]
    assert latest["actor"] == "api:marketer"
    assert latest["changes"]["name"] == ["Ann", "Anne"]
    assert latest["changes"]["birthday"] == ["1990-05-17", None]
    assert latest["changes"]["contact"] == [FULL["contact"], None]
    assert "joined" not in latest["changes"]


def test_a_put_moving_joined_is_recorded_in_the_history(marketer, ann):
    assert marketer.put(ann, json={**FULL, "joined": "2025-12-01"}).status_code == 200
    assert profile(marketer, ann)["joined"] == "2025-12-01"
    assert history(marketer, ann)[0]["changes"] == {"joined": ["2026-01-05", "2025-12-01"]}


def test_enrolment_is_the_first_history_entry_with_every_field_set(as_role):
    pos = as_role("pos")
    url = f"{MEMBERS}/m9"
    response = pos.put(url, json={"name": "Bo", "joined": "2026-02-01"})
    assert response.status_code == 201
    assert response.get_json() == {
        "member_id": "m9",
        "created": True,
        "changed": ["joined", "name"],
    }
    (entry,) = history(pos, url)
    assert entry["actor"] == "api:pos"
    assert entry["changes"] == {"name": [None, "Bo"], "joined": [None, "2026-02-01"]}


def test_a_put_that_changes_nothing_records_nothing(marketer, ann):
    again = marketer.put(ann, json=FULL)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["changed"] == []
    assert len(history(marketer, ann)) == 1


# --- PATCH ---------------------------------------------------------------------------------


def test_a_patch_with_only_a_name_keeps_everything_else(marketer, ann):
    response = patch(marketer, ann, {"name": "Anne"})
    assert response.status_code == 200 and response.get_json()["changed"] == ["name"]
    assert profile(marketer, ann) == {**FULL, "name": "Anne"}
    assert history(marketer, ann)[0]["changes"] == {"name": ["Ann", "Anne"]}


def test_a_patch_merges_nested_objects_and_null_removes(marketer, ann):
    body = {
        "birthday": None,
        "tags": {"segment": None, "tier_hint": "gold"},
        "contact": {"phone": None, "wechat": "ann_w"},
        "consent": {"sms": True},
    }
    assert patch(marketer, ann, body).status_code == 200
    assert profile(marketer, ann) == {
        **FULL,
        "birthday": None,
        "tags": {"stores": ["a", "b"], "tier_hint": "gold"},
        "contact": {"email": "ann@example.com", "wechat": "ann_w"},
        "consent": {"email": True, "sms": True},
    }


def test_a_patch_replaces_an_array_whole(marketer, ann):
    patch(marketer, ann, {"tags": {"stores": ["c"]}})
    assert profile(marketer, ann)["tags"] == {"segment": "student", "stores": ["c"]}


def test_a_patch_accepts_plain_json_too(marketer, ann):
    response = patch(marketer, ann, {"name": "Anne"}, "application/json")
    assert response.status_code == 200 and profile(marketer, ann)["name"] == "Anne"


def test_a_patch_removing_joined_is_422_and_changes_nothing(marketer, ann):
    response = patch(marketer, ann, {"joined": None, "name": "X"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["path"] == "joined"
    assert profile(marketer, ann) == FULL and len(history(marketer, ann)) == 1


def test_an_invalid_patch_is_422_with_its_path_and_changes_nothing(marketer, ann):
    response = patch(marketer, ann, {"tags": {"Bad Tag": "x"}, "birthday": "1990-02-30"})
    assert response.status_code == 422
    assert {e["path"] for e in response.get_json()["errors"]} >= {"birthday"}
    assert profile(marketer, ann) == FULL


def test_a_patch_of_an_unknown_member_is_404_and_creates_nothing(marketer):
    assert patch(marketer, f"{MEMBERS}/ghost", {"name": "G"}).status_code == 404
    assert marketer.get(f"{MEMBERS}/ghost").status_code == 404


def test_a_patch_in_another_media_type_is_415(marketer, ann):
    response = marketer.patch(ann, data="name=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_a_patch_that_is_not_an_object_is_400(marketer, ann):
    response = marketer.patch(ann, data="[1]", headers={"Content-Type": MERGE_PATCH})
    assert response.status_code == 400


# --- history -------------------------------------------------------------------------------


def test_the_profile_history_pages_newest_first(marketer, ann):
    for name in ("B", "C", "D"):
        patch(marketer, ann, {"name": name})
    page = marketer.get(f"{ann}/profile-history?limit=2").get_json()
    assert [e["changes"]["name"][1] for e in page["entries"]] == ["D", "C"]
    rest = marketer.get(f"{ann}/profile-history?limit=2&before={page['next_before']}").get_json()
    assert [e["changes"]["name"][1] for e in rest["entries"]] == ["B", "Ann"]
    assert rest["next_before"] is None


def test_the_profile_history_of_an_unknown_member_is_404(marketer):
    assert marketer.get(f"{MEMBERS}/ghost/profile-history").status_code == 404


# --- concurrency ---------------------------------------------------------------------------


def test_twenty_simultaneous_first_enrolments_create_the_member_once(app, keys):
    def enrol(n: int) -> tuple[int, bool]:
        client = app.test_client()
        response = client.put(
            f"{MEMBERS}/racer",
            json={"name": "Racer", "joined": "2026-01-05"},
            headers={"Authorization": f"Bearer {keys['pos']}"},
        )
        return response.status_code, response.get_json().get("created")

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(enrol, range(20)))
    assert sorted(status for status, _ in answers) == [200] * 19 + [201]
    assert [created for _, created in answers].count(True) == 1
