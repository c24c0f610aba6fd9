"""``loyalty serve`` publishes the valid files once, before its workers start.

Starting the server is when edited files become what every worker serves; a
broken file leaves its programme's last good version published. SQLite and
PostgreSQL.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from api.serve import _prepare
from engine.ledger.db import open_database
from engine.ledger.programmes import ProgrammeStore

ROOT = Path(__file__).resolve().parents[2]
EARN = "earn:\n  points: 1\n  per: 1\n"


def current(database: str) -> tuple[int, dict[str, str]]:
    engine = open_database(database)
    try:
        snapshot = ProgrammeStore(engine).snapshot()
    finally:
        engine.dispose()
    return snapshot.generation, {p: v.version for p, v in snapshot.versions.items()}


def test_each_server_start_publishes_the_valid_files_and_keeps_the_last_good_one(
    database_url, tmp_path, capsys
):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules/coffee-shop", rules / "coffee-shop")
    main = rules / "coffee-shop/programme.yaml"
    _prepare(database_url, str(rules))
    generation, first = current(database_url)
    assert generation == 1 and set(first) == {"coffee-shop"}
    assert f"Published coffee-shop@{first['coffee-shop']}" in capsys.readouterr().out

    main.write_text(
        main.read_text(encoding="utf-8").replace(EARN, "earn:\n  points: 2\n  per: 1\n")
    )
    _prepare(database_url, str(rules))
    generation, second = current(database_url)
    assert generation == 2 and second["coffee-shop"] != first["coffee-shop"]

    main.write_text("programme: {id: coffee-shop}\n", encoding="utf-8")
    _prepare(database_url, str(rules))
    assert current(database_url) == (2, second)
    assert "keeps its last good version" in capsys.readouterr().out
