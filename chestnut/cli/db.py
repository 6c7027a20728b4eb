"""``chestnut db``: the database schema."""

from __future__ import annotations

import click

from chestnut.cli.command import settings


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="an Alembic revision; head: the newest")
def db_upgrade(revision: str) -> None:
    """Migrate the configured database to the newest schema."""
    from chestnut.bootstrap import SQLITE_PAGE_SIZE
    from chestnut.migrate import upgrade_sync

    s = settings()
    s.home.mkdir(parents=True, exist_ok=True)
    upgrade_sync(s.resolved_database_url, revision, page_size=SQLITE_PAGE_SIZE)  # made as `serve` makes it
    click.echo(f"database is at {revision}")
