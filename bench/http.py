"""``python -m bench.http``: quotes and committed sales per second over real HTTP, beside a bare
endpoint.

Both apps are served the same way in the same run: gunicorn, sync workers, on loopback.
The baseline is a bare Flask app that answers ``{}`` to a POST; the figures are
``POST /v1/programmes/{programme}/quote`` for a stored member and
``POST /v1/programmes/{programme}/transactions`` with a distinct sale id every request,
spread over enrolled members, both with a 5-line basket. Both servers run throughout and
the loads are interleaved in rounds (the first load rotating), so each round's ratio compares
figures measured moments apart; the table gives the median round and the spread of the
ratios. Load comes from ``wrk`` (a Lua script makes each body; a 30 s socket time-out, so a
slow answer counts as latency, not as an error) or, without it, a Python client with one
thread per connection. Afterwards the ledger is checked (``engine.ledger.check``) and the
sales it holds are counted.

Exit status: 0 when every request succeeded and the ledger is sound, 1 otherwise; the
speed targets are reported in the table (``MISSED``), not enforced.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, func, select

from engine.ledger.check import check
from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from engine.ledger.tables import transactions

ROOT = Path(__file__).resolve().parents[1]
QUOTE_SHARE, COMMIT_SHARE = 0.50, 0.40  # of bare Flask's requests/s (issue 15)
COMMIT_SHARE_POSTGRES = 0.25  # a PostgreSQL commit is a network round trip per statement
QUOTE_P99, COMMIT_P99 = 3.0, 5.0  # at most this many times bare Flask's p99
WRK_TIMEOUT = "30s"  # wrk's default (2 s) would count a loaded machine's slowness as errors
AT = "2026-11-28T15:00:00+08:00"
LINES = [
    {"id": "1", "sku": "LATTE-L", "category": "coffee", "quantity": 1, "unit_price": "36.00"},
    {"id": "2", "sku": "CROISSANT", "category": "pastry", "quantity": 2, "unit_price": "18.00"},
    {"id": "3", "sku": "LATTE-M", "category": "coffee", "quantity": 1, "unit_price": "32.00"},
    {"id": "4", "sku": "MUFFIN", "category": "pastry", "quantity": 1, "unit_price": "22.00"},
    {"id": "5", "sku": "BEANS-250", "category": "beans", "quantity": 1, "unit_price": "98.00"},
]


@dataclass(frozen=True)
class Options:
    seconds: float = 10.0  # per figure per round
    warmup: float = 2.0
    rounds: int = 3
    clients: int = 32
    workers: int = 2
    members: int = 100
    programme: str = "coffee-shop"
    matcher: str = "durable"
    database: str | None = None  # default: a fresh SQLite file
    client: str = "auto"  # wrk, python or auto (wrk when installed)
    hosts: int = 1  # app instances on the one database; more than 1 adds a spread figure
    fairness: bool = False  # instead: one key's p99 alone, then beside another key's flood


@dataclass(frozen=True)
class Load:
    """What one load run measured; ``errors`` are failed requests and socket errors."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


BARE, QUOTE, COMMIT, SPREAD = "bare", "quote", "commit", "commit-hosts"
SPREAD_SHARE = 1.6  # N hosts' commits/s against one host's (issue 15, where cores allow)


@dataclass(frozen=True)
class Results:
    options: Options
    client: str
    rounds: list[dict[str, Load]]  # per round: bare, quote and commit loads
    sales_in_ledger: int
    inconsistencies: list[str]

    def loads(self, name: str) -> list[Load]:
        return [round_[name] for round_ in self.rounds]


# --- the servers ------------------------------------------------------------------------------


