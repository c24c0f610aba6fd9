"""The ledger's operations: enrol, commit a sale, redeem, return, adjust, merge.

Each operation runs in ONE database transaction: it locks the member (row lock
on PostgreSQL, the database write lock on SQLite), replays or refuses a
repeated id, quotes with the engine and writes every movement to the
append-only journal. A crash at any point leaves either all of it or none.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.errors import InputError, UnknownProgramme
from engine.ledger import adjustments, dialect, paid, profiles, returns, vouchers
from engine.ledger import budgets as budget
from engine.ledger.db import reading
from engine.ledger.idempotency import Outcome, jsonable, replay, request_hash
from engine.ledger.postings import Record, post_quote, record_transaction
from engine.ledger.spending import (
    DEFAULT_BACK_DATING_DAYS,
    back_dated,
    lots_spendable_at,
    take_points,
)
from engine.ledger.state import load_member, member_row, points_to_redeem
from engine.ledger.tables import members, tier_history
from engine.policy.problems import Problem
from engine.pricing import Evaluator, Quote
from engine.pricing.model import parse_transaction

Evaluators = Mapping[str, Evaluator] | Callable[[str], Evaluator]
Rows = dict[str, RowMapping]
MAX_ADJUSTMENT = 10**9  # far beyond any real correction, far below integer overflow


class Ledger:
    """Durable points, tiers and history for every loaded programme."""

    def __init__(
        self,
        database: Engine,
        evaluators: Evaluators,
        *,
        clock: Callable[[], datetime] | None = None,
        back_dating_days: int = DEFAULT_BACK_DATING_DAYS,
    ) -> None:
        self.db = database
        self.back_dating_days = back_dating_days
        self._evaluators = evaluators
        self.clock = clock or (lambda: datetime.now(UTC))

    def evaluator(self, programme: str) -> Evaluator:
        if callable(self._evaluators):
            return self._evaluators(programme)
        if programme not in self._evaluators:
            raise UnknownProgramme(f"no programme '{programme}' is loaded")
        return self._evaluators[programme]

    # --- members -----------------------------------------------------------------------

    def enrol(
        self,
        programme: str,
        member_id: str,
        profile: Mapping[str, Any],
        *,
        actor: str = "system",
    ) -> dict[str, Any]:
        """Create the member or replace its whole profile (PUT); ``joined`` left out keeps
        the stored date. Every change goes to the profile history.

        Safe under concurrent first enrolments: the insert does nothing when a twin got
        there first, and this call then updates the row the twin created.
        """
        evaluator = self.evaluator(programme)
        values = profiles.profile_values(profile)
        now = self.clock()
        with self.db.begin() as conn:
            created = self._insert_member(conn, evaluator, member_id, values, now)
            if created is not None:
                changed = profiles.changes(None, created)
                profiles.record_changes(conn, programme, member_id, changed, actor=actor, at=now)
                return {"member_id": member_id, "created": True, "changed": sorted(changed)}
            row = self._profile_row(conn, programme, member_id)
            changed = self._save_profile(conn, row, values, actor, now)
        return {"member_id": member_id, "created": False, "changed": sorted(changed)}

    def update_profile(
        self, programme: str, member_id: str, patch: Any, *, actor: str = "system"
    ) -> dict[str, Any]:
        """Merge a JSON merge patch (RFC 7396) into a member's stored profile (PATCH)."""
        self.evaluator(programme)
        now = self.clock()
        with self.db.begin() as conn:
            row = member_row(conn, programme, member_id, lock=True)
            merged = profiles.merge_patch(profiles.stored_profile(row), patch)
            values = profiles.profile_values(merged)
            if values["joined"] is None:
                raise InputError(
                    "the member patch is invalid",
                    [
                        Problem(
                            "joined cannot be removed: every member has a join date", ("joined",)
                        )
                    ],
                )
            changed = self._save_profile(conn, row, values, actor, now)
        return {"member_id": member_id, "created": False, "changed": sorted(changed)}

    @staticmethod
    def _insert_member(
        conn: Connection,
        evaluator: Evaluator,
        member_id: str,
        values: dict[str, Any],
        now: datetime,
    ) -> dict[str, Any] | None:
        """Insert a new member (joined today unless given); its profile, or None if the id
        is taken (then nothing is written)."""
        programme = evaluator.programme.id
        values = {**values, "joined": values["joined"] or now.astimezone(evaluator.tz).date()}
        entry = evaluator.levels[0]["id"] if evaluator.levels else None
        inserted = conn.execute(
            _insert_new(conn, members)
            .values(
                programme=programme,
                id=member_id,
                tier=entry,
                tier_since=values["joined"],
                created_at=now,
                updated_at=now,
                balance=0,
                debt=0,
                qualifying_spend=0,
                **values,
            )
            .returning(members.c.id)
        ).first()
        if inserted is not None:
            conn.execute(
                insert(tier_history).values(
                    programme=programme,
                    member_id=member_id,
                    tier=entry,
                    since=values["joined"],
                    reason="enrolled",
                    at=now,
                )
            )
        return values if inserted is not None else None

    @staticmethod
    def _profile_row(conn: Connection, programme: str, member_id: str) -> RowMapping:
        """The member's row, locked (a merged member's profile can still be kept up)."""
        query = select(members).where(members.c.programme == programme, members.c.id == member_id)
        return conn.execute(dialect.for_update(conn, query)).mappings().one()

    @staticmethod
    def _save_profile(
        conn: Connection, row: RowMapping, values: dict[str, Any], actor: str, now: datetime
    ) -> dict[str, list[Any]]:
        """Write the profile over the stored one and record what changed (nothing if same)."""
        values = {**values, "joined": values["joined"] or row["joined"]}
        changed = profiles.changes(row, values)
        if changed:
            conn.execute(
                update(members)
                .where(members.c.programme == row["programme"], members.c.id == row["id"])
                .values(**values, updated_at=now)
            )
            profiles.record_changes(conn, row["programme"], row["id"], changed, actor=actor, at=now)
        return changed

    # --- sales -------------------------------------------------------------------------

    def quote(
        self,
        programme: str,
        member_id: str,
        body: Mapping[str, Any],
        *,
        at: datetime | None = None,
        explain: bool = False,
        try_campaigns: Collection[str] = (),
    ) -> Quote:
        """A dry run on the stored member: nothing is written, budgets included."""
        evaluator = self.evaluator(programme)
        transaction = parse_transaction(body, evaluator.currency)
        with reading(self.db) as conn:  # a dry run: it must not queue behind commits
            row = member_row(conn, programme, member_id)
            member = load_member(
                conn,
                evaluator.model,
                row,
                at or transaction.at,
                redeeming=_redeeming(evaluator, transaction),
                vouchers=transaction.vouchers,
            )
            stopped = budget.exhausted(conn, programme)
            while True:
                quote = evaluator.quote(
                    member,
                    transaction,
                    at=at,
                    explain=explain,
                    stopped_campaigns=stopped,
                    try_campaigns=try_campaigns,
                )
                refused = budget.would_refuse(conn, evaluator.model, quote)
                if not refused:
                    return quote
                stopped |= refused

    def commit_sale(self, programme: str, member_id: str, body: Mapping[str, Any]) -> Outcome:
        """Post a sale once, under its own id; a retry with the same body gets the stored answer.

        The sale's id is its one identity: the transaction row, the journal, returns and
        replays all use it (an Idempotency-Key can only ever repeat it, see api.bodies).
        """
        evaluator = self.evaluator(programme)
        transaction = parse_transaction(body, evaluator.currency)
        digest = request_hash({"member_id": member_id, **body})
        key = transaction.id

        def work(conn: Connection, rows: Rows) -> Outcome:
            return self._post_sale(conn, evaluator, rows[member_id], transaction, body, key, digest)

        return self._write(programme, [member_id], key, digest, work)

    def _post_sale(
        self,
        conn: Connection,
        evaluator: Evaluator,
        row: RowMapping,
        transaction: Any,
        body: Mapping[str, Any],
        key: str,
        digest: str,
    ) -> Outcome:
        programme, member_id = evaluator.programme.id, row["id"]
        member = load_member(
            conn,
            evaluator.model,
            row,
            transaction.at,
            redeeming=_redeeming(evaluator, transaction),
            vouchers=transaction.vouchers,
        )
        quote = self._quote_within_budgets(conn, evaluator, member, transaction)
        balance = post_quote(conn, evaluator, row, quote, transaction.at, transaction)
        response = {"status": "committed", **quote.as_dict(), "balance_after": balance}
        issued = vouchers.issue_for_sale(conn, programme, member_id, quote, evaluator.tz)
        if issued:  # only when a rule gave some: other sales keep their shape
            response["vouchers_issued"] = issued
        record_transaction(
            conn,
            Record(
                programme,
                key,
                "sale",
                member_id,
                digest,
                jsonable(dict(body)),
                response,
                transaction.at,
                quote.version,
                points_earned=quote.earned.total,
                points_redeemed=quote.redeemed_points,
                qualifying=quote.tier.qualifying_after - quote.tier.qualifying_before,
            ),
            self.clock(),
        )
        return Outcome(response, 201)

    # --- returns -----------------------------------------------------------------------

    def return_items(self, programme: str, sale_id: str, body: Mapping[str, Any]) -> Outcome:
        """Return all of a sale (no ``lines``) or some lines and quantities of it, under the
        return's own ``id`` (its one identity, like a sale's)."""
        evaluator = self.evaluator(programme)
        key, at, requested = returns.parse_return(body)
        digest = request_hash({"sale_id": sale_id, **body})
        return self._once(
            programme,
            key,
            digest,
            lambda conn: self._post_return(
                conn, evaluator, sale_id, requested, at, body, key, digest
            ),
        )

    def _post_return(
        self,
        conn: Connection,
        evaluator: Evaluator,
        sale_id: str,
        requested: list[returns.ReturnedLine] | None,
        at: datetime,
        body: Mapping[str, Any],
        key: str,
        digest: str,
    ) -> Outcome:
        programme = evaluator.programme.id
        sale = returns.load_sale(conn, programme, sale_id)
        row = member_row(conn, programme, sale["member_id"], lock=True)
        stored = replay(conn, programme, key, digest)
        if stored:
            return stored
        plan = returns.plan(conn, evaluator, sale, requested)
        settled = returns.settle(conn, evaluator, sale, row, plan, key, at)
        response = returns.response(evaluator, sale, plan, settled, key)
        record_transaction(
            conn,
            Record(
                programme,
                key,
                "return",
                sale["member_id"],
                digest,
                jsonable(dict(body)),
                response,
                at,
                evaluator.programme.version,
                original_id=sale_id,
                points_earned=-(plan.claw - settled.money_points),
                points_redeemed=-plan.refund,
                points_settled=settled.money_points,
                qualifying=-returns.from_cents(evaluator, plan.qualifying),
            ),
            self.clock(),
        )
        return Outcome(response, 201)

    # --- adjustments, redemptions, merges ----------------------------------------------

    def adjust(
        self,
        programme: str,
        member_id: str,
        points: object,
        *,
        reason: str,
        actor: str,
        key: str,
        at: object = None,
    ) -> Outcome:
        """Add (positive) or remove (negative) points by hand, with a reason and an actor;
        ``at`` (within the back-dating window) dates it in the past, recorded as back-dated."""
        evaluator = self.evaluator(programme)
        if (
            isinstance(points, bool)
            or not isinstance(points, int)
            or not 0 < abs(points) <= MAX_ADJUSTMENT
            or not reason
        ):
            raise InputError(
                "the adjustment is invalid",
                [
                    Problem(
                        f"points must be a whole number from -{MAX_ADJUSTMENT:,} to "
                        f"{MAX_ADJUSTMENT:,}, not 0, with a reason",
                        ("points",),
                    )
                ],
            )
        body = {"member_id": member_id, "points": points, "reason": reason, "actor": actor}
        if at is not None:
            body["at"] = at
        digest = request_hash(body)

        def work(conn: Connection, rows: Rows) -> Outcome:
            # checked here, after the replay: a retry replays even once the window has passed
            row, now = rows[member_id], self.clock()
            when = back_dated(at, now, self.back_dating_days)
            if when is not None and points < 0:
                take_points(conn, row, -points, key, when, "adjust", reason, actor)
                balance = row["balance"] + points
                conn.execute(
                    update(members)
                    .where(members.c.programme == programme, members.c.id == member_id)
                    .values(balance=balance)
                )
            else:
                change = adjustments.credit if points > 0 else adjustments.debit
                balance = change(conn, evaluator, row, abs(points), key, when or now, reason, actor)
            response: dict[str, Any] = {
                "status": "adjusted",
                "member_id": member_id,
                "points": points,
                "reason": reason,
                "actor": actor,
                "balance_after": balance,
                **_dating(when),
            }
            record = Record(
                programme, key, "adjust", member_id, digest, body, response, when or now
            )
            record_transaction(conn, record, now)
            return Outcome(response, 201)

        return self._write(programme, [member_id], key, digest, work)

    def redeem(
        self, programme: str, member_id: str, body: Mapping[str, Any], *, key: str
    ) -> Outcome:
        """Spend points outside a sale: ``{"points": n}`` or ``{"reward": id}`` (a voucher)."""
        evaluator = self.evaluator(programme)
        digest = request_hash({"member_id": member_id, **body})
        asked = {k: v for k, v in body.items() if k != "at"}

        def work(conn: Connection, rows: Rows) -> Outcome:
            now = self.clock()
            when = back_dated(body.get("at"), now, self.back_dating_days)  # after the replay
            if when is not None:  # only what was spendable then may be spent
                wanted = points_to_redeem(evaluator.model, asked.get("points"), asked.get("reward"))
                _spendable_then(conn, rows[member_id], wanted, when)
            response = adjustments.redeem(conn, evaluator, rows[member_id], asked, key, when or now)
            response.update(_dating(when))
            record = Record(
                programme,
                key,
                "redeem",
                member_id,
                digest,
                jsonable(dict(body)),
                response,
                when or now,
                evaluator.programme.version,
                points_redeemed=response["points"],
            )
            record_transaction(conn, record, now)
            return Outcome(response, 201)

        return self._write(programme, [member_id], key, digest, work)

    # --- the paid tier ------------------------------------------------------------------

    def buy_level(
        self, programme: str, member_id: str, body: Mapping[str, Any], *, key: str
    ) -> Outcome:
        """Buy or renew a paid level: ``{"level", "fee"?}`` (see ``engine.ledger.paid``)."""
        return self._paid_write(programme, member_id, body, key, "paid_level", paid.buy)

    def cancel_level(
        self, programme: str, member_id: str, body: Mapping[str, Any], *, key: str
    ) -> Outcome:
        """Cancel a bought level: ``{"purchase", "refund"?}``; it stops holding today."""

        def cancel(
            conn: Connection, evaluator: Evaluator, row: RowMapping, body: Mapping[str, Any],
            _key: str, now: datetime,
        ) -> dict[str, Any]:  # fmt: skip
            return paid.cancel(conn, evaluator, row, body, now)

        return self._paid_write(programme, member_id, body, key, "paid_cancel", cancel)

    def _paid_write(
        self,
        programme: str,
        member_id: str,
        body: Mapping[str, Any],
        key: str,
        kind: str,
        write: Callable[..., dict[str, Any]],
    ) -> Outcome:
        evaluator = self.evaluator(programme)
        digest = request_hash({"member_id": member_id, **body})

        def work(conn: Connection, rows: Rows) -> Outcome:
            now = self.clock()
            response = write(conn, evaluator, rows[member_id], body, key, now)
            record = Record(
                programme, key, kind, member_id, digest, jsonable(dict(body)), response, now,
                evaluator.programme.version,
            )  # fmt: skip
            record_transaction(conn, record, now)
            return Outcome(response, 201)

        return self._write(programme, [member_id], key, digest, work)

    def merge(
        self, programme: str, source_id: str, target_id: str, *, actor: str, key: str
    ) -> Outcome:
        """Fold a duplicate member into another: points, debt, spend and campaign groups move."""
        self.evaluator(programme)
        if source_id == target_id:
            raise InputError(
                "the merge is invalid", [Problem("a member cannot be merged into itself", ())]
            )
        body = {"source": source_id, "target": target_id, "actor": actor}
        digest = request_hash(body)

        def work(conn: Connection, rows: Rows) -> Outcome:
            now = self.clock()
            balance = adjustments.merge(conn, rows[source_id], rows[target_id], key, now, actor)
            response = {
                "status": "merged",
                "source": source_id,
                "target": target_id,
                "balance_after": balance,
            }
            record_transaction(
                conn, Record(programme, key, "merge", target_id, digest, body, response, now), now
            )
            return Outcome(response, 201)

        return self._write(programme, [source_id, target_id], key, digest, work)

    def generate_vouchers(self, programme: str, body: Mapping[str, Any]) -> Outcome:
        """A campaign's bearer codes in bulk, under the batch's ``id``: a repeat of the same
        request gets the same codes back (replayed), never a second batch."""
        evaluator = self.evaluator(programme)
        bulk = vouchers.parse_bulk(body, evaluator.currency)
        key = f"vouchers:{bulk.id}"
        digest = request_hash(dict(body))

        def work(conn: Connection) -> Outcome:
            stored = replay(conn, programme, key, digest)
            if stored is None:
                now = self.clock()
                made = vouchers.generate(conn, programme, bulk.issue(), bulk.count, now)
                summary = {"batch": bulk.id, "campaign": bulk.campaign, "count": len(made)}
                record = Record(
                    programme, key, "vouchers", None, digest, jsonable(dict(body)), summary, now
                )
                record_transaction(conn, record, now)
                return Outcome({**summary, "codes": made}, 201)
            return stored

        outcome = self._once(programme, key, digest, work)
        if not outcome.replayed:
            return outcome
        with reading(self.db) as conn:  # the stored answer is a summary: the codes are rows
            codes = vouchers.batch_codes(conn, programme, bulk.batch)
        return Outcome({**outcome.response, "codes": codes}, outcome.status, replayed=True)

    @staticmethod
    def _quote_within_budgets(
        conn: Connection, evaluator: Evaluator, member: Any, transaction: Any
    ) -> Quote:
        """Quote, then reserve campaign budgets atomically; re-quote without any that refuse.

        Each pass stops at least one more campaign, so this ends within one pass per campaign.
        """
        stopped = budget.exhausted(conn, evaluator.programme.id)
        while True:
            quote = evaluator.quote(member, transaction, stopped_campaigns=stopped)
            refused = budget.settle(conn, evaluator.model, quote, transaction.at)
            if not refused:
                return quote
            stopped |= refused

    def _write(
        self,
        programme: str,
        member_ids: Sequence[str],
        key: str,
        digest: str,
        work: Callable[[Connection, Rows], Outcome],
    ) -> Outcome:
        """Lock the members (in id order: no deadlock), replay a repeat, else run ``work``."""

        def locked(conn: Connection) -> Outcome:
            rows = {m: member_row(conn, programme, m, lock=True) for m in sorted(set(member_ids))}
            return replay(conn, programme, key, digest) or work(conn, rows)

        return self._once(programme, key, digest, locked)

    def _once(
        self, programme: str, key: str, digest: str, work: Callable[[Connection], Outcome]
    ) -> Outcome:
        """Run ``work`` in one transaction; a concurrent twin that won the race is replayed."""
        try:
            with self.db.begin() as conn:
                return work(conn)
        except IntegrityError:
            with reading(self.db) as conn:
                stored = replay(conn, programme, key, digest)
            if stored is None:
                raise
            return stored


def _dating(when: datetime | None) -> dict[str, Any]:
    """A back-dated write says so in its stored answer (the member's history shows it)."""
    return {} if when is None else {"at": when.isoformat(), "back_dated": True}


def _spendable_then(conn: Connection, row: RowMapping, points: int, at: datetime) -> None:
    available = sum(left for _, left in lots_spendable_at(conn, row["programme"], row["id"], at))
    if points > available:
        raise InputError(
            "the redemption is invalid",
            [Problem(f"only {available:,} points were spendable at {at.isoformat()}", ("at",))],
        )


def _redeeming(evaluator: Evaluator, transaction: Any) -> int:
    """Points the sale spends: the member's lots to load for them."""
    return points_to_redeem(evaluator.model, transaction.redeem_points, transaction.claim_reward)


def _insert_new(conn: Connection, table: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` in the connection's dialect (both backends have it)."""
    return dialect.insert_new(conn, table)
