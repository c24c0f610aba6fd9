"""API keys and roles: 401 without a valid key, 403 for the wrong role."""

from __future__ import annotations

import pytest

from tests.api.conftest import SALE


def test_a_request_without_a_key_is_401(as_role):
    response = as_role(None).get("/v1/programmes")
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"


def test_a_wrong_or_malformed_key_is_401(as_role, keys):
    client = as_role(None)
    for key in ("nonsense", keys["pos"][:-1] + "x", "lr_unknown_secret"):
        assert (
            client.get("/v1/programmes", headers={"Authorization": f"Bearer {key}"}).status_code
            == 401
        )


def test_the_x_api_key_header_is_accepted(as_role, keys):
    assert (
        as_role(None).get("/v1/programmes", headers={"X-Api-Key": keys["pos"]}).status_code == 200
    )


@pytest.mark.parametrize(
    "role,method,path,allowed",
    [
        ("pos", "post", "/v1/admin/reload", False),
        ("reviewer", "post", "/v1/programmes/coffee-shop/transactions", False),
        ("marketer", "post", "/v1/programmes/coffee-shop/transactions", False),
        ("pos", "post", "/v1/programmes/coffee-shop/members/m1/adjustments", False),
        ("marketer", "post", "/v1/admin/reload", True),
        ("admin", "post", "/v1/admin/reload", True),
        ("admin", "post", "/v1/programmes/coffee-shop/transactions", True),
    ],
)
def test_each_role_reaches_only_its_endpoints(as_role, member, role, method, path, allowed):
    response = getattr(as_role(role), method)(path, json=SALE)
    assert (response.status_code != 403) == allowed, response.get_json()


def test_health_and_the_openapi_document_need_no_key(as_role):
    client = as_role(None)
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").get_json()["status"] == "ready"