def bare_app() -> Flask:
    """The baseline: Flask, one route, nothing else (gunicorn ``bench.http:bare_app()``)."""
    app = Flask("bare")

    @app.post("/")
    def empty() -> dict[str, object]:
        return {}

    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(target: str, env: dict[str, str], workers: int) -> Iterator[str]:
    """gunicorn serving ``target`` on a free loopback port; its base URL while it runs."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", target, "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--worker-class", "sync", "--backlog", "2048"]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log
        )
        try:
            _wait_listening(port, process)
            yield f"http://127.0.0.1:{port}"
        except RuntimeError as error:
            log.seek(0)
            tail = log.read()[-3000:].decode(errors="replace")
            raise RuntimeError(f"{error}\n--- gunicorn's log ---\n{tail}") from error
        finally:
            _stop(process)


def _wait_listening(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn was not listening after {seconds:g} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_ready(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:  # URLError, a refused connection, or a loaded machine's time-out
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base}/readyz did not answer 200 within {seconds:g} s")


def _enrol(base: str, programme: str, key: str, members: int) -> None:
    for n in range(members):
        request = urllib.request.Request(
            f"{base}/v1/programmes/{programme}/members/m-{n}",
            data=b'{"name": "bench"}',
            method="PUT",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


# --- the load ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where to send the load: the URL, the headers, and the body of request ``n``."""

    url: str
    headers: dict[str, str]
    ok: int  # the status a success answers
    sale: tuple[str, int] | None = None  # (sale id prefix, members) or None: body "{}"
    quote: bool = False  # the sale as a quote's transaction, for a stored member

    def body(self, tag: str, n: int) -> bytes:
        if self.sale is None:
            return b"{}"
        prefix, members = self.sale
        member, sale = f"m-{n % members}", {"id": f"{prefix}-{tag}-{n}", "at": AT, "lines": LINES}
        if self.quote:
            return json.dumps({"member_id": member, "transaction": sale}).encode()
        return json.dumps({"member_id": member, **sale}).encode()


def run_load(target: Target, seconds: float, clients: int, client: str) -> Load:
    return (_wrk if client == "wrk" else _python)(target, seconds, clients)


