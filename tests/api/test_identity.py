"""One identity per write, on SQLite and PostgreSQL, through the Flask stack.

The body's ``id`` is the document's identity; an ``Idempotency-Key`` header may repeat it or
stand in for it, never name another. Whichever way a write is sent and retried, it is stored
once, under one id, and ``ledger check`` stays clean.
"""

from __future__ import annotations

import pytest

from api import create_app
from engine.ledger.check import check
from tests.api.conftest import SALE
from tests.ledger.conftest import database_url, postgres_schema, postgres_url  # noqa: F401

BASE = "/v1/programmes/coffee-shop"
SALES = f"{BASE}/transactions"
MEMBERS = f"{BASE}/members"
NO_ID = {k: v for k, v in SALE.items() if k != "id"}
RETURN = {"at": "2026-11-25T10:00:00+08:00"}


@pytest.fixture
def app(database_url):  # noqa: F811 - every test here runs on both backends
    app = create_app({"database_url": database_url, "matcher": "python"})
    yield app
    app.extensions["loyalty"].database.dispose()


@pytest.fixture
def clean(app):
    """Asserts, after the test's writes, that the ledger is sound."""
    yield
    assert check(app.extensions["loyalty"].database) == []


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def balance(pos, member: str = "m1") -> int:
    return pos.get(f"{MEMBERS}/{member}").get_json()["balance"]["total"]


# --- sales ---------------------------------------------------------------------------------


def test_a_sale_sent_with_a_header_and_another_id_is_refused_and_stores_nothing(pos, member, clean):
    response = pos.post(SALES, json=SALE, headers=key("till-7-0001"))
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["path"] == "id"
    assert balance(pos) == 0


def test_a_sale_refused_for_two_ids_can_then_be_sent_once(pos, member, clean):
    pos.post(SALES, json=SALE, headers=key("till-7-0001"))
    first = pos.post(SALES, json=SALE)
    again = pos.post(SALES, json=SALE)
    assert first.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert balance(pos) == 352


def test_a_header_only_sale_is_stored_under_the_header_as_its_id(pos, member, clean):
    first = pos.post(SALES, json=NO_ID, headers=key("till-7-0001"))
    assert first.status_code == 201
    returned = pos.post(f"{SALES}/till-7-0001/returns", json={"id": "r1", **RETURN})
    assert returned.status_code == 201
    assert balance(pos) == 0


