"""``loyalty serve``: gunicorn serving the API, after migrating and publishing once.

Imported only when ``serve`` is the command run (api.cli registers it lazily), so the other
commands never pay for Flask, gunicorn and the ledger.
"""

from __future__ import annotations

import os
from typing import Any

import click
from flask import Flask
from gunicorn.app.base import BaseApplication
from sqlalchemy import Engine

from api import gunicorn_config
from engine.ledger.db import DEFAULT_URL, open_database
from engine.ledger.keys import create_key, list_keys
from engine.ledger.programmes import ProgrammeStore
from engine.policy.loader import validate_paths


class _Gunicorn(BaseApplication):
    """gunicorn with our app factory: each worker builds its own engine after the fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from api import create_app  # imported in the worker, after the fork

        return create_app()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="sync worker processes")
@click.option("--database", envvar="LOYALTY_DATABASE_URL", default=DEFAULT_URL, show_default=True)
@click.option(
    "--rules",
    envvar="LOYALTY_RULES",
    default="rules",
    show_default=True,
    type=click.Path(exists=True, file_okay=False),
)
@click.option(
    "--matcher",
    envvar="LOYALTY_MATCHER",
    default="durable",
    show_default=True,
    type=click.Choice(["durable", "python"]),
)
@click.option("--dev", is_flag=True, help="Flask's development server with the reloader")
def serve(
    host: str, port: int, workers: int, database: str, rules: str, matcher: str, dev: bool
) -> None:
    """Serve the API on the programmes in RULES, with the ledger at DATABASE."""
    os.environ.update(LOYALTY_DATABASE_URL=database, LOYALTY_RULES=rules, LOYALTY_MATCHER=matcher)
    _prepare(database, rules)
    if dev:
        from api import create_app

        create_app().run(host=host, port=port, debug=True, use_reloader=True)
        return
    options = {**gunicorn_config.SETTINGS, "bind": f"{host}:{port}", "workers": workers}
    _Gunicorn(options).run()


def _prepare(database: str, rules: str) -> None:
    """Once, before workers start: migrate, publish the valid programmes, print a first key.

    Starting the server is when the files on disk become what every worker serves; a
    worker that restarts later only reads what is published (see engine/registry.py).
    """
    engine = open_database(database)
    try:
        _publish(engine, rules)
        if not list_keys(engine):
            key = create_key(engine, "admin", label="demo key created at first start")
            click.secho(
                f"First start: an admin API key was created. It is shown only once:\n  {key}",
                fg="yellow",
            )
    finally:
        engine.dispose()


def _publish(engine: Engine, rules: str) -> None:
    report = validate_paths([rules])
    published = ProgrammeStore(engine).publish(report.programmes, report, "loyalty serve")
    for programme, version in published.changed.items():
        click.echo(f"Published {programme}@{version} (generation {published.generation})")
    for file in dict.fromkeys(p.file or "?" for p in report.problems if p.is_error):
        click.secho(f"Refused {file}: its programme keeps its last good version", fg="yellow")
