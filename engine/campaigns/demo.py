"""A synthetic ledger history with a known points critical point, built by set-based SQL.

``generate`` inserts members ``{prefix}0000001`` … with tiers, tags (``gender``, ``age_band``,
``preference`` — a text or a list of two), contacts and consents, then a history in rounds:

* an opening sale before the history starts gives each member 1 to 2xC points (C = the
  planted critical point);
* in each round of ``round_days`` days, a member buys once with probability ``active_above``
  if their balance at the round's start is at least C, else ``active_below``, earning 20-300
  points (lot, journal entry and transaction, so ``ledger check`` holds).

Every random choice is ``mix(n, salt, seed)`` of the member's number ``n``: the same integer
hash in Python and in SQL, so a run is reproducible and tests can recompute any member. Each
round is a handful of ``INSERT … SELECT`` / ``UPDATE … FROM`` statements over all members,
never a Python loop over them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from engine.calendar import start_of_day
from engine.campaigns.model import Context, campaign_window
from engine.errors import InputError
from engine.ledger.dialect import name as dialect_name
from engine.ledger.tables import lots, members
from engine.pricing.offers import HOLDOUT

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
PRIME = 2_147_483_647  # 2**31 - 1: products of two residues stay below 2**62
GENDERS = ("female", "male")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
PREFERENCES = ("fresh_produce", "snacks", "beverages", "bakery", "household")
EXPIRY_DAYS = 365

Progress = Callable[[str], None]


def mix(n: int, salt: int, seed: int) -> int:
    """A reproducible pseudo-random integer in [0, 2**31 - 1) for member number ``n``."""
    x = (n * 48271 + salt * 1_000_003 + seed * 7919 + 12345) % PRIME
    x = (x * x + salt) % PRIME
    x = (x * 69621 + 7) % PRIME
    return (x * x) % PRIME


def mix_sql(n: str, salt: int, seed: int) -> str:
    """``mix`` as a SQL expression of the integer expression ``n`` (same result, both backends)."""
    first = f"((({n}) * 48271 + {salt * 1_000_003 + seed * 7919 + 12345}) % {PRIME})"
    second = f"(({first} * {first} + {salt}) % {PRIME})"
    third = f"(({second} * 69621 + 7) % {PRIME})"
    return f"(({third} * {third}) % {PRIME})"


@dataclass(frozen=True)
class Plan:
    """What to generate; ``until`` is the local day the history ends (exclusive)."""

    members: int
    until: date
    critical_point: int = 1500
    rounds: int = 6
    round_days: int = 30
    active_above: float = 0.6
    active_below: float = 0.15
    seed: int = 1
    prefix: str = "demo-"
    history: bool = True

    @property
    def start(self) -> date:
        return self.until - timedelta(days=self.rounds * self.round_days)

    def round_start(self, k: int) -> date:
        return self.start + timedelta(days=k * self.round_days)

    def member_id(self, n: int) -> str:
        return f"{self.prefix}{n:07d}"


class _Sql:
    """The few fragments that differ between SQLite and PostgreSQL."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

    def series(self) -> str:
        if self.sqlite:
            return (
                "(WITH RECURSIVE s(n) AS (SELECT :first UNION ALL SELECT n + 1 FROM s "
                "WHERE n < :last) SELECT n FROM s) AS series"
            )
        return "generate_series(CAST(:first AS BIGINT), CAST(:last AS BIGINT)) AS series(n)"

    def pad(self, number: str, width: int) -> str:
        if self.sqlite:
            return f"printf('%0{width}d', {number})"
        return f"lpad(CAST({number} AS TEXT), {width}, '0')"

    def json(self, text_sql: str) -> str:
        return text_sql if self.sqlite else f"CAST({text_sql} AS JSON)"

    def plus_seconds(self, instant: str, seconds: str) -> str:
        if self.sqlite:
            return f"(datetime({instant}, ({seconds}) || ' seconds') || '.000000')"
        return f"(CAST({instant} AS TIMESTAMPTZ) + ({seconds}) * INTERVAL '1 second')"

    def plus_days(self, instant: str, days: int) -> str:
        if self.sqlite:
            return f"(datetime({instant}, '+{days} days') || '.000000')"
        return f"({instant} + INTERVAL '{days} days')"

    def minus_days(self, day: str, days: str) -> str:
        if self.sqlite:
            return f"date({day}, '-' || ({days}) || ' days')"
        return f"(CAST({day} AS DATE) - CAST({days} AS INTEGER))"

    def moment(self, at: datetime) -> Any:
        """A bind value for an instant as the ledger stores it."""
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if self.sqlite else at

    def number_of(self, column: str, prefix: str) -> str:
        return f"CAST(substr({column}, {len(prefix) + 1}) AS BIGINT)"


