"""Scenarios can say a rule applied, or did not, without listing every rule (issue 19)."""

from __future__ import annotations

import json

from tests.engine.test_scenarios import expecting, run, shop


def test_applied_contains_passes_when_the_rule_is_among_those_that_applied(tmp_path):
    file = shop(
        tmp_path,
        expecting(
            "applied: {contains: [rule:coffee-pastry-combo]}",
            "not_applied: {contains: [rule:member-day-18th]}",
        ),
    )
    code, output = run("test", str(file))
    assert code == 0, output


def test_the_dotted_form_is_the_same_test(tmp_path):
    file = shop(tmp_path, expecting("not_applied.contains: [rule:member-day-18th]"))
    code, output = run("test", str(file))
    assert code == 0, output


def test_a_rule_that_did_apply_fails_not_applied_contains_naming_it(tmp_path):
    file = shop(
        tmp_path,
        expecting("not_applied: {contains: [rule:member-day-18th, rule:coffee-pastry-combo]}"),
    )
    code, output = run("test", str(file), "--format", "json")
    assert code == 1
    (scenario,) = json.loads(output)["files"][0]["scenarios"]
    (mismatch,) = scenario["mismatches"]
    assert mismatch["field"] == "not_applied.contains"
    assert mismatch["message"].endswith("(not in not_applied: rule:coffee-pastry-combo)")
    assert mismatch["line"] == 11


def test_the_whole_list_is_still_compared_as_a_whole(tmp_path):
    file = shop(tmp_path, expecting("applied: [rule:coffee-pastry-combo]"))
    code, output = run("test", str(file))
    assert code == 1 and "applied: expected" in output


def test_contains_wants_a_list_of_sources(tmp_path):
    file = shop(tmp_path, expecting("applied: {contains: coffee-pastry-combo}"))
    code, output = run("test", str(file))
    assert code == 1 and "ERROR" in output, output
