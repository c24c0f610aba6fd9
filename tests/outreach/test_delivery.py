"""Status changes, CSV export per channel, and webhook delivery with retries."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.errors import ConflictError, InputError
from engine.outreach.tasks import Filters, UnknownTask, export_csv, list_tasks, set_status
from engine.outreach.webhook import Retry, deliver, send
from tests.outreach.helpers import member, programme, run, tasks, trigger

NOW = datetime(2026, 3, 15, 9, tzinfo=UTC)


@pytest.fixture
def day(database):
    evaluator = programme(
        [
            trigger("birthday", id="by-sms", channel="sms", template="SMS {name}"),
            trigger("birthday", id="by-email", channel="email", template="Mail {name}"),
        ]
    )
    for name in ("a", "b", "c"):
        member(database, evaluator, name, birthday=date(1990, 3, 15), name=f"Ms {name}, Jr")
    run(database, evaluator, date(2026, 3, 15))
    return evaluator.programme.id


class Hook:
    """A local webhook that answers 503 to the first ``failures`` calls, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.calls.append((self.headers["Idempotency-Key"], body))
                status = 503 if len(hook.calls) <= hook.failures else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def test_status_changes_follow_the_allowed_transitions(database, day):
    task = tasks(database)[0]["id"]
    assert set_status(database, day, task, "sent", now=NOW)["status"] == "sent"
    with pytest.raises(ConflictError, match="is sent: it cannot become new"):
        set_status(database, day, task, "new", now=NOW)
    failed = set_status(database, day, task, "failed", now=NOW, error="no answer")
    assert (failed["status"], failed["last_error"]) == ("failed", "no answer")
    assert set_status(database, day, task, "new", now=NOW)["status"] == "new"
    assert set_status(database, day, task, "done", now=NOW)["status"] == "done"
    with pytest.raises(ConflictError):
        set_status(database, day, task, "sent", now=NOW)
    with pytest.raises(InputError):
        set_status(database, day, task, "archived", now=NOW)
    with pytest.raises(UnknownTask):
        set_status(database, day, 999_999, "done", now=NOW)


def test_lists_filter_and_page(database, day):
    page, following = list_tasks(database, day, Filters(channel="email"), limit=2)
    assert [t["trigger"] for t in page] == ["by-email", "by-email"] and following == page[-1]["id"]
    rest, end = list_tasks(database, day, Filters(channel="email"), after=following, limit=2)
    assert len(rest) == 1 and end is None
    assert rest[0]["address"] == "m@example.com" and rest[0]["message"] == "Mail Ms c, Jr"
    assert list_tasks(database, day, Filters(status="done"))[0] == []


def test_csv_export_per_channel(database, day):
    out = io.StringIO()
    assert export_csv(database, day, Filters(status="new", channel="sms"), out) == 3
    lines = out.getvalue().splitlines()
    assert lines[0] == "id,due,trigger,member_id,name,address,status,message"
    assert lines[1].endswith(',2026-03-15,by-sms,a,"Ms a, Jr",+85212345678,new,"SMS Ms a, Jr"')
    assert len(lines) == 4


def test_the_webhook_is_retried_with_backoff_until_it_answers(database, day):
    waits = []
    with Hook(failures=2) as hook:
        done = deliver(
            database, day, hook.url, retry=Retry(attempts=4, base=0.1), sleep=waits.append
        )
    assert (done.sent, done.failed) == (6, 0)
    assert len(hook.calls) == 8  # 2 failures, then 6 deliveries
    assert 0.05 <= waits[0] <= 0.1 and 0.1 <= waits[1] <= 0.2  # doubling, with jitter
    first = tasks(database)[0]
    assert (first["status"], first["attempts"], first["last_error"]) == ("sent", 3, None)
    key, body = hook.calls[-1]
    assert key == f"outreach-{body['id']}" and body["message"] and body["channel"]


def test_a_failing_webhook_loses_no_task(database, day):
    with Hook(failures=10_000) as hook:
        done = deliver(
            database, day, hook.url, retry=Retry(attempts=3, base=0.01), sleep=lambda _s: None
        )
        assert (done.sent, done.failed) == (0, 6)
        assert {(t["status"], t["attempts"]) for t in tasks(database)} == {("failed", 3)}
        assert tasks(database)[0]["last_error"] == "webhook: HTTP 503"
        assert deliver(database, day, hook.url, sleep=lambda _s: None).sent == 0  # new only
        hook.failures = 0
        again = deliver(database, day, hook.url, retry_failed=True, sleep=lambda _s: None)
    assert (again.sent, again.failed) == (6, 0)
    assert {t["status"] for t in tasks(database)} == {"sent"}


@pytest.mark.http  # connects to a closed port
def test_an_unreachable_webhook_is_a_failure_not_a_crash():
    outcome = send(
        "http://127.0.0.1:9/nothing", {}, "k", Retry(attempts=2, timeout=1), sleep=lambda _s: None
    )
    assert not outcome.ok and outcome.attempts == 2 and outcome.error


@pytest.mark.http  # a local webhook server
def test_a_client_error_is_not_retried():
    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(422)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        outcome = send(url, {}, "k", Retry(attempts=5), sleep=lambda _s: None)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert (outcome.ok, outcome.attempts, outcome.error) == (False, 1, "HTTP 422")
