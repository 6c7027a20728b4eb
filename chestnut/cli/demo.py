"""``chestnut demo``: an empty market filled with demo markets, shops, products, members and orders."""

from __future__ import annotations

import json

import click

from chestnut.bootstrap import App
from chestnut.cli.command import progress_bar, run_command, settings, with_app
from ledger.errors import ChestnutError


@click.command()
@click.option("--shoppers", default=240, show_default=True, type=click.IntRange(min=10, max=100_000))
@click.option("--if-empty", is_flag=True, help="do nothing (and succeed) when the market already has members")
@click.option("--json", "as_json", is_flag=True)
def demo(shoppers: int, if_empty: bool, as_json: bool) -> None:
    """Fill an empty market with demo markets, shops, products, members and orders."""
    from chestnut.demo import build_demo, is_empty

    async def go(app: App) -> dict[str, object] | None:
        if not await is_empty(app.db):
            if if_empty:
                return None
            raise DemoRefused("this market already has members; run the demo on an empty CHESTNUT_HOME")
        with progress_bar(not as_json, "demo market") as update:
            report = await build_demo(app.services, app.db, shoppers=shoppers, progress=update)
        return report.to_json()

    result = run_command(with_app(settings(), go), as_json=as_json)
    if result is None:
        if not as_json:
            click.echo("the market already has members; no demo data added")
        return
    click.echo(json.dumps(result, ensure_ascii=False) if as_json else f"demo market ready: {result}")


class DemoRefused(ChestnutError):
    code = "demo_refused"
