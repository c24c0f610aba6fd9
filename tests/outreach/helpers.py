"""Programmes with a chosen outreach section, and ledger rows written directly (exact edges)."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select

from engine.calendar import end_of_day
from engine.ledger.tables import lots, members, outreach_tasks, tier_history, transactions
from engine.outreach.run import RunReport, run_outreach
from engine.policy.loader import Programme, load_programme
from engine.policy.source import SourceMap
from engine.pricing import Evaluator

BASE = load_programme("rules/calendar-retail/programme.yaml")  # HKD, calendar year, 20k / 80k
NOW = datetime(2026, 6, 1, tzinfo=UTC)
ALL_CHANNELS = {"sms": True, "email": True, "call": True, "app_push": True, "wechat": True}
CONTACT = {"phone": "+85212345678", "email": "m@example.com", "wechat": "wx-m"}


def programme(outreach: list[dict[str, Any]], **meta: Any) -> Evaluator:
    document = copy.deepcopy(dict(BASE.document))
    document["outreach"] = outreach
    document["programme"] = {**document["programme"], **meta}
    version = f"test-{abs(hash(repr(outreach) + repr(meta)))}"
    return Evaluator(Programme(document, version, (), SourceMap()), matcher="python")


def trigger(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": fields.pop("id", kind.replace("_", "-")),
        "trigger": kind,
        "channel": fields.pop("channel", "sms"),
        "template": fields.pop("template", "Hi {name}"),
        **fields,
    }


def member(
    db: Engine,
    evaluator: Evaluator,
    member_id: str,
    *,
    consent: dict[str, bool] | None = None,
    contact: dict[str, str] | None = None,
    **values: Any,
) -> None:
    row = {
        "programme": evaluator.programme.id,
        "id": member_id,
        "name": f"Name {member_id}",
        "tags": {},
        "joined": date(2025, 1, 1),
        "contact": CONTACT if contact is None else contact,
        "consent": ALL_CHANNELS if consent is None else consent,
        "tier": "classic",
        "qualifying_spend": Decimal(0),
        "balance": 0,
        "debt": 0,
        "created_at": NOW,
        "updated_at": NOW,
        **values,
    }
    with db.begin() as conn:
        conn.execute(insert(members).values(**row))


def lot(db: Engine, evaluator: Evaluator, member_id: str, points: int, expires: date) -> None:
    with db.begin() as conn:
        conn.execute(
            insert(lots).values(
                programme=evaluator.programme.id,
                member_id=member_id,
                points=points,
                points_left=points,
                earned_at=NOW - timedelta(days=400),
                expires_at=end_of_day(expires, evaluator.tz),
            )
        )


def sale(
    db: Engine,
    evaluator: Evaluator,
    member_id: str,
    at: datetime,
    categories: tuple[str, ...] = ("fashion",),
) -> None:
    """A stored sale at ``at`` (and the member's last purchase if it is the latest)."""
    lines = [{"id": str(i), "category": c} for i, c in enumerate(categories)]
    with db.begin() as conn:
        count = conn.execute(select(func.count()).select_from(transactions)).scalar_one()
        conn.execute(
            insert(transactions).values(
                programme=evaluator.programme.id,
                id=f"t{count + 1}",
                kind="sale",
                member_id=member_id,
                request_hash="x",
                request={"lines": lines},
                response={},
                at=at,
                created_at=at,
            )
        )
        last = conn.execute(
            select(func.max(transactions.c.at)).where(transactions.c.member_id == member_id)
        ).scalar_one()
        conn.execute(
            members.update()
            .where(members.c.id == member_id)
            .values(last_purchase_at=last if last.tzinfo else last.replace(tzinfo=UTC))
        )


def local(d: date, hour: int, tz: str = "Asia/Hong_Kong") -> datetime:
    return datetime.combine(d, time(hour), ZoneInfo(tz))


def tier_change(db: Engine, evaluator: Evaluator, member_id: str, tier: str, since: date) -> None:
    with db.begin() as conn:
        conn.execute(
            insert(tier_history).values(
                programme=evaluator.programme.id,
                member_id=member_id,
                tier=tier,
                since=since,
                reason="test",
                at=NOW,
            )
        )
        conn.execute(
            members.update().where(members.c.id == member_id).values(tier=tier, tier_since=since)
        )


def run(db: Engine, evaluator: Evaluator, on: date) -> RunReport:
    return run_outreach(db, evaluator, on, now=NOW)


def tasks(db: Engine, **where: Any) -> list[dict[str, Any]]:
    query = select(outreach_tasks).order_by(outreach_tasks.c.id)
    for column, value in where.items():
        query = query.where(outreach_tasks.c[column] == value)
    with db.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def who(db: Engine, **where: Any) -> list[str]:
    return [task["member_id"] for task in tasks(db, **where)]
