"""Per-key rate limits: a 429 problem with Retry-After, limits by role, and a flood from
one key that leaves every other key served (Flask test client, then the real server)."""

from __future__ import annotations

import json
import logging

import pytest

from api import create_app
from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.api.conftest import Client
from tests.api.test_openapi import conforms
from tests.api.test_server_edges import serving
from tests.served import call

LIST = "/v1/programmes"


@pytest.fixture
def limited(tmp_path):
    """An app whose pos keys may make 3 requests a minute and reviewer keys 1."""
    url = f"sqlite:///{tmp_path / 'limits.sqlite'}"
    app = create_app(
        {
            "database_url": url,
            "matcher": "python",
            "rate_limit_pos": "3/minute",
            "rate_limit_reviewer": "1/minute",
            "rate_limit_anonymous": "5/minute",
        }
    )
    database = app.extensions["loyalty"].database
    yield lambda role: Client(app.test_client(), create_key(database, role))
    database.dispose()


def test_over_the_limit_is_a_429_problem_with_retry_after(limited):
    till = limited("pos")
    assert [till.get(LIST).status_code for _ in range(3)] == [200, 200, 200]
    response = till.get(LIST)
    problem = response.get_json()
    assert response.status_code == 429 and response.mimetype == "application/problem+json"
    assert problem["type"].endswith("/too-many-requests") and problem["status"] == 429
    assert "3 per 1 minute" in problem["detail"]
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-RateLimit-Limit"] == "3"
    conforms(response, LIST, "get")  # the documented 429, Retry-After included


def test_a_flood_from_one_key_leaves_other_keys_served(limited):
    flooding, neighbour, console = limited("pos"), limited("pos"), limited("marketer")
    statuses = [flooding.get(LIST).status_code for _ in range(50)]
    assert statuses.count(200) == 3 and statuses.count(429) == 47
    assert [neighbour.get(LIST).status_code for _ in range(3)] == [200, 200, 200]
    assert console.get(LIST).status_code == 200


def test_each_role_has_its_own_limit(limited):
    reviewer, till = limited("reviewer"), limited("pos")
    assert [reviewer.get(LIST).status_code for _ in range(2)] == [200, 429]
    assert [till.get(LIST).status_code for _ in range(2)] == [200, 200]


def test_a_forged_key_counts_against_its_address_not_the_real_key(limited):
    till = limited("pos")
    key_id = till.key.split("_")[1]
    forger = Client(till.client, f"lr_{key_id}_not-the-secret")
    assert {forger.get(LIST).status_code for _ in range(10)} == {401, 429}
    assert till.get(LIST).status_code == 200  # the real key's count is untouched


def test_health_checks_are_never_limited(limited):
    till = limited("pos")
    assert {till.get("/healthz").status_code for _ in range(10)} == {200}


def test_a_flood_on_the_real_server_leaves_another_key_served(tmp_path):
    # Memory storage counts per worker: with 2 workers a key gets at most 2 x 5 a minute.
    with serving(tmp_path, LOYALTY_RATE_LIMIT_POS="5/minute") as (port, _, database):
        engine = open_database(database)
        flooding, neighbour = create_key(engine, "pos"), create_key(engine, "pos")
        engine.dispose()
        url = f"http://127.0.0.1:{port}{LIST}"
        answers = [call("GET", url, key=flooding) for _ in range(30)]
        statuses = [status for status, _, _ in answers]
        assert statuses.count(429) >= 20 and set(statuses) == {200, 429}
        refused = next(a for a in answers if a[0] == 429)
        assert refused[1]["Content-Type"] == "application/problem+json"
        assert int(refused[1]["Retry-After"]) > 0
        assert [call("GET", url, key=neighbour)[0] for _ in range(4)] == [200] * 4


def test_a_refused_request_is_logged_with_its_key_role(limited, caplog):
    caplog.set_level(logging.INFO, logger="loyalty.access")
    reviewer = limited("reviewer")
    assert [reviewer.get(LIST).status_code for _ in range(2)] == [200, 429]
    logged = [json.loads(record.getMessage()) for record in caplog.records]
    assert [(line["status"], line["role"]) for line in logged] == [
        (200, "reviewer"),
        (429, "reviewer"),
    ]
