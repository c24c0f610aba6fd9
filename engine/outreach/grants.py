"""The offers that outreach triggers grant: one ``member_offers`` row per task created.

A trigger with ``grants`` makes its ``offer`` an entitlement the member holds from the run's
day for ``valid_days`` local days, for ``uses`` sales (rules/README.md §17, §22). The rows are
made by one ``INSERT … SELECT`` over the trigger's tasks of the run's day that have no offer
yet, in the same transaction as the tasks: a rerun adds nothing, and a task never exists
without the offer its message promises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Connection, Integer, String, exists, literal, select

from engine.calendar import end_of_day, start_of_day
from engine.ledger.idempotency import jsonable
from engine.ledger.tables import Moment, member_offers, outreach_tasks
from engine.outreach.triggers import Scope

GRANT_COLUMNS = (
    "programme",
    "member_id",
    "trigger_id",
    "task_id",
    "effect",
    "valid_from",
    "valid_until",
    "uses",
    "uses_left",
    "created_at",
)


@dataclass(frozen=True)
class Grant:
    """A trigger's ``grants``, read into what each member's offer row stores."""

    effect: Mapping[str, Any]  # {"name", "offer": [effects], "on": selector or None}
    valid_days: int
    uses: int

    @classmethod
    def of(cls, trigger: Mapping[str, Any], name: str) -> Grant | None:
        grants = trigger.get("grants")
        if grants is None:
            return None
        offer = list(trigger.get("offer", []))
        effect = {
            "name": grants.get("name") or name,
            "offer": jsonable(offer),
            "on": jsonable(grants.get("on") or _free_item_selector(offer)),
        }
        return cls(effect, grants["valid_days"], grants.get("uses", 1))

    def window(self, scope: Scope) -> tuple[datetime, datetime]:
        """From the start of the run's local day to the end of its ``valid_days``-th day."""
        last = scope.today + timedelta(days=self.valid_days - 1)
        return start_of_day(scope.today, scope.tz), end_of_day(last, scope.tz)


def _free_item_selector(offer: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Without ``on``, a free item's own selector: the offer waits for a sale that has one."""
    for effect in offer:
        if "free_item" in effect:
            item = effect["free_item"]
            return {key: item[key] for key in ("sku", "category") if key in item}
    return None


def grant_offers(conn: Connection, scope: Scope, trigger: Mapping[str, Any], grant: Grant) -> int:
    """Give every task of ``trigger`` due on the run's day its member offer; how many rows."""
    valid_from, valid_until = grant.window(scope)
    tasks = outreach_tasks
    query = select(
        tasks.c.programme,
        tasks.c.member_id,
        tasks.c.trigger_id,
        tasks.c.id,
        literal(grant.effect, JSON),
        literal(valid_from, Moment()),
        literal(valid_until, Moment()),
        literal(grant.uses, Integer),
        literal(grant.uses, Integer),
        literal(scope.now, Moment()),
    ).where(
        tasks.c.programme == literal(scope.programme, String),
        tasks.c.trigger_id == literal(trigger["id"], String),
        tasks.c.due == scope.today,
        ~exists().where(member_offers.c.task_id == tasks.c.id),
    )
    statement = (
        scope.sql.insert(member_offers)
        .from_select(list(GRANT_COLUMNS), query)
        .on_conflict_do_nothing(index_elements=["task_id"])
    )
    created = conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount
    return max(int(created), 0)
