from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.rules import Matcher, build_matcher
from tests.rules.helpers import condition, unique_name


@pytest.fixture(params=["durable", "python"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def matcher(kind: str) -> Callable[..., Matcher]:
    """``matcher(rule_id=when, ...)`` builds a matcher of the current kind."""

    def build(**whens: dict[str, Any] | None) -> Matcher:
        conditions = [condition(rule_id, when) for rule_id, when in whens.items()]
        return build_matcher(kind, unique_name(kind), conditions)  # type: ignore[arg-type]

    return build
