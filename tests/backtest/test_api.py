"""The backtest and liability endpoints through a served gunicorn (SQLite ledger)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from engine.ledger.service import Ledger
from engine.ledger.tables import members
from tests.backtest.conftest import COFFEE, COFFEE_EVALUATOR, SHOP, Clock, make_history
from tests.served import gunicorn

BASE = f"/v1/programmes/{SHOP}"
APRIL = {"from": "2026-04-01T00:00:00+08:00", "to": "2026-05-01T00:00:00+08:00"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{folder / 'ledger.sqlite'}"
    engine = open_database(url)
    clock = Clock()
    make_history(Ledger(engine, {SHOP: COFFEE_EVALUATOR}, clock=clock), clock, days=14)
    keys = {role: create_key(engine, role) for role in ("marketer", "pos")}
    with engine.connect() as conn:
        balances = conn.execute(select(func.sum(members.c.balance))).scalar_one()
    engine.dispose()
    env = {"LOYALTY_BACKTEST_MAX_EVENTS": "100"}
    with gunicorn(url, folder / "server.log", workers=1, env=env) as server:
        yield server, keys, balances


def send(served, method, path, *, query=None, body=None, role="marketer", kind="application/yaml"):
    server, keys, _ = served
    url = f"{server.base}{path}" + (f"?{urlencode(query)}" if query else "")
    headers = {"Authorization": f"Bearer {keys[role]}"}
    if body is not None:
        headers["Content-Type"] = kind
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get_content_type(), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get_content_type(), error.read().decode()


def half_beans() -> bytes:
    text = Path(COFFEE).read_text(encoding="utf-8")
    return text.replace("      points: 2\n", "      points: 1\n", 1).encode()


def test_the_liability_now_matches_the_balances_the_ledger_holds(served):
    status, kind, text = send(served, "GET", f"{BASE}/liability")
    assert (status, kind) == (200, "application/json")
    found = json.loads(text)
    assert found["points"]["outstanding"] == served[2] > 0
    assert found["value"]["burn_value"] and found["by_expiry"]


def test_a_proposal_is_back_tested_in_json_csv_and_html(served):
    status, kind, text = send(served, "POST", f"{BASE}/backtests", query=APRIL, body=half_beans())
    assert (status, kind) == (200, "application/json"), text
    found = json.loads(text)
    live, proposal = found["versions"]
    assert proposal["points"]["issued"] < live["points"]["issued"]
    assert found["comparisons"][0]["devaluation"]["no_member_worse_off"] is False
    status, kind, text = send(
        served, "POST", f"{BASE}/backtests", query={**APRIL, "format": "csv"}, body=half_beans()
    )
    assert (status, kind) == (200, "text/csv") and text.startswith("proposal,member_id,")
    status, kind, text = send(
        served, "POST", f"{BASE}/backtests", query={**APRIL, "format": "html"}, body=half_beans()
    )
    assert (status, kind) == (200, "text/html") and text.count("<svg") == 3


def test_no_body_replays_the_live_version_against_itself(served):
    status, _, text = send(served, "POST", f"{BASE}/backtests", query=APRIL)
    assert status == 200, text
    assert json.loads(text)["comparisons"][0]["devaluation"]["no_member_worse_off"] is True


@pytest.mark.parametrize(
    ("query", "body", "role", "status", "words"),
    [
        (APRIL, None, "pos", 403, "it needs: marketer"),
        ({"from": "yesterday", "to": APRIL["to"]}, None, "marketer", 400, "'from' must be"),
        ({"to": APRIL["to"]}, None, "marketer", 400, "'from' must be given"),
        (
            {"from": APRIL["to"], "to": APRIL["from"]},
            None,
            "marketer",
            422,
            "must end after it starts",
        ),
        (APRIL, b"programme: [", "marketer", 422, "proposal is invalid"),
        (
            {"from": "2026-01-01T00:00:00+08:00", "to": "2027-01-01T00:00:00+08:00"},
            None,
            "marketer",
            422,
            "use `loyalty backtest` on the command line",
        ),
    ],
    ids=["pos key", "bad date", "no from", "backwards", "invalid yaml", "too long"],
)
def test_a_refused_backtest_is_a_problem_naming_why(served, query, body, role, status, words):
    got, kind, text = send(served, "POST", f"{BASE}/backtests", query=query, body=body, role=role)
    assert (got, kind) == (status, "application/problem+json"), text
    assert words in text
