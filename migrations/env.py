"""Alembic environment: runs migrations over the async engine named by the Chestnut settings."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import ads.schema  # noqa: F401  (registers the ads tables on the shared metadata)
import bots.schema  # noqa: F401  (registers the chat tables on the shared metadata)
import commerce.exchange.schema  # (registers the market tables on the shared metadata)
import commerce.schema
import commerce.trust.schema  # noqa: F401  (registers the trust tables on the shared metadata)
import ledger.replica.schema  # noqa: F401  (registers the replication tables on the shared metadata)
import scheduler.schema  # noqa: F401  (registers the batch tables on the shared metadata)
from ledger.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    # transactional_ddl: one transaction around all migrations on SQLite too (see _sqlite_transactional_ddl).
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


def _sqlite_transactional_ddl(engine: AsyncEngine) -> None:
    """Make SQLite run the whole migration in ONE real transaction.

    Why: Python's sqlite3 driver never emits BEGIN before DDL, so each CREATE TABLE used to commit on
    its own; a first start killed halfway through the schema (kill -9, power cut) left some tables
    and no alembic_version row, and every later start failed with "table ... already exists"
    (tests/e2e/test_crash_safety.py::test_sigkill_during_first_migration_sqlite). SQLite's DDL is
    transactional, so we turn off the driver's own transaction handling and emit BEGIN ourselves
    (SQLAlchemy's documented pysqlite/aiosqlite recipe). WAL is set on connect, outside any transaction.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite":
        _sqlite_transactional_ddl(engine)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


url = config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("sqlalchemy.url is not set; run migrations through `chestnut db upgrade`")
if context.is_offline_mode():
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async(url))
