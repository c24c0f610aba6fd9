"""Compile conditions into a durable-rules ruleset (as data) and check the engine's limits.

Pure Python: nothing here imports durable-rules, so limits are checked (and programmes
refused with a ``PolicyError``) before the engine ever sees a ruleset that would hang it.

Layout of the facts the durable matcher asserts (one session per evaluation):

* every fact carries ``fact_kind`` ("transaction", "member", "line" or "end"), ``id``, ``sid``;
* transaction and member fields keep their names; member tag ``x`` becomes the list field
  ``tag__x`` (absent when the member has no value for it);
* a line keeps its fields plus ``index``;
* one "end" fact feeds the sentinel rule, which fires in every session (see ``durable.py``).

Expressions put the operator outside the field (``{"$gte": {"amount": 100}}``); ``in`` is an
``$or`` of equalities, ``not_in`` a chain of ``$neq``; tags use ``$iany``/``$iall``.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.rules.tree import TAG_PREFIX, Condition, Test

KIND = "fact_kind"
TRANSACTION, MEMBER, LINE, END = "transaction", "member", "line", "end"
SENTINEL_RULE = "end"
SENTINEL_PRIORITY = 10_000  # lower fires first: the sentinel runs after every real rule
TAG_FIELD_PREFIX = "tag__"
LINE_INDEX = "index"

# durable-rules limits (src/rules/rete.c, state.h) and the margins we keep from them.
MAX_BRANCH = 400  # alpha children per node; > 512 makes set_rulesets hang for ever
MAX_SHARED = 100  # $or/$nex successors per node; > 128 is error 107
MAX_ENDINGS = 200  # rules ending on one alpha node; > 256 is error 108
MAX_EXPRESSIONS = 30  # expression slots per pattern; 32 is error 113
MAX_PROPERTIES = 200  # properties per fact; > 255 is error 302
MAX_RULES = 4000  # actions per ruleset; 4096 is error 101
_COMPARISONS = frozenset({"$eq", "$neq", "$gt", "$gte", "$lt", "$lte"})


@dataclass(frozen=True)
class CompiledRule:
    rule_id: str
    line_aliases: tuple[str, ...]


@dataclass(frozen=True)
class CompiledRuleset:
    """The ruleset-as-data (without actions) and what the matcher must project into facts."""

    definition: Mapping[str, Any]
    rules: Mapping[str, CompiledRule]
    transaction_fields: tuple[str, ...]
    member_fields: tuple[str, ...]
    tag_names: tuple[str, ...]
    line_fields: tuple[str, ...]


def compile_ruleset(conditions: Sequence[Condition]) -> CompiledRuleset:
    definition: dict[str, Any] = {}
    rules: dict[str, CompiledRule] = {}
    for position, condition in enumerate(conditions):
        name = f"r{position}"
        definition[name], aliases = _rule(condition)
        rules[name] = CompiledRule(condition.rule_id, aliases)
    definition[SENTINEL_RULE] = {"all": [{END: {KIND: END}}], "pri": SENTINEL_PRIORITY}
    return CompiledRuleset(definition, rules, *_projection(conditions))


def _projection(conditions: Sequence[Condition]) -> tuple[tuple[str, ...], ...]:
    transaction = {t.field for c in conditions for t in c.transaction}
    member = {t.field for c in conditions for t in c.member}
    tags = {f.removeprefix(TAG_PREFIX) for f in member if f.startswith(TAG_PREFIX)}
    lines = {t.field for c in conditions for p in c.lines for t in p}
    if any(c.lines for c in conditions):
        lines.add(LINE_INDEX)
    plain = member - {TAG_PREFIX + name for name in tags}
    return (
        tuple(sorted(transaction)),
        tuple(sorted(plain)),
        tuple(sorted(tags)),
        tuple(sorted(lines)),
    )


def _rule(condition: Condition) -> tuple[dict[str, Any], tuple[str, ...]]:
    patterns: list[dict[str, Any]] = []
    if condition.transaction:
        patterns.append({"t": _pattern(TRANSACTION, condition.transaction)})
    if condition.member:
        patterns.append({"m": _pattern(MEMBER, condition.member)})
    aliases = tuple(f"l{i}" for i in range(len(condition.lines)))
    for i, tests in enumerate(condition.lines):
        distinct = [{"$neq": {LINE_INDEX: {earlier: LINE_INDEX}}} for earlier in aliases[:i]]
        patterns.append({aliases[i]: _pattern(LINE, tests, distinct)})
    if not patterns:
        patterns.append({"t": {KIND: TRANSACTION}})  # no tests: matches once per transaction
    return {"all": patterns}, aliases


def _pattern(kind: str, tests: Sequence[Test], joins: Sequence[dict[str, Any]] = ()) -> Any:
    expressions = [{KIND: kind}, *(e for t in tests for e in _expressions(t)), *joins]
    return {"$and": expressions} if len(expressions) > 1 else expressions[0]


def tag_field(name: str) -> str:
    return TAG_FIELD_PREFIX + name


def _expressions(test: Test) -> list[dict[str, Any]]:
    if test.field.startswith(TAG_PREFIX):
        return [_tag_expression(tag_field(test.field.removeprefix(TAG_PREFIX)), test)]
    name, value = test.field, test.value
    if test.op == "eq":
        return [{name: value}]
    if test.op in ("ne", "gt", "gte", "lt", "lte"):
        return [{"$neq" if test.op == "ne" else f"${test.op}": {name: value}}]
    assert isinstance(value, tuple)
    if test.op == "between":
        return [{"$gte": {name: value[0]}}, {"$lte": {name: value[1]}}]
    if test.op == "in":
        return [_any_of([{name: v} for v in value])]
    return [{"$neq": {name: v}} for v in value]  # not_in


def _tag_expression(name: str, test: Test) -> dict[str, Any]:
    assert isinstance(test.value, tuple)
    if test.op == "in":
        return {"$iany": {name: _any_of([{"$i": v} for v in test.value])}}
    # $iall is false on an empty or absent list, and a member without the tag has none of them.
    items = [{"$neq": {"$i": v}} for v in test.value]
    none_of = {"$iall": {name: items[0] if len(items) == 1 else {"$and": items}}}
    return {"$or": [{"$nex": {name: 1}}, none_of]}


def _any_of(alternatives: list[dict[str, Any]]) -> dict[str, Any]:
    return alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}


def check_limits(conditions: Sequence[Condition]) -> list[dict[str, str]]:
    """Problems (path ``when``) for anything durable-rules would hang on or refuse."""
    compiled = compile_ruleset(conditions)
    network = _Network()
    for name, rule in compiled.definition.items():
        rule_id = compiled.rules[name].rule_id if name in compiled.rules else name
        for pattern in rule["all"]:
            network.add_pattern(rule_id, next(iter(pattern.values())))
    problems = [*network.problems(), *_fact_problems(compiled)]
    if len(conditions) > MAX_RULES:
        problems.append(
            _problem(f"{len(conditions)} rules; durable-rules holds at most {MAX_RULES}")
        )
    return problems


def _fact_problems(compiled: CompiledRuleset) -> Iterator[dict[str, str]]:
    width = len(compiled.member_fields) + len(compiled.tag_names) + 3
    if width > MAX_PROPERTIES:
        yield _problem(
            f"the rules test {width - 3} member fields and tags; "
            f"durable-rules facts hold at most {MAX_PROPERTIES}"
        )


def _problem(message: str) -> dict[str, str]:
    return {"path": "when", "message": message}


@dataclass(eq=False)
class _Alpha:
    """One alpha node as durable-rules' rete.c would build it, for counting only."""

    children: dict[Hashable, _Alpha] = field(default_factory=dict)
    successors: int = 0
    endings: int = 0
    rules: set[str] = field(default_factory=set)


