"""The pricing core: a programme compiled once (``plan``), a sale priced (``pipeline``) into a
quote (``result``), with the vocabulary it prices in (model, facts, offers, points, earning,
tiers, attribution). It knows nothing of the ledger, SQL or HTTP."""

from engine.pricing.pipeline import Evaluator, MatcherKind
from engine.pricing.plan import Plan
from engine.pricing.result import LineState, Quote, TraceEntry

__all__ = ["Evaluator", "LineState", "MatcherKind", "Plan", "Quote", "TraceEntry"]
