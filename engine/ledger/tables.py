"""The ledger's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Points are integers, money is ``Numeric`` (exact on both backends), times are
stored timezone-aware in UTC. The journal is append-only: balances are
derived and cached, and ``ledger check`` proves the cache equals the journal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Moment(TypeDecorator[datetime]):
    """An aware instant stored in UTC; SQLite keeps no zone, so it is put back on reading."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the ledger stores only timezone-aware times")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ID = String(128)
MONEY = Numeric(18, 4)

members = Table(
    "members",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("id", ID, primary_key=True),
    Column("name", String(256)),
    Column("tags", JSON, nullable=False, default=dict),
    Column("birthday", Date),
    Column("joined", Date, nullable=False),
    Column("contact", JSON, nullable=False, default=dict),  # channel -> address
    Column("consent", JSON, nullable=False, default=dict),  # channel -> bool
    Column("tier", String(64)),
    Column("tier_since", Date),
    Column("tier_valid_until", Date),
    Column("qualifying_spend", MONEY, nullable=False, default=0),
    Column("period_start", Date),  # the qualifying period qualifying_spend belongs to
    Column("balance", BigInteger, nullable=False, default=0),  # sum of open lots - debt
    Column("debt", BigInteger, nullable=False, default=0),  # clawed-back points not covered
    Column("last_purchase_at", Moment()),
    Column("last_activity_at", Moment()),
    # Millionths of a point rounding cut off, carried to the next sale (earn.remainders: carry).
    Column("points_remainder", BigInteger, nullable=False, default=0, server_default="0"),
    Column("merged_into", ID),
    Column("created_at", Moment(), nullable=False),
    Column("updated_at", Moment(), nullable=False),
)

lots = Table(
    "lots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),
    Column("member_id", ID, nullable=False),
    Column("points", BigInteger, nullable=False),  # as earned
    Column("points_left", BigInteger, nullable=False),
    Column("earned_at", Moment(), nullable=False),
    Column("expires_at", Moment()),
    Column("pending_until", Moment()),
    Column("transaction_id", ID),
    ForeignKeyConstraint(["programme", "member_id"], ["members.programme", "members.id"]),
    Index("ix_lots_open", "programme", "member_id", "expires_at"),
    Index("ix_lots_expiry", "expires_at"),
    # Only lots with points left, in spending order: a member's expired-but-unswept and
    # next-to-spend lots are found without reading the spent history (migration 0010).
    Index(
        "ix_lots_unspent",
        "programme",
        "member_id",
        "expires_at",
        "earned_at",
        "id",
        sqlite_where=text("points_left > 0"),
        postgresql_where=text("points_left > 0"),
    ),
    Index(
        "ix_lots_pending",
        "programme",
        "member_id",
        "pending_until",
        sqlite_where=text("points_left > 0 AND pending_until IS NOT NULL"),
        postgresql_where=text("points_left > 0 AND pending_until IS NOT NULL"),
    ),
)

journal = Table(
    "journal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),
    Column("member_id", ID, nullable=False),
    Column("kind", String(16), nullable=False),  # earn burn refund clawback expire adjust merge
    Column("points", BigInteger, nullable=False),  # signed
    Column("lot_id", Integer),
    Column("transaction_id", ID),
    Column("at", Moment(), nullable=False),
    Column("reason", Text),
    Column("actor", String(128)),
    Index("ix_journal_member", "programme", "member_id"),
    Index("ix_journal_transaction", "programme", "transaction_id"),
)

transactions = Table(
    "transactions",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("id", ID, primary_key=True),  # the till's id, or the idempotency key
    Column("kind", String(16), nullable=False),  # sale return redeem adjust member
    Column("member_id", ID),
    Column("request_hash", String(64), nullable=False),
    Column("request", JSON, nullable=False),
    Column("response", JSON, nullable=False),
    Column("status", Integer, nullable=False, default=200),
    Column("version", String(32)),
    Column("original_id", ID),  # a return's sale
    Column("points_earned", BigInteger, nullable=False, default=0),  # what the journal must show
    Column("points_redeemed", BigInteger, nullable=False, default=0),
    Column("points_settled", BigInteger, nullable=False, default=0),  # clawback paid in money
    Column(
        "qualifying", MONEY, nullable=False, default=0
    ),  # added to (or, returns, taken from) spend
    Column("at", Moment(), nullable=False),
    Column("created_at", Moment(), nullable=False),
    # ``qualifying`` rides in the index: a rolling window's spend is summed from the index
    # alone, without visiting each sale's row (migration 0010).
    Index("ix_transactions_member", "programme", "member_id", "at", "qualifying"),
)

