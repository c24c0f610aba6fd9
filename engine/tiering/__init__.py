"""The tier language's pure core: a typed model of ``tiers``, windows, requirements, status.

Nothing here reads a database or a clock: each function takes the dates and totals it needs,
so the quote, the ledger's tier review and the outreach triggers can share one meaning.
"""
