"""What the console keeps beside the published programmes: drafts, review decisions and the
files the last reload refused.

A draft is the text of a programme's main file as a marketer saved it, valid or not; it is
priced (``draft_programme``) by rebuilding it with the published version's other files, so
an ``include`` resolves as it would once published. Nothing here publishes anything.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from engine.errors import InputError, PolicyError, UnknownError
from engine.ledger.programmes import StoredVersion
from engine.ledger.tables import members, programme_drafts, reload_refusals, review_decisions
from engine.policy.loader import Programme, Report, validate_texts
from engine.policy.problems import Problem

MAX_DRAFT_CHARS = 200_000
MAX_NAME_CHARS = 128


@dataclass(frozen=True)
class Draft:
    id: int
    programme: str
    name: str
    source: str
    version: str | None
    saved_at: datetime
    saved_by: str

    def as_record(self, *, with_source: bool = True) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.id,
            "programme": self.programme,
            "name": self.name,
            "version": self.version,
            "valid": self.version is not None,
            "saved_at": self.saved_at.isoformat(),
            "saved_by": self.saved_by,
        }
        if with_source:
            record["source"] = self.source
        return record


def draft_report(live: StoredVersion, source: str) -> Report:
    """Validate ``source`` as the main file of ``live``'s programme (its other files kept)."""
    texts = {name: text.encode("utf-8") for name, text in live.sources.items()}
    texts[live.main] = source.encode("utf-8")
    return validate_texts(live.main, texts)


def draft_programme(live: StoredVersion, draft: Draft) -> Programme:
    """The draft as a programme to price with; PolicyError (422) when it does not validate."""
    report = draft_report(live, draft.source)
    if not report.ok or len(report.programmes) != 1:
        raise PolicyError(f"draft {draft.id} does not validate", report.problems)
    programme = report.programmes[0]
    if programme.id != live.programme:
        problem = Problem(
            f"the draft is programme '{programme.id}', not '{live.programme}'", ("programme", "id")
        )
        raise PolicyError(f"draft {draft.id} is another programme", [problem])
    return programme


def save_draft(database: Engine, live: StoredVersion, name: Any, source: Any, actor: str) -> Draft:
    """Keep a draft, valid or not (its version is recorded only when it validates)."""
    problems = []
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        problems.append(Problem(f"a name of 1 to {MAX_NAME_CHARS} characters", ("name",)))
    if not isinstance(source, str) or not source.strip() or len(source) > MAX_DRAFT_CHARS:
        problems.append(Problem(f"the YAML text, 1 to {MAX_DRAFT_CHARS} characters", ("source",)))
    if problems:
        raise InputError("the draft is invalid", problems)
    report = draft_report(live, source)
    valid = report.ok and [p.id for p in report.programmes] == [live.programme]
    values = {
        "programme": live.programme,
        "name": name.strip(),
        "source": source,
        "version": report.programmes[0].version if valid else None,
        "saved_at": datetime.now(UTC),
        "saved_by": actor[:128],
    }
    with database.begin() as conn:
        new_id = conn.execute(
            insert(programme_drafts).values(values).returning(programme_drafts.c.id)
        ).scalar_one()
    return Draft(id=int(new_id), **values)


def list_drafts(database: Engine, programme: str) -> list[Draft]:
    """The programme's drafts, newest first."""
    with database.connect() as conn:
        rows = conn.execute(
            select(programme_drafts)
            .where(programme_drafts.c.programme == programme)
            .order_by(programme_drafts.c.id.desc())
        )
        return [_draft(row._mapping) for row in rows]


def read_draft(database: Engine, programme: str, draft_id: int) -> Draft:
    with database.connect() as conn:
        row = conn.execute(
            select(programme_drafts).where(
                programme_drafts.c.programme == programme, programme_drafts.c.id == draft_id
            )
        ).first()
    if row is None:
        raise UnknownError(f"programme '{programme}' has no draft {draft_id}")
    return _draft(row._mapping)


