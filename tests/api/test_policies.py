"""Programmes: list versions, validate a document, reload atomically."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from api import create_app
from engine.ledger.keys import create_key

pytestmark = pytest.mark.db  # every test publishes to a ledger

ROOT = Path(__file__).resolve().parents[2]


def test_the_loaded_programmes_are_listed_with_their_versions(as_role):
    programmes = as_role("pos").get("/v1/programmes").get_json()["programmes"]
    assert {p["id"] for p in programmes} == {
        "coffee-shop",
        "recommended",
        "calendar-retail",
        "hotel-nights",
        "airline-miles",
        "retail-tenders",
    }
    assert all(len(p["version"]) == 12 for p in programmes)


def test_validating_a_document_returns_its_problem_records(as_role):
    client = as_role("marketer")
    bad = b"programme: {id: x}\nearn: {points: one, per: 1}\n"
    body = client.post(
        "/v1/policies/validate", data=bad, content_type="application/yaml"
    ).get_json()
    assert body["valid"] is False
    assert {p["path"] for p in body["problems"]} == {"programme", "earn.points"}
    good = (ROOT / "rules/coffee-shop/programme.yaml").read_bytes()
    assert client.post(
        "/v1/policies/validate", data=good, content_type="application/yaml"
    ).get_json()["valid"]


def test_validate_wants_yaml(as_role):
    assert as_role("marketer").post("/v1/policies/validate", json={}).status_code == 415


def test_a_reload_keeps_the_last_good_version_of_a_broken_programme(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules/coffee-shop", rules / "coffee-shop")
    app = create_app(
        {
            "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "rules": str(rules),
            "matcher": "python",
        }
    )
    key = create_key(app.extensions["loyalty"].database, "marketer")
    client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}
    before = client.get("/v1/programmes", headers=headers).get_json()["programmes"][0]["version"]
    main = rules / "coffee-shop/programme.yaml"
    main.write_text(main.read_text(encoding="utf-8") + "\nbogus: 1\n", encoding="utf-8")
    refused = client.post("/v1/admin/reload", headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["serving"] == {"coffee-shop": before}
    main.write_text(
        main.read_text(encoding="utf-8").replace("\nbogus: 1\n", "\n# changed\n"), encoding="utf-8"
    )
    accepted = client.post("/v1/admin/reload", headers=headers).get_json()
    assert accepted["loaded"]["coffee-shop"] != before


def test_the_programme_list_says_when_and_by_what_each_version_was_published(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules/coffee-shop", rules / "coffee-shop")
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    app = create_app({"database_url": database, "rules": str(rules), "matcher": "python"})
    key = create_key(app.extensions["loyalty"].database, "marketer")
    client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}
    listed = client.get("/v1/programmes", headers=headers).get_json()
    assert listed["generation"] == listed["programmes"][0]["generation"] == 1
    assert listed["programmes"][0]["loaded_by"] == "first start"
    main = rules / "coffee-shop/programme.yaml"
    main.write_text(main.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")

    reloaded = client.post("/v1/admin/reload", headers=headers).get_json()

    listed = client.get("/v1/programmes", headers=headers).get_json()
    assert reloaded["generation"] == listed["generation"] == 2
    coffee = listed["programmes"][0]
    assert (coffee["version"], coffee["generation"]) == (reloaded["loaded"]["coffee-shop"], 2)
    assert coffee["loaded_by"] == "POST /v1/admin/reload (marketer key)"
    assert app.test_client().get("/readyz").get_json()["generation"] == 2


def test_a_reviewer_gets_the_scorecard_of_a_proposal(as_role):
    proposal = (ROOT / "rules/coffee-shop/programme.yaml").read_bytes()
    response = as_role("reviewer").post(
        "/v1/reviews", data=proposal, content_type="application/yaml"
    )
    body = response.get_json()
    assert response.status_code == 200
    assert (body["verdict"], body["met"]) == ("launchable", 6)
    html = as_role("reviewer").post(
        "/v1/reviews?format=html", data=proposal, content_type="application/yaml"
    )
    assert html.content_type.startswith("text/html") and b"<html" in html.data


def test_an_invalid_proposal_gets_its_problems_not_a_scorecard(as_role):
    response = as_role("reviewer").post(
        "/v1/reviews", data=b"programme: {}\n", content_type="application/yaml"
    )
    assert response.status_code == 422 and response.get_json()["errors"]


def test_a_pos_key_cannot_review(as_role):
    response = as_role("pos").post("/v1/reviews", data=b"x: 1\n", content_type="application/yaml")
    assert response.status_code == 403


def test_a_programmes_version_history_lists_what_was_published(as_role):
    body = as_role("marketer").get("/v1/programmes/retail-tenders/versions").get_json()
    assert body["programme"] == "retail-tenders"
    assert len(body["versions"]) == 1
    first = body["versions"][0]
    current = as_role("pos").get("/v1/programmes/retail-tenders").get_json()
    assert first["version"] == current["version"]
    assert first["files"] == ["rules/retail-tenders/programme.yaml"]


def test_the_version_history_of_an_unknown_programme_is_a_404(as_role):
    response = as_role("pos").get("/v1/programmes/nope/versions")
    assert response.status_code == 404
    assert response.get_json()["title"]