def test_a_retry_without_the_header_replays_the_sale(pos, member, clean):
    first = pos.post(SALES, json=NO_ID, headers=key("t9"))
    again = pos.post(SALES, json={**NO_ID, "id": "t9"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert balance(pos) == 352


def test_a_retry_with_the_header_replays_a_sale_sent_by_id(pos, member, clean):
    first = pos.post(SALES, json=SALE)
    for headers, body in ((key("t1"), NO_ID), (key("t1"), SALE)):
        again = pos.post(SALES, json=body, headers=headers)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.get_json() == first.get_json()
    assert balance(pos) == 352


def test_the_same_header_with_another_sale_is_409(pos, member, clean):
    pos.post(SALES, json=NO_ID, headers=key("t9"))
    other = {**NO_ID, "store": "elsewhere"}
    assert pos.post(SALES, json=other, headers=key("t9")).status_code == 409
    assert pos.post(SALES, json={**other, "id": "t9"}).status_code == 409
    assert balance(pos) == 352


def test_a_sale_with_neither_id_nor_header_is_422(pos, member, clean):
    response = pos.post(SALES, json=NO_ID)
    assert response.status_code == 422 and response.get_json()["errors"][0]["path"] == "id"


def test_a_bad_header_is_400_whatever_the_write(pos, as_role, member, clean):
    long = key("k" * 129)
    assert pos.post(SALES, json=SALE, headers=long).status_code == 400
    assert as_role("marketer").put(f"{MEMBERS}/m2", json={}, headers=long).status_code == 400
    patch = as_role("marketer").patch(f"{MEMBERS}/m1", json={"name": "A"}, headers=long)
    assert patch.status_code == 400


# --- returns -------------------------------------------------------------------------------


def test_a_return_is_one_document_whichever_way_it_is_named(pos, member, clean):
    pos.post(SALES, json=SALE)
    first = pos.post(f"{SALES}/t1/returns", json=RETURN, headers=key("r1"))
    by_id = pos.post(f"{SALES}/t1/returns", json={"id": "r1", **RETURN})
    both = pos.post(f"{SALES}/t1/returns", json={"id": "r1", **RETURN}, headers=key("r1"))
    assert first.status_code == 201
    assert by_id.headers["Idempotent-Replayed"] == both.headers["Idempotent-Replayed"] == "true"
    assert by_id.get_json() == both.get_json() == first.get_json()
    assert balance(pos) == 0


def test_a_return_with_a_header_naming_another_id_is_422(pos, member, clean):
    pos.post(SALES, json=SALE)
    response = pos.post(f"{SALES}/t1/returns", json={"id": "r1", **RETURN}, headers=key("r2"))
    assert response.status_code == 422
    assert balance(pos) == 352


# --- redemptions and adjustments -----------------------------------------------------------


def test_a_redemption_retried_without_the_header_spends_once(pos, member, clean):
    pos.post(SALES, json=SALE)
    first = pos.post(f"{MEMBERS}/m1/redemptions", json={"points": 200}, headers=key("red-1"))
    again = pos.post(f"{MEMBERS}/m1/redemptions", json={"id": "red-1", "points": 200})
    assert first.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert balance(pos) == 152


def test_a_redemption_with_a_header_naming_another_id_is_422(pos, member, clean):
    pos.post(SALES, json=SALE)
    body = {"id": "red-1", "points": 200}
    assert pos.post(f"{MEMBERS}/m1/redemptions", json=body, headers=key("x")).status_code == 422
    assert pos.post(f"{MEMBERS}/m1/redemptions", json=body).status_code == 201
    assert balance(pos) == 152


def test_the_same_redemption_key_with_other_points_is_409(pos, member, clean):
    pos.post(SALES, json=SALE)
    pos.post(f"{MEMBERS}/m1/redemptions", json={"points": 200}, headers=key("red-1"))
    again = pos.post(f"{MEMBERS}/m1/redemptions", json={"id": "red-1", "points": 100})
    assert again.status_code == 409 and balance(pos) == 152


def test_an_adjustment_is_applied_once_by_header_or_by_id(as_role, member, clean):
    marketer = as_role("marketer")
    body = {"points": 50, "reason": "goodwill"}
    first = marketer.post(f"{MEMBERS}/m1/adjustments", json=body, headers=key("adj-1"))
    again = marketer.post(f"{MEMBERS}/m1/adjustments", json={**body, "id": "adj-1"})
    other = marketer.post(
        f"{MEMBERS}/m1/adjustments", json={**body, "id": "adj-2"}, headers=key("adj-1")
    )
    assert first.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert balance(as_role("pos")) == 50


def test_one_id_is_one_document_across_kinds_of_write(pos, member, clean):
    pos.post(SALES, json=SALE)
    spend = pos.post(f"{MEMBERS}/m1/redemptions", json={"points": 200}, headers=key("t1"))
    assert spend.status_code == 409 and balance(pos) == 352


# --- writes named by their URL -------------------------------------------------------------


def test_an_enrolment_retried_with_a_header_changes_nothing(as_role, clean):
    marketer = as_role("marketer")
    body = {"name": "Ann", "joined": "2026-01-05"}
    first = marketer.put(f"{MEMBERS}/m2", json=body, headers=key("e-1"))
    again = marketer.put(f"{MEMBERS}/m2", json=body, headers=key("e-1"))
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    history = marketer.get(f"{MEMBERS}/m2/profile-history").get_json()["entries"]
    assert len(history) == 1
