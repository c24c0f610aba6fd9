"""Crash safety: SIGKILL a process in the middle of a stream of commits.

After the kill no sale is half posted (ledger check passes) and every sale the
process reported as committed is stored.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import select

from engine.ledger.check import check
from engine.ledger.tables import transactions

ROOT = Path(__file__).resolve().parents[2]
WRITER = textwrap.dedent(
    """
    import sys
    from engine.ledger.db import open_database
    from engine.ledger.service import Ledger
    from engine.policy.loader import load_programme
    from engine.pricing import Evaluator

    evaluator = Evaluator(load_programme("rules/coffee-shop/programme.yaml"), matcher="python")
    ledger = Ledger(open_database(sys.argv[1]), {evaluator.programme.id: evaluator})
    ledger.enrol("coffee-shop", "m1", {"joined": "2026-01-05"})
    for n in range(100_000):
        line = {"id": "1", "sku": "BEANS", "category": "beans", "unit_price": "98.00", "quantity": 1}
        body = {"id": f"t{n}", "at": "2026-11-24T12:00:00+08:00", "lines": [line]}
        if n % 3 == 2:
            body["redeem_points"] = 100
        ledger.commit_sale("coffee-shop", "m1", body)
        print(f"t{n}", flush=True)
    """
)


def test_a_killed_writer_leaves_no_half_posted_sale(database_url, database):
    acknowledged: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, database_url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as writer:
        for line in writer.stdout:
            acknowledged.append(line.strip())
            if len(acknowledged) == 40:
                os.kill(writer.pid, signal.SIGKILL)
                break
        errors = writer.stderr.read() if len(acknowledged) < 40 else ""
        writer.wait(timeout=30)
    assert len(acknowledged) == 40, errors
    assert writer.returncode == -signal.SIGKILL
    with database.connect() as conn:
        stored = set(conn.execute(select(transactions.c.id)).scalars())
    assert set(acknowledged) <= stored
    assert check(database) == []
