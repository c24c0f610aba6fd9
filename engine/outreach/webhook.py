"""Delivering ``new`` tasks to a webhook: one JSON POST per task, retried with backoff.

A task becomes ``sent`` only after a 2xx answer. Timeouts, connection errors, 408, 429 and 5xx
are retried with exponential backoff and jitter; after the last attempt (or at once on another
4xx, which a retry cannot fix) the task becomes ``failed`` with ``last_error``. Each task's
outcome is written as soon as it is known, so a crash or a dead webhook loses no task: what was
not delivered is still ``new`` or ``failed`` and is delivered by a later run
(``retry_failed``). Every POST carries ``Idempotency-Key: outreach-<task id>`` so a receiver
can drop the duplicate of a delivery whose answer was lost.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, RowMapping, update

from engine.ledger.tables import outreach_tasks
from engine.outreach.tasks import Filters, iter_tasks, view

RETRYABLE = frozenset({408, 429})


@dataclass(frozen=True)
class Retry:
    """``attempts`` tries per task; the n-th wait is about ``base * 2^(n-1)`` s, at most ``cap``."""

    attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    timeout: float = 10.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with jitter: half fixed, half random."""
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    attempts: int
    error: str | None = None


@dataclass
class Delivered:
    sent: int = 0
    failed: int = 0


class Failure(Exception):
    """One failed POST; ``retry`` says whether trying again can help."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def post(url: str, body: dict[str, Any], key: str, timeout: float) -> None:
    """POST ``body`` as JSON; returns on 2xx, raises ``Failure`` otherwise."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise Failure(f"{type(error).__name__}: {error}", retry=True) from error
    if not 200 <= status < 300:
        retry = status >= 500 or status in RETRYABLE
        raise Failure(f"HTTP {status}", retry=retry)


def send(
    url: str,
    body: dict[str, Any],
    key: str,
    retry: Retry,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> Outcome:
    """POST with retries; the outcome says whether it was delivered and after how many tries."""
    rng = rng or random.Random()
    error = "not attempted"
    for attempt in range(1, retry.attempts + 1):
        try:
            post(url, body, key, retry.timeout)
            return Outcome(True, attempt)
        except Failure as failure:
            error = str(failure)
            if not failure.retry:
                return Outcome(False, attempt, error)
        if attempt < retry.attempts:
            sleep(retry.delay(attempt, rng))
    return Outcome(False, retry.attempts, error)


def deliverable(
    engine: Engine, programme: str, *, retry_failed: bool = False
) -> Iterator[RowMapping]:
    """Rendered tasks waiting for delivery (and failed ones with a message, if asked)."""
    statuses = ("new", "failed") if retry_failed else ("new",)
    for status in statuses:
        for row in iter_tasks(engine, programme, Filters(status=status)):
            if row["message"] is not None:
                yield row


def deliver(
    engine: Engine,
    programme: str,
    url: str,
    *,
    retry: Retry = Retry(),
    retry_failed: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Delivered:
    """Deliver the programme's waiting tasks to ``url``, one by one, recording each outcome."""
    done = Delivered()
    for row in list(deliverable(engine, programme, retry_failed=retry_failed)):
        body = view(row)
        outcome = send(url, body, f"outreach-{row['id']}", retry, sleep=sleep)
        _record(engine, row, outcome, clock())
        if outcome.ok:
            done.sent += 1
        else:
            done.failed += 1
    return done


def _record(engine: Engine, row: RowMapping, outcome: Outcome, now: datetime) -> None:
    values: dict[str, Any] = {
        "status": "sent" if outcome.ok else "failed",
        "attempts": outreach_tasks.c.attempts + outcome.attempts,
        "last_error": None if outcome.ok else f"webhook: {outcome.error}",
        "updated_at": now,
    }
    with engine.begin() as conn:
        conn.execute(
            update(outreach_tasks)
            .where(outreach_tasks.c.id == row["id"], outreach_tasks.c.status == row["status"])
            .values(**values)
        )
