"""Proposal review: the six principles, the source's design checks, and the verdict.

    from engine.policy.loader import load_programme
    from engine.review import review_programme, render

    review = review_programme(load_programme("rules/recommended/programme.yaml"))
    review.verdict.word          # "launchable" (at least 4 of 6 met) or "rework"
    print(render(review, "markdown"))

A reviewer's decisions (``load_decisions``) confirm or reject principles; ``diff_reviews``
compares two versions of a proposal. The ``loyalty review`` command is ``engine.review.cli``.
"""

from engine.review.decisions import Decisions, default_decisions_path, load_decisions
from engine.review.diff import ReviewDiff, diff_reviews
from engine.review.model import PRINCIPLES, Evidence, Finding, PrincipleResult, Review, Verdict
from engine.review.render import FORMATS, render, render_diff
from engine.review.scorecard import review_programme

__all__ = [
    "FORMATS",
    "PRINCIPLES",
    "Decisions",
    "Evidence",
    "Finding",
    "PrincipleResult",
    "Review",
    "ReviewDiff",
    "Verdict",
    "default_decisions_path",
    "diff_reviews",
    "load_decisions",
    "render",
    "render_diff",
    "review_programme",
]
