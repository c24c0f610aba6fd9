"""``python -m bench.outreach``: a day's outreach run over many members, SQLite and PostgreSQL.

Members, sales, lots and tier history are generated with set-based SQL (a recursive CTE on
SQLite, ``generate_series`` on PostgreSQL), for the recommended programme with its tier
thresholds resolved (Gold 5,000, Platinum 20,000) so every trigger kind has work. Then:

* day 1: the first run, on an empty work list (the backlog: every lapse at once);
* the bare SELECT of the slowest trigger of day 1, counted without inserting or rendering;
* day 2: the next day's run (steady state), and the same run again (a no-op).

The target is a run under 30 s for 1,000,000 members.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select, text

from bench import databases
from engine.calendar import end_of_day
from engine.outreach.run import RunReport, run_outreach, scope_for
from engine.outreach.triggers import FINDERS
from engine.policy.loader import load_programme
from engine.pricing import Evaluator

PROGRAMME = "rules/recommended/programme.yaml"
THRESHOLDS = {"gold": Decimal(5000), "platinum": Decimal(20000)}
TODAY = date(2026, 12, 2)
POSTGRES = os.environ.get(
    "LOYALTY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TABLES = ("outreach_tasks", "tier_history", "lots", "transactions", "members")


@dataclass(frozen=True)
class Row:
    backend: str
    members: int
    step: str
    tasks: int | None
    seconds: float


def evaluator() -> Evaluator:
    return Evaluator(load_programme(PROGRAMME), matcher="python", resolved_thresholds=THRESHOLDS)


# --- data -------------------------------------------------------------------------------------


def _values(programme: Evaluator) -> dict[str, Any]:
    noon = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=programme.tz)
    return {
        "p": programme.programme.id,
        "noon": noon.astimezone(UTC).replace(tzinfo=None),
        "end": end_of_day(TODAY, programme.tz).astimezone(UTC).replace(tzinfo=None),
        "today": TODAY,
        "since": TODAY - timedelta(days=9),
    }


CONSENT = '{"sms": true, "email": true, "call": true, "app_push": true, "wechat": true}'
# The member i: 1 in 5 gave no consent; tiers 80/15/5 %; last purchase i % 20 days ago, with a
# habit of 5 + i % 10 days (4 purchases for even i, 2 for odd); one lot expiring in i % 365 days;
# birthdays spread over 40 years; one in 1,000 was upgraded in the last 10 days.
SQLITE = {
    "members": """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
        INSERT INTO members (programme, id, name, tags, birthday, joined, contact, consent, tier,
            tier_since, tier_valid_until, qualifying_spend, period_start, balance, debt,
            last_purchase_at, last_activity_at, created_at, updated_at)
        SELECT :p, 'm' || i, 'Member ' || i, '{}',
            date('1960-01-01', '+' || (i * 7 % 14600) || ' days'),
            '2024-01-01',
            json_object('phone', '+86138' || i, 'email', 'm' || i || '@example.com',
                'wechat', 'wx' || i),
            CASE WHEN i % 5 = 0 THEN '{}' ELSE :consent END,
            CASE WHEN i % 100 < 80 THEN 'standard'
                 WHEN i % 100 < 95 THEN 'gold' ELSE 'platinum' END,
            '2025-01-01', CASE WHEN i % 100 >= 80 THEN '2026-12-31' END,
            (i * 37) % 25000, '2026-01-01', 100 + i % 900, 0,
            datetime(:noon, '-' || (i % 20) || ' days') || '.000000',
            datetime(:noon, '-' || (i % 20) || ' days') || '.000000', :noon, :noon
        FROM n""",
    "transactions": """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count),
        k(k) AS (VALUES (0), (1), (2), (3))
        INSERT INTO transactions (programme, id, kind, member_id, request_hash, request, response,
            status, points_earned, points_redeemed, points_settled, at, created_at)
        SELECT :p, 't' || i || '-' || k, 'sale', 'm' || i, 'x',
            json_object('lines', json_array(json_object('id', '1', 'category',
                CASE i % 3 WHEN 0 THEN 'fresh_produce' WHEN 1 THEN 'rice_and_oil'
                ELSE 'snacks' END))),
            '{}', 200, 0, 0, 0,
            datetime(:noon, '-' || (i % 20 + k * (5 + i % 10)) || ' days') || '.000000', :noon
        FROM n JOIN k ON k < 2 + 2 * (1 - i % 2)""",
    "lots": """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
        INSERT INTO lots (programme, member_id, points, points_left, earned_at, expires_at)
        SELECT :p, 'm' || i, 100 + i % 900, 100 + i % 900, :noon,
            datetime(:end, '+' || (i % 365) || ' days') || '.999999'
        FROM n""",
    "tier_history": """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
        INSERT INTO tier_history (programme, member_id, tier, since, valid_until, reason, at)
        SELECT :p, 'm' || i, 'standard', '2024-01-01', NULL, 'enrolled', :noon FROM n
        UNION ALL
        SELECT :p, 'm' || i,
            CASE WHEN i % 100 < 95 THEN 'gold' ELSE 'platinum' END,
            CASE WHEN i % 1000 = 86 THEN date(:since, '+' || (i / 1000 % 10) || ' days')
                 ELSE '2025-01-01' END,
            '2026-12-31', 'upgrade', :noon
        FROM n WHERE i % 100 >= 80""",
}
POSTGRESQL = {
    "members": """
        INSERT INTO members (programme, id, name, tags, birthday, joined, contact, consent, tier,
            tier_since, tier_valid_until, qualifying_spend, period_start, balance, debt,
            last_purchase_at, last_activity_at, created_at, updated_at)
        SELECT :p, 'm' || i, 'Member ' || i, '{}', DATE '1960-01-01' + (i * 7 % 14600)::int,
            DATE '2024-01-01',
            json_build_object('phone', '+86138' || i, 'email', 'm' || i || '@example.com',
                'wechat', 'wx' || i),
            CASE WHEN i % 5 = 0 THEN '{}'::json ELSE CAST(:consent AS json) END,
            CASE WHEN i % 100 < 80 THEN 'standard'
                 WHEN i % 100 < 95 THEN 'gold' ELSE 'platinum' END,
            DATE '2025-01-01', CASE WHEN i % 100 >= 80 THEN DATE '2026-12-31' END,
            (i * 37) % 25000, DATE '2026-01-01', 100 + i % 900, 0,
            (CAST(:noon AS timestamp) - (i % 20) * INTERVAL '1 day') AT TIME ZONE 'UTC',
            (CAST(:noon AS timestamp) - (i % 20) * INTERVAL '1 day') AT TIME ZONE 'UTC',
            CAST(:noon AS timestamp) AT TIME ZONE 'UTC', CAST(:noon AS timestamp) AT TIME ZONE 'UTC'
        FROM generate_series(1, :count) AS i""",
    "transactions": """
        INSERT INTO transactions (programme, id, kind, member_id, request_hash, request, response,
            status, points_earned, points_redeemed, points_settled, at, created_at)
        SELECT :p, 't' || i || '-' || k, 'sale', 'm' || i, 'x',
            json_build_object('lines', json_build_array(json_build_object('id', '1', 'category',
                CASE i % 3 WHEN 0 THEN 'fresh_produce' WHEN 1 THEN 'rice_and_oil'
                ELSE 'snacks' END))),
            '{}', 200, 0, 0, 0,
            (CAST(:noon AS timestamp) - (i % 20 + k * (5 + i % 10)) * INTERVAL '1 day')
                AT TIME ZONE 'UTC',
            CAST(:noon AS timestamp) AT TIME ZONE 'UTC'
        FROM generate_series(1, :count) AS i
        JOIN generate_series(0, 3) AS k ON k < 2 + 2 * (1 - i % 2)""",
    "lots": """
        INSERT INTO lots (programme, member_id, points, points_left, earned_at, expires_at)
        SELECT :p, 'm' || i, 100 + i % 900, 100 + i % 900,
            CAST(:noon AS timestamp) AT TIME ZONE 'UTC',
            (CAST(:end AS timestamp) + (i % 365) * INTERVAL '1 day') AT TIME ZONE 'UTC'
        FROM generate_series(1, :count) AS i""",
    "tier_history": """
        INSERT INTO tier_history (programme, member_id, tier, since, valid_until, reason, at)
        SELECT :p, 'm' || i, 'standard', DATE '2024-01-01', NULL, 'enrolled',
            CAST(:noon AS timestamp) AT TIME ZONE 'UTC'
        FROM generate_series(1, :count) AS i
        UNION ALL
        SELECT :p, 'm' || i,
            CASE WHEN i % 100 < 95 THEN 'gold' ELSE 'platinum' END,
            CASE WHEN i % 1000 = 86 THEN CAST(:since AS date) + (i / 1000 % 10)
                 ELSE DATE '2025-01-01' END,
            DATE '2026-12-31', 'upgrade', CAST(:noon AS timestamp) AT TIME ZONE 'UTC'
        FROM generate_series(1, :count) AS i WHERE i % 100 >= 80""",
}


def generate(engine: Engine, programme: Evaluator, count: int) -> None:
    """Fill the ledger's tables for ``count`` members, set-based, then refresh statistics."""
    statements = POSTGRESQL if engine.dialect.name == "postgresql" else SQLITE
    values = _values(programme) | {"count": count, "consent": CONSENT}
    for table in ("members", "transactions", "lots", "tier_history"):
        with engine.begin() as conn:
            conn.execute(text(statements[table]), _bind(values, engine))
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def _bind(values: dict[str, Any], engine: Engine) -> dict[str, Any]:
    if engine.dialect.name == "postgresql":
        return values
    # SQLite's datetime() would round 15:59:59.999999 up to 16:00:00: whole seconds in, the
    # fraction is appended by the SQL.
    values = values | {"end": values["end"].replace(microsecond=0)}
    return {k: str(v) if isinstance(v, date | datetime) else v for k, v in values.items()}


