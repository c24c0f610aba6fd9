"""Rule conditions: the rule tree parsed from ``when``, and the back ends that evaluate it.

The package is a pipeline of stages, each importing only the stages before it:

* ``tree``: the node types (``Condition``, ``Test``) and the fields they may test: the leaf;
* ``facts``: what a matcher sees of one sale, checked against the same fields;
* ``parser``: a ``when`` mapping → a ``Condition``, refusing what no back end can run;
* back ends: ``network`` (durable-rules' limits and rulesets) with ``durable`` (the engine),
  ``python`` (plain closures), ``sql`` (member tests as SQL, for campaign targeting);
* ``explain``: the first test a condition failed, in words (``quote --explain``);
* this module: the factory choosing a matching back end.

parse_when(rule_id, when, currency_exponent=2) -> Condition
build_matcher("durable" | "python", "programme@version", conditions) -> Matcher
matcher.match(Facts(transaction, member, lines)) -> [Match(rule_id, lines), ...]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.errors import PolicyError
from engine.rules.facts import Facts
from engine.rules.matching import Match, Matcher, MatcherKind
from engine.rules.network import check_limits
from engine.rules.parser import parse_when
from engine.rules.python import PythonMatcher
from engine.rules.tree import Condition, Test

__all__ = [
    "Condition",
    "Facts",
    "Match",
    "Matcher",
    "MatcherKind",
    "Test",
    "build_matcher",
    "parse_when",
]

# durable-rules reads "$state"/"$flow" in a ruleset name as a statechart or a flowchart.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:+-]{0,127}$")


def build_matcher(kind: MatcherKind, name: str, conditions: Sequence[Condition]) -> Matcher:
    """Build a matcher; both kinds accept exactly the same conditions (durable-rules' limits)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"matcher name must match {_NAME.pattern}, got {name!r}")
    conditions = tuple(conditions)
    problems = check_limits(conditions)
    if problems:
        raise PolicyError(f"{name}: the rules exceed durable-rules' limits", problems)
    if kind == "python":
        return PythonMatcher(name, conditions)
    if kind == "durable":
        # Imported on first use: it loads durable-rules' C engine, never needed by the python kind.
        from engine.rules.durable import durable_matcher

        return durable_matcher(name, conditions)
    raise ValueError(f"unknown matcher kind {kind!r}; use 'durable' or 'python'")