def run_spread(targets: Sequence[Target], seconds: float, clients: int, client: str) -> Load:
    """The clients split evenly over ``targets`` (one per host), loaded at once: the
    requests added up, the latencies those of the slowest host."""
    if len(targets) == 1:
        return run_load(targets[0], seconds, clients, client)
    share = max(1, clients // len(targets))
    loads: list[Load] = []
    threads = [
        threading.Thread(target=lambda t=t: loads.append(run_load(t, seconds, share, client)))
        for t in targets
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(
        requests=sum(x.requests for x in loads),
        seconds=max(x.seconds for x in loads),
        p50_ms=max(x.p50_ms for x in loads),
        p99_ms=max(x.p99_ms for x in loads),
        errors=sum(x.errors for x in loads),
    )


WRK_SCRIPT = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tag", "w" .. threads)
end
local n = 0
local lines = '%(lines)s'
function request()
  n = n + 1
  local body = "{}"
  if %(sale)s then
    local sale = '"id":"%(prefix)s-%%s-%%d","at":"%(at)s","lines":%%s'
    sale = string.format(sale, tag, n, lines)
    local member = string.format('"member_id":"m-%%d"', n %% %(members)d)
    if %(quote)s then
      body = "{" .. member .. ',"transaction":{' .. sale .. "}}"
    else
      body = "{" .. member .. "," .. sale .. "}"
    end
  end
  return wrk.format("POST", nil, %(headers)s, body)
end
"""


def _lua_script(target: Target) -> str:
    prefix, members = target.sale or ("", 1)
    every = {"Content-Type": "application/json", **target.headers}
    headers = ", ".join(f'["{k}"] = "{v}"' for k, v in every.items())
    return WRK_SCRIPT % {
        "lines": json.dumps(LINES, separators=(",", ":")),
        "sale": "true" if target.sale else "false",
        "quote": "true" if target.quote else "false",
        "prefix": prefix,
        "members": members,
        "at": AT,
        "headers": "{" + headers + "}",
    }


def _wrk(target: Target, seconds: float, clients: int) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(_lua_script(target))
        script.flush()
        command = ["wrk", "--latency", "--timeout", WRK_TIMEOUT]
        command += ["-t", str(min(clients, os.cpu_count() or 1))]
        command += ["-c", str(clients), "-d", f"{seconds:g}s", "-s", script.name, target.url]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> Load:
    """Requests, duration, p50/p99 and errors from ``wrk --latency`` output."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if done is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = sum(map(int, socket_errors.groups())) if socket_errors else 0
    return Load(
        requests=int(done.group(1)),
        seconds=_seconds(float(done.group(2)), done.group(3)),
        p50_ms=_percentile(output, 50),
        p99_ms=_percentile(output, 99),
        errors=errors + (int(failed.group(1)) if failed else 0),
    )


def _seconds(value: float, unit: str) -> float:
    return value * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def _percentile(output: str, percent: int) -> float:
    found = re.search(rf"^\s*{percent}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk printed no {percent}% latency")
    return _seconds(float(found.group(1)), found.group(2)) * 1000


@dataclass
class Tally:
    """One Python client's successes (their latencies, in seconds) and failures."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0


def _python(target: Target, seconds: float, clients: int) -> Load:
    """One thread per client, a new connection per request (sync workers close them)."""
    tallies = [Tally() for _ in range(clients)]
    start = time.perf_counter()
    threads = [
        threading.Thread(target=_client, args=(target, f"p{i}", start + seconds, tally))
        for i, tally in enumerate(tallies)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    every = sorted(x for tally in tallies for x in tally.latencies)
    errors = sum(tally.errors for tally in tallies)
    cuts = statistics.quantiles(every, n=100) if len(every) > 1 else [math.nan] * 99
    return Load(len(every) + errors, elapsed, cuts[49] * 1000, cuts[98] * 1000, errors)


def _client(target: Target, tag: str, deadline: float, tally: Tally) -> None:
    url = urllib.parse.urlsplit(target.url)
    where = (url.hostname or "127.0.0.1", url.port or 80, url.path or "/")
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        began = time.perf_counter()
        try:
            status = _post(*where, target, tag, n)
        except OSError:
            status = 0
        if status == target.ok:
            tally.latencies.append(time.perf_counter() - began)
        else:
            tally.errors += 1


def _post(host: str, port: int, path: str, target: Target, tag: str, n: int) -> int:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        headers = {"Content-Type": "application/json", **target.headers}
        connection.request("POST", path, body=target.body(tag, n), headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


# --- the run ----------------------------------------------------------------------------------


def measure(options: Options) -> Results:
    client = _choose_client(options.client)
    with tempfile.TemporaryDirectory(prefix="bench-http-") as scratch:
        database = options.database or f"sqlite:///{Path(scratch) / 'ledger.sqlite'}"
        engine = open_database(database)  # migrated once, before the workers fork
        try:
            rounds = _measure_rounds(options, client, database, engine)
            return Results(options, client, rounds, _sales(engine), _check(engine))
        finally:
            engine.dispose()


def _choose_client(choice: str) -> str:
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if choice == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk), or use --client python")
    return choice


def app_env(options: Options, database: str) -> dict[str, str]:
    return {
        "LOYALTY_DATABASE_URL": database,
        "LOYALTY_RULES": str(ROOT / "rules"),
        "LOYALTY_MATCHER": options.matcher,
        "LOYALTY_RATE_LIMIT_POS": "1000000/minute",  # one key is the whole load here
    }


def _measure_rounds(
    options: Options, client: str, database: str, engine: Engine
) -> list[dict[str, Load]]:
    """Every server up throughout; each round loads bare, quote and commit once (and commit
    spread over every host), the first rotating, after one warm-up of each."""
    key = create_key(engine, "pos", "bench.http")
    env = app_env(options, database)
    with ExitStack() as stack:
        bare = stack.enter_context(gunicorn("bench.http:bare_app()", {}, options.workers))
        apps = [
            stack.enter_context(gunicorn("api:create_app()", env, options.workers))
            for _ in range(options.hosts)
        ]
        for app in apps:
            _wait_ready(app)
        _enrol(apps[0], options.programme, key, options.members)
        targets = _targets(options, bare, apps, key)
        for name, target in targets.items():
            run_spread(target(f"warm-{name}"), options.warmup, options.clients, client)
        rounds: list[dict[str, Load]] = []
        names = list(targets)
        for index in range(options.rounds):
            shift = index % len(names)
            loads = {
                name: run_spread(
                    targets[name](f"r{index}"), options.seconds, options.clients, client
                )
                for name in names[shift:] + names[:shift]
            }
            rounds.append({name: loads[name] for name in names})
        return rounds


def _targets(
    options: Options, bare: str, apps: list[str], key: str
) -> dict[str, Callable[[str], list[Target]]]:
    """Per figure, its targets (one per host it loads) given a tag that keeps sale ids
    distinct across loads."""
    bases = [f"{app}/v1/programmes/{options.programme}" for app in apps]
    headers = {"Authorization": f"Bearer {key}"}
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    members = options.members

    def commits(tag: str, hosts: list[str]) -> list[Target]:
        return [
            Target(f"{base}/transactions", headers, ok=201, sale=(f"{prefix}-{tag}-h{i}", members))
            for i, base in enumerate(hosts)
        ]

    figures: dict[str, Callable[[str], list[Target]]] = {
        BARE: lambda tag: [Target(f"{bare}/", {}, ok=200)],
        QUOTE: lambda tag: [
            Target(
                f"{bases[0]}/quote", headers, ok=200, sale=(f"{prefix}-q{tag}", members), quote=True
            )
        ],
        COMMIT: lambda tag: commits(tag, bases[:1]),
    }
    if len(bases) > 1:
        figures[SPREAD] = lambda tag: commits(f"s{tag}", bases)
    return figures


def _sales(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(transactions).where(transactions.c.kind == "sale")
        return int(conn.execute(query).scalar_one())


def _check(engine: Engine) -> list[str]:
    return [f"{i.programme}/{i.subject}: {i.message}" for i in check(engine)]


FAIR_LIMIT = "5/second"  # the flooding pos key's limit, per worker (memory storage)


@dataclass(frozen=True)
class Fairness:
    alone: Load  # the neighbour key's commits, nobody else sending
    beside_flood: Load  # the same, while another key floods (mostly 429s)
    flood: Load


def measure_fairness(options: Options) -> Fairness:
    """One key commits from one client, alone and then beside a flood of commits from a pos
    key (``options.clients`` clients) limited to ``FAIR_LIMIT``. The neighbour is an admin key
    so that its own (default) limit is not what is measured. The issue's target: the
    neighbour's p99 beside the flood stays within 2x its p99 alone."""
    with tempfile.TemporaryDirectory() as folder:
        database = options.database or f"sqlite:///{Path(folder) / 'fair.sqlite'}"
        engine = open_database(database)
        env = {
            "LOYALTY_DATABASE_URL": database,
            "LOYALTY_RULES": str(ROOT / "rules"),
            "LOYALTY_MATCHER": options.matcher,
            "LOYALTY_RATE_LIMIT_POS": FAIR_LIMIT,
        }
        neighbour_key, flood_key = create_key(engine, "admin"), create_key(engine, "pos")
        engine.dispose()
        with gunicorn("api:create_app()", env, options.workers) as base:
            _wait_ready(base)
            _enrol(base, options.programme, neighbour_key, options.members)
            url = f"{base}/v1/programmes/{options.programme}/transactions"
            run = uuid.uuid4().hex[:8]

            def target(key: str, tag: str) -> Target:
                headers = {"Authorization": f"Bearer {key}"}
                return Target(url, headers, ok=201, sale=(f"{tag}-{run}", options.members))

            neighbour, flooding = target(neighbour_key, "alone"), target(flood_key, "flood")
            _python(neighbour, options.warmup, 1)
            alone = _python(neighbour, options.seconds, 1)
            floods: list[Load] = []
            flood = threading.Thread(
                target=lambda: floods.append(_python(flooding, options.seconds, options.clients))
            )
            flood.start()
            beside = _python(target(neighbour_key, "beside"), options.seconds, 1)
            flood.join()
    return Fairness(alone, beside, floods[0])


def fairness_table(result: Fairness, options: Options) -> str:
    ratio = result.beside_flood.p99_ms / result.alone.p99_ms
    flood = result.flood
    return "\n".join(
        [
            f"one key committing from 1 client, alone and beside a flood from a pos key "
            f"({options.clients} clients, limit {FAIR_LIMIT} per worker); "
            f"gunicorn {options.workers} sync workers; {options.seconds:g} s each",
            f"neighbour p99 alone:        {result.alone.p99_ms:.1f} ms "
            f"({result.alone.per_second:,.0f}/s, {result.alone.errors} errors)",
            f"neighbour p99 beside flood: {result.beside_flood.p99_ms:.1f} ms "
            f"({result.beside_flood.per_second:,.0f}/s, {result.beside_flood.errors} errors)",
            f"ratio: {ratio:.2f}x  {_target('<= 2x', ratio <= 2)}",
            f"flood: {flood.requests:,} requests, {flood.errors:,} refused (429) or failed",
        ]
    )


# --- the table --------------------------------------------------------------------------------

HEADER = ("figure", "value", "baseline", "ratio", "target")


Cells = tuple[str, str, str, str, str]


def rows(results: Results) -> list[Cells]:
    bare = results.loads(BARE)
    clients = results.options.clients
    clean = not results.inconsistencies
    found: list[Cells] = []
    postgres = (results.options.database or "").startswith("postgresql")
    commit_share = COMMIT_SHARE_POSTGRES if postgres else COMMIT_SHARE
    for name, share, p99 in ((QUOTE, QUOTE_SHARE, QUOTE_P99), (COMMIT, commit_share, COMMIT_P99)):
        loads = results.loads(name)
        found += [
            _ratio_row(
                f"{name}s/s, {clients} clients",
                [x.per_second for x in loads],
                [b.per_second for b in bare],
                lambda v: f"{v:,.0f}/s",
                at_least=share,
            ),
            _ratio_row(
                f"{name} p50 latency",
                [x.p50_ms for x in loads],
                [b.p50_ms for b in bare],
                lambda v: f"{v:.1f} ms",
            ),
            _ratio_row(
                f"{name} p99 latency",
                [x.p99_ms for x in loads],
                [b.p99_ms for b in bare],
                lambda v: f"{v:.1f} ms",
                at_most=p99,
            ),
        ]
    if SPREAD in results.rounds[0]:
        found.append(
            _ratio_row(
                f"commits/s over {results.options.hosts} hosts, one database",
                [x.per_second for x in results.loads(SPREAD)],
                [x.per_second for x in results.loads(COMMIT)],
                lambda v: f"{v:,.0f}/s",
                at_least=SPREAD_SHARE,
                baseline="one host",
            )
        )
    every = [load for round_ in results.rounds for load in round_.values()]
    errors, requests = sum(x.errors for x in every), sum(x.requests for x in every)
    found += [
        (
            "errors (non-2xx, socket)",
            f"{errors:,} of {requests:,}",
            "all loads",
            "-",
            _target("0", errors == 0),
        ),
        (
            "ledger check",
            "clean" if clean else f"{len(results.inconsistencies)} inconsistencies",
            f"{results.sales_in_ledger:,} sales in the ledger",
            "-",
            _target("clean", clean),
        ),
    ]
    return found


def _ratio_row(
    figure: str,
    values: list[float],
    baselines: list[float],
    show: Callable[[float], str],
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    baseline: str = "bare Flask POST",
) -> Cells:
    """The median round's figure and baseline; the median per-round ratio and its spread."""
    ratios = [v / b for v, b in zip(values, baselines, strict=True)]
    ratio = statistics.median(ratios)
    spread = f" ({min(ratios):.2f}-{max(ratios):.2f})" if len(ratios) > 1 else ""
    verdict = "-"
    if at_least is not None:
        short = "bare" if baseline == "bare Flask POST" else baseline
        verdict = _target(f">= {at_least:.2f}x {short}", ratio >= at_least)
    elif at_most is not None:
        verdict = _target(f"<= {at_most:g}x bare", ratio <= at_most)
    return (
        figure,
        show(statistics.median(values)),
        f"{show(statistics.median(baselines))}  {baseline}",
        f"{ratio:.2f}x{spread}",
        verdict,
    )


def _target(text: str, met: bool) -> str:
    return f"{text}  {'ok' if met else 'MISSED'}"


def table(results: Results) -> str:
    body = rows(results)
    widths = [max(len(line[i]) for line in (HEADER, *body)) for i in range(len(HEADER))]
    lines = [
        " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (HEADER, *body)
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join([_caption(results), *lines])


def _caption(results: Results) -> str:
    o = results.options
    return (
        f"POST /v1/programmes/{o.programme}/quote and /transactions (5-line sale, stored "
        f"members, {o.members} of them, {o.matcher} matcher) vs bare Flask; gunicorn "
        f"{o.workers} sync workers on loopback ({o.hosts} app instance(s) on one "
        f"{'PostgreSQL' if (o.database or '').startswith('postgresql') else 'SQLite'} ledger); "
        f"{o.clients} clients via {results.client}; "
        f"median of {len(results.rounds)} interleaved rounds x {o.seconds:g} s per figure "
        f"after {o.warmup:g} s warm-up, ratio per round (spread lowest-highest); "
        f"{os.cpu_count()} CPUs"
    )


def succeeded(results: Results) -> bool:
    errors = sum(x.errors for round_ in results.rounds for x in round_.values())
    return errors == 0 and not results.inconsistencies


# --- the command ------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None = None) -> Options:
    default = Options()
    parser = argparse.ArgumentParser(
        prog="python -m bench.http", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--seconds", type=_positive(float), default=default.seconds, help="per figure"
    )
    parser.add_argument("--warmup", type=_positive(float), default=default.warmup)
    parser.add_argument(
        "--rounds", type=_positive(int), default=default.rounds, help="interleaved rounds"
    )
    parser.add_argument(
        "--hosts",
        type=_positive(int),
        default=default.hosts,
        help="app instances sharing the database (give --database a PostgreSQL URL)",
    )
    parser.add_argument("--clients", type=_positive(int), default=default.clients)
    parser.add_argument("--workers", type=_positive(int), default=default.workers)
    parser.add_argument("--members", type=_positive(int), default=default.members)
    parser.add_argument("--programme", default=default.programme)
    parser.add_argument("--matcher", choices=("durable", "python"), default=default.matcher)
    parser.add_argument("--database", help="ledger URL (default: a fresh SQLite file)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default=default.client)
    parser.add_argument(
        "--fairness", action="store_true", help="a key's p99 alone and beside another's flood"
    )
    return Options(**vars(parser.parse_args(argv)))


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def convert(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value

    convert.__name__ = getattr(kind, "__name__", "number")
    return convert


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    if options.fairness:
        print(fairness_table(measure_fairness(options), options))
        return 0
    results = measure(options)
    print(table(results))
    for problem in results.inconsistencies[:20]:
        print(f"  ledger: {problem}")
    return 0 if succeeded(results) else 1


if __name__ == "__main__":
    sys.exit(main())
