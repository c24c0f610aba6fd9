"""The ``loyalty`` command as installed: the engine's commands plus ``serve``.

``serve`` is the only command that knows about HTTP, so it lives in api.serve and the
engine's command group stays free of Flask and gunicorn. This module is the entry point of
every ``loyalty`` command, ``validate`` included, so it imports neither: ``serve`` joins the
engine's lazily imported commands.
"""

from __future__ import annotations

from engine.cli import LAZY, main

LAZY["serve"] = "api.serve:serve"

__all__ = ["main"]
