"""Outside ``engine/policy/``, nothing reads a programme's raw YAML mapping (``.document``):
the engine and the API read the typed views of ``engine.policy.model`` (``programme.model``,
``evaluator.model``), where each default of the language is stated once.

Read from the source with ``ast``: any ``.document`` read in a module of ``engine/`` or
``api/`` outside ``engine/policy/`` counts, whatever the object (a name cannot tell a
programme from anything else, so nothing else in those packages is called ``document``).
Run ``python -m tests.policy.test_raw_reads`` to list the reads.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
POLICY = ROOT / "engine" / "policy"

# The review reads the programme as its author wrote it: it quotes the marketer's words,
# points at file and line through the source map, and diffs two versions key by key, so it
# is handed the validated mapping beside its positions. Each entry: file → reads allowed.
AS_WRITTEN = {
    "engine/review/diff.py": 2,  # old.document, new.document: the key-by-key diff
    "engine/review/scorecard.py": 1,  # programme.document, read with programme.positions
}


def raw_reads(path: Path) -> Iterator[int]:
    """The line of every ``<something>.document`` read in one module."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "document"
            and isinstance(node.ctx, ast.Load)
        ):
            yield node.lineno


def reads_outside_policy() -> dict[str, list[int]]:
    found = {}
    for package in ("engine", "api"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if POLICY in path.parents:
                continue
            lines = list(raw_reads(path))
            if lines:
                found[str(path.relative_to(ROOT))] = lines
    return found


def test_no_module_outside_the_policy_reads_the_raw_programme_mapping():
    reads = reads_outside_policy()
    unexpected = {file: lines for file, lines in reads.items() if file not in AS_WRITTEN}
    assert unexpected == {}, f"read programme.model (engine/policy/model.py) instead: {unexpected}"


def test_the_review_reads_the_mapping_only_where_it_quotes_the_author():
    reads = reads_outside_policy()
    assert {file: len(reads.get(file, [])) for file in AS_WRITTEN} == AS_WRITTEN


def test_the_walk_finds_a_raw_read(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f(evaluator):\n    return evaluator.document['earn']\n")
    assert list(raw_reads(module)) == [2]


def test_a_stored_document_attribute_is_not_a_read(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("class A:\n    def __init__(self, d):\n        self.document = d\n")
    assert list(raw_reads(module)) == []


if __name__ == "__main__":
    reads = reads_outside_policy()
    for file, lines in reads.items():
        print(f"{file}: lines {', '.join(map(str, lines))}")
    print(f"{sum(map(len, reads.values()))} raw read(s) outside engine/policy/")
