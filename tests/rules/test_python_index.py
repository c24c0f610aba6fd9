"""The Python matcher tries only the rules whose indexed test a sale can pass: its matches
are those of trying every rule, and a large programme's unmatched rules are not tried."""

from __future__ import annotations

from typing import Any

from engine.rules import Facts
from engine.rules.matching import Match
from engine.rules.python import PythonMatcher
from tests.rules.helpers import condition


def line(index: int, sku: str, category: str = "coffee") -> dict[str, Any]:
    return {"index": index, "sku": sku, "category": category, "quantity": 1, "amount": 100}


def sale(*lines: dict[str, Any], store: str = "S1", tier: str = "gold") -> Facts:
    transaction = {"amount": 100 * len(lines), "store": store, "channel": "pos"}
    return Facts(transaction, {"tier": tier, "balance": 0}, tuple(lines))


WHENS: dict[str, dict[str, Any]] = {
    "by-store": {"transaction": {"store": "S1"}},
    "by-stores": {"transaction": {"store": {"in": ["S2", "S1"]}}},
    "by-tier": {"member": {"tier": "gold"}},
    "by-sku": {"lines": [{"sku": "LATTE"}]},
    "two-lines": {"lines": [{"category": "coffee"}, {"sku": {"in": ["BUN", "PIE"]}}]},
    "no-eq": {"transaction": {"amount": {"gte": 100}}},
    "everything": None,
    "other-store": {"transaction": {"store": "S9"}},
    "tags": {"member": {"tags": {"segment": {"in": ["vip"]}}}},
}


def every_rule_tried(matcher: PythonMatcher, facts: Facts) -> list[Match]:
    found: set[Match] = set()
    for rule in matcher._rules:
        rule.collect(facts, found)
    return sorted(found, key=lambda m: (m.rule_id, m.lines))


def test_the_indexed_matcher_matches_as_trying_every_rule_would() -> None:
    matcher = PythonMatcher("t", [condition(name, when) for name, when in WHENS.items()])
    for facts in (
        sale(line(0, "LATTE"), line(1, "BUN", "pastry")),
        sale(line(0, "TEA", "tea"), store="S2", tier="silver"),
        sale(store="S9"),
    ):
        matched = sorted(matcher.match(facts), key=lambda m: (m.rule_id, m.lines))
        assert matched == every_rule_tried(matcher, facts)
    assert {m.rule_id for m in matcher.match(sale(line(0, "LATTE")))} >= {"by-sku", "by-store"}


def test_a_thousand_rules_on_skus_try_only_the_skus_in_the_basket() -> None:
    whens = {f"sku-{n}": {"lines": [{"sku": f"SKU-{n}"}]} for n in range(1000)}
    matcher = PythonMatcher("t", [condition(name, when) for name, when in whens.items()])
    facts = sale(line(0, "SKU-7"), line(1, "SKU-700"))
    assert matcher._index.candidates(facts) == {7, 700}
    assert [m.rule_id for m in matcher.match(facts)] == ["sku-7", "sku-700"]
