"""Compile conditions into a durable-rules ruleset (as data) and check the engine's limits.

Pure Python: nothing here imports durable-rules, so limits are checked (and programmes
refused with a ``PolicyError``) before the engine ever sees a ruleset that would hang it.

Rules are split into groups that each stay inside the engine's limits on its own (most
programmes are one group). Group ``g`` matches its own copy of the facts, told apart by
``fact_kind``: "transaction", "member", "line" for group 0, "transaction.1"... for group 1.

Layout of the facts the durable matcher asserts (one session per evaluation):

* every fact carries ``fact_kind`` (see above; "end" for the sentinel's fact), ``id``, ``sid``;
* transaction and member fields keep their names; member tag ``x`` becomes the list field
  ``tag__x`` (absent when the member has no value for it);
* a line keeps its fields plus ``index``;
* one "end" fact feeds the sentinel rule, which fires in every session (see ``durable.py``).

Expressions put the operator outside the field (``{"$gte": {"amount": 100}}``); ``in`` is an
``$or`` of equalities, ``not_in`` a chain of ``$neq``; tags use ``$iany``/``$iall``. Every
test is an alpha test on one fact; nothing compares two facts, so the beta network only
joins (with ``dist``: one fact per alias), which sidesteps a read past the end of the join
expression list in durable-rules (events.c:614).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.policy.problems import Problem
from engine.rules.tree import TAG_PREFIX, Condition, Test, wraps

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
MAX_STACK = 56  # alpha nodes pending at once while one fact is matched; > 64 is error 303
MAX_GROUP_RULES = 64
MAX_GROUPS = 100  # each adds 3 children to the root node (MAX_BRANCH) and a copy of the facts
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
    groups: int
    transaction_fields: tuple[str, ...]
    member_fields: tuple[str, ...]
    tag_names: tuple[str, ...]
    line_fields: tuple[str, ...]


def kind_of(kind: str, group: int) -> str:
    return kind if group == 0 else f"{kind}.{group}"


def compile_ruleset(conditions: Sequence[Condition]) -> CompiledRuleset:
    groups = _partition([(c.rule_id, _rule(c, 0)[0]) for c in conditions])
    definition: dict[str, Any] = {}
    rules: dict[str, CompiledRule] = {}
    for position, (condition, group) in enumerate(zip(conditions, groups, strict=True)):
        name = f"r{position}"
        definition[name], aliases = _rule(condition, group)
        rules[name] = CompiledRule(condition.rule_id, aliases)
    definition[SENTINEL_RULE] = {"all": [{END: {KIND: END}}], "pri": SENTINEL_PRIORITY}
    return CompiledRuleset(definition, rules, max(groups, default=-1) + 1, *_projection(conditions))


def _partition(rules: Sequence[tuple[str, Mapping[str, Any]]]) -> list[int]:
    """Greedy: each rule joins the current group unless that group would exceed a limit."""
    groups: list[int] = []
    members: list[tuple[str, Mapping[str, Any]]] = []
    group = 0
    for rule in rules:
        if members and (len(members) == MAX_GROUP_RULES or _overflows([*members, rule])):
            group, members = group + 1, []
        members.append(rule)
        groups.append(group)
    return groups


def _overflows(rules: Sequence[tuple[str, Mapping[str, Any]]]) -> bool:
    network = _Network()
    for rule_id, rule in rules:
        network.add_rule(rule_id, rule)
    return any(network.problems())


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


def _rule(condition: Condition, group: int) -> tuple[dict[str, Any], tuple[str, ...]]:
    patterns: list[dict[str, Any]] = []
    if condition.transaction:
        patterns.append({"t": _pattern(kind_of(TRANSACTION, group), condition.transaction)})
    if condition.member:
        patterns.append({"m": _pattern(kind_of(MEMBER, group), condition.member)})
    aliases = tuple(f"l{i}" for i in range(len(condition.lines)))
    line_kind = kind_of(LINE, group)
    patterns += [
        {alias: _pattern(line_kind, tests)}
        for alias, tests in zip(aliases, condition.lines, strict=True)
    ]
    if not patterns:  # no tests: matches once per transaction
        patterns.append({"t": {KIND: kind_of(TRANSACTION, group)}})
    # Distinct lines come from the engine's "dist" flag (no fact twice in one match), not
    # from {"$neq": {"index": {"l0": "index"}}} joins: events.c:614 reads past the end of a
    # join's expression list when its last test fails (SIGSEGV, depending on memory layout).
    return {"all": patterns, "dist": 1}, aliases


def _pattern(kind: str, tests: Sequence[Test]) -> Any:
    expressions = [{KIND: kind}, *(e for t in sorted(tests, key=_order) for e in _expressions(t))]
    return {"$and": expressions} if len(expressions) > 1 else expressions[0]


def _order(test: Test) -> tuple[int, str, str, str]:
    # Equalities first: rules that share them share alpha nodes, and of several equalities
    # on one field at most one can match, which keeps the engine's traversal stack short.
    rank = {"eq": 0, "in": 1}.get(test.op, 2)
    return rank, test.field, test.op, repr(test.value)


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
    if test.op == "between" and wraps(test):  # over new year: from low on, or up to high
        return [{"$or": [{"$gte": {name: value[0]}}, {"$lte": {name: value[1]}}]}]
    if test.op == "between":
        return [{"$gte": {name: value[0]}}, {"$lte": {name: value[1]}}]
    if test.op == "in":
        return [_any_of([{name: v} for v in value])]
    return [{"$neq": {name: v}} for v in value]  # not_in


def _tag_expression(name: str, test: Test) -> dict[str, Any]:
    assert isinstance(test.value, tuple)
    if test.op == "in":
        # One $iany per value: an $or inside $iany makes rete.c:1313 read an uninitialised
        # node (and randomly refuse the ruleset with error 102).
        return _any_of([{"$iany": {name: {"$i": v}}} for v in test.value])
    # $iall is false on an empty or absent list, and a member without the tag has none of them.
    items = [{"$neq": {"$i": v}} for v in test.value]
    none_of = {"$iall": {name: items[0] if len(items) == 1 else {"$and": items}}}
    return {"$or": [{"$nex": {name: 1}}, none_of]}


def _any_of(alternatives: list[dict[str, Any]]) -> dict[str, Any]:
    return alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}


def check_limits(conditions: Sequence[Condition]) -> list[Problem]:
    """Problems (path ``("when",)``) for rules durable-rules cannot hold, even in a group alone."""
    problems: list[Problem] = []
    for condition in conditions:
        network = _Network()
        network.add_rule(condition.rule_id, _rule(condition, 0)[0])
        problems += [_problem(f"rule {condition.rule_id}: {m}") for m in network.problems()]
    _, member, tags, _ = _projection(conditions)
    if len(member) + len(tags) + 3 > MAX_PROPERTIES:
        problems.append(
            _problem(
                f"the rules test {len(member) + len(tags)} member fields and tags; "
                f"durable-rules facts hold at most {MAX_PROPERTIES}"
            )
        )
    if len(conditions) > MAX_RULES:
        problems.append(
            _problem(f"{len(conditions)} rules; durable-rules holds at most {MAX_RULES}")
        )
    elif not problems:
        problems += _group_problems(conditions)
    return problems


def _group_problems(conditions: Sequence[Condition]) -> list[Problem]:
    groups = max(_partition([(c.rule_id, _rule(c, 0)[0]) for c in conditions]), default=0) + 1
    if groups <= MAX_GROUPS:
        return []
    message = (
        f"the rules need {groups} separate durable-rules networks (at most {MAX_GROUPS}); "
        "share values between rules or drop some"
    )
    return [_problem(message)]


def _problem(message: str) -> Problem:
    return Problem(message, ("when",), code="condition")


@dataclass(eq=False)
class _Alpha:
    """One alpha node as durable-rules' rete.c would build it, for counting only."""

    name: str = ""
    equality: bool = False
    children: dict[Hashable, _Alpha] = field(default_factory=dict)
    array: dict[Hashable, _Alpha] = field(default_factory=dict)
    successors: list[_Alpha] = field(default_factory=list)
    endings: int = 0


