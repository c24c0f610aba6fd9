"""Alembic environment: the engine comes from the caller (engine.ledger.db.upgrade)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from engine.ledger.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url", "")  # set by open_database, or alembic.ini
engine = config.attributes.get("engine") or create_engine(url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
