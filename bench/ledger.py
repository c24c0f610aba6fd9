"""``python -m bench.ledger``: the ledger's write path and batch jobs, SQLite and PostgreSQL.

Each figure runs beside a bare-SQL baseline doing the same rows' work in the same run, on a
fresh database per backend (a temporary SQLite file; a new PostgreSQL database, dropped after):

* sale commits per second through ``Ledger.commit_sale`` (coffee-shop, python matcher, one
  at a time), beside a DB-API loop writing the same rows per sale in its own transaction
  (member read and lock, idempotency read, open lots read, lot, journal, 4 period counters,
  member update, transaction record);
* quote and commit latency of members with 1,000 and 10,000 prior sales (seeded as commits
  leave them) beside a member with one, in 3 interleaved rounds: the median round's figure,
  the spread of the round ratios, target <= 1.2x (issue 15: flat in member history);
* ``expire_lots`` over N lots, all due (N/10 members), beside the three statements it runs
  (journal ``INSERT … SELECT``, balances ``UPDATE … FROM``, lots ``UPDATE``) unbatched;
* ``tier_review`` of N members with top-percent thresholds (the recommended programme),
  beside the percentile queries and one ``INSERT … SELECT`` + ``UPDATE`` with a flat ``CASE``;
* ``import_transactions`` of an N-row CSV, beside ``csv.reader`` and the driver's fastest bulk
  path (``executemany`` on SQLite, ``COPY`` on PostgreSQL) writing the same transactions,
  lots and journal rows (no checks, no member totals).

Bulk data is generated with set-based SQL (``generate_series`` on PostgreSQL, a recursive CTE
on SQLite); each job and its baseline work on identical data under two programme ids.
Targets: commits >= 1,000/s on SQLite; each N = 1,000,000 job under 30 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench import databases
from engine.ledger import jobs
from engine.ledger.importer import import_transactions
from engine.ledger.service import Ledger
from engine.policy.loader import load_programme
from engine.pricing import Evaluator

ROWS = 1_000_000
COMMITS = 2_000
QUICK_ROWS, QUICK_COMMITS = 50_000, 300
COMMIT_TARGET = 1_000.0
JOB_SECONDS = 30.0
POSTGRES = os.environ.get(
    "LOYALTY_BENCH_POSTGRES",
    os.environ.get("LOYALTY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
COFFEE = "rules/coffee-shop/programme.yaml"
RECOMMENDED = "rules/recommended/programme.yaml"
AS_OF = datetime(2027, 1, 1, tzinfo=UTC)
PERIOD_END = date(2026, 12, 31)
NOON = datetime(2026, 6, 1, 4, tzinfo=UTC)  # 12:00 in Shanghai
EXPIRED = datetime(2026, 6, 30, 15, 59, 59, tzinfo=UTC)


@dataclass(frozen=True)
class Figure:
    backend: str
    figure: str
    value: float  # per second when ``rate``, else seconds
    baseline: float
    baseline_name: str
    rate: bool
    limit: float | None  # the target: at least ``limit``/s, or under ``limit`` s
    ratio_limit: float | None = None  # or the target: a ratio to the baseline of at most this
    millis: bool = False  # value and baseline are latencies shown in ms
    spread: str = ""  # per-round ratios, when the figure is a median of interleaved rounds

    @property
    def ratio(self) -> float:
        """The cost relative to the bare-SQL baseline (1.00 = as fast as bare SQL)."""
        return self.baseline / self.value if self.rate else self.value / self.baseline

    @property
    def met(self) -> bool | None:
        if self.ratio_limit is not None:
            return self.ratio <= self.ratio_limit
        if self.limit is None:
            return None
        return self.value >= self.limit if self.rate else self.value < self.limit

    def cells(self) -> tuple[str, ...]:
        target = "-"
        if self.ratio_limit is not None:
            target = f"<= {self.ratio_limit:g}x {'ok' if self.met else 'MISSED'}"
        elif self.limit is not None:
            verdict = "ok" if self.met else "MISSED"
            target = (
                f">= {self.limit:,.0f}/s {verdict}"
                if self.rate
                else f"< {self.limit:g} s {verdict}"
            )
        return (
            self.figure,
            self.backend,
            _amount(self.value, self.rate, self.millis),
            f"{_amount(self.baseline, self.rate, self.millis)}  {self.baseline_name}",
            f"{self.ratio:.2f}x{self.spread}",
            target,
        )


def _amount(value: float, rate: bool, millis: bool = False) -> str:
    if millis:
        return f"{value * 1000:,.2f} ms"
    return f"{value:,.0f}/s" if rate else f"{value:,.2f} s"


HEADER = ("figure", "backend", "value", "baseline", "ratio", "target")


def table(figures: Sequence[Figure], caption: str) -> str:
    body = [figure.cells() for figure in figures]
    widths = [max(len(line[i]) for line in (HEADER, *body)) for i in range(len(HEADER))]
    lines = [
        " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (HEADER, *body)
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join([caption, *lines])


def _timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


# --- databases -------------------------------------------------------------------------------


def sqlite_database() -> AbstractContextManager[Engine]:
    return databases.sqlite_database("ledger")


def postgres_database(server: str) -> AbstractContextManager[Engine]:
    return databases.postgres_database(server, "ledger")


# --- set-based data --------------------------------------------------------------------------

SERIES = {
    "sqlite": "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"
    " SELECT i FROM n) AS s",
    "postgresql": "generate_series(1, :count) AS s(i)",
}
MEMBERS = """
    INSERT INTO members (programme, id, tags, joined, contact, consent, tier, tier_since,
        qualifying_spend, period_start, balance, debt, last_activity_at, created_at, updated_at)
    SELECT :p, 'm' || i, '{{}}', :joined, '{{}}', '{{}}', 'standard', :joined,
        ((i % 25000) * 7919) % 25000 + (i % 7) * 0.25, :period, :balance, 0, :noon, :noon, :noon
    FROM {series}"""
LOTS = """
    INSERT INTO lots (programme, member_id, points, points_left, earned_at, expires_at)
    SELECT :p, 'm' || ((i - 1) % :members + 1), 100, 100, :noon, :expires
    FROM {series}"""
EARNED = """
    INSERT INTO journal (programme, member_id, kind, points, lot_id, at)
    SELECT programme, member_id, 'earn', points, id, earned_at FROM lots WHERE programme = :p"""
CSV_ROWS = {
    "sqlite": "SELECT 'h' || i, 'm' || ((i - 1) % :members + 1),"
    " '2026-' || printf('%02d', i % 12 + 1) || '-15T12:00:00+08:00',"
    " (i % 500 + 1) || '.50', i % 500 + 1 FROM {series}",
    "postgresql": "SELECT 'h' || i, 'm' || ((i - 1) % :members + 1),"
    " '2026-' || lpad((i % 12 + 1)::text, 2, '0') || '-15T12:00:00+08:00',"
    " (i % 500 + 1) || '.50', i % 500 + 1 FROM {series}",
}


def _moment(engine: Engine, at: datetime, fraction: str = "000000") -> Any:
    """A bound instant as each backend's column holds it (SQLite: naive UTC text)."""
    if engine.dialect.name == "postgresql":
        return at
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + fraction


