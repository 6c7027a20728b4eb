"""``chestnut bench``: the benchmarks (``chestnut.bench``), each printing its figures as aligned lines or
one JSON object."""

from __future__ import annotations

import json
from typing import Any

import click

from chestnut.bootstrap import App
from chestnut.cli.command import progress_bar, run_command, settings, with_app


def _report(result: dict[str, Any], *, as_json: bool) -> None:
    """A benchmark's figures: one JSON object with ``--json``, else one aligned line each."""
    if as_json:
        click.echo(json.dumps(result))
        return
    width = max((len(str(key)) for key in result), default=0) + 2
    for key, value in result.items():
        click.echo(f"{key:>{width}}: {value}")


@click.group()
def bench() -> None:
    """Benchmarks (each refuses to run on a ledger that already has entries)."""


@bench.command("ledger")
@click.option("--entries", default=50_000, show_default=True, type=click.IntRange(min=100, max=10_000_000))
@click.option("--json", "as_json", is_flag=True)
def bench_ledger(entries: int, as_json: bool) -> None:
    """Batch appends, single commits, full verify, and the machine's ceiling, in one run."""
    from chestnut.bench.ledger import run_ledger_bench

    s = settings()

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "benchmark") as update:
            return await run_ledger_bench(app, entries, progress=update)

    result = run_command(with_app(s, go, initialize=False), as_json=as_json)
    _report(result, as_json=as_json)


@bench.command("batch")
@click.option("--orders", "orders_n", default=100_000, show_default=True, type=click.IntRange(min=10, max=10_000_000))
@click.option("--holders", "holders_n", default=1_000_000, show_default=True, type=click.IntRange(min=1, max=10**8))
@click.option("--json", "as_json", is_flag=True)
def bench_batch(orders_n: int, holders_n: int, as_json: bool) -> None:
    """Settlement of confirmed orders and a dividend to BNM holders (SQLite), timed, then verified."""
    from chestnut.bench.batch import run_batch_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "seeding orders") as update:
            return await run_batch_bench(app, orders_n=orders_n, holders_n=holders_n, progress=update)

    result = run_command(with_app(settings(), go), as_json=as_json)
    _report(result, as_json=as_json)


@bench.command("replica")
@click.option("--entries", default=200_000, show_default=True, type=click.IntRange(min=100, max=10_000_000))
@click.option("--rate", default=500, show_default=True, type=click.IntRange(min=10, max=10_000), help="entries/s")
@click.option("--seconds", default=20.0, show_default=True, type=click.FloatRange(min=2))
@click.option("--json", "as_json", is_flag=True)
def bench_replica(entries: int, rate: int, seconds: float, as_json: bool) -> None:
    """A replica process syncing ENTRIES from nothing, then commit → witnessed-checkpoint lag at RATE."""
    from chestnut.bench.replica import run_replica_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "writing the ledger") as update:
            return await run_replica_bench(app, entries=entries, rate=rate, seconds=seconds, progress=update)

    result = run_command(with_app(settings(), go, initialize=False), as_json=as_json)
    _report(result, as_json=as_json)


@bench.command("commerce")
@click.option("--members", "members_n", default=1000, show_default=True, type=click.IntRange(min=10, max=1_000_000))
@click.option("--products", "products_n", default=10_000, show_default=True, type=click.IntRange(min=10, max=1_000_000))
@click.option("--orders", "orders_n", default=5000, show_default=True, type=click.IntRange(min=10, max=10_000_000))
@click.option("--json", "as_json", is_flag=True)
def bench_commerce(members_n: int, products_n: int, orders_n: int, as_json: bool) -> None:
    """Orders placed and paid per second (one transaction each) and search latency."""
    from chestnut.bench.commerce import run_commerce_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "commerce benchmark") as update:
            return await run_commerce_bench(
                app, members_n=members_n, products_n=products_n, orders_n=orders_n, progress=update
            )

    result = run_command(with_app(settings(), go), as_json=as_json)
    _report(result, as_json=as_json)


@bench.command("market")
@click.option("--engine-orders", default=200_000, show_default=True, type=click.IntRange(min=100, max=10_000_000))
@click.option("--orders", "orders_n", default=3_000, show_default=True, type=click.IntRange(min=10, max=1_000_000))
@click.option("--json", "as_json", is_flag=True)
def bench_market(engine_orders: int, orders_n: int, as_json: bool) -> None:
    """The BNM matching engine in memory, then orders placed and settled through the ledger."""
    from chestnut.bench.market import run_market_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "market benchmark") as update:
            return await run_market_bench(app, engine_orders=engine_orders, ledgered_orders=orders_n, progress=update)

    result = run_command(with_app(settings(), go), as_json=as_json)
    _report(result, as_json=as_json)


@bench.command("web")
@click.option("--clients", default=200, show_default=True, type=click.IntRange(min=1, max=10_000))
@click.option("--requests", "per_client", default=25, show_default=True, type=click.IntRange(min=1, max=10_000))
@click.option("--shoppers", default=240, show_default=True, type=click.IntRange(min=10, max=100_000))
@click.option("--json", "as_json", is_flag=True)
def bench_web(clients: int, per_client: int, shoppers: int, as_json: bool) -> None:
    """Provenance pages (GET /p/<code>) read by concurrent clients over loopback, on the demo market."""
    from chestnut.bench.web import run_web_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "web benchmark") as update:
            return await run_web_bench(app, clients=clients, per_client=per_client, shoppers=shoppers, progress=update)

    result = run_command(with_app(settings(), go), as_json=as_json)
    _report(result, as_json=as_json)


@bench.command("chat")
@click.option("--shoppers", default=200, show_default=True, type=click.IntRange(min=1, max=100_000))
@click.option(
    "--rate", default=0.0, show_default=True, type=click.FloatRange(min=0), help="messages/s offered; 0: unpaced"
)
@click.option("--json", "as_json", is_flag=True)
def bench_chat(shoppers: int, rate: float, as_json: bool) -> None:
    """Shoppers ordering at once through the Kakao skill endpoint over loopback HTTP."""
    from chestnut.bench.chat import run_chat_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "chat benchmark") as update:
            return await run_chat_bench(app, shoppers=shoppers, rate=rate, progress=update)

    result = run_command(with_app(settings(), go), as_json=as_json)
    _report(result, as_json=as_json)


@bench.command("ads")
@click.option("--members", "members_n", default=100_000, show_default=True, type=click.IntRange(min=10, max=1_000_000))
@click.option("--rate", default=1000.0, show_default=True, type=click.FloatRange(min=1), help="Telegram messages/s")
@click.option("--opens", default=10_000, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
def bench_ads(members_n: int, rate: float, opens: int, as_json: bool) -> None:
    """A campaign to opted-in members through a Telegram stand-in, then reward-on-open throughput."""
    from chestnut.bench.ads import run_ads_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "ads benchmark") as update:
            return await run_ads_bench(
                app, members_n=members_n, rate=rate, opens=min(opens, members_n), progress=update
            )

    result = run_command(with_app(settings(), go), as_json=as_json)
    _report(result, as_json=as_json)
