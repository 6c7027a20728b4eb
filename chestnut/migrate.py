"""Schema migrations: Alembic, configured in code so ``chestnut db upgrade`` works from any directory."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade_sync(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "heads") -> None:
    # Alembic's env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(upgrade_sync, url, revision)
