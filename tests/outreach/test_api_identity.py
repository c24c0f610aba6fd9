"""PATCH .../outreach/tasks/{id}: the URL names the task, so a retried change replays."""

from __future__ import annotations

from tests.outreach.test_api_cli import app  # noqa: F401 - three birthday tasks, both backends

TASKS = "/v1/programmes/coffee-shop/outreach/tasks"


def first_task(client) -> str:
    return f"{TASKS}/{client.get(TASKS).get_json()['tasks'][0]['id']}"


def test_a_retried_status_change_replays_instead_of_409(app):  # noqa: F811
    client = app.test_client()
    url = first_task(client)
    done = client.patch(url, json={"status": "done"})
    again = client.patch(url, json={"status": "done"}, headers={"Idempotency-Key": "x-1"})
    assert done.headers["Idempotent-Replayed"] == "false"
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == done.get_json()


def test_a_retried_failure_replays_only_with_the_same_error(app):  # noqa: F811
    client = app.test_client()
    url = first_task(client)
    client.patch(url, json={"status": "failed", "error": "bounced"})
    assert client.patch(url, json={"status": "failed", "error": "bounced"}).status_code == 200
    assert client.patch(url, json={"status": "failed", "error": "other"}).status_code == 409
    assert client.patch(url, json={"status": "failed"}).status_code == 409


def test_a_bad_idempotency_key_on_a_status_change_is_400(app):  # noqa: F811
    client = app.test_client()
    headers = {"Idempotency-Key": "k" * 129}
    response = client.patch(first_task(client), json={"status": "done"}, headers=headers)
    assert response.status_code == 400
