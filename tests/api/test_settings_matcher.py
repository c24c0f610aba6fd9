"""The matcher setting is one the engine knows, or the app refuses to start, naming the choices."""

from __future__ import annotations

import pytest

from api.settings import Settings


def test_an_unknown_matcher_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown matcher 'drools': use durable or python"):
        Settings.from_env({"matcher": "drools"})


def test_the_matcher_from_the_environment_is_checked_too(monkeypatch):
    monkeypatch.setenv("LOYALTY_MATCHER", "python")
    assert Settings.from_env({}).matcher == "python"
    monkeypatch.setenv("LOYALTY_MATCHER", "rete")
    with pytest.raises(ValueError, match="unknown matcher 'rete'"):
        Settings.from_env({})
