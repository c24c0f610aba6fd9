"""The ``loyalty`` command: exit codes, output formats, and broken copies of the examples."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "rules").glob("*/programme.yaml"))
BOMB = "\n".join(
    ["bomb0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"bomb{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]" for i in range(1, 8)]
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def validate_json(path: Path) -> tuple[int, list[dict]]:
    code, output = run("validate", "--format", "json", str(path))
    return code, json.loads(output)


def test_the_example_programmes_are_valid():
    code, output = run("validate", str(ROOT / "rules"))
    assert code == 0, output
    assert output.strip().splitlines()[-1].startswith("valid:")


def test_there_are_at_least_three_example_programmes():
    assert len(EXAMPLES) >= 3


def test_a_missing_path_is_a_usage_error_with_exit_code_2():
    code, output = run("validate", "no/such/folder")
    assert code == 2
    assert "does not exist" in output


def test_no_path_at_all_is_a_usage_error():
    assert run("validate")[0] == 2


def test_text_output_names_file_line_and_column(tmp_path: Path):
    broken = tmp_path / "p.yaml"
    broken.write_text("programme: {id: x}\n", encoding="utf-8")
    code, output = run("validate", str(broken))
    assert code == 1
    assert re.search(r"p\.yaml:1:12: error: missing required field 'name' \[programme\]", output)
    assert output.strip().splitlines()[-1].startswith("invalid: ")


def test_json_output_is_a_list_of_complete_records(tmp_path: Path):
    broken = tmp_path / "p.yaml"
    broken.write_text("programme: {id: x}\n", encoding="utf-8")
    code, records = validate_json(broken)
    assert code == 1
    assert {tuple(sorted(r)) for r in records} == {
        ("code", "column", "file", "hint", "line", "message", "path", "severity")
    }
    assert all(r["severity"] == "error" and r["line"] == 1 for r in records)


def test_warnings_alone_keep_exit_code_0(tmp_path: Path):
    source = ROOT / "tests/policy/corpus/fragments/dup_rule.yaml"
    shutil.copy(source, tmp_path / "orphan.yaml")
    code, records = validate_json(tmp_path / "orphan.yaml")
    assert code == 0
    assert [r["code"] for r in records] == ["orphan"]


def _mutate(example: Path, tmp_path: Path, change) -> tuple[Path, int]:
    """Copy the example's folder, apply ``change(lines) -> expected line``, return both."""
    folder = tmp_path / example.parent.name
    shutil.copytree(example.parent, folder)
    target = folder / example.name
    lines = target.read_text(encoding="utf-8").splitlines()
    expected_line = change(lines)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target, expected_line


def _line_of(lines: list[str], pattern: str) -> int:
    return next(i for i, line in enumerate(lines) if re.match(pattern, line))


def duplicate_a_key(lines: list[str]) -> int:
    i = _line_of(lines, r"^\s+currency: ")
    lines.insert(i + 1, lines[i])
    return i + 2


def replace_a_number_by_a_word(lines: list[str]) -> int:
    i = _line_of(lines, r"^\s+points: \d+\s*$")
    lines[i] = re.sub(r"\d+", "plenty", lines[i])
    return i + 1


def add_an_unknown_top_level_key(lines: list[str]) -> int:
    lines.append("bogus_section: 1")
    return len(lines)


def break_the_syntax(lines: list[str]) -> int:
    i = _line_of(lines, r"^\s+name: ")
    lines[i] = lines[i] + ": oops"
    return i + 1


def add_an_alias_bomb(lines: list[str]) -> int:
    lines.extend(BOMB.splitlines())
    return 0  # the bomb is refused as a whole; its line is where expansion gave up


def empty_the_file(lines: list[str]) -> int:
    lines.clear()
    return 1


MUTATIONS = [
    (duplicate_a_key, "duplicate key"),
    (replace_a_number_by_a_word, "expected a whole number, got 'plenty'"),
    (add_an_unknown_top_level_key, "unknown field 'bogus_section'"),
    (break_the_syntax, "YAML syntax error"),
    (add_an_alias_bomb, "too many values"),
    (empty_the_file, "file is empty"),
]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.parent.name for e in EXAMPLES])
@pytest.mark.parametrize("mutation,message", MUTATIONS, ids=[m.__name__ for m, _ in MUTATIONS])
def test_a_broken_copy_of_an_example_exits_1_with_a_record_at_the_right_line(
    example: Path, mutation, message: str, tmp_path: Path
):
    target, expected_line = _mutate(example, tmp_path, mutation)
    code, records = validate_json(target)
    assert code == 1
    matching = [r for r in records if message in r["message"]]
    assert matching, records
    record = matching[0]
    assert Path(record["file"]).resolve() == target.resolve()
    if expected_line:
        assert record["line"] == expected_line
    else:
        assert record["line"] > len(example.read_text(encoding="utf-8").splitlines())