def _sql(engine: Engine, template: str) -> Any:
    return text(template.format(series=SERIES[engine.dialect.name]))


def _day(engine: Engine, day: date) -> Any:
    return day if engine.dialect.name == "postgresql" else day.isoformat()


def seed_members(engine: Engine, programme: str, count: int, balance: int = 0) -> None:
    values = {
        "p": programme,
        "count": count,
        "joined": _day(engine, date(2025, 1, 1)),
        "period": _day(engine, date(2026, 1, 1)),
        "balance": balance,
        "noon": _moment(engine, NOON),
    }
    with engine.begin() as conn:
        conn.execute(_sql(engine, MEMBERS), values)


def seed_lots(engine: Engine, programme: str, count: int, members: int) -> None:
    """``count`` lots of 100 points, all expired by ``AS_OF``, with their earn journal rows."""
    seed_members(engine, programme, members, balance=100 * (count // members))
    values = {
        "p": programme,
        "count": count,
        "members": members,
        "noon": _moment(engine, NOON),
        "expires": _moment(engine, EXPIRED, "999999"),
    }
    with engine.begin() as conn:
        conn.execute(_sql(engine, LOTS), values)
        conn.execute(text(EARNED), {"p": programme})


def analyse(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def write_csv(engine: Engine, path: Path, count: int, members: int) -> None:
    """The history file, its rows made by SQL and streamed out."""
    query = text(CSV_ROWS[engine.dialect.name].format(series=SERIES[engine.dialect.name]))
    with engine.connect() as conn, path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(("id", "member_id", "at", "amount", "points"))
        result = conn.execution_options(stream_results=True).execute(
            query, {"count": count, "members": members}
        )
        for chunk in result.partitions(10_000):
            writer.writerows(chunk)


# --- sale commits ----------------------------------------------------------------------------


def _sales(count: int, members: int) -> list[tuple[str, dict[str, Any]]]:
    start = datetime(2026, 11, 1, 1, tzinfo=UTC)
    return [
        (
            f"c{i % members}",
            {
                "id": f"s{i}",
                "at": (start + timedelta(seconds=i)).isoformat(),
                "lines": [
                    {
                        "id": "1",
                        "sku": "LATTE",
                        "category": "coffee",
                        "unit_price": "32.00",
                        "quantity": 1,
                    },
                    {
                        "id": "2",
                        "sku": "BEANS",
                        "category": "beans",
                        "unit_price": "98.00",
                        "quantity": 1,
                    },
                ],
            },
        )
        for i in range(count)
    ]


def commits(engine: Engine, count: int) -> Figure:
    coffee = Evaluator(load_programme(COFFEE), matcher="python")
    ledger = Ledger(engine, {coffee.programme.id: coffee})
    members = 50
    for m in range(members):
        ledger.enrol(coffee.programme.id, f"c{m}", {"joined": "2025-01-05"})
    sales = _sales(count, members)
    ledger.commit_sale(coffee.programme.id, "c0", {**sales[0][1], "id": "warm-up"})

    def run() -> None:
        for member, body in sales:
            ledger.commit_sale(coffee.programme.id, member, body)

    seconds = _timed(run)
    raw = RawCommits(engine, count, members)
    baseline = _timed(raw.run)
    return Figure(
        engine.dialect.name,
        "sale commits, one at a time",
        count / seconds,
        count / baseline,
        "DB-API loop, same rows",
        True,
        COMMIT_TARGET if engine.dialect.name == "sqlite" else None,
    )


class RawCommits:
    """Per sale, in its own transaction, what ``commit_sale`` reads and writes, as bare SQL."""

    def __init__(self, engine: Engine, count: int, members: int) -> None:
        self.engine, self.count, self.members = engine, count, members
        self.postgres = engine.dialect.name == "postgresql"
        self.request = json.dumps(_sales(1, 1)[0][1])
        self.response = json.dumps({"status": "committed", "points": {"total": 228}})

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def at(self, moment: datetime) -> Any:
        return moment if self.postgres else _moment(self.engine, moment)

    def run(self) -> None:
        seed_members(self.engine, "raw", self.members)
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            start = datetime(2026, 11, 1, 1, tzinfo=UTC)
            for i in range(self.count):
                self.one(cursor, f"m{i % self.members + 1}", f"s{i}", start + timedelta(seconds=i))
                raw.commit()
        finally:
            raw.close()

    def one(self, cursor: Any, member: str, key: str, moment: datetime) -> None:
        sql, at = self.sql, self.at(moment)
        if not self.postgres:
            cursor.execute("BEGIN IMMEDIATE")
        lock = " FOR UPDATE" if self.postgres else ""
        cursor.execute(
            sql("SELECT * FROM members WHERE programme = ? AND id = ?" + lock), ("raw", member)
        )
        cursor.fetchall()
        cursor.execute(
            sql("SELECT * FROM transactions WHERE programme = ? AND id = ?"), ("raw", key)
        )
        cursor.fetchall()
        cursor.execute(
            sql(
                "SELECT * FROM lots WHERE programme = ? AND member_id = ? AND points_left > 0"
                " AND (expires_at IS NULL OR expires_at >= ?)"
            ),
            ("raw", member, at),
        )
        cursor.fetchall()
        cursor.execute(
            sql(
                "INSERT INTO lots (programme, member_id, points, points_left, earned_at,"
                " expires_at, transaction_id) VALUES (?, ?, 228, 228, ?, ?, ?) RETURNING id"
            ),
            ("raw", member, at, at, key),
        )
        lot = cursor.fetchone()[0]
        cursor.execute(
            sql(
                "INSERT INTO journal (programme, member_id, kind, points, lot_id, transaction_id,"
                " at) VALUES (?, ?, 'earn', 228, ?, ?, ?)"
            ),
            ("raw", member, lot, key, at),
        )
        for period in ("day", "week", "month", "year"):
            cursor.execute(
                sql(
                    "INSERT INTO period_points (programme, member_id, period, starts, points)"
                    " VALUES (?, ?, ?, ?, 228) ON CONFLICT (programme, member_id, period, starts)"
                    " DO UPDATE SET points = period_points.points + 228"
                ),
                ("raw", member, period, moment.date() if self.postgres else str(moment.date())),
            )
        cursor.execute(
            sql(
                "UPDATE members SET balance = balance + 228, qualifying_spend = qualifying_spend"
                " + 130, last_purchase_at = ?, last_activity_at = ?, updated_at = ?"
                " WHERE programme = ? AND id = ?"
            ),
            (at, at, at, "raw", member),
        )
        cursor.execute(
            sql(
                "INSERT INTO transactions (programme, id, kind, member_id, request_hash, request,"
                " response, status, version, points_earned, points_redeemed, points_settled, at,"
                " created_at) VALUES (?, ?, 'sale', ?, 'x', ?, ?, 201, '2026.1', 228, 0, 0, ?, ?)"
            ),
            ("raw", key, member, self.request, self.response, at, at),
        )


# --- latency against a member's history ------------------------------------------------------

HISTORIES = (1, 1_000, 10_000)  # prior sales of the members compared; the first is the baseline
HISTORY_RATIO = 1.2  # issue 15: a 10,000-sale member's till answer within 1.2x a new member's
ROUNDS = 3
HISTORY_LOTS = """
    INSERT INTO lots (programme, member_id, points, points_left, earned_at, expires_at,
        transaction_id)
    SELECT :p, :m, 228, 228, :earned, :expires, :prefix || i FROM {series}"""
HISTORY_JOURNAL = """
    INSERT INTO journal (programme, member_id, kind, points, lot_id, transaction_id, at)
    SELECT programme, member_id, 'earn', points, id, transaction_id, earned_at FROM lots
    WHERE programme = :p AND member_id = :m"""
HISTORY_SALES = """
    INSERT INTO transactions (programme, id, kind, member_id, request_hash, request, response,
        status, version, points_earned, points_redeemed, points_settled, at, created_at)
    SELECT :p, :prefix || i, 'sale', :m, 'x', :request, :response, 201, '2026.1', 228, 0, 0,
        :earned, :earned FROM {series}"""


def seed_history(engine: Engine, programme: str, member: str, sales: int) -> None:
    """``sales`` past sales of the member, as commits leave them: a transaction, a lot of
    228 points (spendable, expiring after the benchmark) and its journal row each."""
    values = {
        "p": programme,
        "m": member,
        "prefix": f"{member}-",
        "count": sales,
        "earned": _moment(engine, NOON),
        "expires": _moment(engine, datetime(2027, 11, 30, 15, 59, 59, tzinfo=UTC)),
        "request": json.dumps(_sales(1, 1)[0][1]),
        "response": json.dumps({"status": "committed", "points": {"total": 228}}),
    }
    with engine.begin() as conn:
        conn.execute(_sql(engine, HISTORY_LOTS), values)
        conn.execute(text(HISTORY_JOURNAL), values)
        conn.execute(_sql(engine, HISTORY_SALES), values)
        conn.execute(
            text("UPDATE members SET balance = balance + :points WHERE programme = :p AND id = :m"),
            {**values, "points": 228 * sales},
        )


def settle(engine: Engine) -> None:
    """Statistics, and on PostgreSQL the visibility map autovacuum keeps for old rows: a real
    member's past sales are long settled, so their index can be read without the table."""
    if engine.dialect.name != "postgresql":
        analyse(engine)
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) transactions, lots, journal, members")


def history(engine: Engine, per_round: int) -> list[Figure]:
    """Quote and commit latency of members with 1,000 and 10,000 prior sales beside one with
    a single prior sale, in interleaved rounds; the median round ratio is the figure."""
    coffee = Evaluator(load_programme(COFFEE), matcher="python")
    ledger = Ledger(engine, {coffee.programme.id: coffee})
    shop = coffee.programme.id
    for sales in HISTORIES:
        ledger.enrol(shop, f"h{sales}", {"joined": "2025-01-05"})
        seed_history(engine, shop, f"h{sales}", sales)
    settle(engine)
    count = per_round * ROUNDS * len(HISTORIES) + 1
    bodies = [{**body, "id": f"history-{body['id']}"} for _, body in _sales(count, 1)]
    ledger.commit_sale(shop, "h1", {**bodies.pop(), "id": "history-warm-up"})
    latencies: dict[tuple[str, int], list[float]] = {}
    for _ in range(ROUNDS):
        for sales in HISTORIES:
            member = f"h{sales}"
            mine = [bodies.pop() for _ in range(per_round)]
            quoting = _timed(lambda: [ledger.quote(shop, member, b) for b in mine])  # noqa: B023
            committing = _timed(
                lambda: [ledger.commit_sale(shop, member, b) for b in mine]  # noqa: B023
            )
            latencies.setdefault(("quote", sales), []).append(quoting / per_round)
            latencies.setdefault(("commit", sales), []).append(committing / per_round)
    return [
        _history_figure(engine, kind, sales, latencies[kind, sales], latencies[kind, HISTORIES[0]])
        for kind in ("quote", "commit")
        for sales in HISTORIES[1:]
    ]


def _history_figure(
    engine: Engine, kind: str, sales: int, rounds: list[float], baseline: list[float]
) -> Figure:
    ratios = sorted(mine / base for mine, base in zip(rounds, baseline, strict=True))
    return Figure(
        engine.dialect.name,
        f"{kind} latency, {sales:,} prior sales",
        statistics.median(rounds),
        statistics.median(baseline),
        f"{HISTORIES[0]} prior sale",
        False,
        None,
        ratio_limit=HISTORY_RATIO,
        millis=True,
        spread=f" (rounds {ratios[0]:.2f}-{ratios[-1]:.2f})",
    )


# --- the jobs --------------------------------------------------------------------------------


def expiry(engine: Engine, rows: int) -> Figure:
    members = max(rows // 10, 1)
    for programme in ("exp", "exp-raw"):
        seed_lots(engine, programme, rows, members)
    analyse(engine)
    seconds = _timed(lambda: jobs.expire_lots(engine, "exp", AS_OF))
    baseline = _timed(lambda: _bare_expiry(engine, "exp-raw"))
    return Figure(
        engine.dialect.name,
        f"expire_lots, {rows:,} lots",
        seconds,
        baseline,
        "3 statements, 1 transaction",
        False,
        JOB_SECONDS if rows >= ROWS else None,
    )


def _bare_expiry(engine: Engine, programme: str) -> None:
    due = "programme = :p AND points_left > 0 AND expires_at < :as_of"
    values = {"p": programme, "as_of": _moment(engine, AS_OF)}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO journal (programme, member_id, kind, points, lot_id, at)"
                f" SELECT programme, member_id, 'expire', -points_left, id, expires_at"
                f" FROM lots WHERE {due}"
            ),
            values,
        )
        conn.execute(
            text(
                "UPDATE members SET balance = members.balance - d.points FROM"
                f" (SELECT member_id, sum(points_left) AS points FROM lots WHERE {due}"
                " GROUP BY member_id) AS d"
                " WHERE members.programme = :p AND members.id = d.member_id"
            ),
            values,
        )
        conn.execute(text(f"UPDATE lots SET points_left = 0 WHERE {due}"), values)


def review(engine: Engine, rows: int, evaluator: Evaluator) -> Figure:
    for programme in (evaluator.programme.id, "rec-raw"):
        seed_members(engine, programme, rows)
    analyse(engine)
    seconds = _timed(lambda: jobs.tier_review(engine, evaluator, PERIOD_END))
    baseline = _timed(lambda: _bare_review(engine, "rec-raw", rows))
    return Figure(
        engine.dialect.name,
        f"tier_review, {rows:,} members, top 20%/5%",
        seconds,
        baseline,
        "percentiles + 1 INSERT + 1 UPDATE",
        False,
        JOB_SECONDS if rows >= ROWS else None,
    )


def _bare_review(engine: Engine, programme: str, rows: int) -> None:
    values: dict[str, Any] = {"p": programme}
    with engine.begin() as conn:
        for tier, percent in (("gold", 20), ("platinum", 5)):
            k = -(-rows * percent // 100)
            if engine.dialect.name == "postgresql":
                query = (
                    "SELECT percentile_disc(:f) WITHIN GROUP (ORDER BY qualifying_spend DESC)"
                    " FROM members WHERE programme = :p"
                )
                values[tier] = conn.execute(text(query), {**values, "f": (k - 0.5) / rows}).scalar()
            else:
                query = (
                    "SELECT s FROM (SELECT qualifying_spend AS s, ROW_NUMBER() OVER"
                    " (ORDER BY qualifying_spend DESC) AS r FROM members WHERE programme = :p)"
                    " WHERE r = :k"
                )
                values[tier] = conn.execute(text(query), {**values, "k": k}).scalar()
        new = (
            "CASE WHEN qualifying_spend >= :platinum THEN 'platinum'"
            " WHEN qualifying_spend >= :gold THEN 'gold' ELSE 'standard' END"
        )
        values["at"] = _moment(engine, AS_OF)
        conn.execute(
            text(
                "INSERT INTO tier_history (programme, member_id, tier, since, valid_until, reason,"
                f" at) SELECT programme, id, {new}, :since, :until, 'review', :at FROM members"
                f" WHERE programme = :p AND tier <> {new}"
            ),
            {
                **values,
                "since": _day(engine, date(2027, 1, 1)),
                "until": _day(engine, date(2027, 12, 31)),
            },
        )
        conn.execute(
            text(f"UPDATE members SET tier = {new} WHERE programme = :p AND tier <> {new}"),
            values,
        )


def importing(engine: Engine, rows: int, evaluator: Evaluator, folder: Path) -> Figure:
    """Needs the members of ``review`` (the evaluator's programme and ``rec-raw``)."""
    path = folder / "history.csv"
    write_csv(engine, path, rows, rows)
    seconds = _timed(lambda: import_transactions(engine, evaluator, path))
    baseline = _timed(lambda: _bare_import(engine, "rec-raw", path))
    return Figure(
        engine.dialect.name,
        f"import_transactions, {rows:,} rows",
        seconds,
        baseline,
        "csv.reader + executemany / COPY",
        False,
        JOB_SECONDS if rows >= ROWS else None,
    )


TX_COLUMNS = (
    "programme, id, kind, member_id, request_hash, request, response, status, points_earned,"
    " points_redeemed, points_settled, at, created_at"
)
LOT_COLUMNS = "programme, member_id, points, points_left, earned_at, expires_at, transaction_id"
ENTRY_COLUMNS = "programme, member_id, kind, points, transaction_id, at"


def _bare_import(engine: Engine, programme: str, path: Path, batch: int = 20_000) -> None:
    """The same rows, unchecked: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""
    now = _moment(engine, AS_OF)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with path.open(newline="", encoding="utf-8") as source:
            reader = csv.reader(source)
            next(reader)
            while chunk := [row for _, row in zip(range(batch), reader, strict=False)]:
                tables: dict[str, list[tuple[Any, ...]]] = {
                    f"transactions ({TX_COLUMNS})": [
                        (programme, i, "import", m, "x", "{}", "{}", 201, int(p), 0, 0, at, now)
                        for i, m, at, _, p in chunk
                    ],
                    f"lots ({LOT_COLUMNS})": [
                        (programme, m, int(p), int(p), at, at, i) for i, m, at, _, p in chunk
                    ],
                    f"journal ({ENTRY_COLUMNS})": [
                        (programme, m, "earn", int(p), i, at) for i, m, at, _, p in chunk
                    ],
                }
                _bare_write(engine, cursor, tables)
                raw.commit()
    finally:
        raw.close()


def _bare_write(engine: Engine, cursor: Any, tables: dict[str, list[tuple[Any, ...]]]) -> None:
    if engine.dialect.name == "postgresql":
        for table, rows in tables.items():
            with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    cursor.execute("BEGIN IMMEDIATE")
    for table, rows in tables.items():
        marks = ", ".join("?" * len(rows[0]))
        cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


# --- running ---------------------------------------------------------------------------------


def measure(engine: Engine, rows: int, count: int, out: Any) -> list[Figure]:
    evaluator = Evaluator(load_programme(RECOMMENDED), matcher="python")
    figures = []
    per_round = max(1, count // 10)
    with tempfile.TemporaryDirectory(prefix="ledger-bench-csv-") as folder:
        steps: list[Callable[[], Figure | list[Figure]]] = [
            lambda: commits(engine, count),
            lambda: history(engine, per_round),
            lambda: expiry(engine, rows),
            lambda: review(engine, rows, evaluator),
            lambda: importing(engine, rows, evaluator, Path(folder)),
        ]
        for step in steps:
            done = step()
            for figure in done if isinstance(done, list) else [done]:
                figures.append(figure)
                print("  ".join(figure.cells()), file=out, flush=True)
    return figures


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__)
    parser.add_argument("--rows", type=int, help=f"lots, members, rows per job (default {ROWS:,})")
    parser.add_argument("--commits", type=int, help=f"sales committed (default {COMMITS:,})")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROWS:,} rows and {QUICK_COMMITS} commits (targets not judged)",
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default=POSTGRES, help="server URL (a database is made)")
    args = parser.parse_args(argv)
    args.rows = args.rows or (QUICK_ROWS if args.quick else ROWS)
    args.commits = args.commits or (QUICK_COMMITS if args.quick else COMMITS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    figures: list[Figure] = []
    if args.backend in ("sqlite", "both"):
        with sqlite_database() as engine:
            figures += measure(engine, args.rows, args.commits, sys.stderr)
    if args.backend in ("postgresql", "both"):
        with postgres_database(args.postgres) as engine:
            figures += measure(engine, args.rows, args.commits, sys.stderr)
    caption = (
        f"ledger: {args.rows:,} rows per job, {args.commits:,} sale commits; "
        f"CPython {sys.version.split()[0]}, {os.cpu_count()} CPUs; ratio = cost / bare SQL"
    )
    print(table(figures, caption))
    return 0  # a missed target is shown in the table; make bench goes on to the next one


if __name__ == "__main__":
    sys.exit(main())
