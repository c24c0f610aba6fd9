"""Rendering the messages of stored tasks from their trigger's template.

Tasks are rendered in batches, after the run's inserts. A task whose message fails to render
(its trigger is gone, the template fails on this member's data) is marked ``failed`` with the
error; the others are rendered all the same, and the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jinja2 import Template
from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    RowMapping,
    String,
    Text,
    bindparam,
    column,
    select,
    update,
    values,
)

from engine.calendar import add_months
from engine.ledger import dialect
from engine.ledger.tables import members, outreach_tasks
from engine.money import Currency, quantize_down
from engine.outreach.templates import Formats, compile_template
from engine.policy.model import ProgrammeModel
from engine.pricing import Evaluator
from engine.pricing.points import redemption_value
from engine.pricing.tiers import amount_text
from engine.tiering.model import TierModel
from engine.tiering.requirements import Path, gap
from engine.tiering.status import qualified
from engine.tiering.windows import window_of

BATCH = 2000
Context = dict[str, Any]


@dataclass(frozen=True, eq=False)
class Setup:
    """What rendering needs from a programme, computed once per run."""

    model: ProgrammeModel
    currency: Currency
    formats: Formats
    thresholds: Mapping[str, Decimal]
    tier_names: Mapping[str, str]
    levels: list[str]
    tiering: TierModel | None = None  # programmes counting tier metrics (``tiers.metrics``)

    @classmethod
    def of(cls, evaluator: Evaluator) -> Setup:
        model = evaluator.model
        levels = model.tiers.levels
        return cls(
            model,
            evaluator.currency,
            Formats.of(model.identity.locale, evaluator.currency),
            evaluator.thresholds,
            {level["id"]: level["name"] for level in levels},
            [level["id"] for level in levels],
            evaluator.tier_model,
        )

    def tier_name(self, tier: str | None) -> str:
        return self.tier_names.get(tier or "", tier or "")

    def offer(self, trigger: Mapping[str, Any]) -> str:
        return _offer_text(self, trigger["id"])

    def amount(self, text: Any) -> Decimal:
        return quantize_down(Decimal(str(text)), self.currency)


@dataclass(frozen=True)
class Rendered:
    rendered: int = 0
    failed: int = 0


def render_new(engine: Engine, evaluator: Evaluator, *, now: datetime) -> Rendered:
    """Render every ``new`` task of the programme that has no message yet.

    The ids to render are read once, then their rows fetched by primary key in batches: a
    keyset walk over ``status = 'new'`` would re-read the whole backlog for every batch.
    """
    setup = Setup.of(evaluator)
    triggers = {t["id"]: t for t in evaluator.model.outreach}
    templates: dict[str, Template | Exception] = {}
    total = Rendered()
    ids = _unrendered(engine, evaluator.programme.id)
    for start in range(0, len(ids), BATCH):
        with engine.begin() as conn:
            rows = conn.execute(_rows(ids[start : start + BATCH])).mappings().all()
            changes = [_render(setup, triggers, templates, row, now) for row in rows]
            _store(conn, changes, now)
        failed = sum(change["status"] == "failed" for change in changes)
        total = Rendered(total.rendered + len(rows) - failed, total.failed + failed)
    return total


def _unrendered(engine: Engine, programme: str) -> list[int]:
    query = (
        select(outreach_tasks.c.id)
        .where(
            outreach_tasks.c.programme == programme,
            outreach_tasks.c.status == "new",
            outreach_tasks.c.message.is_(None),
        )
        .order_by(outreach_tasks.c.id)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def _store(conn: Connection, changes: list[dict[str, Any]], now: datetime) -> None:
    """Write a batch of messages: one UPDATE … FROM (VALUES …) on PostgreSQL, an executemany
    on SQLite (whose executemany loops in C, and which cannot name a VALUES list's columns)."""
    if not dialect.is_postgres(conn):
        conn.execute(
            update(outreach_tasks).where(outreach_tasks.c.id == bindparam("task_id")), changes
        )
        return
    rows = values(
        column("task_id", Integer),
        column("status", String),
        column("message", Text),
        column("last_error", Text),
        name="rendered",
    ).data([(c["task_id"], c["status"], c["message"], c["last_error"]) for c in changes])
    conn.execute(
        update(outreach_tasks)
        .where(outreach_tasks.c.id == rows.c.task_id)
        .values(
            status=rows.c.status,
            message=rows.c.message,
            last_error=rows.c.last_error,
            updated_at=now,
        )
    )


def _rows(ids: list[int]) -> Any:
    return (
        select(
            outreach_tasks,
            members.c.name,
            members.c.tier,
            members.c.balance,
            members.c.joined,
        )
        .select_from(
            outreach_tasks.join(
                members,
                (members.c.programme == outreach_tasks.c.programme)
                & (members.c.id == outreach_tasks.c.member_id),
            )
        )
        .where(outreach_tasks.c.id.in_(ids), outreach_tasks.c.message.is_(None))
        .order_by(outreach_tasks.c.id)
    )


def _render(
    setup: Setup,
    triggers: Mapping[str, Mapping[str, Any]],
    templates: dict[str, Template | Exception],
    row: RowMapping,
    now: datetime,
) -> dict[str, Any]:
    trigger = triggers.get(row["trigger_id"])
    change: dict[str, Any] = {"task_id": row["id"], "updated_at": now}
    try:
        if trigger is None:
            raise LookupError(f"the trigger '{row['trigger_id']}' is no longer in the programme")
        template = _template(templates, trigger)
        message = template.render(context(setup, trigger, row))
    except Exception as error:  # any failure of one task is recorded on that task only
        return change | {
            "status": "failed",
            "message": None,
            "last_error": f"render: {type(error).__name__}: {error}",
        }
    return change | {"status": "new", "message": message, "last_error": None}


def _template(cache: dict[str, Template | Exception], trigger: Mapping[str, Any]) -> Template:
    if trigger["id"] not in cache:
        try:
            cache[trigger["id"]] = compile_template(trigger["template"])
        except Exception as error:
            cache[trigger["id"]] = error
    found = cache[trigger["id"]]
    if isinstance(found, Exception):
        raise found
    return found


# --- the variables --------------------------------------------------------------------------------


def context(setup: Setup, trigger: Mapping[str, Any], row: RowMapping) -> Context:
    """The variables of ``trigger``'s template for one task (see templates.BY_TRIGGER)."""
    f = setup.formats
    payload = row["payload"] or {}
    common = {
        "name": row["name"] or "",
        "member_id": row["member_id"],
        "programme": setup.model.identity.name,
        "tier": setup.tier_name(row["tier"]),
        "tier_id": row["tier"] or "",
        "balance": f.points(row["balance"] or 0),
        "today": f.day(row["due"]),
        "channel": row["channel"],
        "offer": setup.offer(trigger),
    }
    kind = trigger["trigger"]
    if kind == "tier_change":
        kind = trigger["change"]
    return common | SPECIFIC[kind](setup, payload, row)


def _expiring(setup: Setup, payload: Mapping[str, Any], row: RowMapping) -> Context:
    burn = setup.model.burn
    points = int(payload["points"])
    value = (
        redemption_value(points, burn.points, burn.worth, setup.currency)
        if burn is not None
        else Decimal(0)
    )
    expiry = date.fromisoformat(payload["expiry_date"])
    return {
        "points": setup.formats.points(points),
        **setup.formats.amounts("value", value),
        "expiry_date": setup.formats.day(expiry),
        "days_left": (expiry - row["due"]).days,
    }


def _birthday(setup: Setup, payload: Mapping[str, Any], _row: RowMapping) -> Context:
    return {"birthday": setup.formats.day(date.fromisoformat(payload["birthday"]))}


def _lapse(setup: Setup, payload: Mapping[str, Any], _row: RowMapping) -> Context:
    return {
        "last_purchase_date": setup.formats.day(date.fromisoformat(payload["last_purchase_date"])),
        "days_since": int(payload["days_since"]),
        "cycle_days": int(payload["cycle_days"]),
    }


def _totals(setup: Setup, payload: Mapping[str, Any]) -> dict[str, Decimal]:
    metrics = setup.tiering.metrics if setup.tiering is not None else {}
    return {m: Decimal(str(payload[m])) for m in metrics if m in payload}


def _path_text(path: Path) -> str:
    """The closest path in words: "3 nights", "2 stays and 50000 fares"."""
    return " and ".join(f"{amount_text(s.remaining)} {s.metric}" for s in path)


def _near_by_metrics(setup: Setup, model: TierModel, payload: Mapping[str, Any]) -> Context:
    level = model.level(payload["next_tier"])
    totals = _totals(setup, payload)
    start = date.fromisoformat(payload["period_start"])
    return {
        "next_tier": setup.tier_name(level.id),
        "to_go": _path_text(gap(level.requires, totals)) if level.requires else "",
        "period_end": setup.formats.day(window_of(model.window, start)[1]),
    }


def _near_upgrade(setup: Setup, payload: Mapping[str, Any], _row: RowMapping) -> Context:
    if setup.tiering is not None:
        return _near_by_metrics(setup, setup.tiering, payload)
    spend = setup.amount(payload["spend"])
    threshold = setup.thresholds[payload["next_tier"]]
    start = date.fromisoformat(payload["period_start"])
    return {
        "next_tier": setup.tier_name(payload["next_tier"]),
        **setup.formats.amounts("amount_to_go", threshold - spend),
        **setup.formats.amounts("spend", spend),
        **setup.formats.amounts("threshold", threshold),
        "period_end": setup.formats.day(add_months(start, 12) - timedelta(days=1)),
    }


def _upgrade(setup: Setup, payload: Mapping[str, Any], _row: RowMapping) -> Context:
    return {
        "previous_tier": setup.tier_name(payload.get("previous_tier")),
        "since": setup.formats.day(date.fromisoformat(payload["since"])),
    }


def _downgrade_by_metrics(setup: Setup, model: TierModel, payload: Mapping[str, Any]) -> Context:
    level = model.level(payload["tier"])
    totals = _totals(setup, payload)
    landing = qualified(model, level.id, totals)[0]
    if model.downgrade.to == "one_level":
        landing = model.levels[max(level.rank - 1, landing.rank)]
    return {
        "review_date": setup.formats.day(date.fromisoformat(payload["review_date"])),
        "new_tier": setup.tier_name(landing.id),
        "to_keep": _path_text(gap(level.keep, totals)) if level.keep else "",
    }


def _downgrade(setup: Setup, payload: Mapping[str, Any], _row: RowMapping) -> Context:
    if setup.tiering is not None:
        return _downgrade_by_metrics(setup, setup.tiering, payload)
    spend = setup.amount(payload["spend"])
    tier = payload["tier"]
    return {
        "review_date": setup.formats.day(date.fromisoformat(payload["review_date"])),
        "new_tier": setup.tier_name(tier_after_review(setup, tier, spend)),
        **setup.formats.amounts("amount_to_keep", setup.thresholds[tier] - spend),
        **setup.formats.amounts("spend", spend),
    }


def _paid_level_ending(setup: Setup, payload: Mapping[str, Any], row: RowMapping) -> Context:
    ends = date.fromisoformat(payload["ends_on"])
    return {
        "paid_tier": setup.tier_name(payload["level"]),
        "ends_on": setup.formats.day(ends),
        "days_left": (ends - row["due"]).days,
        **setup.formats.amounts("fee", setup.amount(payload["fee"])),
    }


def tier_after_review(setup: Setup, tier: str, spend: Decimal) -> str:
    """The tier kept at the review: one level down, or the highest the spend qualifies for."""
    rank = setup.levels.index(tier)
    if setup.model.tiers.downgrade == "one_level":
        return setup.levels[max(rank - 1, 0)]
    qualified = [
        t for t in setup.levels[1:rank] if t in setup.thresholds and spend >= setup.thresholds[t]
    ]
    return qualified[-1] if qualified else setup.levels[0]


def _never_bought(setup: Setup, payload: Mapping[str, Any], _row: RowMapping) -> Context:
    return {
        "joined": setup.formats.day(date.fromisoformat(payload["joined"])),
        "days_since_joined": int(payload["days_since_joined"]),
    }


def _holiday(setup: Setup, payload: Mapping[str, Any], _row: RowMapping) -> Context:
    names = {h["id"]: h["name"] for h in setup.model.holidays}
    return {
        "holiday": names.get(payload["holiday"], payload["holiday"]),
        "holiday_date": setup.formats.day(date.fromisoformat(payload["holiday_date"])),
    }


SPECIFIC: dict[str, Callable[[Setup, Mapping[str, Any], RowMapping], Context]] = {
    "points_expiring": _expiring,
    "birthday": _birthday,
    "lapse": _lapse,
    "near_upgrade": _near_upgrade,
    "upgrade": _upgrade,
    "downgrade": _downgrade,
    "never_bought": _never_bought,
    "holiday": _holiday,
    "paid_level_ending": _paid_level_ending,
}


def describe_offer(setup: Setup, offer: list[Mapping[str, Any]]) -> str:
    """The offer in plain words: '500 bonus points', 'a free coffee (up to ¥42.00)'."""
    return ", ".join(_effect(setup, effect) for effect in offer)


def _effect(setup: Setup, effect: Mapping[str, Any]) -> str:
    f = setup.formats
    if "bonus_points" in effect:
        return f"{f.points(effect['bonus_points'])} bonus points"
    if "points_multiplier" in effect:
        return f"{effect['points_multiplier']}x points"
    if "discount" in effect:
        discount = effect["discount"]
        if "percent" in discount:
            return f"{discount['percent']}% off"
        return f"{f.money(Decimal(str(discount['amount'])))} off"
    if "free_item" in effect:
        item = effect["free_item"]
        text = f"a free {item.get('category') or item.get('sku')}"
        if "max_price" in item:
            text += f" (up to {f.money(Decimal(str(item['max_price'])))})"
        return text
    return str(effect.get("message", ""))


@lru_cache(maxsize=256)
def _offer_text(setup: Setup, trigger_id: str) -> str:
    trigger = next(t for t in setup.model.outreach if t["id"] == trigger_id)
    return describe_offer(setup, trigger.get("offer", []))