# --- a --database that names no ledger ---------------------------------------------------

COFFEE = "rules/coffee-shop/programme.yaml"
RECOMMENDED = "rules/recommended/programme.yaml"
CAMPAIGN = "reactivate-near-critical-point"
READING_COMMANDS = [
    ["keys", "list"],
    ["keys", "create", "--role", "pos"],
    ["keys", "revoke", "abc"],
    ["ledger", "check"],
    ["ledger", "expire", "--programme", COFFEE],
    ["ledger", "release-pending", "--programme", COFFEE],
    ["ledger", "tier-review", "--programme", COFFEE, "--period-end", "2026-12-31"],
    ["ledger", "expire-inactive", "--programme", COFFEE],
    ["ledger", "import-members", COFFEE, "--programme", COFFEE],
    ["ledger", "import-transactions", COFFEE, "--programme", COFFEE],
    ["outreach", "run"],
    ["outreach", "list", "--programme", "coffee-shop"],
    ["outreach", "export", "--programme", "coffee-shop", "--channel", "sms"],
    ["outreach", "deliver", "--url", "http://127.0.0.1:9/"],
    ["analyze", "critical-point", RECOMMENDED],
    ["campaign", "preview", RECOMMENDED, CAMPAIGN],
    ["campaign", "launch", RECOMMENDED, CAMPAIGN],
    ["demo", "generate", "--members", "10"],
]


@pytest.mark.parametrize("args", READING_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_mistyped_sqlite_ledger_is_refused_and_not_created(args, tmp_path: Path):
    typo = tmp_path / "var" / "loyalty.sqlit"
    result = CliRunner().invoke(main, [*args, "--database", f"sqlite:///{typo}"])
    assert result.exit_code == 2, result.output
    assert f"no ledger at {typo}: the file does not exist" in result.output
    assert "loyalty ledger init" in result.output and "Traceback" not in result.output
    assert not typo.exists() and not typo.parent.exists()


@pytest.mark.db  # creates a ledger
def test_ledger_init_creates_the_ledger_the_other_commands_then_open(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'var' / 'loyalty.sqlite'}"
    created = CliRunner().invoke(main, ["ledger", "init", "--database", url])
    assert created.exit_code == 0 and "created the ledger" in created.output
    assert (tmp_path / "var" / "loyalty.sqlite").exists()
    again = CliRunner().invoke(main, ["ledger", "init", "--database", url])
    assert again.exit_code == 0 and "updated the ledger" in again.output
    checked = CliRunner().invoke(main, ["ledger", "check", "--database", url])
    assert checked.exit_code == 0, checked.output


@pytest.mark.db  # creates a ledger
def test_serve_still_creates_a_new_ledger(tmp_path: Path, monkeypatch):
    import api.cli  # noqa: F401 (the front door adds serve to the command group)
    from api import serve

    started = []
    monkeypatch.setattr(serve._Gunicorn, "run", lambda self: started.append(True))
    database = tmp_path / "var" / "loyalty.sqlite"
    result = CliRunner().invoke(main, ["serve", "--database", f"sqlite:///{database}"])
    assert result.exit_code == 0, result.output
    assert database.exists() and started == [True]


# --- make serve ------------------------------------------------------------------------------


@pytest.mark.http  # make serve, over HTTP
def test_make_serve_honours_port_and_host_and_creates_a_fresh_ledger(tmp_path: Path):
    import os
    import signal
    import subprocess
    import time
    import urllib.request

    from tests.served import free_port

    port = free_port()
    database = tmp_path / "var" / "loyalty.sqlite"  # as on a fresh machine: no folder yet
    env = {**os.environ, "LOYALTY_DATABASE_URL": f"sqlite:///{database}"}
    # -o: the venv is installed; never reinstall it from inside a test.
    command = ["make", "-s", "-o", ".venv/.installed-stamp", "serve", f"PORT={port}"]
    command.append("HOST=127.0.0.1")
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make, loyalty and gunicorn: one group to stop
        )
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text(errors="replace")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    answer = r.status
            except OSError:
                time.sleep(0.2)
        assert answer == 200
        assert database.exists()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
