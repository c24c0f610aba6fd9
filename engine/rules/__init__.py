"""Rule conditions: the rule tree parsed from ``when``, and the matchers that evaluate it.

parse_when(rule_id, when, currency_exponent=2) -> Condition
build_matcher("durable" | "python", "programme@version", conditions) -> Matcher
matcher.match(Facts(transaction, member, lines)) -> [Match(rule_id, lines), ...]
"""

from engine.rules.facts import Facts
from engine.rules.matching import Match, Matcher, MatcherKind, build_matcher
from engine.rules.tree import Condition, Test, parse_when

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
