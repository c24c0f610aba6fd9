"""An app on a temporary SQLite ledger with the example programmes, and a key per role."""

from __future__ import annotations

import pytest

from api import create_app
from engine.ledger.keys import create_key

SALE = {
    "member_id": "m1",
    "id": "t1",
    "at": "2026-11-24T12:00:00+08:00",
    "lines": [
        {"id": "1", "sku": "BEANS", "category": "beans", "quantity": 2, "unit_price": "98.00"}
    ],
}


@pytest.fixture
def app(tmp_path):
    return create_app({"database_url": f"sqlite:///{tmp_path / 'api.sqlite'}", "matcher": "python"})


@pytest.fixture
def keys(app) -> dict[str, str]:
    database = app.extensions["loyalty"].database
    return {role: create_key(database, role) for role in ("pos", "marketer", "reviewer", "admin")}


class Client:
    """The test client with a role's key on every request."""

    def __init__(self, client, key: str | None) -> None:
        self.client, self.key = client, key

    def __getattr__(self, method: str):
        def call(path: str, **kwargs):
            headers = dict(kwargs.pop("headers", {}))
            if self.key:
                headers.setdefault("Authorization", f"Bearer {self.key}")
            return getattr(self.client, method)(path, headers=headers, **kwargs)

        return call


@pytest.fixture
def as_role(app, keys):
    return lambda role: Client(app.test_client(), keys.get(role))


@pytest.fixture
def pos(as_role):
    return as_role("pos")


@pytest.fixture
def member(as_role):
    response = as_role("marketer").put(
        "/v1/programmes/coffee-shop/members/m1", json={"name": "Ann", "joined": "2026-01-05"}
    )
    assert response.status_code == 201
    return "m1"
