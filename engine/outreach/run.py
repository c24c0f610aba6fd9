"""A day's outreach run: every trigger's INSERT … SELECT, then the messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine

from engine.calendar import local_date
from engine.ledger import dialect
from engine.outreach.grants import Grant, grant_offers
from engine.outreach.render import Setup, describe_offer, render_new
from engine.outreach.sql import Sql
from engine.outreach.triggers import Scope, build
from engine.pricing import Evaluator

Progress = Callable[[str], None]
WORK_MEM = "64MB"


@dataclass
class RunReport:
    """What a run created: new tasks per trigger, member offers granted with them (triggers
    with ``grants``), messages rendered and failed, time taken."""

    programme: str
    date: date
    created: dict[str, int] = field(default_factory=dict)
    granted: dict[str, int] = field(default_factory=dict)
    rendered: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.created.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "programme": self.programme,
            "date": self.date.isoformat(),
            "created": self.created,
            "granted": self.granted,
            "rendered": self.rendered,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
        }


def today_for(evaluator: Evaluator, at: datetime | None = None) -> date:
    """The programme's local date at ``at`` (default now)."""
    return local_date(at or datetime.now(UTC), evaluator.tz)


def scope_for(engine: Engine, evaluator: Evaluator, on: date, now: datetime) -> Scope:
    return Scope(
        programme=evaluator.programme.id,
        model=evaluator.model,
        thresholds=evaluator.thresholds,
        tz=evaluator.tz,
        today=on,
        now=now,
        sql=Sql(dialect.name(engine), evaluator.tz),
    )


def run_outreach(
    engine: Engine,
    evaluator: Evaluator,
    on: date,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Create the day's tasks of every trigger (a rerun adds nothing), then render them."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    scope = scope_for(engine, evaluator, on, now)
    report = RunReport(evaluator.programme.id, on)
    setup = Setup.of(evaluator)
    for trigger in evaluator.model.outreach:
        statement = build(scope, trigger)
        grant = Grant.of(trigger, describe_offer(setup, trigger.get("offer", [])))
        created, granted = (
            (0, 0) if statement is None else _insert(engine, statement, scope, trigger, grant)
        )
        report.created[trigger["id"]] = created
        if grant is not None:
            report.granted[trigger["id"]] = granted
        if progress:
            progress(trigger["id"])
    rendered = render_new(engine, evaluator, now=now)
    report.rendered, report.failed = rendered.rendered, rendered.failed
    if progress:
        progress("messages")
    report.seconds = time.perf_counter() - started
    return report


def _insert(
    engine: Engine, statement: Any, scope: Scope, trigger: Any, grant: Grant | None
) -> tuple[int, int]:
    """Run one trigger's INSERT in its own transaction; the tasks and offers it created.

    A trigger that grants an offer writes its members' offers in the same transaction.
    """
    with engine.begin() as conn:
        # sorts and hashes of a big run stay in memory
        dialect.set_local(conn, "work_mem", f"'{WORK_MEM}'")
        created = conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount
        if created < 0:  # sqlite3 counts no rows for a statement that starts with WITH
            created = conn.exec_driver_sql("SELECT changes()").scalar_one()
        granted = grant_offers(conn, scope, trigger, grant) if grant is not None else 0
    return int(created), granted
