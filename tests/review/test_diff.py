"""What changed between two versions of a proposal."""

from __future__ import annotations

import json

from engine.review.diff import diff_reviews
from engine.review.render import render_diff
from engine.review.scorecard import review_programme
from tests.review.helpers import BURN, line_of, load, proposal

OLD = proposal(
    BURN,
    """
    expiry:
      calendar:
        years_after: 1
    rules:
      - id: spend-200
        name: Spend 200, save 15
        when: {transaction: {amount: {gte: 200}}}
        then: [{discount: {amount: 15}}]
      - id: old-rule
        name: Gone in the new version
        then: [{bonus_points: 1}]
    review:
      theme: "Neighbourhood card."
    """,
)
NEW = proposal(
    BURN,
    """
    expiry:
      rolling:
        days: 365
    rules:
      - id: spend-200
        name: Spend 200, save 20
        when: {transaction: {amount: {gte: 200}}}
        then: [{discount: {amount: 20}}]
      - id: member-wednesday
        name: Member Wednesday
        when: {transaction: {weekday: wed}}
        then: [{points_multiplier: 2}]
    review:
      theme: "Neighbourhood card."
    """,
    per="1",
)


def diff():
    old, new = load(OLD), load(NEW)
    return diff_reviews(old, review_programme(old), new, review_programme(new))


def test_the_verdict_change_is_shown():
    changes = diff()
    assert changes.verdict_changed
    assert (changes.old.verdict.met, changes.old.verdict.word) == (3, "rework")
    assert (changes.new.verdict.met, changes.new.verdict.word) == (4, "launchable")


def test_only_principles_that_changed_are_listed():
    (change,) = diff().principles
    assert change.new.key == "stickiness"
    assert (change.old.status, change.new.status) == ("not_met", "met")


def test_resolved_and_new_findings_are_listed():
    kinds = {(c.kind, c.current.check) for c in diff().findings}
    assert ("resolved", "expiry.calendar") in kinds
    assert not any(check == "tiers.count" for _, check in kinds)  # unchanged: not listed


def test_changed_items_are_named_by_id_with_their_lines():
    changes = {(c.kind, c.what): c.line for c in diff().changes}
    assert changes == {
        ("changed", "rule 'spend-200'"): line_of(NEW, "- id: spend-200"),
        ("added", "rule 'member-wednesday'"): line_of(NEW, "- id: member-wednesday"),
        ("removed", "rule 'old-rule'"): line_of(OLD, "- id: old-rule"),
        ("removed", "expiry.calendar"): line_of(OLD, "calendar:"),
        ("added", "expiry.rolling"): line_of(NEW, "rolling:"),
    }


def test_identical_versions_have_no_changes():
    old = load(OLD)
    review = review_programme(old)
    same = diff_reviews(old, review, old, review)
    assert not (same.principles or same.findings or same.changes or same.verdict_changed)
    assert render_diff(same, "text").count("no change") == 3


def test_every_format_renders_the_diff():
    changes = diff()
    text = render_diff(changes, "text")
    assert "Verdict: rework (3 of 6) -> launchable (4 of 6)" in text
    assert "added    rule 'member-wednesday'" in text
    markdown = render_diff(changes, "markdown")
    assert "| added | rule 'member-wednesday' |" in markdown
    html = render_diff(changes, "html")
    assert html.startswith("<!DOCTYPE html>") and "rule &#39;member-wednesday&#39;" in html
    record = json.loads(render_diff(changes, "json"))
    assert record["verdict_changed"] is True
    assert record["principles"][0]["new"] == {"status": "met", "decided_by": "tool"}
    assert {"change": "removed", "what": "rule 'old-rule'", "path": "rules[1]"} in [
        {k: c[k] for k in ("change", "what", "path")} for c in record["changes"]
    ]
