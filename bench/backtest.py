"""Backtest speed: replayed events per second beside the plain quote rate (same run).

A history of sales is written straight into a SQLite ledger (the replay reads only the
requests, so the rows need not be posted), then back-tested under two versions: the live
coffee shop and the same with beans earning half. The replay posts every event through the
real ledger into scratch SQLite copies; the plain quote prices the same baskets on an
in-memory member with no database at all, the ceiling a replay could approach.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from engine.backtest.run import backtest
from engine.ledger.db import open_database
from engine.ledger.tables import members, transactions
from engine.policy.loader import load_programme
from engine.pricing import Evaluator
from engine.pricing.model import Member, parse_transaction

COFFEE = "rules/coffee-shop/programme.yaml"
ITEMS = [
    ("LATTE", "coffee", "32.00"),
    ("CROISSANT", "pastry", "18.00"),
    ("BEANS", "beans", "98.00"),
    ("MUG", "merch", "59.00"),
]
START = datetime(2026, 3, 1, tzinfo=UTC)
PERIOD = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC))


def evaluators(folder: Path) -> list[tuple[str, Evaluator]]:
    live = Evaluator(load_programme(COFFEE), matcher="python")
    text = (
        Path(COFFEE)
        .read_text(encoding="utf-8")
        .replace("      points: 2\n", "      points: 1\n", 1)
    )
    (folder / "half-beans.yaml").write_text(text, encoding="utf-8")
    half = Evaluator(load_programme(str(folder / "half-beans.yaml")), matcher="python")
    return [("live", live), ("half-beans", half)]


def sale(number: int, member: int, at: datetime, rng: random.Random) -> dict[str, Any]:
    chosen = rng.sample(ITEMS, rng.randint(1, 3))
    return {
        "id": f"s{number}",
        "at": at.isoformat(),
        "store": f"store-{member % 5}",
        "lines": [
            {"id": str(i), "sku": sku, "category": cat, "unit_price": price, "quantity": 1}
            for i, (sku, cat, price) in enumerate(chosen, 1)
        ],
    }


def seed(url: str, n_members: int, n_sales: int) -> list[dict[str, Any]]:
    """Members and a year of sales in time order; returns the sale bodies."""
    engine = open_database(url)
    rng = random.Random(17)
    step = timedelta(days=365) / n_sales
    bodies, rows = [], []
    for number in range(n_sales):
        member = rng.randrange(n_members)
        at = START + step * number
        body = sale(number, member, at, rng)
        bodies.append(body)
        rows.append(
            {
                "programme": "coffee-shop",
                "id": body["id"],
                "kind": "sale",
                "member_id": f"m{member}",
                "request_hash": "-",
                "request": body,
                "response": {},
                "status": 201,
                "at": at,
                "created_at": at,
            }
        )
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(members),
            [
                {
                    "programme": "coffee-shop",
                    "id": f"m{i}",
                    "joined": date(2026, 1, 5),
                    "tags": {},
                    "contact": {},
                    "consent": {},
                    "tier": "standard",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n_members)
            ],
        )
        for first in range(0, len(rows), 5_000):
            conn.execute(insert(transactions), rows[first : first + 5_000])
    engine.dispose()
    return bodies


def quote_rate(evaluator: Evaluator, bodies: Sequence[dict[str, Any]]) -> float:
    member = Member(id="m", tier="standard", joined=date(2026, 1, 5))
    parsed = [parse_transaction(b, evaluator.currency) for b in bodies]
    began = time.perf_counter()
    for transaction in parsed:
        evaluator.quote(member, transaction)
    return len(parsed) / (time.perf_counter() - began)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backtest", description=__doc__)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--sales", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="200 members, 2,000 sales")
    args = parser.parse_args(argv)
    n_members, n_sales = (200, 2_000) if args.quick else (args.members, args.sales)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'source.sqlite'}"
        bodies = seed(url, n_members, n_sales)
        versions = evaluators(Path(folder))
        plain = quote_rate(versions[0][1], bodies)
        engine = open_database(url, migrate=False)
        began = time.perf_counter()
        test = backtest(engine, versions, *PERIOD)
        elapsed = time.perf_counter() - began
        engine.dispose()
    replayed = test.warmup_events + test.events * len(versions)
    rate = replayed / elapsed
    million = 1_000_000 * len(versions) / rate
    print(f"backtest: {n_sales:,} sales of {n_members:,} members; period holds {test.events:,}")
    print(f"{'figure':<44}{'value':>14}  baseline")
    print(f"{'plain quote, in memory (no database)':<44}{plain:>12,.0f}/s")
    ratio = f"{rate / plain:.3f}x of plain quote"
    print(f"{'replay through the ledger, scratch SQLite':<44}{rate:>12,.0f}/s  {ratio}")
    print(f"{'backtest wall time (2 versions)':<44}{elapsed:>13,.1f}s")
    print(f"{'projected: 1,000,000 sales, 2 versions':<44}{million:>13,.0f}s  target 60 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
