"""Opening the ledger database: one URL chooses SQLite (default) or PostgreSQL.

SQLite runs in WAL mode and every transaction starts with ``BEGIN IMMEDIATE``,
so writers are serialised by the database itself: two tills redeeming at once
queue instead of both reading the same balance. PostgreSQL uses row locks
(``SELECT … FOR UPDATE``) in the repository instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from engine.errors import LoyaltyError

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_URL = "sqlite:///var/loyalty.sqlite"


class MissingLedger(LoyaltyError):
    """A SQLite ledger file that does not exist, opened by a command that must not create one."""


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (None for PostgreSQL, in-memory or URI-style SQLite)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    if parsed.database in (None, "", ":memory:") or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def normalise_url(url: str, *, create: bool = True) -> str:
    """``postgresql://`` means psycopg 3 here. A SQLite file that does not exist gets its
    folder created, or, with ``create=False``, is refused with ``MissingLedger``: a typo in
    ``--database`` must not silently start a new, empty ledger."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    path = sqlite_file(url)
    if path is not None and not path.exists():
        if not create:
            raise MissingLedger(
                f"no ledger at {path}: the file does not exist. Check --database, or create "
                f"one with: loyalty ledger init --database {url}"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    return parsed.render_as_string(hide_password=False)


def open_database(
    url: str = DEFAULT_URL, *, migrate: bool = True, create: bool = True, **options: Any
) -> Engine:
    """An Engine for ``url``, with the schema brought up to date unless ``migrate`` is False.

    ``create=False`` refuses a SQLite file that does not exist (``MissingLedger``): every
    command but ``serve`` and ``ledger init`` opens the ledger that way.
    """
    url = normalise_url(url, create=create)
    # A failed statement's error text must not carry its parameters (names, phones,
    # e-mails): they would reach every log that prints the error.
    options.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        _serialise_sqlite_writers(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, **options)
    if migrate:
        upgrade(engine)
    return engine


def _serialise_sqlite_writers(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)
