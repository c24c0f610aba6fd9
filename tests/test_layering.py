"""The import-linter contracts in pyproject.toml hold, and would catch a real violation.

``make test`` runs ``lint-imports`` itself; these tests keep the contracts honest: each one
is checked on the tree as it is, and on a copy of it with one forbidden import added per
contract, where every contract must break.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {
    "engine never imports api": ("engine/money.py", "import api.errors"),
    "api is the only Flask importer": ("engine/ledger/keys.py", "import flask"),
    "the pricing core imports no ledger, SQLAlchemy, Flask or durable-rules": (
        "engine/pricing/points.py",
        "import sqlalchemy",
    ),
}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(root)}  # this copy's engine and api
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_tree(target: Path) -> Path:
    for package in ("engine", "api"):
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy2(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_every_contract_is_kept_by_the_code_as_it_is():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    report = " ".join(result.stdout.split())
    for name in CONTRACTS:
        assert f"{name} KEPT" in report, report
    assert f"{len(CONTRACTS)} kept, 0 broken" in report, report


def test_a_forbidden_import_breaks_its_contract(tmp_path):
    tree = copy_of_tree(tmp_path)
    for module, line in CONTRACTS.values():
        path = tree / module
        path.write_text(path.read_text() + f"\n{line}  # a deliberate violation\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    report = " ".join(result.stdout.split())
    for name in CONTRACTS:
        assert f"{name} BROKEN" in report, report
    assert f"0 kept, {len(CONTRACTS)} broken" in report, report
