"""The campaign endpoints: marketer only, JSON or SVG, errors as problem+json."""

from __future__ import annotations

from datetime import date

import pytest

from api import create_app
from engine.campaigns.demo import Plan, generate
from engine.campaigns.model import Context
from engine.ledger.keys import create_key
from tests.campaigns.conftest import CAMPAIGN

pytestmark = pytest.mark.db  # the app opens a ledger

BASE = "/v1/programmes/recommended"
AT = "2026-04-12T20:00:00+08:00"


@pytest.fixture
def client(tmp_path):
    app = create_app({"database_url": f"sqlite:///{tmp_path / 'api.sqlite'}", "matcher": "python"})
    state = app.extensions["loyalty"]
    generate(
        state.database,
        Context.of(state.registry["recommended"].document),
        Plan(2000, date(2026, 4, 12)),
    )
    keys = {role: create_key(state.database, role) for role in ("marketer", "pos")}

    def call(method: str, path: str, role: str = "marketer", **kwargs):
        headers = {"Authorization": f"Bearer {keys[role]}", **kwargs.pop("headers", {})}
        return getattr(app.test_client(), method)(path, headers=headers, **kwargs)

    return call


def test_preview_launch_and_report(client):
    shown = client(
        "get", f"{BASE}/campaigns/{CAMPAIGN}/preview?at={AT.replace('+', '%2B')}&sample=1"
    )
    assert shown.status_code == 200 and shown.get_json()["groups"]["a"] > 0
    estimate = client("get", f"{BASE}/campaigns/{CAMPAIGN}/estimate?basket=100")
    assert estimate.status_code == 200 and estimate.get_json()["sunshine"]["headline"]
    first = client("post", f"{BASE}/campaigns/{CAMPAIGN}/launch", json={"at": AT})
    again = client("post", f"{BASE}/campaigns/{CAMPAIGN}/launch", json={"at": AT})
    assert (first.status_code, again.status_code) == (201, 200)
    changed = client(
        "post", f"{BASE}/campaigns/{CAMPAIGN}/launch", json={"at": "2026-04-20T00:00:00+08:00"}
    )
    assert changed.status_code == 409 and changed.mimetype == "application/problem+json"
    report = client("get", f"{BASE}/campaigns/{CAMPAIGN}/report")
    assert report.status_code == 200 and report.get_json()["groups"][-1]["group"] == "all"
    svg = client("get", f"{BASE}/campaigns/{CAMPAIGN}/report?format=svg")
    assert svg.mimetype == "image/svg+xml" and svg.get_data(as_text=True).startswith("<svg")


def test_the_critical_point_endpoint(client):
    found = client("get", f"{BASE}/analysis/critical-point?width=100")
    assert found.status_code == 200 and found.get_json()["critical_point"]["balance"] == 1500
    assert client("get", f"{BASE}/analysis/critical-point?format=svg").mimetype == "image/svg+xml"
    assert client("get", f"{BASE}/analysis/critical-point?width=0").status_code == 400


def test_only_marketers_and_known_things(client):
    assert client("get", f"{BASE}/campaigns/{CAMPAIGN}/preview", role="pos").status_code == 403
    assert client("get", f"{BASE}/campaigns/nope/preview").status_code == 404
    assert client("get", "/v1/programmes/nope/analysis/critical-point").status_code == 404
    assert client("get", f"{BASE}/campaigns/{CAMPAIGN}/report").status_code == 422  # not launched


def test_out_of_range_dates_are_refused_not_crashed(client):
    far = "0001-01-01T00:00:00%2B00:00"
    assert client("get", f"{BASE}/analysis/critical-point?until={far}").status_code == 422
    assert client("get", f"{BASE}/campaigns/{CAMPAIGN}/preview?at={far}").status_code == 422
    assert client("get", f"{BASE}/campaigns/{CAMPAIGN}/estimate?basket=NaN").status_code == 400


def test_a_repeated_launch_says_it_replayed(client):
    first = client("post", f"{BASE}/campaigns/{CAMPAIGN}/launch", json={"at": AT})
    headers = {"Idempotency-Key": "launch-1"}
    again = client("post", f"{BASE}/campaigns/{CAMPAIGN}/launch", json={"at": AT}, headers=headers)
    assert first.headers["Idempotent-Replayed"] == "false"
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    bad = client(
        "post",
        f"{BASE}/campaigns/{CAMPAIGN}/launch",
        json={"at": AT},
        headers={"Idempotency-Key": ""},
    )
    assert bad.status_code == 400
