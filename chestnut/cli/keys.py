"""``chestnut keys``: the custodial keys and the master key they are sealed under."""

from __future__ import annotations

import click

from chestnut.bootstrap import App
from chestnut.cli.command import run_command, settings, with_app


@click.group()
def keys() -> None:
    """Custodial keys."""


@keys.command("rotate-master")
def keys_rotate_master() -> None:
    """Re-seal every custodial key under a new master key (crash-safe)."""
    from ledger.keys import rotate_master_key

    s = settings()

    async def go(app: App) -> tuple[str, str, int]:
        return await rotate_master_key(app.db, s.resolved_master_key_file)

    old, new, count = run_command(with_app(s, go, initialize=False))
    click.echo(f"re-sealed {count} keys: master key {old} → {new}")
