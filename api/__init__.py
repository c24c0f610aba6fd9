"""The HTTP edge: a thin Flask app that turns requests into engine calls.

``create_app`` builds everything (database, programmes, ledger) inside the
process that serves, so gunicorn workers each get their own durable-rules
host after the fork. It imports its modules when called, so that importing the package
(as the ``loyalty`` command does) stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The loyalty-rules API. ``config`` overrides settings read from the environment."""
    # Imported here, not above: every ``loyalty`` command enters through this package
    # (api.cli), and ``validate`` must not pay for Flask and the ledger.
    from flask import Flask
    from flask.json.provider import DefaultJSONProvider

    from api import (
        backtest,
        campaigns,
        console,
        drafts,
        edge,
        errors,
        health,
        limits,
        logs,
        members,
        outreach,
        policies,
        reviews,
        sales,
        vouchers,
    )
    from api.services import Services
    from api.settings import Settings

    app = Flask(__name__, static_folder=None)  # an API serves no static files
    if isinstance(app.json, DefaultJSONProvider):  # always, unless a subclass changes it
        app.json.ensure_ascii = False  # names and messages stay readable
    settings = Settings.from_env(config or {})
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["loyalty"] = Services.start(settings)
    errors.init_app(app)
    logs.init_app(app)
    edge.init_app(app)
    limits.init_app(app, settings)
    for blueprint in (
        health.bp,
        policies.bp,
        sales.bp,
        members.bp,
        reviews.bp,
        campaigns.bp,
        outreach.bp,
        drafts.bp,
        backtest.bp,
        vouchers.bp,
    ):
        app.register_blueprint(blueprint)
    console.init_app(app, app.extensions["loyalty"])  # the pages at /, a client of /v1
    return app