returned_lines = Table(
    "returned_lines",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("sale_id", ID, primary_key=True),
    Column("line_id", ID, primary_key=True),
    Column("quantity", Integer, nullable=False),
)

tier_history = Table(
    "tier_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),
    Column("member_id", ID, nullable=False),
    Column("tier", String(64)),
    Column("since", Date, nullable=False),
    Column("valid_until", Date),
    Column("reason", Text, nullable=False),
    Column("at", Moment(), nullable=False),
    Index("ix_tier_history_member", "programme", "member_id"),
)

offer_uses = Table(
    "offer_uses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),
    Column("member_id", ID, nullable=False),
    Column("offer_id", String(64), nullable=False),
    Column("transaction_id", ID, nullable=False),
    Column("points", BigInteger, nullable=False, default=0),
    Column("at", Moment(), nullable=False),
    Column("reverted", Boolean, nullable=False, default=False),
    Index("ix_offer_uses_member", "programme", "member_id", "offer_id"),
)

campaign_assignments = Table(
    "campaign_assignments",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("campaign_id", String(64), primary_key=True),
    Column("member_id", ID, primary_key=True),
    Column("group_id", String(64), nullable=False),  # or "holdout"
    Column("assigned_at", Moment(), nullable=False),
)

period_points = Table(
    "period_points",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("member_id", ID, primary_key=True),
    Column("period", String(8), primary_key=True),  # day week month year
    Column("starts", Date, primary_key=True),
    Column("points", BigInteger, nullable=False, default=0),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("label", String(128)),
    Column("created_at", Moment(), nullable=False),
    Column("revoked_at", Moment()),
)

campaign_budgets = Table(
    "campaign_budgets",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("campaign_id", String(64), primary_key=True),
    Column("budget_points", BigInteger),  # None: no cap in points
    Column("budget_money", MONEY),  # None: no cap in money
    Column("spent_points", BigInteger, nullable=False, default=0),
    Column("spent_money", MONEY, nullable=False, default=0),
    Column("launched_at", Moment(), nullable=False),
    Column("audience_size", Integer, nullable=False, default=0),
)

