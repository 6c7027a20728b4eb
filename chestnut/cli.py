"""``chestnut``: the command line. Each command builds the app through bootstrap and closes it after.

Typed errors print one readable line (or a JSON object with ``--json``) and exit 2; ``ledger verify``
exits 1 when the ledger does not verify. No command prints a traceback for an expected refusal.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from chestnut.bootstrap import App, build
from chestnut.settings import Settings, load_settings
from ledger.errors import ChestnutError

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T], *, as_json: bool = False) -> T:
    try:
        return asyncio.run(coro)
    except ChestnutError as exc:
        if as_json:
            click.echo(json.dumps(exc.to_json(), ensure_ascii=False))
        else:
            click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        # A bug, not a refusal: one line for the person at the terminal, the traceback in a file.
        report = _save_traceback()
        message = f"internal error ({type(exc).__name__}); details were written to {report}"
        if as_json:
            click.echo(json.dumps({"error": "internal_error", "message": message}, ensure_ascii=False))
        else:
            click.echo(f"error: {message}", err=True)
        sys.exit(3)


def _save_traceback() -> str:
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="chestnut-error-", suffix=".log")
    with os.fdopen(fd, "w") as out:
        traceback.print_exc(file=out)
    return path


async def _with_app(settings: Settings, fn: Callable[[App], Awaitable[T]], **build_kw: Any) -> T:
    app = await build(settings, **build_kw)
    try:
        return await fn(app)
    finally:
        await app.close()


@contextmanager
def progress_bar(enabled: bool, description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on a terminal; silent otherwise (``--json``, pipes, CI)."""
    if not enabled or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=__import__("rich.console").console.Console(stderr=True),
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@click.group()
def main() -> None:
    """Chestnut (밤나무 장터): a cooperative's direct-trade market on a signed hash-chain ledger."""
    logging.basicConfig(
        level=os.environ.get("CHESTNUT_LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s: %(message)s"
    )


def settings() -> Settings:
    try:
        return load_settings()
    except ChestnutError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)


# ----------------------------------------------------------------------------------------- serve


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the server: ledger API (and, as they land, the bots, chat, scheduler)."""
    from chestnut.web import serve as serve_web

    async def go(app: App) -> None:
        await serve_web(app, host, port)

    with contextlib.suppress(KeyboardInterrupt):
        _run(_with_app(settings(), go))


# -------------------------------------------------------------------------------------------- db


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the configured database to the newest schema."""
    from chestnut.migrate import upgrade_sync

    s = settings()
    s.home.mkdir(parents=True, exist_ok=True)
    upgrade_sync(s.resolved_database_url, revision)
    click.echo(f"database is at {revision}")


# ------------------------------------------------------------------------------------------ keys


@main.group()
def keys() -> None:
    """Custodial keys."""


@keys.command("rotate-master")
def keys_rotate_master() -> None:
    """Re-seal every custodial key under a new master key (crash-safe)."""
    from ledger.keys import rotate_master_key

    s = settings()

    async def go(app: App) -> tuple[str, str, int]:
        return await rotate_master_key(app.db, s.resolved_master_key_file)

    old, new, count = _run(_with_app(s, go, initialize=False))
    click.echo(f"re-sealed {count} keys: master key {old} → {new}")


# ---------------------------------------------------------------------------------------- ledger


@main.group()
def ledger() -> None:
    """Inspect and verify the ledger."""


@ledger.command("verify")
@click.option("--json", "as_json", is_flag=True, help="machine-readable report, no progress bar")
def ledger_verify(as_json: bool) -> None:
    """Re-check every entry: links, hashes, signatures, checkpoints and the money invariants."""
    from ledger.verify import verify_ledger

    s = settings()

    async def go(app: App) -> Any:
        with progress_bar(not as_json, "verifying") as update:
            return await verify_ledger(app.db, s.ledger_origin, progress=update)

    report = _run(_with_app(s, go, initialize=False), as_json=as_json)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    elif report.ok:
        click.echo(
            f"ok: {report.size} entries and {report.checkpoints} checkpoints verified "
            f"in {report.seconds:.2f}s ({report.entries_per_s:,.0f} entries/s)"
        )
    else:
        click.echo(f"FAILED at entry {report.first_bad_seq}: {report.problem}")
    sys.exit(0 if report.ok else 1)


@ledger.command("checkpoint")
@click.option("--publish", is_flag=True, help="sign a new checkpoint first if the ledger grew")
def ledger_checkpoint(publish: bool) -> None:
    """Print the latest signed checkpoint (C2SP signed note), as published."""

    async def go(app: App) -> str:
        if publish:
            async with app.db.unit_of_work() as uow:
                await app.ledger.publish_checkpoint(uow)
                await uow.commit()
        async with app.db.snapshot() as snap:
            return (await app.ledger.latest_checkpoint(snap))[1]

    click.echo(_run(_with_app(settings(), go)), nl=False)


