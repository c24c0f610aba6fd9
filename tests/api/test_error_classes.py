"""Every domain error class carries its HTTP status and slug, and the edge answers with them."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from flask import Flask

import api
import engine
from engine.errors import LoyaltyError
from engine.policy.problems import Problem

SLUG = re.compile(r"^[a-z]+(-[a-z]+)*$")


def _import_everything() -> None:
    """Subclasses live beside their room (ledger, outreach...): import every module to see them."""
    for package in (engine, api):
        prefix = package.__name__ + "."
        for module in pkgutil.walk_packages(package.__path__, prefix):
            importlib.import_module(module.name)


def _subclasses(root: type[LoyaltyError]) -> list[type[LoyaltyError]]:
    found = [root]
    for cls in root.__subclasses__():
        found += _subclasses(cls)
    return list(dict.fromkeys(found))


_import_everything()
ERRORS = _subclasses(LoyaltyError)


def sample(cls: type[LoyaltyError]) -> LoyaltyError:
    """An instance whatever the constructor (``RedemptionError`` takes a code first)."""
    try:
        return cls("a sample refusal")
    except TypeError:
        return cls("sample-code", "a sample refusal")  # type: ignore[call-arg]


def test_the_walk_finds_the_errors_defined_outside_engine_errors() -> None:
    names = {cls.__name__ for cls in ERRORS}
    assert {"UnknownTask", "MissingLedger", "UnknownMember", "EngineError"} <= names


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_every_domain_error_carries_an_http_status_a_slug_and_a_title(
    cls: type[LoyaltyError],
) -> None:
    assert isinstance(cls.status, int) and 400 <= cls.status <= 599
    assert SLUG.match(cls.slug), cls.slug
    assert isinstance(cls.title, str) and cls.title


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_every_domain_error_is_answered_as_problem_json_with_its_status_and_slug(
    app: Flask, cls: type[LoyaltyError]
) -> None:
    error = sample(cls)

    @app.get("/raise-for-test")
    def raise_it() -> None:
        raise error

    response = app.test_client().get("/raise-for-test")
    body = response.get_json()
    assert response.status_code == cls.status
    assert response.content_type == "application/problem+json"
    assert body["type"].endswith("/" + cls.slug) and body["title"] == cls.title
    assert body["status"] == cls.status
    if cls.status >= 500:  # a server-side failure is logged, its message never shown
        assert "a sample refusal" not in response.get_data(as_text=True)
    else:
        assert body["detail"] == "a sample refusal"


def test_the_statuses_are_the_ones_the_api_has_always_answered() -> None:
    from engine import errors
    from engine.campaigns.critical import NoCriticalPoint
    from engine.ledger.db import MissingLedger
    from engine.outreach.tasks import UnknownTask

    assert {cls: (cls.status, cls.slug) for cls in ERRORS} == {
        errors.LoyaltyError: (422, "refused"),
        errors.ProblemsError: (422, "invalid"),
        errors.PolicyError: (422, "invalid-body"),
        errors.InputError: (422, "invalid-body"),
        errors.RedemptionError: (422, "redemption-refused"),
        errors.UnknownError: (404, "not-found"),
        errors.UnknownProgramme: (404, "not-found"),
        errors.UnknownMember: (404, "not-found"),
        errors.UnknownTransaction: (404, "not-found"),
        UnknownTask: (404, "not-found"),
        errors.ConflictError: (409, "conflict"),
        NoCriticalPoint: (409, "conflict"),
        errors.EngineError: (500, "engine-failure"),
        MissingLedger: (422, "refused"),
    }


def test_a_problems_error_lists_its_problems_with_dotted_paths(app: Flask) -> None:
    problem = Problem("expected an amount", ("when", "lines", 1, "amount"), code="condition")

    @app.get("/raise-for-test")
    def raise_it() -> None:
        raise errors_with([problem])

    body = app.test_client().get("/raise-for-test").get_json()
    assert body["errors"] == [{"path": "when.lines[1].amount", "message": "expected an amount"}]


def errors_with(problems: list[Problem]) -> LoyaltyError:
    from engine.errors import PolicyError

    return PolicyError("the rules are invalid", problems)
