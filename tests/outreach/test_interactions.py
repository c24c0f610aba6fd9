"""The contact centre's log: each outreach task's outcomes and notes, stored, shown with the
member and counted in the outreach report; on SQLite and PostgreSQL, and over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import inspect

from api import create_app
from engine.errors import ConflictError, InputError
from engine.ledger.db import alembic_config, open_database, upgrade
from engine.ledger.keys import create_key
from engine.ledger.tables import outreach_interactions
from engine.outreach import interactions
from engine.outreach.cli import outreach
from engine.outreach.run import run_outreach
from engine.outreach.tasks import UnknownTask
from engine.policy.loader import load_programme
from engine.pricing import Evaluator
from tests.outreach.helpers import NOW, member, programme, run, tasks, trigger
from tests.served import call, fresh_postgres, gunicorn

BIRTHDAY = date(1990, 3, 15)
DAY = date(2026, 3, 15)
CALL = trigger("birthday", channel="call", template="Call {name}")


@pytest.fixture
def calls(database):
    evaluator = programme([CALL])
    for name in ("a", "b"):
        member(database, evaluator, name, birthday=BIRTHDAY)
    run(database, evaluator, DAY)
    return evaluator


def _task(database, member_id: str) -> dict:
    (task,) = tasks(database, member_id=member_id)
    return task


def test_no_answer_keeps_the_task_open_and_a_conclusive_outcome_finishes_it(database, calls):
    task = _task(database, "a")["id"]
    shop = calls.programme.id
    first = interactions.record(database, shop, task, "no_answer", actor="agent-7", now=NOW)
    assert first["task"]["status"] == "new" and first["task"]["attempts"] == 1
    later = NOW + timedelta(hours=3)
    second = interactions.record(
        database,
        shop,
        task,
        "offer_accepted",
        note="will come on Friday",
        actor="agent-7",
        now=later,
    )
    assert second["task"]["status"] == "done" and second["task"]["attempts"] == 2
    assert second["interaction"]["note"] == "will come on Friday"
    history = interactions.history(database, shop, member="a")
    assert [(h["outcome"], h["note"]) for h in history] == [
        ("offer_accepted", "will come on Friday"),
        ("no_answer", None),
    ]
    assert interactions.history(database, shop, member="b") == []


def test_bad_outcomes_notes_and_tasks_are_refused_in_plain_words(database, calls):
    task, shop = _task(database, "a")["id"], calls.programme.id
    with pytest.raises(InputError) as bad:
        interactions.record(database, shop, task, "maybe", note=7, actor="x", now=NOW)
    assert {p.path for p in bad.value.problems} == {("outcome",), ("note",)}
    with pytest.raises(UnknownTask):
        interactions.record(database, shop, 999_999, "reached", actor="x", now=NOW)


def test_a_retried_log_with_the_same_key_is_stored_once(database, calls):
    task, shop = _task(database, "a")["id"], calls.programme.id
    first = interactions.record(database, shop, task, "reached", actor="x", now=NOW, key="k1")
    again = interactions.record(database, shop, task, "reached", actor="x", now=NOW, key="k1")
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["interaction"]["id"] == first["interaction"]["id"]
    assert again["task"]["attempts"] == 1
    with pytest.raises(ConflictError):
        interactions.record(database, shop, task, "declined", actor="x", now=NOW, key="k1")


def test_the_report_counts_tasks_and_outcomes_per_trigger(database, calls):
    shop = calls.programme.id
    a, b = _task(database, "a")["id"], _task(database, "b")["id"]
    interactions.record(database, shop, a, "no_answer", actor="x", now=NOW)
    interactions.record(database, shop, a, "reached", actor="x", now=NOW)
    interactions.record(database, shop, b, "declined", actor="x", now=NOW)
    found = interactions.report(database, shop, calls.tz).as_dict()
    assert found["tasks"] == {"birthday": {"done": 2}}
    assert found["outcomes"]["birthday"] == {
        "reached": 1,
        "no_answer": 1,
        "declined": 1,
        "offer_accepted": 0,
    }
    assert found["outcome_totals"]["reached"] == 1
    empty = interactions.report(database, shop, calls.tz, DAY + timedelta(days=1), None)
    assert empty.tasks == {}
    with pytest.raises(InputError):
        interactions.report(database, shop, calls.tz, DAY, DAY - timedelta(days=1))


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        return
    with fresh_postgres() as url:
        yield url


def test_the_interactions_migration_goes_down_and_up(fresh_url):
    engine = open_database(fresh_url)
    try:
        command.downgrade(alembic_config(engine), "0010")
        assert "outreach_interactions" not in inspect(engine).get_table_names()
        upgrade(engine)
        columns = {c["name"] for c in inspect(engine).get_columns("outreach_interactions")}
        assert columns == {c.name for c in outreach_interactions.columns}
    finally:
        engine.dispose()


# --- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def app(database_url, database):
    app = create_app({"database_url": database_url, "matcher": "python", "auth": False})
    state = app.extensions["loyalty"]
    coffee = state.registry["coffee-shop"]
    for name in ("a", "b"):
        member(database, coffee, name, tier="standard", birthday=BIRTHDAY)
    run_outreach(database, coffee, DAY, now=NOW)
    yield app
    state.database.dispose()


def test_the_agent_logs_outcomes_and_sees_the_members_contact_history(app):
    client = app.test_client()
    base = "/v1/programmes/coffee-shop/outreach"
    task = client.get(f"{base}/tasks?member=a").get_json()["tasks"][0]
    url = f"{base}/tasks/{task['id']}/interactions"
    logged = client.post(url, json={"outcome": "no_answer"}, headers={"Idempotency-Key": "c1"})
    assert logged.status_code == 201 and logged.headers["Idempotent-Replayed"] == "false"
    replay = client.post(url, json={"outcome": "no_answer"}, headers={"Idempotency-Key": "c1"})
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    done = client.post(url, json={"outcome": "reached", "note": "happy with the offer"})
    assert done.status_code == 201 and done.get_json()["task"]["status"] == "done"
    screen = client.get(f"{base}/members/a/interactions").get_json()
    assert [i["outcome"] for i in screen["interactions"]] == ["reached", "no_answer"]
    assert screen["interactions"][0]["actor"].startswith("api:")
    assert screen["open_tasks"] == []
    listed = client.get(url).get_json()
    assert listed["task"]["id"] == task["id"] and len(listed["interactions"]) == 2
    today = datetime.now(UTC).date()  # the API logs at the moment of the call
    report = client.get(f"{base}/report?from={today - timedelta(days=1)}").get_json()
    assert report["outcome_totals"] == {
        "reached": 1,
        "no_answer": 1,
        "declined": 0,
        "offer_accepted": 0,
    }


def test_bad_interaction_requests_are_problems_not_crashes(app):
    client = app.test_client()
    base = "/v1/programmes/coffee-shop/outreach"
    task = client.get(f"{base}/tasks").get_json()["tasks"][0]["id"]
    url = f"{base}/tasks/{task}/interactions"
    for body in ({}, {"outcome": "reached", "mood": "good"}, {"outcome": "lost"}):
        answer = client.post(url, json=body)
        assert answer.status_code == 422, body
        assert answer.mimetype == "application/problem+json"
    assert (
        client.post(f"{base}/tasks/99999/interactions", json={"outcome": "reached"}).status_code
        == 404
    )
    assert (
        client.post(f"{base}/tasks/{2**40}/interactions", json={"outcome": "reached"}).status_code
        == 404
    )
    assert client.get(f"{base}/report?from=soon").status_code == 400
    assert client.get(f"{base}/report?from=2026-03-15&to=2026-03-14").status_code == 422


def test_the_report_command_counts_tasks_and_contacts(database_url, database):
    coffee = Evaluator(load_programme("rules/coffee-shop/programme.yaml"), matcher="python")
    member(database, coffee, "a", tier="standard", birthday=BIRTHDAY)
    run_outreach(database, coffee, DAY, now=NOW)
    (task,) = tasks(database)
    interactions.record(database, "coffee-shop", task["id"], "declined", actor="x", now=NOW)
    common = ["--programme", "coffee-shop", "--database", database_url]
    shown = CliRunner().invoke(outreach, ["report", *common])
    assert shown.exit_code == 0, shown.output
    assert "birthday-drink: tasks done 1; contacts declined 1" in shown.stdout
    as_json = CliRunner().invoke(outreach, ["report", "--json", "--from", "2026-03-16", *common])
    assert json.loads(as_json.stdout)["tasks"] == {}


def test_served_retries_of_one_logged_call_are_stored_once(tmp_path, database_url, database):
    """Two gunicorn workers, the same attempt posted six times at once with one key."""
    coffee = Evaluator(load_programme("rules/coffee-shop/programme.yaml"), matcher="python")
    member(database, coffee, "a", tier="standard", birthday=BIRTHDAY)
    run_outreach(database, coffee, DAY, now=NOW)
    (task,) = tasks(database)
    key = create_key(database, "marketer")
    with gunicorn(database_url, tmp_path / "gunicorn.log", clean_exit=False) as server:
        url = f"{server.base}/v1/programmes/coffee-shop/outreach/tasks/{task['id']}/interactions"
        body = {"outcome": "offer_accepted", "note": "comes on Friday"}
        headers = {"Idempotency-Key": "call-1"}
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda _: call("POST", url, body, key, headers), range(6)))
        screen = call(
            "GET",
            f"{server.base}/v1/programmes/coffee-shop/outreach/members/a/interactions",
            key=key,
        )
    assert sorted(status for status, _, _ in answers) == [200] * 5 + [201]
    assert {b["interaction"]["id"] for _, _, b in answers} == {answers[0][2]["interaction"]["id"]}
    assert screen[0] == 200 and len(screen[2]["interactions"]) == 1
    assert tasks(database)[0]["status"] == "done" and tasks(database)[0]["attempts"] == 1
