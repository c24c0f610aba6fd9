"""The engine's import graph, read from the source with ``ast``: which rooms form cycles.

Every ``import`` counts, at module level or inside a function (a deferred import still ties
the two modules together; deferring only hides the cycle from the interpreter). Imports under
``if TYPE_CHECKING:`` count too. ``from engine.a import b`` is an edge to ``engine.a.b`` when
that is a module, else to ``engine.a``. Run ``python -m tests.test_imports`` to print the cycles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
Graph = Mapping[str, frozenset[str]]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: str) -> dict[str, Path]:
    """Every module of ``package`` (a top-level directory), by dotted name."""
    return {module_name(path): path for path in sorted((ROOT / package).rglob("*.py"))}


def imported(node: ast.AST, name: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """The modules one import statement names (only those in ``known``)."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = _absolute(node, name, is_package)
        targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        targets = [t for t in targets[:-1] if t in known] or [base]
    else:
        return
    for target in targets:
        while target and target not in known:  # `import engine.a.b` imports engine.a.b
            target = target.rpartition(".")[0]
        if target:
            yield target


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, node.module] if node.module else anchor)


def import_graph(package: str = "engine") -> dict[str, frozenset[str]]:
    """Module → the modules of ``package`` it imports (itself excluded)."""
    found = modules(package)
    known = set(found)
    graph: dict[str, frozenset[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        edges = {t for node in ast.walk(tree) for t in imported(node, name, is_package, known)}
        graph[name] = frozenset(edges - {name})
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def under(graph: Graph, prefix: str) -> dict[str, frozenset[str]]:
    """The modules under ``prefix`` and everything they import."""
    return {n: t for n, t in graph.items() if n == prefix or n.startswith(prefix + ".")}


def within(graph: Graph, prefix: str) -> dict[str, frozenset[str]]:
    """The subgraph of the modules under ``prefix`` and the edges between them."""
    inside = under(graph, prefix)
    return {name: frozenset(targets & inside.keys()) for name, targets in inside.items()}


def test_the_import_graph_reads_real_edges() -> None:
    graph = import_graph()
    assert "engine.rules.tree" in graph["engine.rules.parser"]
    assert "engine.rules.durable" in graph["engine.rules"]  # imported inside build_matcher


def test_the_cycle_finder_finds_a_cycle_through_three_modules() -> None:
    graph = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset()}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_rule_tree_package_has_no_import_cycle() -> None:
    assert cycles(within(import_graph(), "engine.rules")) == []


def test_the_engine_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_rule_tree_is_a_leaf_and_the_parser_stands_apart_from_it() -> None:
    graph = import_graph()
    assert graph["engine.rules.tree"] == frozenset()
    assert graph["engine.policy.problems"] == frozenset()


def test_the_rule_tree_package_imports_no_other_room_of_the_engine() -> None:
    """Only shared vocabulary (errors, problem records, calendar): no ledger, campaigns or pricing."""
    allowed = {"engine", "engine.errors", "engine.policy.problems", "engine.calendar"}
    graph = import_graph()
    outside = {
        (name, target)
        for name, targets in under(graph, "engine.rules").items()
        for target in targets
        if not target.startswith("engine.rules") and target not in allowed
    }
    assert outside == set()


if __name__ == "__main__":
    found = cycles(import_graph())
    for component in found:
        print(" ↔ ".join(component))
    print(f"{len(found)} import cycle(s) in engine/")