# --- measuring --------------------------------------------------------------------------------


class Clock:
    """Seconds per step of a run, from the run's progress callback."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self.last = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.steps[step], self.last = now - self.last, now


def timed_run(engine: Engine, programme: Evaluator, on: date) -> tuple[RunReport, Clock]:
    clock = Clock()
    report = run_outreach(engine, programme, on, progress=clock)
    return report, clock


def bare_select(engine: Engine, programme: Evaluator, trigger_id: str, on: date) -> Row:
    """The trigger's SELECT alone (no insert, no render), counted in the database."""
    trigger = next(t for t in programme.model.outreach if t["id"] == trigger_id)
    scope = scope_for(engine, programme, on, datetime.now(UTC))
    found = FINDERS[trigger["trigger"]](scope, trigger)
    assert found is not None
    started = time.perf_counter()
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(found.subquery())).scalar_one()
    seconds = time.perf_counter() - started
    return Row(engine.dialect.name, 0, f"  bare SELECT of {trigger_id}", count, seconds)


def measure(engine: Engine, count: int, out: Any) -> list[Row]:
    programme, backend = evaluator(), engine.dialect.name
    rows: list[Row] = []

    def add(step: str, tasks: int | None, seconds: float) -> None:
        rows.append(Row(backend, count, step, tasks, seconds))
        print(
            f"{backend:<10} {step:<44} {tasks if tasks is not None else '':>8} {seconds:8.2f} s",
            file=out,
            flush=True,
        )

    started = time.perf_counter()
    generate(engine, programme, count)
    add("generate members, sales, lots, tiers", None, time.perf_counter() - started)
    first, clock = timed_run(engine, programme, TODAY)
    add("day 1 run (backlog), total", first.total, first.seconds)
    for trigger_id, created in first.created.items():
        add(f"  {trigger_id}: INSERT … SELECT", created, clock.steps[trigger_id])
    add("  render messages", first.rendered, clock.steps["messages"])
    slowest = max(first.created, key=lambda t: clock.steps[t])
    bare = bare_select(engine, programme, slowest, TODAY)
    add(bare.step, bare.tasks, bare.seconds)
    second, _ = timed_run(engine, programme, TODAY + timedelta(days=1))
    add("day 2 run (steady state), total", second.total, second.seconds)
    again, _ = timed_run(engine, programme, TODAY + timedelta(days=1))
    add("day 2 rerun (no-op), total", again.total, again.seconds)
    return rows


def sqlite_database() -> AbstractContextManager[Engine]:
    return databases.sqlite_database("outreach")


def postgres_database(server: str) -> AbstractContextManager[Engine]:
    return databases.postgres_database(server, "outreach")


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| backend | members | step | tasks | seconds |",
        "|---|---:|---|---:|---:|",
    ]
    for row in rows:
        tasks = f"{row.tasks:,}" if row.tasks is not None else ""
        lines.append(
            f"| {row.backend} | {row.members:,} | {row.step.strip()} | {tasks} "
            f"| {row.seconds:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outreach", description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 members")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default=POSTGRES, help="server URL (a database is made)")
    args = parser.parse_args(argv)
    count = 20_000 if args.quick else args.members
    rows: list[Row] = []
    if args.backend in ("sqlite", "both"):
        with sqlite_database() as engine:
            rows += measure(engine, count, sys.stderr)
    if args.backend in ("postgresql", "both"):
        with postgres_database(args.postgres) as engine:
            rows += measure(engine, count, sys.stderr)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
