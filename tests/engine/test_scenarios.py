"""Scenario files and ``loyalty test``: the examples pass, mismatches and broken files are reported."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.scenarios import find_scenario_files, resolve, same

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
PROGRAMMES = sorted(p.parent.name for p in RULES.glob("*/programme.yaml"))

COMBO = """
scenarios:
  - name: Gold combo before 10
    member: {id: m1, tier: gold, qualifying_spend: 100.00}
    transaction:
      id: t1
      at: "2026-11-24T08:15:00+08:00"
      lines:
        - {id: latte, sku: LATTE-M, category: coffee, quantity: 1, unit_price: 32.00}
        - {id: croissant, sku: CROISSANT, category: pastry, quantity: 1, unit_price: 18.00}
    expect:
%s
"""


@pytest.fixture(params=["durable", "python"])
def matcher(request) -> str:
    return request.param


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def shop(tmp_path: Path, scenario_text: str, name: str = "combo.yaml") -> Path:
    """A copy of the coffee shop with one scenario file in its scenarios/ folder."""
    folder = tmp_path / "coffee-shop"
    (folder / "scenarios").mkdir(parents=True, exist_ok=True)
    shutil.copy(RULES / "coffee-shop" / "programme.yaml", folder / "programme.yaml")
    target = folder / "scenarios" / name
    target.write_text(textwrap.dedent(scenario_text).lstrip(), encoding="utf-8")
    return target


def expecting(*lines: str) -> str:
    return COMBO % "\n".join(f"      {line}" for line in lines)


# --- the examples ---------------------------------------------------------------------------


def test_every_example_programme_ships_scenarios():
    for programme in PROGRAMMES:
        assert find_scenario_files([RULES / programme]), f"{programme} has no scenarios"


def test_the_example_scenarios_pass(matcher: str):
    code, output = run("test", str(RULES), "--matcher", matcher)
    assert code == 0, output
    assert "FAIL" not in output
    assert output.strip().splitlines()[-1].startswith("passed: ")


def test_the_json_report_counts_every_example_scenario(matcher: str):
    code, output = run("test", str(RULES), "--matcher", matcher, "--format", "json")
    report = json.loads(output)
    assert code == 0
    assert report["ok"] is True
    assert report["summary"]["scenarios"] == report["summary"]["passed"] >= 40
    tested = {f["programme"].split("@")[0] for f in report["files"]}
    assert tested == set(PROGRAMMES)


def test_validate_skips_scenario_folders():
    code, output = run("validate", str(RULES))
    assert code == 0, output
    assert "scenarios" not in output


# --- mismatches ----------------------------------------------------------------------------


def test_a_wrong_expectation_fails_field_by_field(tmp_path: Path, matcher: str):
    file = shop(
        tmp_path,
        expecting(
            "points.total: 63",
            "points.base: 39",
            'totals.payable: "42.11"',
            "tier.after: gold",
        ),
    )
    code, output = run("test", str(file), "--matcher", matcher)
    assert code == 1
    assert "FAIL  Gold combo before 10  (line 2)" in output
    assert "points.total: expected 63, got 58  (line 11)" in output
    assert "totals.payable: expected 42.11, got 39.78  (line 13)" in output
    assert "points.base" not in output and "tier.after" not in output
    assert output.strip().splitlines()[-1].startswith("failed: 1 of 1 scenarios failed")


def test_mismatches_in_json_carry_field_values_and_position(tmp_path: Path):
    file = shop(tmp_path, expecting("points.total: 63"))
    code, output = run("test", str(file), "--format", "json")
    scenario = json.loads(output)["files"][0]["scenarios"][0]
    assert code == 1
    assert scenario["status"] == "failed"
    assert scenario["mismatches"] == [
        {
            "field": "points.total",
            "expected": 63,
            "actual": 58,
            "message": "points.total: expected 63, got 58",
            "line": 11,
            "column": 7,
        }
    ]


def test_money_compares_as_decimals_and_a_date_matches_an_expiry_time(tmp_path: Path):
    file = shop(
        tmp_path,
        expecting(
            "totals.payable: 39.78",
            'tier.qualifying_after: "139.780"',
            'tier.next_threshold: "3000.00"',
            'points.expires_at: "2027-11-30"',
            "lines.latte.payable: 23.94",
            "points: {base: 39, tier_bonus: 19}",
            "applied: [rule:weekday-early-bird, rule:coffee-pastry-combo]",
            "points.rule_bonus: {}",
        ),
    )
    code, output = run("test", str(file))
    assert code == 0, output


def test_a_misspelt_field_suggests_the_right_one(tmp_path: Path):
    file = shop(tmp_path, expecting("points.totl: 58", "lines.mocha.payable: 1"))
    code, output = run("test", str(file))
    assert code == 1
    assert (
        "points.totl: expected 58, got nothing (points has no field 'totl'; did you mean 'total'?)"
        in output
    )
    assert (
        "lines.mocha.payable: expected 1, got nothing (lines has no entry 'mocha'; ids: latte, croissant)"
        in output
    )


def test_an_expected_refusal_that_does_not_happen_fails(tmp_path: Path):
    file = shop(tmp_path, expecting("error: redemption.exceeds_balance"))
    code, output = run("test", str(file))
    assert code == 1
    assert (
        "error: expected redemption.exceeds_balance, got a quote (the sale was not refused)"
        in output
    )


def test_an_unexpected_refusal_fails_with_its_code_and_reason(tmp_path: Path):
    text = expecting("points.total: 58").replace("lines:", "redeem_points: 500\n      lines:", 1)
    code, output = run("test", str(shop(tmp_path, text)))
    assert code == 1
    assert (
        "error: expected a quote, got redemption.exceeds_balance (You asked to redeem 500 points but the balance is 0.)"
        in output
    )


# --- broken files --------------------------------------------------------------------------


def test_an_unknown_key_is_reported_with_file_line_and_column(tmp_path: Path):
    file = shop(tmp_path, COMBO.replace("    expect:", "    expct:") % "      points.total: 58")
    code, output = run("test", str(file))
    assert code == 1
    assert re.search(
        r"combo\.yaml:10:5: error: unknown field 'expct' \[scenarios\[0\]\.expct\]", output
    )
    assert "did you mean 'expect'?" in output
    assert "ERROR Gold combo before 10" in output


def test_a_yaml_syntax_error_is_located(tmp_path: Path):
    file = shop(tmp_path, "scenarios:\n  - name: [unclosed\n")
    code, output = run("test", str(file), "--format", "json")
    problems = json.loads(output)["problems"]
    assert code == 1
    assert problems[0]["code"] == "syntax"
    assert problems[0]["file"].endswith("combo.yaml") and problems[0]["line"] == 3


def test_bad_input_inside_a_scenario_points_at_the_value(tmp_path: Path, matcher: str):
    file = shop(tmp_path, expecting("points.total: 58").replace("32.00", "32.001", 1))
    code, output = run("test", str(file), "--matcher", matcher)
    assert code == 1
    assert re.search(
        r"combo\.yaml:8:80: error: 32\.001 CNY has more decimals than CNY allows \(2\); round it first\. "
        r"\[scenarios\[0\]\.transaction\.lines\[0\]\.unit_price\]",
        output,
    )


def test_a_tier_the_programme_does_not_have_is_a_problem_of_the_member(tmp_path: Path):
    file = shop(tmp_path, expecting("points.total: 58").replace("tier: gold", "tier: diamond"))
    code, output = run("test", str(file))
    assert code == 1
    assert re.search(
        r"combo\.yaml:3:28: error: 'diamond' is not a tier of coffee-shop \[scenarios\[0\]\.member\.tier\]",
        output,
    )


def test_an_error_expectation_must_stand_alone(tmp_path: Path):
    file = shop(tmp_path, expecting("error: redemption.not_a_step", "points.total: 58"))
    code, output = run("test", str(file))
    assert code == 1
    assert re.search(r"combo\.yaml:12:21: error: a refused sale has no quote", output)


def test_scenario_names_are_unique_in_a_file(tmp_path: Path):
    scenario = (COMBO % "      points.total: 58").split("scenarios:\n", 1)[1]
    file = shop(tmp_path, "scenarios:\n" + scenario + scenario)
    code, output = run("test", str(file))
    assert code == 1
    assert "another scenario in this file is also called 'Gold combo before 10'" in output


def test_a_missing_programme_is_reported_at_the_programme_key(tmp_path: Path):
    file = shop(tmp_path, "programme: ../nope.yaml\n" + COMBO % "      points.total: 58")
    code, output = run("test", str(file))
    assert code == 1
    assert re.search(
        r"combo\.yaml:1:12: error: programme file '\.\./nope\.yaml' does not exist", output
    )


def test_an_invalid_programme_stops_its_scenarios(tmp_path: Path):
    file = shop(tmp_path, expecting("points.total: 58"))
    programme = file.parent.parent / "programme.yaml"
    programme.write_text(programme.read_text(encoding="utf-8").replace("per: 1\n", "per: 0\n", 1))
    code, output = run("test", str(file))
    assert code == 1
    assert "the programme" in output and "is invalid, so no scenario can run" in output


def test_no_scenario_files_fails_and_a_missing_path_is_a_usage_error(tmp_path: Path):
    assert run("test", str(tmp_path))[0] == 1
    assert run("test", str(tmp_path / "missing"))[0] == 2


# --- comparison rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (63, 63),
        (Decimal("42.1"), "42.10"),
        ("42.10", "42.1"),
        ("2027-11-30", "2027-11-30T23:59:59.999999+08:00"),
        ("2026-10-04T00:00:00+08:00", "2026-10-03T16:00:00+00:00"),
        (None, None),
        (True, True),
        ([1, "a"], [1, "a"]),
    ],
)
def test_values_that_match(expected, actual):
    assert same(expected, actual)


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (63, 60),
        (1, True),
        ("gold", "platinum"),
        ("2027-11-30", "2027-12-01T00:00:00+08:00"),
        ([1, 2], [2, 1]),
        (None, 0),
        ({}, {"rule:x": 1}),
    ],
)
def test_values_that_do_not_match(expected, actual):
    assert not same(expected, actual)


def test_lines_are_found_by_id_and_other_lists_by_position():
    quote = {"lines": [{"id": "a", "payable": "1.00"}], "messages": ["hi"]}
    assert resolve(quote, ["lines", "a", "payable"]) == ("1.00", "")
    assert resolve(quote, ["messages", "0"]) == ("hi", "")


def test_an_impossible_what_if_date_is_located(tmp_path: Path):
    file = shop(
        tmp_path,
        expecting("points.total: 58").replace(
            "    member:", '    at: "2026-02-30"\n    member:', 1
        ),
    )
    code, output = run("test", str(file))
    assert code == 1
    assert re.search(
        r"combo\.yaml:3:9: error: '2026-02-30' is not a real date or time \[scenarios\[0\]\.at\]",
        output,
    )
