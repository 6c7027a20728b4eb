"""Schema migrations: Alembic, configured in code so ``chestnut db upgrade`` works from any directory."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations
from ledger.db import create_sqlite_file

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str, revision: str = "head", *, page_size: int | None = None) -> None:
    """Migrate ``url`` to ``revision``; a SQLite database not made yet is made with ``page_size`` pages
    (``ledger.db.create_sqlite_file``), SQLite's default when None."""
    if page_size is not None:
        create_sqlite_file(url, page_size=page_size)
    command.upgrade(alembic_config(url), revision)


def downgrade_sync(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head", *, page_size: int | None = None) -> None:
    # Alembic's env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(functools.partial(upgrade_sync, url, revision, page_size=page_size))
