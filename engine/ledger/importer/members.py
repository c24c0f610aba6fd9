"""Importing members: each row checked, the new ids of a batch written in one transaction.

A new member starts at the programme's first level, like an enrolment, with a ``tier_history``
row saying so. Columns: see ``engine.ledger.importer``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from engine.ledger.importer.bulk import Bulk
from engine.ledger.importer.cells import (
    parse_consent,
    parse_date,
    parse_id,
    parse_optional_date,
    parse_tags,
)
from engine.ledger.importer.rows import (
    BATCH,
    ImportReport,
    Progress,
    RowError,
    Rows,
    batches,
    parse_rows,
    silent,
)

if TYPE_CHECKING:
    from engine.pricing import Evaluator

MEMBER_COLUMNS = (
    "id",
    "name",
    "joined",
    "birthday",
    "tags",
    "email",
    "phone",
    "wechat",
    "consent_email",
    "consent_sms",
    "consent_call",
    "consent_app_push",
    "consent_wechat",
)
# Every channel outreach can use (``engine.outreach``): an imported member's consent is as
# complete as an enrolled one's, so call-channel lapse tasks reach imported members too.
CONSENT_CHANNELS = ("email", "sms", "call", "app_push", "wechat")
MEMBER_ROW = (
    "programme",
    "id",
    "name",
    "tags",
    "birthday",
    "joined",
    "contact",
    "consent",
    "tier",
    "tier_since",
    "qualifying_spend",
    "balance",
    "debt",
    "created_at",
    "updated_at",
)
HISTORY_ROW = ("programme", "member_id", "tier", "since", "reason", "at")


def import_members(
    engine: Engine,
    evaluator: Evaluator,
    path: str | os.PathLike[str],
    *,
    batch_size: int = BATCH,
    progress: Progress = silent,
    now: datetime | None = None,
) -> ImportReport:
    """Import members from a CSV file (columns in the module's docstring)."""
    now = now or datetime.now(UTC)
    rows = Rows(Path(path), ("id", "joined"), MEMBER_COLUMNS)
    report = ImportReport()
    entry = evaluator.levels[0]["id"] if evaluator.levels else None

    def write(bulk: Bulk, values: list[dict[str, Any]]) -> None:
        programme, at, d = evaluator.programme.id, bulk.dialect.at(now), bulk.dialect
        bulk.insert(
            "members",
            MEMBER_ROW,
            [
                (
                    programme,
                    v["id"],
                    v["name"],
                    json.dumps(v["tags"]),
                    d.day(v["birthday"]),
                    d.day(v["joined"]),
                    json.dumps(v["contact"]),
                    json.dumps(v["consent"]),
                    entry,
                    d.day(v["joined"]),
                    d.money(Decimal(0)),
                    0,
                    0,
                    at,
                    at,
                )
                for v in values
            ],
        )
        history = [(programme, v["id"], entry, d.day(v["joined"]), "imported", at) for v in values]
        bulk.insert("tier_history", HISTORY_ROW, history)

    for batch in batches(rows, batch_size, report):
        parsed = parse_rows(batch, _member, report)
        _write(engine, evaluator.programme.id, parsed, report, write, "members")
        progress(rows.done, rows.size)
    report.rejected.sort(key=lambda rejected: rejected.line)
    return report


def _member(row: Mapping[str, Any]) -> dict[str, Any]:
    name = row.get("name") or None
    if name and len(name) > 256:
        raise RowError("name is longer than 256 characters")
    consent = {
        channel: value
        for channel in CONSENT_CHANNELS
        if (value := parse_consent(row.get(f"consent_{channel}", ""), f"consent_{channel}"))
        is not None
    }
    return {
        "id": parse_id(row["id"], "id"),
        "name": name,
        "joined": parse_date(row["joined"], "joined"),
        "birthday": parse_optional_date(row.get("birthday", ""), "birthday"),
        "tags": parse_tags(row.get("tags", "")),
        "contact": {k: row[k] for k in ("email", "phone", "wechat") if row.get(k)},
        "consent": consent,
    }


def _write(
    engine: Engine,
    programme: str,
    rows: list[tuple[int, dict[str, Any]]],
    report: ImportReport,
    insert_rows: Callable[[Bulk, list[dict[str, Any]]], None],
    table: str,
) -> None:
    """Insert the rows whose id is new, in one transaction; skip the others.

    A concurrent writer may insert one of the ids between the check and the insert: the
    transaction is rolled back and the batch checked and written again.
    """
    fresh: list[dict[str, Any]] = []
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                bulk = Bulk(conn)
                fresh = _fresh(bulk, programme, rows, table)
                insert_rows(bulk, fresh)
            break
        except IntegrityError:
            if attempt:
                raise
    report.imported += len(fresh)
    report.skipped += len(rows) - len(fresh)


def _fresh(
    bulk: Bulk, programme: str, rows: list[tuple[int, dict[str, Any]]], table: str
) -> list[dict[str, Any]]:
    """The rows whose id is neither in the ledger nor earlier in the batch."""
    existing = bulk.existing(table, programme, [row["id"] for _, row in rows])
    fresh: dict[str, dict[str, Any]] = {}
    for _, row in rows:
        if row["id"] not in existing and row["id"] not in fresh:
            fresh[row["id"]] = row
    return list(fresh.values())
