"""Importing members and their transaction history from CSV files (onboarding).

Both imports stream the file (``csv`` module, one batch in memory at a time), check every
row in Python, and write the good rows of a batch in one database transaction: members with
multi-row inserts; transactions through a staging table from which the transactions, lots,
journal rows and member totals are written set-based (``INSERT … SELECT``, ``UPDATE …
FROM``). A bad row is reported (its line number and why) and skipped; it never stops the
import or touches the good rows. Ids make a re-import idempotent: a row whose id is already
in the ledger (or earlier in the file) is skipped and counted as such. A killed import leaves
whole batches written; run it again and it skips them.

**Members** (``import_members``), one member a row, UTF-8, a header row naming the columns:

====================  ========================================================================
``id``                required; the member id (at most 128 characters)
``joined``            required; the join date, ``2024-03-10``
``name``              optional; at most 256 characters
``birthday``          optional; ``1990-05-17``
``tags``              optional; a JSON object ``{"gender": "female", "likes": ["tea"]}`` or
                      ``gender=female;likes=tea;likes=cake`` (a repeated key makes a list); keys
                      are lower case letters, digits, ``_`` and ``-``
``email``, ``phone``, optional; contact addresses
``wechat``
``consent_email``,    optional; ``true``/``false`` (also ``yes``/``no``, ``1``/``0``); empty
``consent_sms``,      means not asked. Every outreach channel has its column.
``consent_call``,
``consent_app_push``,
``consent_wechat``
====================  ========================================================================

A new member starts at the programme's first level, like an enrolment.

**Transactions** (``import_transactions``): one historical purchase a row, to bring points and
qualifying spend over from the old system. The member must exist (import members first).

===============  ===============================================================================
``id``           required; the old system's transaction id (at most 128 characters)
``member_id``    required
``at``           required; ``2026-03-05T14:30:00+08:00``, or a date (the start of that local day)
``amount``       required; the money paid, ``0`` or more, at most the currency's decimals
``points``       required; the points it earned, a whole number ``0`` or more
``qualifying``   optional; the part of ``amount`` that counts toward tiers (default: all of it)
``expires_at``   optional; when the points expire (a date means the end of that local day);
                 default: the programme's ``expiry`` rule applied to ``at``
``kind``         optional; ``purchase`` (the default), ``redemption``, ``return``,
                 ``adjustment`` (``points`` signed) or ``paid_level`` (``level`` bought for
                 ``amount``); every kind but purchase is written by ``movements``
``reason``       optional; an adjustment's (or a redemption's, a return's) reason
``level``        a ``paid_level`` row's level
===============  ===============================================================================

Each row becomes a ``transactions`` row (kind ``import``, with its qualifying amount, which
rolling 12-month windows sum), a lot (if it earned points; pending per ``earn.pending_days``
like a sale) and an ``earn`` journal row, and adds to the member's balance, last purchase
and running qualifying spend (of the period ``at`` falls in, if it is the member's latest),
so ``ledger check`` stays clean. Points already expired by their date stay
in the lot until ``loyalty ledger expire`` lapses them, with a journal row. Imported points do
not repay debt and do not count toward per-period earning caps.

The package's rooms: ``rows`` (the CSV records, batches and the report), ``cells`` (each
value checked), ``bulk`` (multi-row writes below SQLAlchemy), ``members`` and
``transactions`` (the two imports), ``movements`` (imported redemptions, returns,
adjustments and paid levels, one by one at their own time), and ``reader`` (the checked
transaction rows, read here or by a second process). Lots and journal rows are written by
``engine.ledger.postings``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.ledger.importer.cells import parse_tags
    from engine.ledger.importer.members import MEMBER_COLUMNS, import_members
    from engine.ledger.importer.reader import TRANSACTION_COLUMNS, read_batches_to_stdout
    from engine.ledger.importer.rows import BATCH, ImportReport, Progress, Rejected, RowError
    from engine.ledger.importer.transactions import PARALLEL_BYTES, import_transactions

# Each name is imported from its module on first use: the reader process starts by importing
# this package, and must not pay for the writing side (the ledger's postings, the pricing
# engine) that it never runs.
_HOME = {
    "BATCH": "rows",
    "ImportReport": "rows",
    "Progress": "rows",
    "Rejected": "rows",
    "RowError": "rows",
    "parse_tags": "cells",
    "MEMBER_COLUMNS": "members",
    "import_members": "members",
    "TRANSACTION_COLUMNS": "reader",
    "read_batches_to_stdout": "reader",
    "PARALLEL_BYTES": "transactions",
    "import_transactions": "transactions",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)


__all__ = [
    "BATCH",
    "MEMBER_COLUMNS",
    "PARALLEL_BYTES",
    "TRANSACTION_COLUMNS",
    "ImportReport",
    "Progress",
    "Rejected",
    "RowError",
    "import_members",
    "import_transactions",
    "parse_tags",
    "read_batches_to_stdout",
]
