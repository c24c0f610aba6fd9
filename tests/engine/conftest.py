"""Build small programmes from YAML text and quote sales on them with either matcher."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from engine.money import currency
from engine.policy.loader import validate_document
from engine.pricing import Evaluator, Quote
from engine.pricing.model import parse_member, parse_transaction

BASE = """
programme: {id: shop, name: Shop, currency: CNY, timezone: Asia/Shanghai, pitch: "1 point per yuan"}
"""
_names = itertools.count()


def programme_from(yaml_text: str):
    report = validate_document((BASE + textwrap.dedent(yaml_text)).encode(), f"test-{next(_names)}")
    assert report.ok, [p.render() for p in report.problems]
    return report.programmes[0]


def line(id: str, sku: str, price: str, quantity: int = 1, category: str = "", **extra: Any):
    return {
        "id": id,
        "sku": sku,
        "unit_price": price,
        "quantity": quantity,
        "category": category,
        **extra,
    }


def sale(*lines: dict, at: str = "2026-11-24T10:00:00+08:00", **extra: Any) -> dict:
    return {"id": "t1", "at": at, "lines": list(lines), "store": "s1", "channel": "store", **extra}


@pytest.fixture(params=["durable", "python"])
def matcher(request) -> str:
    return request.param


@pytest.fixture
def quote(matcher: str) -> Callable[..., Quote]:
    """quote(programme_yaml, member_dict, transaction_dict, **options) -> Quote."""
    compiled: dict[str, Evaluator] = {}

    def run(yaml_text: str, member: dict, transaction: dict, **options: Any) -> Quote:
        if yaml_text not in compiled:
            compiled[yaml_text] = Evaluator(programme_from(yaml_text), matcher=matcher)
        evaluator = compiled[yaml_text]
        cur = currency(evaluator.currency.code)
        return evaluator.quote(
            parse_member(member, cur), parse_transaction(transaction, cur), **options
        )

    return run
