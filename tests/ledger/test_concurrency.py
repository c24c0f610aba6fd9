"""Parallel tills: never more points spent than the balance, never a sale posted twice.

Each test starts real threads with their own database connections against
SQLite (serialised writers) and PostgreSQL (row locks), then runs ledger check.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from engine.errors import LoyaltyError
from engine.ledger.check import check
from tests.ledger.conftest import BEANS, sale

SHOP = "coffee-shop"
TILLS = 8


def run_in_parallel(work: Callable[[int], object]) -> list[object]:
    """Start every till at the same moment; collect each result or domain error."""
    start = threading.Barrier(TILLS)
    results: list[object] = [None] * TILLS

    def till(index: int) -> None:
        start.wait()
        try:
            results[index] = work(index)
        except LoyaltyError as error:
            results[index] = error

    threads = [threading.Thread(target=till, args=(i,)) for i in range(TILLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_parallel_redemptions_never_spend_more_than_the_balance(ledger, database):
    ledger.enrol(SHOP, "m1", {"joined": "2026-01-05"})
    earned = ledger.commit_sale(
        SHOP, "m1", sale("seed", BEANS, BEANS, at="2026-11-01T10:00:00+08:00")
    )
    balance = earned.response["balance_after"]  # 392 points: enough for 3 redemptions of 100
    # A 10-yuan item paid entirely with 100 points earns nothing, so only redemptions move points.
    item = ("TEA", "tea", "10.00", 1)
    results = run_in_parallel(
        lambda i: ledger.commit_sale(SHOP, "m1", sale(f"r{i}", item, redeem_points=100))
    )
    committed = [r for r in results if not isinstance(r, Exception)]
    refused = Counter(
        getattr(r, "code", type(r).__name__) for r in results if isinstance(r, Exception)
    )
    assert len(committed) == balance // 100
    assert refused == {"redemption.exceeds_balance": TILLS - balance // 100}
    assert min(r.response["balance_after"] for r in committed) == balance % 100
    assert check(database) == []


def test_parallel_retries_of_one_sale_post_it_once(ledger, database):
    ledger.enrol(SHOP, "m1", {"joined": "2026-01-05"})
    results = run_in_parallel(lambda i: ledger.commit_sale(SHOP, "m1", sale("same", BEANS)))
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(not r.replayed for r in results) == 1
    assert len({str(r.response) for r in results}) == 1
    assert check(database) == []


def test_parallel_sales_of_different_members_all_post(ledger, database):
    for i in range(TILLS):
        ledger.enrol(SHOP, f"m{i}", {"joined": "2026-01-05"})
    results = run_in_parallel(lambda i: ledger.commit_sale(SHOP, f"m{i}", sale(f"t{i}", BEANS)))
    assert all(r.status == 201 for r in results)
    assert check(database) == []
