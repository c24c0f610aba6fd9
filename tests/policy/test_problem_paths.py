"""Problem paths from every source (schema, semantic checks, rule tree) are rendered as dotted
paths with indexes, never one character at a time, and point at the right line."""

from __future__ import annotations

import pytest

from engine.policy.loader import validate_document
from engine.policy.problems import Problem, parse_path, render_path

PROGRAMME = """\
programme: {id: p, name: P, currency: CNY, timezone: Asia/Shanghai, pitch: "1 point per yuan"}
earn: {points: 1, per: 1}
rules:
  - id: fine
    name: Fine
    when: {transaction: {amount: {gte: 10}}}
    then: [{bonus_points: 5}]
  - id: semantic-problem
    name: Semantic
    when: {member: {tier: gold}}
    then: [{bonus_points: 5}]
  - id: tree-problem
    name: Tree
    when:
      transaction:
        day_of_month: [18, 32]
        amount: {gte: 1.001}
    then: [{bonus_points: 5}]
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The schema is checked first; semantic and rule-tree checks run on a valid shape.
        (
            PROGRAMME.replace(
                "bonus_points: 5}]\n  - id: semantic", "bonus_points: -5}]\n  - id: semantic"
            ),
            [(7, "rules[0].then[0].bonus_points", "schema.range")],
        ),
        (
            PROGRAMME,
            [
                (10, "rules[1].when.member.tier", "reference"),
                (16, "rules[2].when.transaction.day_of_month[1]", "condition"),
                (17, "rules[2].when.transaction.amount.gte", "condition"),
            ],
        ),
    ],
    ids=["schema", "semantic and rule tree"],
)
def test_problems_from_each_source_carry_dotted_paths_and_their_lines(
    text: str, expected: list[tuple[int, str, str]]
):
    report = validate_document(text.encode(), "p.yaml")
    found = sorted((p.line, render_path(p.path), p.code) for p in report.problems)
    assert found == expected
    for problem in report.problems:
        assert isinstance(problem.path, tuple)
        assert f"[{render_path(problem.path)}]" in problem.render()


@pytest.mark.parametrize(
    "path",
    [
        ("when", "transaction", "amount"),
        ("rules", 0, "when", "lines", 1, "sku"),
        ("tiers", "levels", 2, "threshold"),
        ("a",),
    ],
)
def test_a_path_given_as_text_is_read_back_into_its_parts(path: tuple[str | int, ...]):
    text = render_path(path)
    assert parse_path(text) == path
    assert Problem("m", text).path == path  # type: ignore[arg-type]  # text on purpose
    assert render_path(text) == text  # type: ignore[arg-type]


def test_a_problem_with_a_text_path_never_renders_one_character_at_a_time():
    problem = Problem("unknown field", "when.transaction.total")  # type: ignore[arg-type]
    assert problem.render() == "error: unknown field [when.transaction.total]"
    assert problem.under(("rules", 0)).as_record()["path"] == "rules[0].when.transaction.total"
