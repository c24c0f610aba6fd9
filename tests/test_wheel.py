"""The built wheel works outside the checkout: schemas, the OpenAPI document, the migrations
and the LICENSE are in it, and ``loyalty validate`` gives answers, not tracebacks.

The wheel is built offline (``--no-build-isolation``, setuptools from the dev extras) and
installed without dependencies into a fresh venv whose only other path is the project
venv's site-packages, added as a plain path: its editable install of the checkout is not
activated, so every ``engine`` and ``api`` module comes from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    environment.pop("PYTHONPATH", None)
    return subprocess.run(
        args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(
        ROOT,
        source,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "var", "__pycache__"),
    )
    out = tmp_path_factory.mktemp("dist")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", out, "."],
        cwd=source,
    )
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("loyalty_rules-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its bin folder."""
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], home
        ).stdout.strip()
    )
    # The project's pip installs for the new venv's python (so the scripts run that python).
    # It runs before the dependencies' path is added, and ignores what is installed: pip must
    # never see, and so never uninstall, the project venv's own editable install.
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    done = _run([*pip, "--ignore-installed", "--no-index", "--quiet", str(wheel)], cwd=home)
    assert done.returncode == 0, done.stderr
    (site / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return home / "bin"


def test_the_wheel_carries_its_data_and_licence(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    assert "api/openapi.json" in names
    assert "engine/schemas/programme.schema.json" in names
    assert "engine/ledger/migrations/env.py" in names
    assert any(n.startswith("engine/ledger/migrations/versions/0001") for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_the_installed_code_is_the_wheel_not_the_checkout(installed: Path, tmp_path: Path):
    where = _run(
        [
            str(installed / "python"),
            "-c",
            "import engine, api; print(engine.__file__, api.__file__)",
        ],
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr
    assert str(ROOT) not in where.stdout and str(installed.parent) in where.stdout


def test_validate_from_the_installed_wheel_outside_the_checkout(installed: Path, tmp_path: Path):
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    good = _run([str(installed / "loyalty"), "validate", "rules"], cwd=tmp_path)
    assert (good.returncode, good.stderr) == (0, ""), good.stdout
    assert good.stdout.startswith("valid: ")
    broken = tmp_path / "rules" / "coffee-shop" / "programme.yaml"
    broken.write_text(broken.read_text().replace("points: 1\n", "points: -1\n", 1))
    bad = _run([str(installed / "loyalty"), "validate", str(broken)], cwd=tmp_path)
    assert bad.returncode == 1 and "Traceback" not in bad.stdout + bad.stderr
    assert "earn.points" in bad.stdout


@pytest.mark.db  # creates a ledger
def test_the_installed_wheel_creates_a_ledger_and_serves_its_openapi(
    installed: Path, tmp_path: Path
):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    created = _run([str(installed / "loyalty"), "ledger", "init", "--database", url], tmp_path)
    assert created.returncode == 0, created.stderr
    served = _run(
        [
            str(installed / "python"),
            "-c",
            "from api import create_app; "
            f"app = create_app({{'database_url': {url!r}, 'rules': 'none', 'auth': False}}); "
            "print(app.test_client().get('/openapi.json').get_json()['openapi'])",
        ],
        cwd=tmp_path,
    )
    assert served.returncode == 0, served.stderr
    assert served.stdout.strip().startswith("3.1")
