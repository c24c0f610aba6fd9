"""What each kind of ``transactions`` row was, for everything that reads activity.

A purchase brought over by the CSV import is stored as kind ``import`` (its request is the
CSV row, not a basket, so nothing that re-reads a sale's lines mistakes it for one); it is
still a purchase. Imported redemptions and adjustments are stored as ``redeem`` and
``adjust`` rows like the API's, marked imported in their response; an imported return has no
sale in this ledger to point at and is kind ``import_return``. Analyses, triggers and jobs
that ask "did the member buy / redeem" read these tuples rather than naming kinds.
"""

from __future__ import annotations

PURCHASE_KINDS = ("sale", "import")
REDEEM_KINDS = ("redeem",)
# The domain's activity signal: buying or redeeming.
ACTIVE_KINDS = PURCHASE_KINDS + REDEEM_KINDS
RETURN_KINDS = ("return", "import_return")
