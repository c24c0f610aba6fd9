"""The plain-Python matcher: the rule tree compiled once into closures.

Per rule: one predicate for the transaction, one for the member, one per line pattern; at
match time the candidate lines of each pattern are filtered, then every assignment of
distinct lines to patterns is enumerated.

Rules are indexed by what they test, so that a quote's cost follows the rules that could
match, not every rule of the programme: a rule with an ``eq`` or ``in`` test on a transaction
field, a member field or a line pattern's field is filed under that field and its values, and
only tried when a fact (or some basket line) holds one of them. The index only narrows the
rules tried; each is still checked in full, so matches are the same with or without it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.rules.facts import Facts
from engine.rules.matching import Match, ordered
from engine.rules.tree import TAG_PREFIX, Condition, Scalar, Test

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]


def compile_test(test: Test) -> Predicate:
    """One test → a predicate; a missing (or ``None``) field is false whatever the operator."""
    if test.field.startswith(TAG_PREFIX):
        return _tag_predicate(test.field.removeprefix(TAG_PREFIX), test.op, test.value)
    return _field_predicate(test.field, test.op, test.value)


def _field_predicate(name: str, op: str, value: Any) -> Predicate:
    if op == "eq":
        return lambda r: r.get(name) == value
    if op == "in":
        allowed = frozenset(value)
        return lambda r: r.get(name) in allowed
    if op == "not_in":
        refused = frozenset(value)
        return lambda r: (x := r.get(name)) is not None and x not in refused
    if op == "between":
        low, high = value
        if low > high:  # a yearly range over new year (month_day only, see Test)
            return lambda r: (x := r.get(name)) is not None and (x >= low or x <= high)
        return lambda r: (x := r.get(name)) is not None and low <= x <= high
    return _comparison(name, op, value)


def _comparison(name: str, op: str, value: Scalar) -> Predicate:
    if op == "ne":
        return lambda r: (x := r.get(name)) is not None and x != value
    if op == "gt":
        return lambda r: (x := r.get(name)) is not None and x > value
    if op == "gte":
        return lambda r: (x := r.get(name)) is not None and x >= value
    if op == "lt":
        return lambda r: (x := r.get(name)) is not None and x < value
    if op == "lte":
        return lambda r: (x := r.get(name)) is not None and x <= value
    raise ValueError(f"unknown operator {op!r}")


def _tag_predicate(tag: str, op: str, value: Any) -> Predicate:
    wanted = frozenset(value)

    def values(member: Record) -> Sequence[str]:
        return (member.get("tags") or {}).get(tag) or ()

    if op == "in":
        return lambda r: not wanted.isdisjoint(values(r))
    if op == "not_in":
        return lambda r: wanted.isdisjoint(values(r))
    raise ValueError(f"tags take in or not_in, not {op!r}")


def compile_block(tests: Sequence[Test]) -> Predicate | None:
    """All tests of one block → one predicate; ``None`` when there is nothing to test."""
    predicates = [compile_test(test) for test in tests]
    return functools.reduce(_both, predicates) if predicates else None


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda record: first(record) and second(record)


@dataclass(frozen=True)
class _Rule:
    rule_id: str
    transaction: Predicate | None
    member: Predicate | None
    lines: tuple[Predicate, ...]
    alone: Match  # the one match of a rule without line patterns

    @classmethod
    def compile(cls, condition: Condition) -> _Rule:
        return cls(
            condition.rule_id,
            compile_block(condition.transaction),
            compile_block(condition.member),
            tuple(compile_block(p) or _any_line for p in condition.lines),
            Match(condition.rule_id, ()),
        )

    def collect(self, facts: Facts, found: set[Match]) -> None:
        if self.transaction is not None and not self.transaction(facts.transaction):
            return
        if self.member is not None and not self.member(facts.member):
            return
        if not self.lines:
            found.add(self.alone)
            return
        candidates = []
        for predicate in self.lines:
            indexes = [line["index"] for line in facts.lines if predicate(line)]
            if not indexes:
                return
            candidates.append(indexes)
        found.update(Match(self.rule_id, lines) for lines in _assignments(candidates))


def _any_line(line: Record) -> bool:
    return True


def _assignments(candidates: list[list[int]]) -> Iterator[tuple[int, ...]]:
    """Every way to give each pattern its own line (ordered, like durable-rules' joins)."""
    if len(candidates) == 1:
        return ((index,) for index in candidates[0])
    return _distinct(candidates, ())


def _distinct(candidates: list[list[int]], chosen: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    if len(chosen) == len(candidates):
        yield chosen
        return
    for index in candidates[len(chosen)]:
        if index not in chosen:
            yield from _distinct(candidates, (*chosen, index))


Block = str  # "transaction", "member" or "lines"
Key = tuple[Block, str]  # a block and one of its fields
_INDEXED_OPS = frozenset({"eq", "in"})


class _Index:
    """Rules filed under one necessary test each: (block, field) → value → rule positions."""

    def __init__(self, conditions: Sequence[Condition]) -> None:
        self.always: list[int] = []  # rules with no eq/in test: tried on every sale
        self.by_key: dict[Key, dict[Scalar, list[int]]] = {}
        for position, condition in enumerate(conditions):
            filed = _filing(condition)
            if filed is None:
                self.always.append(position)
                continue
            key, values = filed
            table = self.by_key.setdefault(key, {})
            for value in values:
                table.setdefault(value, []).append(position)

    def candidates(self, facts: Facts) -> set[int]:
        found = set(self.always)
        for (block, name), table in self.by_key.items():
            if block == "lines":
                records: Sequence[Record] = facts.lines
            else:
                records = (facts.transaction if block == "transaction" else facts.member,)
            for record in records:
                value = record.get(name)
                if value is not None and (positions := table.get(value)):
                    found.update(positions)
        return found


def _filing(condition: Condition) -> tuple[Key, tuple[Scalar, ...]] | None:
    """One test every match of ``condition`` passes, whose values a fact can be looked up by."""
    blocks: list[tuple[Block, Sequence[Test]]] = [
        ("transaction", condition.transaction),
        ("member", condition.member),
        *(("lines", pattern) for pattern in condition.lines),
    ]
    for block, tests in blocks:
        for test in tests:
            if test.op not in _INDEXED_OPS or test.field.startswith(TAG_PREFIX):
                continue
            given = test.value if isinstance(test.value, tuple) else (test.value,)
            values = tuple(v for v in given if isinstance(v, str | int))
            if len(values) == len(given):  # scalars, looked up by the facts' own values
                return (block, test.field), values
    return None


class PythonMatcher:
    """Closures compiled once from the rule tree; thread-safe (no shared mutable state)."""

    def __init__(self, name: str, conditions: Sequence[Condition]) -> None:
        self.name = name
        self._rules = tuple(_Rule.compile(condition) for condition in conditions)
        self._index = _Index(conditions)

    def match(self, facts: Facts) -> list[Match]:
        found: set[Match] = set()
        rules = self._rules
        for position in self._index.candidates(facts):
            rules[position].collect(facts, found)
        return ordered(found)
