"""The console's session secret is one fact in the database, whoever asks first."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from engine.ledger.db import open_database
from engine.ledger.secrets import shared_secret


def test_the_first_call_creates_the_secret_and_later_calls_read_it(database):
    first = shared_secret(database, "console-session")
    assert len(first) == 64 and first == shared_secret(database, "console-session")
    assert shared_secret(database, "another") != first


def test_processes_starting_together_agree_on_one_secret(database_url):
    engines = [open_database(database_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            secrets = set(pool.map(lambda e: shared_secret(e, "console-session"), engines))
    finally:
        for engine in engines:
            engine.dispose()
    assert len(secrets) == 1
