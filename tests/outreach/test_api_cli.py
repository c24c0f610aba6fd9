"""GET/PATCH .../outreach/tasks (marketer role) and the `loyalty outreach` commands."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from api import create_app
from api import outreach as outreach_api
from engine.ledger.keys import create_key
from engine.outreach.cli import outreach
from engine.outreach.run import run_outreach
from tests.outreach.helpers import NOW, member, tasks

BIRTHDAY = date(1990, 3, 15)
DAY = date(2026, 3, 15)


def app_for(url: str, **settings):
    app = create_app({"database_url": url, "matcher": "python", **settings})
    if "outreach" not in app.blueprints:
        app.register_blueprint(outreach_api.bp)
    return app


@pytest.fixture
def app(database_url, database):
    app = app_for(database_url, auth=False)
    state = app.extensions["loyalty"]
    coffee = state.registry["coffee-shop"]
    for name in ("a", "b", "c"):
        member(database, coffee, name, tier="standard", birthday=BIRTHDAY)
    run_outreach(database, coffee, DAY, now=NOW)  # wechat birthday drink: 3 tasks
    yield app
    state.database.dispose()


def test_list_filters_and_pages(app):
    client = app.test_client()
    answer = client.get("/v1/programmes/coffee-shop/outreach/tasks?limit=2&channel=wechat")
    assert answer.status_code == 200
    body = answer.get_json()
    assert [t["member_id"] for t in body["tasks"]] == ["a", "b"] and body["next"]
    assert body["tasks"][0]["message"].startswith("生日快乐 Name a!")
    rest = client.get(f"/v1/programmes/coffee-shop/outreach/tasks?after={body['next']}").get_json()
    assert [t["member_id"] for t in rest["tasks"]] == ["c"] and rest["next"] is None
    for query in ("status=done", "trigger=upgraded", "due=2026-03-14", "channel=sms"):
        empty = client.get(f"/v1/programmes/coffee-shop/outreach/tasks?{query}").get_json()
        assert empty["tasks"] == [], query
    assert (
        len(client.get(f"/v1/programmes/coffee-shop/outreach/tasks?due={DAY}").get_json()["tasks"])
        == 3
    )


def test_bad_queries_and_unknown_programmes(app):
    client = app.test_client()
    assert client.get("/v1/programmes/nope/outreach/tasks").status_code == 404
    assert client.get("/v1/programmes/coffee-shop/outreach/tasks?due=soon").status_code == 400
    assert client.get("/v1/programmes/coffee-shop/outreach/tasks?limit=-1").status_code == 400
    assert client.get("/v1/programmes/coffee-shop/outreach/tasks?status=lost").status_code == 422


def test_patch_changes_the_status(app):
    client = app.test_client()
    task = client.get("/v1/programmes/coffee-shop/outreach/tasks").get_json()["tasks"][0]["id"]
    url = f"/v1/programmes/coffee-shop/outreach/tasks/{task}"
    done = client.patch(url, json={"status": "done"})
    assert done.status_code == 200 and done.get_json()["status"] == "done"
    again = client.patch(url, json={"status": "new"})
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert client.patch(url, json={"status": "lost"}).status_code == 422
    assert client.patch(url, json={"state": "done"}).status_code == 422
    assert client.patch(url, data="done").status_code == 415
    assert (
        client.patch(
            "/v1/programmes/coffee-shop/outreach/tasks/999999", json={"status": "done"}
        ).status_code
        == 404
    )


def test_only_marketers_and_admins(database_url, database):
    app = app_for(database_url)
    keys = {r: create_key(database, r) for r in ("pos", "marketer", "reviewer")}
    client = app.test_client()
    url = "/v1/programmes/coffee-shop/outreach/tasks"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": f"Bearer {keys['pos']}"}).status_code == 403
    assert (
        client.get(url, headers={"Authorization": f"Bearer {keys['reviewer']}"}).status_code == 403
    )
    assert (
        client.get(url, headers={"Authorization": f"Bearer {keys['marketer']}"}).status_code == 200
    )
    app.extensions["loyalty"].database.dispose()


def test_the_cli_runs_lists_and_exports(database_url, database):
    from engine.policy.loader import load_programme
    from engine.pricing import Evaluator

    coffee = Evaluator(load_programme("rules/coffee-shop/programme.yaml"), matcher="python")
    member(database, coffee, "a", tier="standard", birthday=BIRTHDAY, name="Ann")
    runner = CliRunner()
    common = ["--database", database_url]
    ran = runner.invoke(
        outreach, ["run", "--date", "2026-03-15", "--programme", "coffee-shop", "--json", *common]
    )
    assert ran.exit_code == 0, ran.output
    [report] = json.loads(ran.stdout)
    assert report["created"]["birthday-drink"] == 1 and report["rendered"] == 1
    rerun = runner.invoke(
        outreach, ["run", "--date", "2026-03-15", "--programme", "coffee-shop", *common]
    )
    assert rerun.exit_code == 0 and "coffee-shop 2026-03-15: 0 new task(s)" in rerun.stdout
    listed = runner.invoke(outreach, ["list", "--programme", "coffee-shop", *common])
    assert "birthday-drink" in listed.stdout and "生日快乐 Ann!" in listed.stdout
    exported = runner.invoke(
        outreach, ["export", "--programme", "coffee-shop", "--channel", "wechat", *common]
    )
    assert exported.exit_code == 0
    assert exported.stdout.splitlines()[1].endswith(
        'birthday-drink,a,Ann,wx-m,new,"生日快乐 Ann! Any drink on us this month, in any Shiguang store."'
    )
    assert len(tasks(database)) == 1


def test_the_cli_refuses_an_unknown_programme(database_url, database):
    result = CliRunner().invoke(
        outreach, ["run", "--programme", "nope", "--database", database_url]
    )
    assert result.exit_code == 2 and "no valid programme nope" in result.output