outreach_tasks = Table(
    "outreach_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),
    Column("trigger_id", String(64), nullable=False),
    Column("member_id", ID, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("cycle", String(64), nullable=False),  # what the cool-down is keyed on, e.g. a date
    Column("due", Date, nullable=False),
    Column("status", String(8), nullable=False, default="new"),  # new sent done failed
    Column("payload", JSON, nullable=False, default=dict),
    Column("message", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", Moment(), nullable=False),
    Column("updated_at", Moment(), nullable=False),
    UniqueConstraint("programme", "trigger_id", "member_id", "cycle"),
    Index("ix_outreach_tasks_status", "programme", "status", "due"),
)

member_profile_history = Table(
    "member_profile_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),
    Column("member_id", ID, nullable=False),
    Column("at", Moment(), nullable=False),
    Column("actor", String(128), nullable=False),  # api:<role>, or the command that wrote it
    Column("changes", JSON, nullable=False),  # {field: [old, new]}
    Index("ix_member_profile_history_member", "programme", "member_id", "id"),
)

# The programme versions every serving process prices with: a shared fact, so a reload
# reaches every worker on every host. Append-only; a programme's current version is its
# row with the highest generation.
programme_versions = Table(
    "programme_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("generation", BigInteger, nullable=False),  # the set's generation it was published in
    Column("main", Text, nullable=False),  # the main file, as a key of ``sources``
    Column("sources", JSON, nullable=False),  # relative path → text, enough to rebuild it
    Column("files", JSON, nullable=False),  # the paths it was loaded from, for display
    Column("loaded_at", Moment(), nullable=False),
    Column("actor", String(128), nullable=False),
    UniqueConstraint("programme", "generation"),
)

# One row (id 1): bumped in the transaction that publishes, read by every worker to learn
# cheaply whether its programmes are behind. Its row lock also serialises publishers.
programme_generation = Table(
    "programme_generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", BigInteger, nullable=False),
    Column("changed_at", Moment(), nullable=False),
)

# An entitlement an outreach message promised ("50 bonus points on your next coffee this
# week"): created with its task, applied by the member's quotes within its window while
# uses are left, and used up by committed sales (engine/ledger/offers.py).
member_offers = Table(
    "member_offers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),
    Column("member_id", ID, nullable=False),
    Column("trigger_id", String(64), nullable=False),  # the outreach trigger that granted it
    Column("task_id", Integer, nullable=False),  # the outreach task that carried the promise
    Column("effect", JSON, nullable=False),  # {"name", "offer": [effects], "on": selector}
    Column("valid_from", Moment(), nullable=False),
    Column("valid_until", Moment(), nullable=False),
    Column("uses", Integer, nullable=False),
    Column("uses_left", Integer, nullable=False),
    Column("created_at", Moment(), nullable=False),
    UniqueConstraint("task_id"),
    Index("ix_member_offers_member", "programme", "member_id"),
)

# Which sale used a member offer: a return of the whole sale gives the use back.
member_offer_uses = Table(
    "member_offer_uses",
    metadata,
    Column("offer_id", Integer, primary_key=True),
    Column("transaction_id", ID, primary_key=True),
    Column("programme", String(64), nullable=False),
    Column("at", Moment(), nullable=False),
    Column("returned", Boolean, nullable=False, default=False),
    Index("ix_member_offer_uses_sale", "programme", "transaction_id"),
)

# What each line of a sale earned (``engine.pricing.attribution``): what its returns reverse. Keyed
# by the sale's id, its one identity (the transaction row, lots and journal share it).
sale_attributions = Table(
    "sale_attributions",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("sale_id", ID, primary_key=True),
    Column("member_id", ID, nullable=False),
    Column("attribution", JSON, nullable=False),
)

# Secrets the serving processes must share, e.g. the key that signs console sessions: kept
# with the keys they protect so that every worker on every host signs and checks alike.
app_secrets = Table(
    "app_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
    Column("created_at", Moment(), nullable=False),
)

# A marketer's saved draft of a programme's main file (the console's "save as draft"): kept
# beside the published versions so every worker and every browser sees the same drafts;
# quoting under a draft builds it from this text without publishing it.
programme_drafts = Table(
    "programme_drafts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("source", Text, nullable=False),  # the main file's text as typed (may be invalid)
    Column("version", String(64)),  # its version hash when it validated as saved, else null
    Column("saved_at", Moment(), nullable=False),
    Column("saved_by", String(128), nullable=False),
    Index("ix_programme_drafts_programme", "programme", "id"),
)

# A reviewer's decisions on a programme, recorded from the console: the same document as a
# ``*.review.yaml`` file (engine/review/decisions.py checks it), the latest per programme.
review_decisions = Table(
    "review_decisions",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("document", JSON, nullable=False),
    Column("recorded_at", Moment(), nullable=False),
    Column("recorded_by", String(128), nullable=False),
)

# The files the last reload refused, with their problems, so that every worker's programme
# card can show why its programme still serves the last good version.
reload_refusals = Table(
    "reload_refusals",
    metadata,
    Column("file", String(512), primary_key=True),
    Column("problems", JSON, nullable=False),  # problem records (engine.policy.problems)
    Column("refused_at", Moment(), nullable=False),
    Column("actor", String(128), nullable=False),
)

# What happened when the contact centre acted on an outreach task: one row per attempt
# (reached, no answer, declined, offer accepted) with the agent's notes, so the agent's
# screen shows the member's history of contacts and the outreach report counts outcomes.
outreach_interactions = Table(
    "outreach_interactions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),
    Column("task_id", Integer, nullable=False),
    Column("member_id", ID, nullable=False),
    Column("trigger_id", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("note", Text),
    Column("actor", String(128), nullable=False),
    Column("at", Moment(), nullable=False),
    Column("key", ID),  # the client's Idempotency-Key: a retried POST logs nothing twice
    UniqueConstraint("programme", "key"),
    Index("ix_outreach_interactions_member", "programme", "member_id"),
    Index("ix_outreach_interactions_task", "programme", "task_id"),
)

# The critical point a downpour campaign's audience was resolved against at launch
# (``audience.critical_point``): the balance detected, and the band of balances targeted.
campaign_critical_points = Table(
    "campaign_critical_points",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("campaign_id", String(64), primary_key=True),
    Column("balance", BigInteger, nullable=False),  # the detected critical point
    Column("band_low", BigInteger, nullable=False),  # the least balance targeted
    Column("band_high", BigInteger, nullable=False),  # the greatest balance targeted
    Column("analysis", JSON, nullable=False),  # the detection's figures, for the record
    Column("resolved_at", Moment(), nullable=False),
)

# Bought levels (a paid tier, ``engine.ledger.paid``): one row per purchase or renewal, keyed
# by the write's id (its transactions row shares it, so a retry replays). The level holds
# from ``starts_on`` to ``ends_on``, local days, both inclusive; a cancellation ends it on its
# day (``cancelled_at``) and may give back part of the fee (``refunded``).
paid_levels = Table(
    "paid_levels",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("id", ID, primary_key=True),
    Column("member_id", ID, nullable=False),
    Column("level", String(64), nullable=False),
    Column("fee", MONEY, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("renewal", Boolean, nullable=False),
    Column("paid_at", Moment(), nullable=False),
    Column("cancelled_at", Moment(), nullable=True),
    Column("refunded", MONEY, nullable=True),
    Index("ix_paid_levels_member", "programme", "member_id", "ends_on"),
)

# Per-member, per-window totals of each declared tier metric (issue 12), kept by the posting
# that changes them (an upsert adding the sale's contribution; returns add it negated). Fixed
# windows key rows by the window's first day; rolling windows by the month of the posting,
# so a rolling 12-month total reads at most 12 rows however long the member's history is.
member_metrics = Table(
    "member_metrics",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("member_id", ID, primary_key=True),
    Column("window_start", Date, primary_key=True),
    Column("metric", String(64), primary_key=True),
    Column("total", MONEY, nullable=False, default=0),
)

# What each sale added to each metric, per line (line "" for per-transaction quantities), and
# in which window: a return takes back its lines' share from the window the sale counted in.
sale_metrics = Table(
    "sale_metrics",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("sale_id", ID, primary_key=True),
    Column("line_id", ID, primary_key=True),
    Column("metric", String(64), primary_key=True),
    Column("window_start", Date, nullable=False),
    Column("amount", MONEY, nullable=False),
)

# Top-percent thresholds as the tier review resolved them, with the day it did: every
# evaluator (the till, tier.next, outreach) builds its tier model from these.
tier_thresholds = Table(
    "tier_thresholds",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("tier", String(64), primary_key=True),
    Column("amount", MONEY, nullable=False),
    Column("computed_on", Date, nullable=False),
)

# The stays each sale counted, by window: a later folio continuing one of them (same hotel,
# checking in the day the other checks out) is the same stay, so the next quote reads them.
member_stays = Table(
    "member_stays",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("sale_id", ID, primary_key=True),
    Column("property", String(128), primary_key=True),
    Column("first", Date, primary_key=True),
    Column("member_id", ID, nullable=False),
    Column("window_start", Date, nullable=False),
    Column("nights", Integer, nullable=False),
    Index("ix_member_stays_member", "programme", "member_id", "window_start"),
)

# A voucher: money off a sale, held by a member (or, for a campaign's bearer codes, by
# whoever presents it), used once (engine/ledger/vouchers.py). ``batch`` names what issued
# it for one period or one sale (``convert:2027-Q1``, ``sale:<id>:<rule>``): with the
# member it is unique, which makes every issuing job idempotent per period (migration 0015).
vouchers = Table(
    "vouchers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),
    Column("code", String(32), nullable=False),
    Column("member_id", ID),  # None: a bearer code (a campaign's), anyone may present it
    Column("value", MONEY, nullable=False),
    Column("points", BigInteger, nullable=False, default=0),  # points converted into it
    Column("source", String(128), nullable=False),  # conversion:<id> rule:<id> campaign:<id>
    Column("batch", String(128), nullable=False),
    Column("channels", JSON, nullable=False, default=list),  # [] = every channel
    Column("issued_at", Moment(), nullable=False),
    Column("expires_at", Moment()),
    Column("used_at", Moment()),
    Column("used_by", ID),  # the sale that used it
    Column("used_member", ID),
    UniqueConstraint("programme", "code"),
    UniqueConstraint("programme", "batch", "member_id"),
    Index("ix_vouchers_member", "programme", "member_id", "expires_at"),
    Index("ix_vouchers_sale", "programme", "used_by"),
)

# The vouchers' journal: every issue and use, append-only.
voucher_events = Table(
    "voucher_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),
    Column("voucher_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # issue use
    Column("member_id", ID),
    Column("transaction_id", ID),
    Column("amount", MONEY, nullable=False),
    Column("at", Moment(), nullable=False),
    Column("reason", Text),
    Index("ix_voucher_events_voucher", "programme", "voucher_id"),
)