class _Network:
    """Mirrors createAlpha/findAlpha/linkAlpha: which tests share a node and which do not."""

    def __init__(self) -> None:
        self.root = _Alpha()
        self.nodes: list[_Alpha] = [self.root]
        self.slots: list[int] = []

    def add_rule(self, rule_id: str, rule: Mapping[str, Any]) -> None:
        for pattern in rule["all"]:
            slots = [0]
            self.add(next(iter(pattern.values())), self.root, slots, False).endings += 1
            self.slots.append(slots[0])

    def add(
        self, expression: Mapping[str, Any], parent: _Alpha, slots: list[int], array: bool
    ) -> _Alpha:
        (key, operand), *_ = expression.items()
        if key == "$and":
            slots[0] += 2
            for position, item in enumerate(operand):
                parent = self.add(item, parent, slots, array and position == 0)
            return parent
        if key == "$or":
            slots[0] += 2
            forward = self.node()
            for item in operand:
                self.add(item, parent, slots, array).successors.append(forward)
            return forward
        if key in ("$iany", "$iall"):
            (name, inner), *_ = operand.items()
            node = self.child(parent, object(), array, name, False)  # never shared by rete.c
            self.add(inner, node, slots, True)
            return node
        if key in ("$nex", "$ex"):
            node = self.node()
            parent.successors.append(node)
            return node
        name, value = next(iter(operand.items())) if key in _COMPARISONS else (key, operand)
        if isinstance(value, Mapping):
            raise ValueError(f"joins between facts are not compiled (events.c:614): {expression}")
        equality = key not in _COMPARISONS or key == "$eq"
        return self.child(parent, (key, json.dumps(operand)), array, name, equality)

    def node(self, name: str = "", equality: bool = False) -> _Alpha:
        node = _Alpha(name, equality)
        self.nodes.append(node)
        return node

    def child(
        self, parent: _Alpha, key: Hashable, array: bool, name: str, equality: bool
    ) -> _Alpha:
        siblings = parent.array if array else parent.children
        if key not in siblings:
            siblings[key] = self.node(name, equality)
        return siblings[key]

    def problems(self) -> Iterator[str]:
        for node in self.nodes:
            yield from _node_problems(node)
        for slots in self.slots:
            if slots > MAX_EXPRESSIONS:
                yield (
                    f"one pattern needs {slots} durable-rules expressions "
                    f"(at most {MAX_EXPRESSIONS}); move some in/tag lists to another rule"
                )
        stack = _worst_stack(self.root, {})
        if stack > MAX_STACK:
            yield (
                f"one fact could make durable-rules follow {stack} branches at once "
                f"(at most {MAX_STACK}; it fails beyond 64); shorten its in/tag lists"
            )


