"""Opening the ledger database: one URL chooses SQLite (default) or PostgreSQL.

SQLite runs in WAL mode and every transaction starts with ``BEGIN IMMEDIATE``,
so writers are serialised by the database itself: two tills redeeming at once
queue instead of both reading the same balance. PostgreSQL uses row locks
(``SELECT … FOR UPDATE``) in the repository instead.

Reads that never write (API-key checks, readiness, GET member, dry-run quotes) open
their connection with ``reading()``: on SQLite their transactions begin deferred and
read a WAL snapshot, so they neither queue behind a commit nor hold one up.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, CursorResult, Engine, create_engine, event
from sqlalchemy.engine import make_url

from engine.errors import LoyaltyError

if TYPE_CHECKING:
    from alembic.config import Config

READ_ONLY = "loyalty_read_only"  # execution option: this connection's transactions only read
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
        # Only a connection marked read-only skips the write lock: any other (every write
        # path) takes it before its first read, so no two writers read the same balance.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def reading(engine: Engine) -> Connection:
    """A connection for reading only (use it as a context manager).

    On SQLite its transactions begin deferred, so it does not take, or wait for, the write
    lock; writing through it is a mistake (under contention SQLite would refuse the write).
    """
    return engine.connect().execution_options(**{READ_ONLY: True})


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config  # only commands that migrate pay for importing Alembic

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def driver_connection(conn: Connection) -> Any:
    """The DBAPI connection under ``conn`` (sqlite3 or psycopg), for what SQLAlchemy lacks."""
    raw = conn.connection.driver_connection
    if raw is None:  # only once the pooled connection has been invalidated
        raise RuntimeError("the database connection is no longer usable")
    return raw


def inserted_id(result: CursorResult[Any]) -> int:
    """The id of the row a single-row INSERT made (SQLAlchemy reports it for every dialect)."""
    key = result.inserted_primary_key
    if key is None:  # only for executemany or INSERT .. FROM SELECT, never used here
        raise TypeError("the INSERT reported no primary key")
    return int(key[0])
