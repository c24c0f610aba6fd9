"""Small programmes written for one test, on disk in a temporary folder, and a ledger on them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from engine.ledger.service import Ledger
from engine.policy.loader import load_programme
from engine.pricing import Evaluator

GIFT_CARD_EARN = {"points": 10, "per": 1, "exclude": {"categories": ["gift_card"]}}


def write_programme(folder: Path, programme_id: str, **sections: Any) -> Path:
    """A programme folder ``folder/<id>/programme.yaml`` (JSON is YAML) with these sections."""
    document = {
        "programme": {
            "id": programme_id,
            "name": f"Test {programme_id}",
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "pitch": "A programme written for one test.",
        },
        **sections,
    }
    path = folder / programme_id / "programme.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def evaluator_for(folder: Path, programme_id: str, **sections: Any) -> Evaluator:
    path = write_programme(folder, programme_id, **sections)
    return Evaluator(load_programme(path), matcher="python")


def ledger_on(database: Engine, *evaluators: Evaluator) -> Ledger:
    return Ledger(
        database,
        {e.programme.id: e for e in evaluators},
        clock=lambda: datetime(2026, 11, 24, tzinfo=UTC),
    )


def line(line_id: str, sku: str, category: str, price: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "id": line_id,
        "sku": sku,
        "category": category,
        "unit_price": price,
        "quantity": quantity,
    }


def sale_body(
    sale_id: str, *lines: Mapping[str, Any], at: str = "2026-11-24T12:00:00+08:00", **extra: Any
) -> dict[str, Any]:
    return {"id": sale_id, "at": at, "lines": [dict(item) for item in lines], **extra}