class _Network:
    """Mirrors createAlpha/findAlpha/linkAlpha: which tests share a node and which do not."""

    def __init__(self) -> None:
        self.nodes: list[_Alpha] = [_Alpha()]
        self.overflowing: list[tuple[str, int]] = []

    def add_pattern(self, rule_id: str, expression: Any) -> None:
        slots = [0]
        end = self.add(rule_id, expression, self.nodes[0], slots)
        end.endings += 1
        end.rules.add(rule_id)
        if slots[0] > MAX_EXPRESSIONS:
            self.overflowing.append((rule_id, slots[0]))

    def add(
        self, rule_id: str, expression: Mapping[str, Any], parent: _Alpha, slots: list[int]
    ) -> _Alpha:
        (key, operand), *_ = expression.items()
        if key == "$and":
            slots[0] += 2
            for item in operand:
                parent = self.add(rule_id, item, parent, slots)
            return parent
        if key == "$or":
            slots[0] += 2
            forward = self.node(rule_id)
            for item in operand:
                self.add(rule_id, item, parent, slots).successors += 1
            return forward
        if key in ("$iany", "$iall"):
            (_, inner), *_ = operand.items()
            array = self.child(rule_id, parent, object())  # never shared by rete.c
            self.add(rule_id, inner, array, slots)
            return array
        if key in ("$nex", "$ex"):
            parent.successors += 1
            return self.node(rule_id)
        value = next(iter(operand.values())) if key in _COMPARISONS else operand
        if isinstance(value, Mapping):  # a join on another alias takes an expression slot
            slots[0] += 1
            return self.child(rule_id, parent, object())
        return self.child(rule_id, parent, (key, json.dumps(operand, sort_keys=True)))

    def node(self, rule_id: str) -> _Alpha:
        node = _Alpha(rules={rule_id})
        self.nodes.append(node)
        return node

    def child(self, rule_id: str, parent: _Alpha, key: Hashable) -> _Alpha:
        if key not in parent.children:
            parent.children[key] = self.node(rule_id)
        child = parent.children[key]
        child.rules.add(rule_id)
        return child

    def problems(self) -> Iterator[dict[str, str]]:
        for node in self.nodes:
            yield from self.node_problems(node)
        for rule_id, slots in self.overflowing:
            yield _problem(
                f"rule {rule_id}: one pattern needs {slots} durable-rules expressions "
                f"(at most {MAX_EXPRESSIONS}); move some in/tag lists to another rule"
            )

    def node_problems(self, node: _Alpha) -> Iterator[dict[str, str]]:
        if len(node.children) > MAX_BRANCH:
            rules = {r for child in node.children.values() for r in child.rules}
            yield _problem(
                f"{len(node.children)} different tests under one branch of the durable-rules "
                f"network (at most {MAX_BRANCH}; it hangs beyond 512); rules: {_names(rules)}"
            )
        if node.successors > MAX_SHARED:
            yield _problem(
                f"{node.successors} lists or absence tests share one test (at most {MAX_SHARED}); "
                f"rules: {_names(node.rules)}"
            )
        if node.endings > MAX_ENDINGS:
            yield _problem(
                f"{node.endings} rules end on the same test (at most {MAX_ENDINGS}); "
                f"rules: {_names(node.rules)}"
            )


def _names(rule_ids: set[str]) -> str:
    ordered = sorted(rule_ids)
    shown = ", ".join(ordered[:5])
    return f"{shown} and {len(ordered) - 5} more" if len(ordered) > 5 else shown
