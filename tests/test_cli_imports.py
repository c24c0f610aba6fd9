"""What each ``loyalty`` command imports: validate (run by editors and pre-commit hooks many
times a day) stays free of the ledger, the pricing engine, Alembic, Flask and gunicorn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

import engine.cli
from engine.pricing import MatcherKind

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sqlalchemy", "alembic", "flask", "gunicorn", "engine.ledger", "engine.pricing")

PROBE = """
import sys
from api.cli import main
try:
    main(sys.argv[1:])
except SystemExit as done:
    code = done.code
heavy = sorted({m for m in sys.modules for h in %r if m == h or m.startswith(h + '.')})
print(code, heavy)
"""


def loaded_by(*argv: str) -> str:
    """Exit code and the heavy modules loaded, by one fresh ``loyalty`` process."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def test_validate_imports_neither_the_ledger_nor_pricing_nor_the_server() -> None:
    assert loaded_by("validate", "rules/coffee-shop") == "0 []"


def test_an_invalid_file_is_still_reported_by_the_light_validate(tmp_path: Path) -> None:
    broken = tmp_path / "programme.yaml"
    broken.write_text("programme: {id: 1}\n", encoding="utf-8")
    assert loaded_by("validate", str(broken)) == "1 []"


def test_the_lazily_imported_commands_still_load_when_named() -> None:
    assert "'engine.ledger'" in loaded_by("ledger", "--help")
    assert "'flask'" in loaded_by("serve", "--help")


def test_the_cli_lists_the_matchers_the_pricing_engine_knows() -> None:
    assert get_args(MatcherKind) == engine.cli.MATCHERS
