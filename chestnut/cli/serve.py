"""``chestnut serve``: the server — ledger API, bots, chat, and (roles all/scheduler) the batch scheduler."""

from __future__ import annotations

import contextlib

import click

from chestnut.bootstrap import App
from chestnut.cli.command import run_command, settings, with_app
from chestnut.settings import DEFAULT_PORT


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option(
    "--role",
    type=click.Choice(["all", "web", "scheduler"]),
    default="all",
    show_default=True,
    help="web: HTTP only; scheduler: the batches only (no HTTP); all: both",
)
def serve(host: str, port: int, role: str) -> None:
    """Run the server: ledger API, bots, chat, and (roles all/scheduler) the batch scheduler."""
    from chestnut.serve import serve as serve_web

    async def go(app: App) -> None:
        await serve_web(app, host, port, role=role)

    s = settings()
    if role != "scheduler":  # links in chats, labels and pages lead here unless CHESTNUT_PUBLIC_URL says otherwise
        s = s.served_at(host, port)
    with contextlib.suppress(KeyboardInterrupt):
        run_command(with_app(s, go))