def _node_problems(node: _Alpha) -> Iterator[str]:
    branch = max(len(node.children), len(node.array))
    if branch > MAX_BRANCH:
        yield (
            f"{branch} different tests under one branch of the durable-rules network "
            f"(at most {MAX_BRANCH}; it hangs beyond 512)"
        )
    if len(node.successors) > MAX_SHARED:
        yield f"{len(node.successors)} lists or absence tests share one test (at most {MAX_SHARED})"
    if node.endings > MAX_ENDINGS:
        yield f"{node.endings} patterns end on the same test (at most {MAX_ENDINGS})"


def _pushes(node: _Alpha) -> int:
    """Nodes handleAlpha may push once this one matches: all, but one per field's equalities."""
    equal_fields = {child.name for child in node.children.values() if child.equality}
    others = sum(1 for child in node.children.values() if not child.equality)
    return len(node.successors) + len(equal_fields) + others


def _worst_stack(node: _Alpha, memo: dict[int, int]) -> int:
    """The deepest handleAlpha's explicit stack can get below ``node``, every test matching."""
    if id(node) not in memo:
        following = [*node.children.values(), *node.successors]
        pushes = _pushes(node)
        deepest = max((_worst_stack(n, memo) for n in following), default=0)
        memo[id(node)] = max(pushes, pushes - 1 + deepest) if following else 0
    return memo[id(node)]
