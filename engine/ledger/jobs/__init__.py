"""Batch jobs on the ledger: lot expiry, pending release, the tier review, inactivity.

Every job is set-based SQL: ``INSERT … SELECT`` and ``UPDATE … FROM`` over a whole batch of
lots or members at once, never a Python loop over members. A job works through id ranges
(lot ids, or member ids in keyset order), one database transaction per range, committed
before the next starts, and reports ``progress(done, total)`` after each. Every statement
selects only what still needs doing (a lot with points left past its expiry; a member whose
tier differs from what the review gives), so a job killed half-way leaves whole batches done
and, run again, does the rest; rerunning a finished job changes nothing.

Concurrency: on SQLite each batch holds the database write lock (``BEGIN IMMEDIATE``); on
PostgreSQL each batch first locks its members' rows in id order, as the service does before
it touches a member's lots, so a till never sees half a batch.

Rooms: ``batches`` (the shared plumbing: progress, id-range batches, member locks),
``expiry`` (lots past their end, inactive members), ``pending`` (pending points released) and
``tier_review`` (the review at the end of a qualifying period). The points themselves are
written by ``engine.ledger.postings``, like every other movement of lots and journal rows.
"""

from engine.ledger.jobs.batches import BATCH, Progress
from engine.ledger.jobs.expiry import (
    INACTIVE,
    LOT_EXPIRED,
    Expired,
    expire_inactive,
    expire_lots,
    inactivity_cutoff,
)
from engine.ledger.jobs.pending import Released, release_pending
from engine.ledger.jobs.tier_review import (
    ReviewPlan,
    period_spend,
    resolve_thresholds,
    review_changes,
    review_plan,
    tier_review,
    top_percent_boundary,
)

__all__ = [
    "BATCH",
    "INACTIVE",
    "LOT_EXPIRED",
    "Expired",
    "Progress",
    "Released",
    "ReviewPlan",
    "expire_inactive",
    "expire_lots",
    "inactivity_cutoff",
    "period_spend",
    "release_pending",
    "resolve_thresholds",
    "review_changes",
    "review_plan",
    "tier_review",
    "top_percent_boundary",
]
