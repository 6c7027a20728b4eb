"""Schema migrations: Alembic, configured in code so ``chestnut db upgrade`` works from any directory.

One process migrates a database at a time: two ``serve`` started together on a new database would
otherwise both create the schema, and the loser fail (PostgreSQL: a duplicate ``alembic_version``;
SQLite: tired of waiting for the write lock while a long migration holds it). PostgreSQL takes an
advisory lock on a connection of its own, held around the upgrade; SQLite an exclusive ``flock`` on a
file next to the database. The second process waits, then finds the schema at head and does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import migrations
from ledger.storage.sqlite import create_sqlite_file

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent
# Advisory locks share one key space per database with every other client: a key nobody else picks.
ADVISORY_LOCK_KEY = int.from_bytes(b"CHESTNUT", "big")

log = logging.getLogger("chestnut.migrate")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def sqlite_lock_path(url: str) -> Path | None:
    """The lock file next to a SQLite database (``None``: not a SQLite file)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return path.with_name(path.name + ".migrate-lock")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    # The file stays: removing it would let a third process lock a new file while the second holds the old.
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another process is migrating %s; waiting for it", path.with_suffix(""))
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def _under_advisory_lock(url: str, work: Callable[[], None]) -> None:
    """``work`` (in a thread: Alembic runs its own event loop) while this connection holds the lock.

    Autocommit, so the connection is not idle in a transaction for the migration's length (a server's
    ``idle_in_transaction_session_timeout`` would end the session and with it the lock).
    """
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            params = {"k": ADVISORY_LOCK_KEY}
            if not (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), params)).scalar():
                log.info("another process is migrating the database; waiting for it")
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), params)
            try:
                await asyncio.to_thread(work)
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), params)
    finally:
        await engine.dispose()


def locked(url: str, work: Callable[[], None]) -> None:
    """Run ``work`` holding the database's migration lock (call it where no event loop runs)."""
    if make_url(url).get_backend_name() == "postgresql":
        asyncio.run(_under_advisory_lock(url, work))
        return
    lock = sqlite_lock_path(url)
    if lock is None:
        work()
        return
    with _file_lock(lock):
        work()


def upgrade_sync(url: str, revision: str = "head", *, page_size: int | None = None) -> None:
    """Migrate ``url`` to ``revision``; a SQLite database not made yet is made with ``page_size`` pages
    (``ledger.storage.sqlite.create_sqlite_file``), SQLite's default when None."""

    def work() -> None:
        if page_size is not None:
            create_sqlite_file(url, page_size=page_size)
        command.upgrade(alembic_config(url), revision)

    locked(url, work)


def downgrade_sync(url: str, revision: str) -> None:
    locked(url, lambda: command.downgrade(alembic_config(url), revision))


async def upgrade(url: str, revision: str = "head", *, page_size: int | None = None) -> None:
    # Alembic's env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(functools.partial(upgrade_sync, url, revision, page_size=page_size))
