"""Builders shared by the rule tests: conditions, facts, unique names, subprocess runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.policy.problems import Problem, render_path
from engine.rules import Condition, Facts, parse_when

REPO = Path(__file__).resolve().parents[2]


def condition(rule_id: str, when: dict[str, Any] | None, exponent: int = 2) -> Condition:
    return parse_when(rule_id, when, currency_exponent=exponent)


def records(problems: Sequence[Problem]) -> list[dict[str, str]]:
    """Problems as a reader sees them: the dotted path and the message."""
    return [{"path": render_path(p.path), "message": p.message} for p in problems]


def unique_name(prefix: str = "test") -> str:
    return f"{prefix}@{uuid.uuid4().hex[:12]}"


def line(index: int, sku: str = "latte", category: str = "coffee", **fields: Any) -> dict[str, Any]:
    quantity = fields.pop("quantity", 1)
    unit_price = fields.pop("unit_price", 450)
    return {
        "index": index,
        "sku": sku,
        "category": category,
        "quantity": quantity,
        "unit_price": unit_price,
        "amount": fields.pop("amount", quantity * unit_price),
        **fields,
    }


def facts(
    transaction: dict[str, Any] | None = None,
    member: dict[str, Any] | None = None,
    lines: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
) -> Facts:
    """Facts with plausible defaults; pass a field as None to leave it absent."""
    base_transaction = {
        "amount": 5000,
        "channel": "pos",
        "store": "s1",
        "date": 20261201,
        "weekday": "tue",
        "hour": 12,
        "item_count": len(lines),
    }
    base_member = {
        "tier": "silver",
        "balance": 100,
        "days_since_last_purchase": 7,
        "days_since_joined": 400,
        "joined": 20251028,
        "birthday_today": False,
        "birthday_this_week": False,
        "birthday_this_month": False,
        "tags": {},
    }
    return Facts(_merge(base_transaction, transaction), _merge(base_member, member), tuple(lines))


def _merge(base: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    merged = {**base, **(changes or {})}
    return {key: value for key, value in merged.items() if value is not None}


def run_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter so a segfault or a hang fails one test, not pytest."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