def _choice(hashed: str, values: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"(CASE {hashed} % {len(values)} {whens} END)"


def _tiers_sql(context: Context, hashed: str) -> str:
    levels = context.tiers()
    if not levels:
        return "NULL"
    shares = [70, 90, 100][: len(levels)] if len(levels) <= 3 else None
    if shares is None:  # four or more levels: most in the first, the rest spread evenly
        step = 30 // (len(levels) - 1)
        shares = [70 + step * i for i in range(1, len(levels))] + [100]
        shares = [70, *shares[:-1]]
    whens = " ".join(
        f"WHEN {hashed} % 100 < {s} THEN '{t}'" for s, t in zip(shares, levels, strict=False)
    )
    return f"(CASE {whens} ELSE '{levels[-1]}' END)"


def _members_sql(context: Context, plan: Plan, sql: _Sql) -> str:
    h = {salt: mix_sql("series.n", salt, plan.seed) for salt in range(1, 10)}
    id_sql = f"'{plan.prefix}' || {sql.pad('series.n', 7)}"
    pref = _choice(h[4], PREFERENCES)
    second = _choice(f"({h[4]} + 1 + {h[5]} % 4)", PREFERENCES)
    pair = f"'[\"' || {pref} || '\",\"' || {second} || '\"]'"
    preference = f"(CASE WHEN {h[5]} % 3 = 0 THEN {pair} ELSE '\"' || {pref} || '\"' END)"
    tags = (
        f'\'{{"gender":"\' || {_choice(h[2], GENDERS)} || \'","age_band":"\' || '
        f"{_choice(h[3], AGE_BANDS)} || '\",\"preference\":' || {preference} || '}}'"
    )
    contact = (
        f'\'{{"phone":"+86 138\' || {sql.pad(f"{h[6]} % 100000000", 8)} || \'","email":"\' || '
        f"{id_sql} || '@example.com\"}}'"
    )
    flag = lambda salt, share: f"(CASE WHEN {h[salt]} % 100 < {share} THEN 'true' ELSE 'false' END)"  # noqa: E731
    consent = (
        f"'{{\"sms\":' || {flag(7, 80)} || ',\"email\":' || {flag(8, 50)} || ',\"call\":' || "
        f"{flag(9, 30)} || '}}'"
    )
    joined = sql.minus_days(":start", f"30 + {h[1]} % 700")
    return f"""
        INSERT INTO members (programme, id, name, tags, birthday, joined, contact, consent, tier,
            tier_since, qualifying_spend, balance, debt, created_at, updated_at)
        SELECT :programme, {id_sql}, 'Demo member ' || series.n, {sql.json(tags)},
            NULL, {joined}, {sql.json(contact)}, {sql.json(consent)}, {_tiers_sql(context, h[1])},
            {joined}, 0, 0, 0, :now, :now
        FROM {sql.series()}"""


def _sales_sql(
    sql: _Sql, plan: Plan, where: str, amount: str, at: str, bonus: str = "0"
) -> list[str]:
    """A round of sales for the members matching ``where``: transactions, lots, journal, balance.

    Each sale is ``amount`` yuan and earns ``amount`` points (1 per yuan) plus ``bonus``.
    """
    n = sql.number_of("m.id", plan.prefix)
    response = (
        '\'{"status":"committed","source":"demo","points":{"total":\' || (x.amount + x.bonus)'
        ' || \'},"totals":{"amount":"\' || x.amount || \'.00","payable":"\' || x.amount'
        " || '.00\"}}'"
    )
    return [
        f"""
        INSERT INTO transactions (programme, id, kind, member_id, request_hash, request, response,
            status, version, points_earned, points_redeemed, points_settled, at, created_at)
        SELECT :programme, :tx || x.id, 'sale', x.id, 'demo', {sql.json("'{}'")},
            {sql.json(response)}, 201, 'demo', x.amount + x.bonus, 0, 0, x.at, x.at
        FROM (SELECT m.id, {amount.format(n=n)} AS amount, {bonus.format(n=n)} AS bonus,
                {at.format(n=n)} AS at
              FROM members m
              WHERE m.programme = :programme AND substr(m.id, 1, :low_length) = :low
                AND {where.format(n=n)}) x""",
        f"""
        INSERT INTO lots (programme, member_id, points, points_left, earned_at, expires_at,
            transaction_id)
        SELECT programme, member_id, points_earned, points_earned, at,
            {sql.plus_days("at", EXPIRY_DAYS)}, id
        FROM transactions
        WHERE programme = :programme AND substr(id, 1, :tx_length) = :tx""",
        """
        INSERT INTO journal (programme, member_id, kind, points, lot_id, transaction_id, at, actor)
        SELECT programme, member_id, 'earn', points, id, transaction_id, earned_at, 'demo'
        FROM lots WHERE programme = :programme AND id > :last_lot""",
        """
        UPDATE members SET balance = balance + t.points_earned, last_purchase_at = t.at,
            last_activity_at = t.at, updated_at = t.at
        FROM transactions t
        WHERE members.programme = :programme AND t.programme = members.programme
            AND t.member_id = members.id AND substr(t.id, 1, :tx_length) = :tx""",
    ]


def _run_round(
    conn: Connection,
    sql: _Sql,
    plan: Plan,
    tx_prefix: str,
    statements: list[str],
    binds: Mapping[str, Any],
) -> None:
    last_lot = conn.execute(select(func.coalesce(func.max(lots.c.id), 0))).scalar_one()
    params = {
        **binds,
        "tx": tx_prefix,
        "tx_length": len(tx_prefix),
        "low": plan.prefix,
        "low_length": len(plan.prefix),
        "last_lot": last_lot,
    }
    for statement in statements:
        if statement is statements[-1] and not sql.sqlite:
            conn.execute(text("ANALYZE members, transactions"))  # fresh rows: let it hash-join
        conn.execute(text(statement), _used(statement, params))


def _used(statement: str, params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if f":{k}" in statement}


def generate(
    database: Engine, context: Context, plan: Plan, *, progress: Progress | None = None
) -> dict[str, Any]:
    """Insert ``plan.members`` members (and their history) into ``context.programme``."""
    note = progress or (lambda _step: None)
    sql = _Sql(dialect_name(database))
    _refuse_existing(database, context, plan)
    binds = {"programme": context.programme}
    with database.begin() as conn:
        opened = datetime.combine(plan.start, datetime.min.time(), UTC)
        conn.execute(
            text(_members_sql(context, plan, sql)),
            {
                **binds,
                "first": 1,
                "last": plan.members,
                "start": plan.start.isoformat(),
                "now": sql.moment(opened),
            },
        )
        note("members")
    if plan.history:
        _history(database, context, plan, sql, note)
    return summary(database, context, plan)


def _history(database: Engine, context: Context, plan: Plan, sql: _Sql, note: Progress) -> None:
    seed, month = plan.seed, 30 * 86400
    start = start_of_day(plan.start, context.tz)
    opening = {
        "where": "1 = 1",
        "amount": f"1 + {mix_sql('{n}', 20, seed)} % {2 * plan.critical_point}",
        "at": sql.plus_seconds(":t0", f"-1 - {mix_sql('{n}', 21, seed)} % {month}"),
    }
    with database.begin() as conn:
        statements = _sales_sql(sql, plan, **opening)
        _run_round(
            conn,
            sql,
            plan,
            f"{plan.prefix}open-",
            statements,
            {"programme": context.programme, "t0": sql.moment(start)},
        )
    note("opening balances")
    for k in range(plan.rounds):
        with database.begin() as conn:
            _round(conn, context, plan, sql, k)
        note(f"round {k + 1} of {plan.rounds}")


def _round(conn: Connection, context: Context, plan: Plan, sql: _Sql, k: int) -> None:
    seed, span = plan.seed, plan.round_days * 86400 - 2
    above, below = round(plan.active_above * 10000), round(plan.active_below * 10000)
    where = (
        f"{mix_sql('{n}', 100 + k, seed)} % 10000 < "
        f"(CASE WHEN m.balance >= {plan.critical_point} THEN {above} ELSE {below} END)"
    )
    amount = f"20 + {mix_sql('{n}', 300 + k, seed)} % 281"
    at = sql.plus_seconds(":t0", f"1 + {mix_sql('{n}', 200 + k, seed)} % {span}")
    t0 = start_of_day(plan.round_start(k), context.tz)
    statements = _sales_sql(sql, plan, where, amount, at)
    binds = {"programme": context.programme, "t0": sql.moment(t0)}
    _run_round(conn, sql, plan, f"{plan.prefix}r{k}-", statements, binds)


def _refuse_existing(database: Engine, context: Context, plan: Plan) -> None:
    with database.connect() as conn:
        found = conn.execute(
            select(func.count()).where(
                members.c.programme == context.programme,
                func.substr(members.c.id, 1, len(plan.prefix)) == plan.prefix,
            )
        ).scalar_one()
    if found:
        raise InputError(
            f"programme '{context.programme}' already has {found:,} members whose id starts with "
            f"'{plan.prefix}'; choose another --prefix or an empty database"
        )


def summary(database: Engine, context: Context, plan: Plan) -> dict[str, Any]:
    with database.connect() as conn:
        count, points = conn.execute(
            select(func.count(), func.coalesce(func.sum(members.c.balance), 0)).where(
                members.c.programme == context.programme
            )
        ).one()
    return {
        "programme": context.programme,
        "members": count,
        "points_outstanding": int(points),
        "history": {"from": plan.start.isoformat(), "until": plan.until.isoformat()}
        if plan.history
        else None,
        "planted_critical_point": plan.critical_point if plan.history else None,
        "rounds": plan.rounds if plan.history else 0,
        "round_days": plan.round_days,
    }


def respond(
    database: Engine,
    context: Context,
    campaign_id: str,
    rates: Mapping[str, float],
    *,
    prefix: str = "demo-",
    seed: int = 1,
    bonus: int = 0,
) -> None:
    """Simulate the campaign window: each assigned demo member buys once with the rate of their
    group (``rates["holdout"]`` for the holdout); group members' sales carry ``bonus`` points."""
    sql = _Sql(dialect_name(database))
    window_start, window_end = campaign_window(context.downpour(campaign_id), context.tz)
    span = max(int((window_end - window_start).total_seconds()) - 2, 1)
    _check_ids(rates)
    cases = " ".join(f"WHEN '{g}' THEN {round(r * 10000)}" for g, r in rates.items())
    member_group = (
        "(SELECT a.group_id FROM campaign_assignments a WHERE a.programme = m.programme "
        "AND a.campaign_id = :campaign AND a.member_id = m.id)"
    )
    where = f"{mix_sql('{n}', 400, seed)} % 10000 < (CASE {member_group} {cases} ELSE -1 END)"
    amount = f"20 + {mix_sql('{n}', 401, seed)} % 281"
    extra = f"(CASE {member_group} WHEN '{HOLDOUT}' THEN 0 ELSE {int(bonus)} END)"
    at = sql.plus_seconds(":t0", f"1 + {mix_sql('{n}', 402, seed)} % {span}")
    plan = Plan(members=0, until=window_start.date(), prefix=prefix, seed=seed)
    with database.begin() as conn:
        statements = _sales_sql(sql, plan, where, amount, at, extra)
        _run_round(
            conn,
            sql,
            plan,
            f"{prefix}{campaign_id}-",
            statements,
            {
                "programme": context.programme,
                "campaign": campaign_id,
                "t0": sql.moment(window_start),
            },
        )
        if bonus:
            _record_bonus(conn, context, campaign_id, f"{prefix}{campaign_id}-", bonus)


def _check_ids(rates: Mapping[str, float]) -> None:
    for group, rate in rates.items():
        if not _ID.match(group) or not 0 <= rate <= 1:
            raise InputError(f"a response rate is group=share with share 0..1, not {group}={rate}")


def _record_bonus(
    conn: Connection, context: Context, campaign_id: str, tx_prefix: str, bonus: int
) -> None:
    conn.execute(
        text(
            """
            INSERT INTO offer_uses (programme, member_id, offer_id, transaction_id, points, at,
                reverted)
            SELECT t.programme, t.member_id, :campaign, t.id, :bonus, t.at, :no
            FROM transactions t JOIN campaign_assignments a
              ON a.programme = t.programme AND a.campaign_id = :campaign
                AND a.member_id = t.member_id
            WHERE t.programme = :programme AND substr(t.id, 1, :tx_length) = :tx
              AND a.group_id <> 'holdout'"""
        ),
        {
            "campaign": campaign_id,
            "bonus": bonus,
            "no": False,
            "programme": context.programme,
            "tx": tx_prefix,
            "tx_length": len(tx_prefix),
        },
    )


__all__ = ["Plan", "generate", "mix", "mix_sql", "respond"]
