"""The reviewer's decision file: its format, its problems, and what it does to the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.review.decisions import default_decisions_path, load_decisions
from engine.review.render import render
from tests.review.helpers import BURN, load, plain_tiers, proposal, review_of

CLAIMS = """
review:
  claims:
    repurchase_incentive: "Regulars come back for the barista's smile."
    bigger_baskets: "Staff suggest a pastry with every coffee."
    social_face: "Members love being seen with the gold card."
"""
# Reason to join (points) and stickiness (a weekly member day) are met from the structure;
# three principles are only claimed: 2 met, 3 need judgement.
SUBJECT = proposal(
    BURN,
    """
    rules:
      - id: member-day
        name: Member Wednesday
        when: {transaction: {weekday: wed}}
        then: [{points_multiplier: 2}]
    """,
    CLAIMS,
)


def write(tmp_path: Path, text: str, name: str = "proposal.review.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def decisions_file(tmp_path: Path, entries: str, extra: str = "") -> Path:
    return write(
        tmp_path,
        'reviewer: "Li Wei"\ndate: "2026-03-02"\n' + extra + "decisions:\n" + entries,
    )


def loaded(path: Path, programme_id: str | None = "proposal"):
    decisions, problems = load_decisions(path, programme_id)
    assert decisions is not None, [p.render() for p in problems]
    return decisions


def test_without_decisions_claims_need_judgement_and_the_verdict_is_rework():
    review = review_of(SUBJECT)
    assert review.verdict.met == 2
    assert review.verdict.needs_judgement == 3
    assert review.verdict.word == "rework"


def test_confirming_claims_changes_the_verdict_and_is_labelled_as_the_reviewers(tmp_path):
    path = decisions_file(
        tmp_path,
        "  repurchase_incentive: {decision: confirmed, reason: Saw the loyalty data.}\n"
        "  bigger_baskets: {decision: confirmed, reason: Pastry attach rate is 40%.}\n",
    )
    review = review_of(SUBJECT, loaded(path))
    assert (review.verdict.met, review.verdict.word) == (4, "launchable")
    confirmed = review.principle("bigger_baskets")
    assert (confirmed.status, confirmed.decided_by, confirmed.tool_status) == (
        "met",
        "reviewer",
        "needs_judgement",
    )
    assert confirmed.decision is not None
    assert (confirmed.decision.reviewer, confirmed.decision.date) == ("Li Wei", "2026-03-02")
    assert confirmed.decision.line == 5
    assert review.principle("stickiness").decided_by == "tool"


def test_rejecting_a_principle_makes_it_not_met_even_when_the_tool_found_it(tmp_path):
    path = decisions_file(
        tmp_path,
        "  stickiness:\n    decision: rejected\n    reason: Wednesday is our busiest day anyway.\n"
        '    reviewer: "Wang Fang"\n    date: "2026-03-03"\n',
    )
    review = review_of(SUBJECT, loaded(path))
    rejected = review.principle("stickiness")
    assert (rejected.status, rejected.decided_by, rejected.tool_status) == (
        "not_met",
        "reviewer",
        "met",
    )
    assert rejected.decision is not None
    assert (rejected.decision.reviewer, rejected.decision.date) == ("Wang Fang", "2026-03-03")
    assert rejected.remedy  # says what would satisfy it
    assert review.verdict.met == 1


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_every_format_says_which_decisions_are_the_reviewers(tmp_path, fmt: str):
    path = decisions_file(
        tmp_path, "  social_face: {decision: confirmed, reason: Card design is striking.}\n"
    )
    output = render(review_of(SUBJECT, loaded(path)), fmt)
    if fmt == "json":
        record = json.loads(output)
        by = {p["principle"]: p["decided_by"] for p in record["principles"]}
        assert by["social_face"] == "reviewer"
        assert by["stickiness"] == "tool"
        assert record["decisions"]["reviewer"] == "Li Wei"
    else:
        assert "reviewer Li Wei, 2026-03-02" in output
        assert "Card design is striking." in output
        assert "the tool found: needs judgement" in output
        assert "tool" in output


def test_decisions_for_another_version_are_marked_stale(tmp_path):
    path = decisions_file(
        tmp_path,
        "  social_face: {decision: confirmed, reason: Yes.}\n",
        extra='programme_version: "000000000000"\n',
    )
    review = review_of(SUBJECT, loaded(path))
    assert review.decisions is not None and review.decisions.stale
    assert "recorded for version 000000000000" in render(review, "text")


def test_decisions_for_this_version_are_not_stale(tmp_path):
    version = load(SUBJECT).version
    path = decisions_file(
        tmp_path,
        "  social_face: {decision: confirmed, reason: Yes.}\n",
        extra=f'programme_version: "{version}"\n',
    )
    review = review_of(SUBJECT, loaded(path))
    assert review.decisions is not None and not review.decisions.stale


def test_a_decision_needs_a_known_principle_a_known_decision_and_a_reason(tmp_path):
    path = decisions_file(
        tmp_path,
        "  social_face: {decision: approved, reason: Yes.}\n"
        "  stickyness: {decision: confirmed, reason: Yes.}\n"
        "  bigger_baskets: {decision: rejected}\n",
    )
    decisions, problems = load_decisions(path, "proposal")
    assert decisions is None
    found = {(p.line, p.code) for p in problems}
    assert (4, "schema.enum") in found
    assert (5, "schema.unknown_field") in found
    assert (6, "schema.required") in found
    hint = next(p.hint for p in problems if p.code == "schema.unknown_field")
    assert hint == "did you mean 'stickiness'?"


def test_the_file_needs_a_reviewer_and_a_real_date(tmp_path):
    path = write(
        tmp_path, 'date: "2026-02-30"\ndecisions:\n  stickiness: {decision: confirmed, reason: x}\n'
    )
    _, problems = load_decisions(path)
    messages = {p.message for p in problems}
    assert "missing required field 'reviewer'" in messages
    assert "'2026-02-30' is not a real date" in messages


def test_decisions_for_another_programme_are_refused(tmp_path):
    path = decisions_file(
        tmp_path, "  stickiness: {decision: confirmed, reason: x}\n", extra="programme: coffee\n"
    )
    decisions, problems = load_decisions(path, "proposal")
    assert decisions is None
    assert [(p.line, p.code) for p in problems] == [(3, "review.wrong_programme")]


def test_a_yaml_error_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, 'reviewer: "Li\ndate: x\n')
    decisions, problems = load_decisions(path)
    assert decisions is None
    assert problems[0].code == "syntax"


def test_the_default_file_sits_beside_the_proposal():
    assert default_decisions_path("rules/x/programme.yaml") == Path("rules/x/programme.review.yaml")
    assert default_decisions_path("v2.yml") == Path("v2.review.yaml")


def test_tiers_do_not_change_how_decisions_apply(tmp_path):
    # A confirmation of a principle the structure already meets keeps it met, by the reviewer.
    lane = "benefits:\n  - kind: privilege\n    description: Express lane"
    text = proposal(plain_tiers("Standard", "Gold", bodies={1: lane}))
    path = decisions_file(tmp_path, "  social_face: {decision: confirmed, reason: Seen it.}\n")
    result = review_of(text, loaded(path)).principle("social_face")
    assert (result.status, result.decided_by, result.tool_status) == ("met", "reviewer", "met")


def test_the_readme_example_is_a_valid_decision_file(tmp_path):
    readme = (Path(__file__).resolve().parents[2] / "rules" / "README.md").read_text("utf-8")
    section = readme[readme.index("### The reviewer's decisions") :]
    example = section[section.index("```yaml\n") + 8 : section.index("```\n", 10)]
    decisions = loaded(write(tmp_path, example), "recommended")
    assert decisions.items["social_face"].reviewer == "Wang Fang"
    assert decisions.items["emotional_bond"].reviewer == "Li Wei <li.wei@example.com>"
