"""The broken-file corpus: every file says which problems it must produce, and where.

A header line ``# expect: [FILE:]LINE:COL PATH :: message part :: hint part``
names one error (``# expect-warning:`` a warning). The test asserts that the
validator reports exactly these problems, each once: same file, line, column and path,
with the message and hint containing the given parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.policy.loader import validate_paths
from engine.policy.problems import Problem, render_path

CORPUS = Path(__file__).parent / "corpus"
EXPECT = re.compile(r"^# expect(?P<warning>-warning)?: (?P<rest>.*)$")
WHERE = re.compile(r"^(?:(?P<file>[^\s:]+\.yaml):)?(?P<line>\d+):(?P<column>\d+)$")


@dataclass(frozen=True)
class Expected:
    severity: str
    file: str | None
    line: int | None
    column: int | None
    path: str
    fragments: tuple[str, ...]

    def matches(self, problem: Problem, main_file: Path) -> bool:
        file = (CORPUS / self.file) if self.file else main_file
        return (
            problem.severity == self.severity
            and Path(problem.file or "").resolve() == file.resolve()
            and (self.line is None or (problem.line, problem.column) == (self.line, self.column))
            and render_path(problem.path) == self.path
            and all(part in f"{problem.message} {problem.hint or ''}" for part in self.fragments)
        )


def read_expectations(file: Path) -> list[Expected]:
    expected = []
    for line in file.read_text(encoding="utf-8").splitlines():
        found = EXPECT.match(line)
        if not found:
            continue
        head, *fragments = (part.strip() for part in found["rest"].split("::"))
        where, _, path = head.partition(" ")
        position = WHERE.match(where)
        if position is None:  # no position given: the path alone (possibly empty)
            position, path = None, head
        expected.append(
            Expected(
                "warning" if found["warning"] else "error",
                position["file"] if position else None,
                int(position["line"]) if position else None,
                int(position["column"]) if position else None,
                path.strip(),
                tuple(fragments),
            )
        )
    return expected


CASES = sorted(CORPUS.glob("*.yaml"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_corpus_file_reports_exactly_its_expected_problems(case: Path):
    expected = read_expectations(case)
    assert expected, f"{case.name} declares no '# expect:' lines"
    problems = validate_paths([case]).problems
    unmatched = [e for e in expected if sum(e.matches(p, case) for p in problems) != 1]
    unexpected = [p for p in problems if not any(e.matches(p, case) for e in expected)]
    assert not unmatched and not unexpected, (
        "\nmissing:\n  "
        + "\n  ".join(map(str, unmatched))
        + "\nunexpected:\n  "
        + "\n  ".join(p.render() for p in unexpected)
    )
