"""Campaign tests reuse the ledger's fixtures: every database test runs on SQLite AND on a
fresh PostgreSQL database (``database``), never skipped."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from engine.campaigns.demo import Plan, generate
from engine.campaigns.launch import Launch, launch
from engine.campaigns.model import Context
from engine.ledger.service import Ledger
from engine.policy.loader import load_programme
from engine.pricing import Evaluator
from tests.ledger.conftest import *  # noqa: F403

RECOMMENDED = "rules/recommended/programme.yaml"
CAMPAIGN = "reactivate-near-critical-point"
SHANGHAI = ZoneInfo("Asia/Shanghai")
LAUNCH_AT = datetime(2026, 4, 12, 20, 0, tzinfo=SHANGHAI)  # the evening before the window
AFTER = datetime(2026, 5, 1, 9, 0, tzinfo=SHANGHAI)
HISTORY_ENDS = date(2026, 4, 12)


@pytest.fixture(scope="session")
def recommended_evaluator() -> Evaluator:
    return Evaluator(load_programme(RECOMMENDED), matcher="python")


@pytest.fixture(scope="session")
def recommended(recommended_evaluator: Evaluator) -> Context:
    return Context.of(recommended_evaluator.document)


@pytest.fixture
def shop(database: Engine, recommended_evaluator: Evaluator) -> Ledger:
    """A ledger serving the recommended programme (the one with the downpour campaign)."""
    return Ledger(database, {"recommended": recommended_evaluator}, clock=lambda: LAUNCH_AT)


def populate(database: Engine, context: Context, members: int, **plan: object) -> Plan:
    chosen = Plan(members, HISTORY_ENDS, **plan)  # type: ignore[arg-type]
    generate(database, context, chosen)
    return chosen


def launched(database: Engine, context: Context, members: int = 1500) -> Launch:
    populate(database, context, members)
    return launch(database, context, CAMPAIGN, LAUNCH_AT)
