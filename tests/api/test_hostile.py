"""Hostile input at the edge: each class is a 4xx problem naming the field, never a 500,
on SQLite and PostgreSQL alike, and nothing is stored."""

from __future__ import annotations

import json

import pytest

from api import create_app
from api.edge import MAX_DEPTH
from engine.ledger.keys import create_key
from tests.api.conftest import SALE, Client
from tests.ledger.conftest import database_url, postgres_schema, postgres_url  # noqa: F401

P = "/v1/programmes/coffee-shop"
MEMBER = f"{P}/members/m1"


@pytest.fixture
def admin(database_url):  # noqa: F811
    app = create_app({"database_url": database_url, "matcher": "python"})
    database = app.extensions["loyalty"].database
    yield Client(app.test_client(), create_key(database, "admin"))
    database.dispose()


def send(client, method: str, path: str, text: str):
    """A raw JSON text (so that escapes such as \\ud800 reach the server as written)."""
    headers = {"Content-Type": "application/json"}
    return getattr(client, method)(path, data=text.encode(), headers=headers)


def assert_refused(response, status: int, path: str | None = None) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert response.mimetype == "application/problem+json"
    if path is not None:
        assert [e["path"] for e in body["errors"]] == [path], body
    return body


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_json_nested_a_thousand_deep_is_a_422_not_a_recursion_error(admin, opener):
    closer = "]" if opener == "[" else "}"
    text = '{"member_id": "m1", "transaction": ' + opener * 1000 + "1" + closer * 1000 + "}"
    body = assert_refused(send(admin, "post", f"{P}/quote", text), 422)
    assert f"more than {MAX_DEPTH} levels" in body["detail"]


def test_json_just_past_the_depth_limit_names_where_it_crosses(admin):
    deep = MAX_DEPTH + 1
    text = '{"member_id": "m1", "transaction": ' + "[" * deep + "]" * deep + "}"
    body = assert_refused(send(admin, "post", f"{P}/quote", text), 422)
    assert body["errors"][0]["path"].startswith("transaction[0]")


SURROGATE = '"\\ud800"'
BODIES = {  # (method, path, JSON text with a {bad} placeholder, the field named)
    "member name": ("put", MEMBER, '{"name": {bad}}', "name"),
    "member tag": (
        "put",
        MEMBER,
        '{"name": "Ann", "tags": {"segment": [{bad}]}}',
        "tags.segment[0]",
    ),
    "a key": ("put", MEMBER, '{"name": "Ann", "tags": {{bad}: "x"}}', None),
    "sale id": ("post", f"{P}/transactions", None, "id"),
    "line sku": ("post", f"{P}/transactions", None, "lines[0].sku"),
    "adjustment reason": (
        "post",
        f"{MEMBER}/adjustments",
        '{"id": "a1", "points": 5, "reason": {bad}}',
        "reason",
    ),
    "redemption id": ("post", f"{MEMBER}/redemptions", '{"id": {bad}, "points": 1}', "id"),
}


def _sale_with(field: str, bad: str) -> str:
    sale = json.loads(json.dumps(SALE))
    if field == "id":
        sale["id"] = "BAD"
    else:
        sale["lines"][0]["sku"] = "BAD"
    return json.dumps(sale).replace('"BAD"', bad)


@pytest.mark.parametrize("bad", [SURROGATE, '"a\\u0000b"'], ids=["surrogate", "nul"])
@pytest.mark.parametrize("case", BODIES, ids=list(BODIES))
def test_text_no_database_can_store_is_a_422_naming_the_field(admin, case, bad):
    method, path, template, field = BODIES[case]
    if admin.put(MEMBER, json={"name": "Ann"}).status_code != 201:
        pytest.fail("could not enrol")
    text = _sale_with(field, bad) if template is None else template.replace("{bad}", bad)
    body = assert_refused(send(admin, method, path, text), 422)
    if field is not None:
        assert body["errors"][0]["path"] == field
    assert "NUL" in body["detail"] or "surrogate" in body["detail"]
    member = admin.get(MEMBER).get_json()
    assert member["name"] == "Ann" and member["balance"]["total"] == 0


@pytest.mark.parametrize("where", ["path", "query"])
def test_a_nul_in_the_path_or_the_query_is_a_422_on_both_backends(admin, where):
    url = f"{P}/members/m%00x" if where == "path" else f"{MEMBER}?limit=1%00"
    response = admin.put(url, json={"name": "Ann"}) if where == "path" else admin.get(url)
    body = assert_refused(response, 422, "member" if where == "path" else "limit")
    assert "NUL" in body["detail"]
    assert admin.get(f"{P}/members/m%00x").status_code == 422  # and nothing was stored


@pytest.mark.parametrize(
    "at", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "3000-01-01T00:00:00Z"]
)
def test_a_what_if_moment_beyond_the_documented_years_is_a_422(admin, at):
    admin.put(MEMBER, json={"name": "Ann"})
    transaction = {k: v for k, v in SALE.items() if k != "member_id"}
    body = {"member_id": "m1", "at": at, "transaction": transaction}
    problem = assert_refused(admin.post(f"{P}/quote", json=body), 422, "at")
    assert "1900 to 2999" in problem["detail"]


def test_a_campaign_query_moment_beyond_the_years_is_a_422(admin):
    response = admin.get(f"{P}/analysis/critical-point?until=9999-12-31T23:59:59-12:00")
    assert_refused(response, 422, "until")


def test_a_sale_dated_beyond_the_years_is_refused_by_the_engine_too(admin):
    sale = {**SALE, "at": "9999-12-31T23:59:59-12:00"}
    admin.put(MEMBER, json={"name": "Ann"})
    assert_refused(admin.post(f"{P}/transactions", json=sale), 422, "at")


def test_a_body_that_breaks_the_documented_schema_lists_each_error_by_path(admin):
    sale = {**SALE, "id": "x" * 129, "lines": [{**SALE["lines"][0], "quantity": "two"}]}
    body = assert_refused(admin.post(f"{P}/transactions", json=sale), 422)
    assert {e["path"] for e in body["errors"]} == {"id", "lines[0].quantity"}
    assert admin.get(MEMBER).status_code == 404  # nothing stored, not even the member


def test_an_unknown_programme_is_a_404_even_with_a_body_the_schema_refuses(admin):
    response = admin.post("/v1/programmes/nope/transactions", json={"id": 5})
    assert_refused(response, 404)


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
def test_a_return_dated_beyond_the_years_is_a_422_and_stores_nothing(admin, at):
    admin.put(MEMBER, json={"name": "Ann"})
    assert admin.post(f"{P}/transactions", json=SALE).status_code == 201
    response = admin.post(f"{P}/transactions/t1/returns", json={"id": "r1", "at": at})
    problem = assert_refused(response, 422, "at")
    assert "years 1900 to 2999" in problem["errors"][0]["message"]
    assert admin.get(MEMBER).get_json()["balance"]["total"] > 0  # the sale's points stand
