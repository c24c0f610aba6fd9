"""Every error, on every route, is problem+json with type, title, status and detail."""

from __future__ import annotations

import pytest

from tests.api.conftest import SALE

ROUTES = [
    ("post", "/v1/programmes/coffee-shop/quote"),
    ("post", "/v1/programmes/coffee-shop/transactions"),
    ("post", "/v1/programmes/coffee-shop/transactions/t1/returns"),
    ("put", "/v1/programmes/coffee-shop/members/m1"),
    ("post", "/v1/programmes/coffee-shop/members/m1/redemptions"),
    ("post", "/v1/programmes/coffee-shop/members/m1/adjustments"),
]


def assert_problem(response, status):
    body = response.get_json()
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    assert {"type", "title", "status", "detail", "request_id"} <= set(body)
    assert body["status"] == status and "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("method,path", ROUTES)
def test_malformed_json_is_400(as_role, method, path):
    response = getattr(as_role("admin"), method)(
        path, data="{not json", content_type="application/json"
    )
    assert_problem(response, 400)


@pytest.mark.parametrize("method,path", ROUTES)
def test_a_body_that_is_not_an_object_is_400(as_role, method, path):
    assert_problem(getattr(as_role("admin"), method)(path, json=[1, 2]), 400)


@pytest.mark.parametrize("method,path", ROUTES)
def test_a_wrong_content_type_is_415(as_role, method, path):
    assert_problem(
        getattr(as_role("admin"), method)(path, data="a=b", content_type="text/plain"), 415
    )


@pytest.mark.parametrize("method,path", ROUTES)
def test_an_oversized_body_is_413(as_role, method, path):
    huge = b'{"x": "' + b"a" * 300_000 + b'"}'
    assert_problem(
        getattr(as_role("admin"), method)(path, data=huge, content_type="application/json"), 413
    )


@pytest.mark.parametrize("method,path", ROUTES)
def test_an_unknown_programme_is_404(as_role, method, path):
    body = {
        "id": "x",
        "member_id": "m1",
        "at": "2026-11-24T12:00:00+08:00",
        "lines": [],
        "points": 1,
        "reason": "r",
    }
    response = getattr(as_role("admin"), method)(path.replace("coffee-shop", "nope"), json=body)
    assert_problem(response, 404)


def test_an_unknown_route_and_a_wrong_method_are_problems(as_role):
    assert_problem(as_role("admin").get("/v2/nothing"), 404)
    assert_problem(as_role("admin").delete("/v1/programmes"), 405)


def test_an_unexpected_failure_is_a_bare_500(app, as_role, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(app.extensions["loyalty"].ledger, "commit_sale", explode)
    response = as_role("admin").post("/v1/programmes/coffee-shop/transactions", json=SALE)
    assert_problem(response, 500)
    assert "secret detail" not in response.get_data(as_text=True)
