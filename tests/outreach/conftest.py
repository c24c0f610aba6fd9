"""Outreach tests reuse the ledger's fixtures: every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.ledger.conftest import *  # noqa: F403