@ledger.command("key")
def ledger_key() -> None:
    """Print the ledger's verifier key (C2SP form: name+keyid+base64(0x01||pubkey))."""
    from ledger.note import verifier_key

    async def go(app: App) -> str:
        async with app.db.snapshot() as snap:
            signer = await app.ledger.ledger_signer(snap)
        return verifier_key(signer.name, signer.public_key)

    click.echo(_run(_with_app(settings(), go)))


@ledger.command("proof")
@click.argument("seq", type=click.IntRange(min=0))
def ledger_proof(seq: int) -> None:
    """Print a c2sp.org/tlog-proof@v1 receipt for entry SEQ against the latest checkpoint."""

    async def go(app: App) -> str:
        await app.ledger.ensure_checkpoint_covers(seq, app.db)
        async with app.db.snapshot() as snap:
            return await app.ledger.receipt(snap, seq)

    click.echo(_run(_with_app(settings(), go)), nl=False)


@ledger.command("show")
@click.argument("seq", type=click.IntRange(min=0))
@click.option("--raw", is_flag=True, help="the exact entry bytes, base64 (leaf hash = SHA256(0x00 || bytes))")
def ledger_show(seq: int, raw: bool) -> None:
    """Show entry SEQ decoded (or its exact bytes with --raw)."""
    from ledger.model import decode_entry_json

    async def go(app: App) -> bytes:
        async with app.db.snapshot() as snap:
            return await app.ledger.entry(snap, seq)

    entry = _run(_with_app(settings(), go))
    if raw:
        click.echo(base64.b64encode(entry).decode())
    else:
        click.echo(json.dumps(decode_entry_json(entry), ensure_ascii=False, indent=2))


# ------------------------------------------------------------------------------------------ demo


@main.command()
@click.option("--shoppers", default=240, show_default=True, type=click.IntRange(min=10, max=100_000))
@click.option("--if-empty", is_flag=True, help="do nothing (and succeed) when the market already has members")
@click.option("--json", "as_json", is_flag=True)
def demo(shoppers: int, if_empty: bool, as_json: bool) -> None:
    """Fill an empty market with demo markets, shops, products, members and orders."""
    from commerce.demo import build_demo, is_empty

    async def go(app: App) -> dict[str, object] | None:
        if not await is_empty(app.db):
            if if_empty:
                return None
            raise DemoRefused("this market already has members; run the demo on an empty CHESTNUT_HOME")
        with progress_bar(not as_json, "demo market") as update:
            report = await build_demo(app.market, app.db, shoppers=shoppers, progress=update)
        return report.to_json()

    result = _run(_with_app(settings(), go), as_json=as_json)
    if result is None:
        if not as_json:
            click.echo("the market already has members; no demo data added")
        return
    click.echo(json.dumps(result, ensure_ascii=False) if as_json else f"demo market ready: {result}")


class DemoRefused(ChestnutError):
    code = "demo_refused"


# ----------------------------------------------------------------------------------------- bench


@main.group()
def bench() -> None:
    """Benchmarks (each refuses to run on a ledger that already has entries)."""


@bench.command("ledger")
@click.option("--entries", default=50_000, show_default=True, type=click.IntRange(min=100, max=10_000_000))
@click.option("--json", "as_json", is_flag=True)
def bench_ledger(entries: int, as_json: bool) -> None:
    """Batch appends, single commits, full verify, and the machine's ceiling, in one run."""
    from chestnut.bench import run_ledger_bench

    s = settings()

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "benchmark") as update:
            return await run_ledger_bench(app, entries, progress=update)

    result = _run(_with_app(s, go, initialize=False), as_json=as_json)
    if as_json:
        click.echo(json.dumps(result))
    else:
        for key, value in result.items():
            click.echo(f"{key:>24}: {value}")


@bench.command("commerce")
@click.option("--members", "members_n", default=1000, show_default=True, type=click.IntRange(min=10, max=1_000_000))
@click.option("--products", "products_n", default=10_000, show_default=True, type=click.IntRange(min=10, max=1_000_000))
@click.option("--orders", "orders_n", default=5000, show_default=True, type=click.IntRange(min=10, max=10_000_000))
@click.option("--json", "as_json", is_flag=True)
def bench_commerce(members_n: int, products_n: int, orders_n: int, as_json: bool) -> None:
    """Orders placed and paid per second (one transaction each) and search latency."""
    from chestnut.bench import run_commerce_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "commerce benchmark") as update:
            return await run_commerce_bench(
                app, members_n=members_n, products_n=products_n, orders_n=orders_n, progress=update
            )

    result = _run(_with_app(settings(), go), as_json=as_json)
    if as_json:
        click.echo(json.dumps(result))
    else:
        for key, value in result.items():
            click.echo(f"{key:>30}: {value}")


if __name__ == "__main__":
    main()
