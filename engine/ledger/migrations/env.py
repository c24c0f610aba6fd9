"""Alembic environment: the engine comes from the caller (engine.ledger.db.upgrade)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, text

from engine.ledger.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url", "")  # set by open_database, or alembic.ini
engine = config.attributes.get("engine") or create_engine(url)

# Any number that no other advisory lock of this database uses.
MIGRATION_LOCK = 0x6C6F79616C7479


def lock_out_other_migrators(connection: Connection) -> None:
    """Hold the migration lock until this transaction ends.

    Two processes opening a new database at once (two workers, two hosts) would otherwise
    both see no schema and both create it; the second now waits, then finds it up to date.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    else:
        # engine.ledger.db opens every SQLite transaction with BEGIN IMMEDIATE: the write lock.
        connection.execute(text("SELECT 1"))


with engine.connect() as connection:
    lock_out_other_migrators(connection)
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
