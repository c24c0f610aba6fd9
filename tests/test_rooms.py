"""Each room keeps to its concern: read from the source, so a stray branch or writer fails here."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest

from engine.policy import extensions
from engine.policy.loader import load_programme
from engine.policy.problems import Problem
from engine.policy.semantic import semantic_problems
from tests.test_imports import ROOT, import_graph, under

# Backend branches outside engine/ledger/dialect.py: the column type and the migrations get
# a SQLAlchemy Dialect object, not a connection.
DIALECT_BRANCH = re.compile(r"\.dialect\.name\b|\bdialect\.name\s*[!=]=")
BACKEND_AWARE = {"engine/ledger/dialect.py", "engine/ledger/tables.py", "engine/ledger/migrations"}
# Writes of lots or journal rows, in SQLAlchemy or in SQL text.
LEDGER_WRITE = re.compile(
    r"\b(insert|update)\((lots|journal)\b|\b(INSERT INTO|UPDATE)\s+(lots|journal)\b"
)
# campaigns/demo.py fills a throw-away demo database with synthetic history in bulk SQL.
LEDGER_WRITERS = {
    "engine/ledger/postings.py",
    "engine/ledger/migrations",
    "engine/campaigns/demo.py",
}


def sources(*folders: str) -> Iterator[tuple[str, str]]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def outside(name: str, allowed: Iterable[str]) -> bool:
    return not any(name == a or name.startswith(a + "/") for a in allowed)


def test_the_policy_validator_imports_nothing_from_outreach() -> None:
    policy = under(import_graph(), "engine.policy")
    assert policy, "engine.policy has modules"
    assert {
        (module, target)
        for module, targets in policy.items()
        for target in targets
        if target.startswith("engine.outreach")
    } == set()


def test_only_the_dialect_module_branches_on_the_database_backend() -> None:
    found = [
        f"{name}:{number}"
        for name, text in sources("engine", "api")
        if outside(name, BACKEND_AWARE)
        for number, line in enumerate(text.splitlines(), 1)
        if DIALECT_BRANCH.search(line)
    ]
    assert found == []


def test_only_postings_writes_lots_and_journal_rows() -> None:
    found = [
        f"{name}:{number}: {line.strip()}"
        for name, text in sources("engine", "api")
        if outside(name, LEDGER_WRITERS)
        for number, line in enumerate(text.splitlines(), 1)
        if LEDGER_WRITE.search(line)
    ]
    assert found == []


def test_the_reader_process_imports_neither_postings_nor_the_pricing_engine() -> None:
    probe = (
        "import sys, engine.ledger.importer.reader; "
        "print(sorted(m for m in ('engine.ledger.postings', 'engine.pricing.pipeline') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_outreach_template_check_is_registered_once_outreach_is_imported() -> None:
    from engine.outreach.templates import template_problems

    assert template_problems in extensions.registered_checks()


def test_a_registered_check_runs_after_the_languages_own_and_only_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = load_programme(ROOT / "rules/recommended/programme.yaml").document
    monkeypatch.setattr(extensions, "_REGISTERED", [])
    calls: list[str] = []

    def shout(document: Mapping[str, Any]) -> Iterator[Problem]:
        calls.append(document["programme"]["id"])
        yield Problem("a registered check spoke", ("programme",))

    assert extensions.register_check(shout) is shout
    extensions.register_check(shout)
    problems = [p.message for p in semantic_problems(document)]
    assert calls == [document["programme"]["id"]]
    assert problems[-1] == "a registered check spoke"


def test_a_fresh_loyalty_validate_still_reports_an_unknown_template_variable(tmp_path) -> None:
    """In a process that imported nothing else first, the front door registers the check."""
    source = (ROOT / "rules/calendar-retail/programme.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "programme.yaml"
    broken.write_text(source.replace("{name}! 500 bonus", "{nmae}! 500 bonus"), encoding="utf-8")
    probe = "import sys; from api.cli import main; main(sys.argv[1:])"
    out = subprocess.run(
        [sys.executable, "-c", probe, "validate", str(broken)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert "unknown variable 'nmae' on line 1 of the template" in out.stdout + out.stderr
