"""Drafts, recorded review decisions, member search and a reload's refusals, through a real
gunicorn (two workers) on SQLite and on PostgreSQL: what the console's pages call."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.served import ROOT, call, fresh_postgres, gunicorn

P = "/v1/programmes/coffee-shop"
LIVE = (ROOT / "rules" / "coffee-shop" / "programme.yaml").read_text(encoding="utf-8")
DOUBLE = LIVE.replace("earn:\n  points: 1\n", "earn:\n  points: 2\n", 1)
QUOTE = {
    "member": {"id": "walk-in"},
    "transaction": {
        "id": "q-1",
        "at": "2026-11-24T15:00:00+08:00",
        "lines": [
            {"id": "1", "sku": "LATTE", "category": "coffee", "quantity": 1, "unit_price": "32.00"}
        ],
    },
}
DECISIONS = {
    "reviewer": "Li Wei",
    "date": "2026-12-01",
    "decisions": {"social_face": {"decision": "rejected", "reason": "Nobody sees the lane."}},
}


@dataclass
class Served:
    base: str
    rules: Path
    log: Path
    keys: dict[str, str]

    def call(self, method: str, path: str, body=None, role: str = "marketer"):
        return call(method, f"{self.base}{path}", body, self.keys[role])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp(f"drafts-{request.param}")
    rules = folder / "rules"
    shutil.copytree(ROOT / "rules" / "coffee-shop", rules / "coffee-shop")
    with fresh_postgres() if request.param == "postgresql" else _sqlite(folder) as database:
        engine = open_database(database)
        keys = {r: create_key(engine, r) for r in ("pos", "marketer", "reviewer")}
        engine.dispose()
        log = folder / "gunicorn.log"
        with gunicorn(database, log, rules=rules) as server:
            yield Served(server.base, rules, log, keys)


class _sqlite:
    def __init__(self, folder: Path) -> None:
        self.url = f"sqlite:///{folder / 'drafts.sqlite'}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *_: object) -> None:
        return None


def _delete(served: Served, path: str, role: str = "marketer") -> int:
    request = urllib.request.Request(
        f"{served.base}{path}",
        method="DELETE",
        headers={"Authorization": f"Bearer {served.keys[role]}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_draft_is_saved_listed_opened_diffed_and_deleted(served):
    status, _, draft = served.call("POST", f"{P}/drafts", {"name": "双倍积分", "source": DOUBLE})
    assert status == 201 and draft["valid"] and draft["saved_by"] == "api:marketer"
    assert draft["version"] != served.call("GET", P)[2]["version"]
    listed = served.call("GET", f"{P}/drafts", role="reviewer")[2]["drafts"]
    assert [d["name"] for d in listed if d["id"] == draft["id"]] == ["双倍积分"]
    assert "source" not in listed[0]
    assert served.call("GET", f"{P}/drafts/{draft['id']}")[2]["source"] == DOUBLE
    line = LIVE.split("\n").index("earn:") + 2
    changes = served.call("GET", f"{P}/drafts/{draft['id']}/diff", role="reviewer")[2]["changes"]
    assert changes == [
        {"kind": "-", "live_line": line, "text": "  points: 1"},
        {"kind": "+", "line": line, "text": "  points: 2"},
    ]
    assert _delete(served, f"{P}/drafts/{draft['id']}") == 204
    assert served.call("GET", f"{P}/drafts/{draft['id']}")[0] == 404
    assert _delete(served, f"{P}/drafts/{draft['id']}") == 404


def test_a_quote_under_a_draft_prices_with_it_and_publishes_nothing(served):
    draft = served.call("POST", f"{P}/drafts", {"name": "x2", "source": DOUBLE})[2]
    live = served.call("POST", f"{P}/quote", QUOTE)[2]
    under_draft = served.call("POST", f"{P}/drafts/{draft['id']}/quote", QUOTE)
    assert under_draft[0] == 200
    assert under_draft[2]["points"]["base"] == 2 * live["points"]["base"] > 0
    assert under_draft[2]["version"] == draft["version"]
    again = served.call("POST", f"{P}/quote", QUOTE)[2]
    assert again["points"] == live["points"] and again["version"] == live["version"]


def test_an_invalid_draft_is_kept_but_cannot_be_quoted(served):
    broken = LIVE.replace("  name:", "  nmae:", 1)
    status, _, draft = served.call("POST", f"{P}/drafts", {"name": "typo", "source": broken})
    assert status == 201 and draft["valid"] is False and draft["version"] is None
    status, _, problem = served.call("POST", f"{P}/drafts/{draft['id']}/quote", QUOTE)
    assert status == 422 and any("nmae" in e["message"] for e in problem["errors"])
    status, _, problem = served.call("POST", f"{P}/drafts", {"name": "", "source": ""})
    assert status == 422 and {e["path"] for e in problem["errors"]} == {"name", "source"}


def test_only_a_marketer_saves_drafts_and_a_pos_key_cannot_read_them(served):
    body = {"name": "n", "source": DOUBLE}
    assert served.call("POST", f"{P}/drafts", body, role="pos")[0] == 403
    assert served.call("POST", f"{P}/drafts", body, role="reviewer")[0] == 403
    assert served.call("GET", f"{P}/drafts", role="pos")[0] == 403
    assert served.call("GET", "/v1/programmes/nope/drafts")[0] == 404


def test_recorded_review_decisions_change_the_scorecard(served):
    path = f"{P}/review-decisions"
    assert served.call("PUT", path, DECISIONS, role="marketer")[0] == 403
    status, _, recorded = served.call("PUT", path, DECISIONS, role="reviewer")
    assert status == 200 and recorded["recorded_by"] == "api:reviewer"
    assert served.call("GET", path, role="reviewer")[2]["document"] == DECISIONS
    request = urllib.request.Request(
        f"{served.base}/v1/reviews?decisions=recorded",
        data=LIVE.encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {served.keys['reviewer']}",
            "Content-Type": "application/yaml",
        },
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        card = json.loads(response.read())
    social = next(p for p in card["principles"] if p["principle"] == "social_face")
    assert social["status"] == "not_met" and social["decided_by"] == "reviewer"
    assert social["decision"]["reason"] == "Nobody sees the lane."


def test_invalid_or_misdirected_decisions_are_refused_with_their_problems(served):
    path = f"{P}/review-decisions"
    bad = {**DECISIONS, "decisions": {"social_face": {"decision": "maybe", "reason": "?"}}}
    status, _, problem = served.call("PUT", path, bad, role="reviewer")
    assert status == 422 and problem["errors"][0]["path"] == "decisions.social_face.decision"
    other = {**DECISIONS, "programme": "recommended"}
    status, _, problem = served.call("PUT", path, other, role="reviewer")
    assert status == 422 and "not 'coffee-shop'" in problem["errors"][0]["message"]


def test_a_member_is_found_by_phone_or_card_and_the_number_is_never_logged(served):
    profile = {"name": "王芳", "contact": {"phone": "+86 138 0013 8000"}, "tags": {"card": "C-77"}}
    assert served.call("PUT", f"{P}/members/ph-1", profile, role="pos")[0] == 201
    search = f"{P}/member-search"
    by_phone = served.call("POST", search, {"phone": "+86 138 0013 8000"}, role="pos")
    assert by_phone[:1] == (200,) and by_phone[2]["members"] == [{"id": "ph-1", "name": "王芳"}]
    assert served.call("POST", search, {"card": "C-77"})[2]["members"][0]["id"] == "ph-1"
    assert served.call("POST", search, {"card": "C-78"})[2]["members"] == []
    assert served.call("POST", search, {"phone": "1", "card": "2"})[0] == 422
    assert served.call("POST", search, {"phone": "1"}, role="reviewer")[0] == 403
    assert "138 0013" not in served.log.read_text(errors="replace")


def test_a_refused_reload_is_listed_until_a_reload_accepts_the_file(served):
    file = served.rules / "coffee-shop" / "programme.yaml"
    file.write_text(LIVE.replace("  name:", "  nmae:", 1), encoding="utf-8")
    try:
        assert served.call("POST", "/v1/admin/reload")[0] == 422
        refused = served.call("GET", "/v1/programmes", role="pos")[2]["refused"]
        (problems,) = [r["problems"] for f, r in refused.items() if f.endswith("programme.yaml")]
        assert any("nmae" in p["message"] for p in problems)
    finally:
        file.write_text(LIVE, encoding="utf-8")
    assert served.call("POST", "/v1/admin/reload")[0] == 200
    assert served.call("GET", "/v1/programmes", role="pos")[2]["refused"] == {}
