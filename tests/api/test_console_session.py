"""The console's session: a key entered once becomes a cookie that, with its CSRF token,
authenticates /v1 calls with the key's role — and nothing without the token."""

from __future__ import annotations

import re

import pytest

from api import create_app
from engine.ledger.keys import create_key, revoke_key
from tests.ledger.conftest import database_url, postgres_schema, postgres_url  # noqa: F401


def _token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert found
    return found.group(1)


def signed_in(app, key: str):
    """A test client signed in with ``key``, and the page token its scripts send."""
    client = app.test_client()
    form = client.get("/sign-in")
    response = client.post("/sign-in", data={"key": key, "csrf": _token(form.text)})
    assert response.status_code == 302 and response.location.endswith("/programmes")
    return client, _token(client.get("/programmes").text)


@pytest.fixture
def marketer(app, keys):
    return signed_in(app, keys["marketer"])


def test_the_session_with_its_token_calls_v1_as_the_keys_role(marketer):
    client, token = marketer
    assert client.get("/v1/programmes", headers={"X-CSRF-Token": token}).status_code == 200
    validated = client.post(
        "/v1/policies/validate",
        data=b"x: 1",
        content_type="application/yaml",
        headers={"X-CSRF-Token": token},
    )
    assert validated.status_code == 200


@pytest.mark.parametrize("headers", [{}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": ""}])
def test_the_cookie_without_its_token_is_not_authentication(marketer, headers):
    client, _token = marketer
    response = client.post(
        "/v1/policies/validate", data=b"x: 1", content_type="application/yaml", headers=headers
    )
    assert response.status_code == 401
    assert client.get("/v1/programmes", headers=headers).status_code == 401


def test_a_pos_session_is_refused_what_a_pos_key_is_refused(app, keys):
    client, token = signed_in(app, keys["pos"])
    response = client.post(
        "/v1/policies/validate",
        data=b"x: 1",
        content_type="application/yaml",
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 403 and "pos key cannot" in response.json["detail"]


def test_revoking_the_key_ends_its_sessions(app, keys, marketer):
    client, token = marketer
    key_id = keys["marketer"].split("_")[1]
    assert revoke_key(app.extensions["loyalty"].database, key_id)
    assert client.get("/v1/programmes", headers={"X-CSRF-Token": token}).status_code == 401


def test_the_cookie_is_strict_httponly_and_never_holds_the_key(app, keys):
    client = app.test_client()
    form = client.get("/sign-in")
    response = client.post("/sign-in", data={"key": keys["admin"], "csrf": _token(form.text)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    secret_part = keys["admin"].split("_", 2)[2]
    assert secret_part not in cookie and keys["admin"] not in response.location


def test_signing_in_needs_the_forms_token_and_a_valid_key(app, keys):
    client = app.test_client()
    client.get("/sign-in")
    stale = client.post("/sign-in", data={"key": keys["marketer"]})
    assert stale.status_code == 403 and "expired" in stale.text
    form = client.get("/sign-in")
    refused = client.post("/sign-in", data={"key": "lr_x_y", "csrf": _token(form.text)})
    assert refused.status_code == 401 and "not valid" in refused.text
    assert client.get("/programmes").status_code == 302  # still signed out


def test_signing_out_needs_the_token_and_ends_the_session(marketer):
    client, token = marketer
    assert client.post("/sign-out").status_code == 403
    assert client.post("/sign-out", data={"csrf": token}).status_code == 302
    assert client.get("/v1/programmes", headers={"X-CSRF-Token": token}).status_code == 401


def test_workers_on_one_database_share_the_signing_secret(app, keys, tmp_path):
    client, token = signed_in(app, keys["marketer"])
    other = create_app(
        {"database_url": app.extensions["loyalty"].settings.database_url, "matcher": "python"}
    )
    assert other.secret_key == app.secret_key
    cookie = client.get_cookie("loyalty_console")
    elsewhere = other.test_client()
    elsewhere.set_cookie("loyalty_console", cookie.value)
    assert elsewhere.get("/v1/programmes", headers={"X-CSRF-Token": token}).status_code == 200


@pytest.mark.db  # create_app opens a ledger
def test_a_configured_secret_is_used_as_given(tmp_path):
    app = create_app(
        {
            "database_url": f"sqlite:///{tmp_path / 'c.sqlite'}",
            "matcher": "python",
            "secret_key": "from-the-environment",
        }
    )
    assert app.secret_key == "from-the-environment"


def test_console_pages_forbid_framing_and_foreign_scripts(app, marketer):
    client, _token = marketer
    response = client.get("/programmes")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["Cache-Control"] == "no-store"


def test_each_page_redirects_to_sign_in_without_a_session(app):
    client = app.test_client()
    for page in ("/", "/programmes", "/edit", "/try", "/members", "/review"):
        response = client.get(page)
        assert response.status_code == 302 and response.location.endswith("/sign-in"), page
    assert client.get("/docs").status_code == 200  # the contract is public


def test_every_console_file_is_package_data_so_the_wheel_ships_it():
    """A file the globs in pyproject.toml miss would be absent from an installed console."""
    import tomllib
    from fnmatch import fnmatch
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    with (root / "pyproject.toml").open("rb") as project:
        globs = tomllib.load(project)["tool"]["setuptools"]["package-data"]["api.console"]
    console = root / "api" / "console"
    shipped = [p for p in console.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for path in shipped:
        if path.suffix == ".py":
            continue
        relative = path.relative_to(console).as_posix()
        assert any(fnmatch(relative, glob) for glob in globs), relative


@pytest.fixture
def app_on_each_backend(database_url):  # noqa: F811
    app = create_app({"database_url": database_url, "matcher": "python"})
    yield app
    app.extensions["loyalty"].database.dispose()


def test_a_session_gets_the_edge_checks_a_key_gets(app_on_each_backend):
    """A NUL in the URL is a 422 whoever calls, never a database error (PostgreSQL refuses
    NUL in text), and a session's calls count against its key, not its address."""
    app = app_on_each_backend
    key = create_key(app.extensions["loyalty"].database, "marketer")
    client, token = signed_in(app, key)
    response = client.get(
        "/v1/programmes/coffee-shop/members/m%00x", headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 422 and response.json["errors"][0]["path"] == "member"
    listed = client.get("/v1/programmes", headers={"X-CSRF-Token": token})
    assert listed.headers["X-RateLimit-Limit"] == "3000"
