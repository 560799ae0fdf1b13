"""Alembic's environment: one connection (handed over by ``darkroom.db``, or made from the URL).

Batch mode (``render_as_batch``) so that column changes work on SQLite too,
which recreates a table to alter it.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from darkroom.db import Base
from darkroom.realtime.eventlog import events_table

config = context.config
target_metadata = [Base.metadata, events_table.metadata]


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("darkroom migrations run online only (they inspect the database)")
run()
