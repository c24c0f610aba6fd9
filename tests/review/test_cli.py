"""``loyalty review``: exit codes, formats, the decisions file beside the proposal, diffs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.review.cli import review
from tests.review.helpers import BURN, proposal

ROOT = Path(__file__).resolve().parents[2]
RECOMMENDED = ROOT / "rules" / "recommended"
BARE = proposal(BURN)  # reason to join only: rework


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(review, [str(a) for a in args])
    return result.exit_code, result.output


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_launchable_proposal_exits_0():
    code, output = run(RECOMMENDED / "programme.yaml")
    assert code == 0, output
    assert "LAUNCHABLE: 6 of 6 principles met (4 needed)" in output


def test_a_folder_stands_for_its_programme_yaml():
    assert run(RECOMMENDED)[0] == 0


def test_a_proposal_needing_rework_exits_1(tmp_path: Path):
    code, output = run(write(tmp_path, "p.yaml", BARE))
    assert code == 1
    assert "REWORK: 1 of 6 principles met (4 needed)" in output
    assert "would satisfy:" in output


def test_an_invalid_proposal_prints_its_problems_and_exits_1(tmp_path: Path):
    path = write(tmp_path, "p.yaml", BARE.replace("  per: 1\n", "  pre: 1\n"))
    code, output = run(path)
    assert code == 1
    assert "p.yaml:9:3: error: unknown field 'pre'" in output
    assert "cannot be reviewed" in output


def test_invalid_proposal_problems_as_json(tmp_path: Path):
    path = write(tmp_path, "p.yaml", BARE.replace("  per: 1\n", "  pre: 1\n"))
    code, output = run(path, "--format", "json")
    record = json.loads(output)
    assert code == 1
    assert record["valid"] is False
    assert any(p["message"] == "unknown field 'pre'" for p in record["problems"])


def test_a_fragment_is_not_a_proposal(tmp_path: Path):
    path = write(tmp_path, "f.yaml", "rules: []\n")
    code, output = run(path)
    assert code == 1
    assert "f.yaml:1:1: error: this file does not declare a programme" in output


@pytest.mark.parametrize(
    "args",
    [[], ["--format", "pdf", "x"], ["no/such/file.yaml"], ["a", "b", "c"]],
    ids=["nothing", "unknown format", "missing file", "three files"],
)
def test_usage_errors_exit_2(args: list[str]):
    assert run(*args)[0] == 2


def test_a_folder_without_programme_yaml_is_a_usage_error(tmp_path: Path):
    assert run(tmp_path)[0] == 2


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_every_format_writes_to_a_file(tmp_path: Path, fmt: str):
    out = tmp_path / f"report.{fmt}"
    code, output = run(RECOMMENDED, "--format", fmt, "--output", out)
    assert code == 0
    assert f"report written to {out}" in output
    written = out.read_text(encoding="utf-8")
    assert "邻里鲜会员 Linli Fresh Members" in written
    if fmt == "json":
        assert json.loads(written)["verdict"] == "launchable"


def test_the_decisions_file_beside_the_proposal_is_used(tmp_path: Path):
    path = write(
        tmp_path,
        "p.yaml",
        proposal(
            BURN,
            'review:\n  claims:\n    stickiness: "a"\n    social_face: "b"\n'
            '    bigger_baskets: "c"\n',
        ),
    )
    assert run(path)[0] == 1
    write(
        tmp_path,
        "p.review.yaml",
        'reviewer: "Li Wei"\ndate: "2026-03-02"\ndecisions:\n'
        "  stickiness: {decision: confirmed, reason: Seen the weekly mailer.}\n"
        "  social_face: {decision: confirmed, reason: Seen the card.}\n"
        "  bigger_baskets: {decision: confirmed, reason: Seen the bundles.}\n",
    )
    code, output = run(path)
    assert code == 0, output
    assert "(reviewer Li Wei, 2026-03-02)" in output
    assert "p.review.yaml (Li Wei, 2026-03-02)" in output


def test_an_explicit_decisions_file_wins(tmp_path: Path):
    path = write(tmp_path, "p.yaml", proposal(BURN))
    decisions = write(
        tmp_path,
        "elsewhere.yaml",
        'reviewer: "Li Wei"\ndate: "2026-03-02"\ndecisions:\n'
        "  reason_to_join: {decision: rejected, reason: The pitch says nothing.}\n",
    )
    code, output = run(path, "--decisions", decisions, "--format", "json")
    record = json.loads(output)
    assert code == 1
    assert record["principles"][0]["status"] == "not_met"
    assert record["principles"][0]["decided_by"] == "reviewer"


def test_an_invalid_decisions_file_is_reported_and_exits_1(tmp_path: Path):
    path = write(tmp_path, "p.yaml", proposal(BURN))
    write(tmp_path, "p.review.yaml", 'reviewer: "x"\ndate: "2026-03-02"\ndecisions: {}\n')
    code, output = run(path)
    assert code == 1
    assert "p.review.yaml:3:12: error: is empty" in output


def test_two_versions_show_what_changed_and_exit_by_the_new_verdict(tmp_path: Path):
    old = write(tmp_path, "v1.yaml", BARE)
    folder = tmp_path / "recommended"
    shutil.copytree(RECOMMENDED, folder)
    code, output = run(old, folder / "programme.yaml")
    assert code == 0, output
    assert "Verdict: rework (1 of 6) -> launchable (6 of 6)" in output
    assert "added    rule 'member-wednesday'" in output
    assert "added    campaign 'reactivate-near-critical-point'" in output
    code, output = run(folder, old)
    assert code == 1
    assert "removed  rule 'member-wednesday'" in output