def delete_draft(database: Engine, programme: str, draft_id: int) -> None:
    with database.begin() as conn:
        gone = conn.execute(
            delete(programme_drafts).where(
                programme_drafts.c.programme == programme, programme_drafts.c.id == draft_id
            )
        ).rowcount
    if not gone:
        raise UnknownError(f"programme '{programme}' has no draft {draft_id}")


def diff_lines(live: str, draft: str) -> list[dict[str, Any]]:
    """What the draft changes, line by line: ``-`` live lines removed, ``+`` draft lines added
    (with the draft's line number), in the order a unified diff gives them."""
    changes: list[dict[str, Any]] = []
    before, after = live.split("\n"), draft.split("\n")
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        changes += [{"kind": "-", "live_line": i + 1, "text": before[i]} for i in range(i1, i2)]
        changes += [{"kind": "+", "line": j + 1, "text": after[j]} for j in range(j1, j2)]
    return changes


def _draft(row: Mapping[Any, Any]) -> Draft:
    return Draft(
        id=int(row["id"]),
        programme=row["programme"],
        name=row["name"],
        source=row["source"],
        version=row["version"],
        saved_at=row["saved_at"],
        saved_by=row["saved_by"],
    )


# --- review decisions ---------------------------------------------------------------------


def record_decisions(
    database: Engine, programme: str, document: Mapping[str, Any], actor: str
) -> datetime:
    """Replace the programme's recorded decisions (checked by the caller)."""
    at = datetime.now(UTC)
    with database.begin() as conn:
        conn.execute(delete(review_decisions).where(review_decisions.c.programme == programme))
        conn.execute(
            insert(review_decisions).values(
                programme=programme, document=dict(document), recorded_at=at, recorded_by=actor
            )
        )
    return at


def recorded_decisions(database: Engine, programme: str) -> dict[str, Any] | None:
    """The decisions recorded for the programme with when and by whom, or None."""
    with database.connect() as conn:
        row = conn.execute(
            select(review_decisions).where(review_decisions.c.programme == programme)
        ).mappings().first()
    if row is None:
        return None
    return {
        "document": dict(row["document"]),
        "recorded_at": row["recorded_at"].isoformat(),
        "recorded_by": row["recorded_by"],
    }


# --- the last reload's refusals -----------------------------------------------------------


def record_refusals(
    database: Engine, refused: Mapping[str, list[dict[str, Any]]], actor: str
) -> None:
    """The last reload's refused files replace the previous reload's (none: all cleared)."""
    at = datetime.now(UTC)
    with database.begin() as conn:
        conn.execute(delete(reload_refusals))
        if refused:
            conn.execute(
                insert(reload_refusals),
                [
                    {"file": file[:512], "problems": problems, "refused_at": at, "actor": actor}
                    for file, problems in refused.items()
                ],
            )


def refusals(database: Engine) -> dict[str, dict[str, Any]]:
    """File → ``{"problems", "refused_at", "actor"}`` as the last reload left them."""
    with database.connect() as conn:
        rows = conn.execute(select(reload_refusals).order_by(reload_refusals.c.file))
        return {
            row.file: {
                "problems": list(row.problems),
                "refused_at": row.refused_at.isoformat(),
                "actor": row.actor,
            }
            for row in rows
        }


# --- finding a member ---------------------------------------------------------------------

MAX_FOUND = 20


def find_members(
    conn: Connection, programme: str, *, phone: str | None = None, card: str | None = None
) -> list[dict[str, Any]]:
    """Members whose profile has this phone (``contact.phone``) or card number (``tags.card``),
    exactly as stored; merged-away members are left out. A contact-centre lookup, not a
    report: at most ``MAX_FOUND``."""
    column = members.c.contact["phone"] if phone is not None else members.c.tags["card"]
    wanted = phone if phone is not None else card
    rows = conn.execute(
        select(members.c.id, members.c.name)
        .where(
            members.c.programme == programme,
            members.c.merged_into.is_(None),
            column.as_string() == wanted,
        )
        .order_by(members.c.id)
        .limit(MAX_FOUND)
    )
    return [{"id": row.id, "name": row.name} for row in rows]
