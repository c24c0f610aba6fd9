"""Build-time step that pyproject.toml cannot declare: ship ``schemas/`` inside the wheel.

The JSON Schemas live at the top of the repository (programmes point editors at
``../../schemas/programme.schema.json``), outside any package, so package data cannot name
them. The wheel gets a copy at ``engine/schemas/``; ``engine.policy.schema`` finds it there
when installed, and ``schemas/`` itself in a checkout. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SCHEMAS = Path(__file__).resolve().parent / "schemas"


class BuildWithSchemas(build_py):
    """``build_py``, then ``schemas/*.json`` copied into the built ``engine`` package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "engine" / "schemas"
        target.mkdir(parents=True, exist_ok=True)
        for schema in sorted(SCHEMAS.glob("*.json")):
            shutil.copy2(schema, target / schema.name)


setup(cmdclass={"build_py": BuildWithSchemas})
