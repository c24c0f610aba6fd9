"""What the API needs from the domain, built once per serving process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from flask import current_app
from sqlalchemy import Engine, text

from api.settings import Settings
from engine.ledger.db import open_database, reading
from engine.ledger.programmes import ProgrammeStore
from engine.ledger.service import Ledger
from engine.ledger.thresholds import stored as stored_thresholds
from engine.registry import Registry


@dataclass
class Services:
    settings: Settings
    database: Engine
    registry: Registry
    ledger: Ledger

    @classmethod
    def start(cls, settings: Settings) -> Services:
        database = open_database(settings.database_url)
        registry = Registry(
            settings.rules,
            matcher=settings.matcher,
            # Top-percent thresholds as the last tier review resolved them, read whenever an
            # evaluator is built (at start and for each new programme version).
            thresholds=partial(stored_thresholds, database),
            store=ProgrammeStore(database),  # what every worker serves is the database's fact
        )
        registry.start()
        return cls(
            settings,
            database,
            registry,
            Ledger(database, registry, back_dating_days=settings.back_dating_days),
        )

    def database_ready(self) -> bool:
        try:
            with reading(self.database) as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True


def services() -> Services:
    return current_app.extensions["loyalty"]
