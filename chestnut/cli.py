"""``chestnut``: the command line. Each command builds the app through bootstrap and closes it after.

Typed errors print one readable line (or a JSON object with ``--json``) and exit 2; ``ledger verify``
exits 1 when the ledger does not verify. No command prints a traceback for an expected refusal.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from chestnut.bootstrap import App, build
from chestnut.settings import DEFAULT_PORT, Settings, load_settings
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


def settle_heap() -> None:
    """Once a process has started: what it made while starting (modules, classes, functions, the app's
    wiring — ~150,000 objects) moves out of the cycle collector's sight for good. A full collection
    walked all of them every time, 90–160 ms on these VMs (seen in bench ads, every few seconds while
    members were seeded), a pause every chat turn and ad open in flight waited through."""
    gc.collect()
    gc.freeze()


async def _with_app(settings: Settings, fn: Callable[[App], Awaitable[T]], **build_kw: Any) -> T:
    app = await build(settings, **build_kw)
    settle_heap()
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


def _report(result: dict[str, Any], *, as_json: bool) -> None:
    """A command's figures: one JSON object with ``--json``, else one aligned line each."""
    if as_json:
        click.echo(json.dumps(result))
        return
    width = max((len(str(key)) for key in result), default=0) + 2
    for key, value in result.items():
        click.echo(f"{key:>{width}}: {value}")


@click.group()
def main() -> None:
    """Chestnut (밤나무 장터): a cooperative's direct-trade market on a signed hash-chain ledger."""
    from chestnut import logs

    logs.configure(os.environ.get("CHESTNUT_LOG_LEVEL", "INFO"))


def settings() -> Settings:
    from chestnut import logs

    try:
        loaded = load_settings()
    except ChestnutError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    logs.keep_out_of_logs(loaded)
    return loaded


# ----------------------------------------------------------------------------------------- serve


@main.command()
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
        _run(_with_app(s, go))


# -------------------------------------------------------------------------------------------- db


@main.group()
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
@click.option("--witnessed", is_flag=True, help="the latest checkpoint the replicas' quorum cosigned")
def ledger_checkpoint(publish: bool, witnessed: bool) -> None:
    """Print the latest signed checkpoint (C2SP signed note), as published."""

    async def go(app: App) -> str:
        if publish:
            async with app.db.unit_of_work() as uow:
                await app.ledger.publish_checkpoint(uow)
                await uow.commit()
        async with app.db.snapshot() as snap:
            if witnessed:
                from ledger.witnessing import latest_witnessed

                return (await latest_witnessed(snap))[1]
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


@ledger.group("readers")
def ledger_readers() -> None:
    """Reader credentials: the replicas of member organisations that may read every entry."""


@ledger_readers.command("issue")
@click.argument("name")
def ledger_readers_issue(name: str) -> None:
    """Issue (or replace) NAME's token and print it once; the replica sets it as CHESTNUT_REPLICA_TOKEN."""
    from ledger import readers

    async def go(app: App) -> str:
        async with app.db.unit_of_work() as uow:
            token = await readers.issue(uow, name)
            await uow.commit()
        return token

    click.echo(_run(_with_app(settings(), go, initialize=False)))


@ledger_readers.command("revoke")
@click.argument("name")
def ledger_readers_revoke(name: str) -> None:
    """Revoke NAME's token: its next request is refused (401)."""
    from ledger import readers

    async def go(app: App) -> None:
        async with app.db.unit_of_work() as uow:
            await readers.revoke(uow, name)
            await uow.commit()

    _run(_with_app(settings(), go, initialize=False))
    click.echo(f"revoked the reader credential of {name}")


@ledger_readers.command("list")
@click.option("--json", "as_json", is_flag=True)
def ledger_readers_list(as_json: bool) -> None:
    """The registered readers (names and dates; tokens are never stored, so never shown)."""
    from ledger import readers

    async def go(app: App) -> list[readers.Reader]:
        async with app.db.snapshot() as snap:
            return await readers.listing(snap)

    found = _run(_with_app(settings(), go, initialize=False))
    if as_json:
        click.echo(
            json.dumps([{"name": r.name, "created_ms": r.created_ms, "revoked_ms": r.revoked_ms} for r in found])
        )
        return
    for r in found:
        click.echo(f"{r.name}\t{'revoked' if r.revoked_ms else 'active'}")


# ------------------------------------------------------------------------------------------ demo


@main.command()
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

    result = _run(_with_app(settings(), go), as_json=as_json)
    if result is None:
        if not as_json:
            click.echo("the market already has members; no demo data added")
        return
    click.echo(json.dumps(result, ensure_ascii=False) if as_json else f"demo market ready: {result}")


class DemoRefused(ChestnutError):
    code = "demo_refused"


# ----------------------------------------------------------------------------------------- batch


@main.group()
def batch() -> None:
    """Money batches: settlement, cash-out, dividends (each runs once per period, resuming after a crash)."""


def _print_runs(result: dict[str, Any]) -> None:
    for run in result.get("runs", []):
        click.echo(
            f"{run['kind']:>12} {run['period']:<16} {run['status']:<8} {run['phase']:<12} "
            f"items {run['items']:,}  amount {run['amount']:,}원  entries {run['entries']:,}"
            + (f"  error: {run['error']}" if run.get("error") else "")
        )


@batch.command("run")
@click.argument(
    "kind", type=click.Choice(["settlement", "cashout", "dividend", "housekeeping", "contributions", "trust"])
)
@click.option("--period", default=None, help="e.g. 2026-12-02T15 (settlement), 2026-12-02 (cashout), dividend-3")
@click.option("--json", "as_json", is_flag=True)
def batch_run(kind: str, period: str | None, as_json: bool) -> None:
    """Run a batch for its period now (the current one by default), or resume it, or report it done."""
    from chestnut.bootstrap import batch_context
    from scheduler.wiring import run_batch

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, f"{kind} batch") as update:
            report = await run_batch(
                batch_context(app), kind, period, progress=lambda run: update(run.items, max(run.items, 1))
            )
        return report.to_json()

    result = _run(_with_app(settings(), go), as_json=as_json)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    _print_runs(result)
    for key in ("file", "housekeeping", "contributions", "trust"):
        if key in result:
            click.echo(f"{key}: {result[key]}")
    for line in result.get("results", []):
        click.echo(f"  {line['reference']}: {line['outcome']}" + (f" ({line['reason']})" if line["reason"] else ""))


@batch.command("status")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1, max=1000))
@click.option("--json", "as_json", is_flag=True)
def batch_status(limit: int, as_json: bool) -> None:
    """The latest batch runs (status, phase, cursor, totals) and dividends still to pay."""
    from scheduler import dividends, runs

    async def go(app: App) -> dict[str, Any]:
        async with app.db.snapshot() as snap:
            recent = await runs.recent_runs(snap, limit=limit)
            unpaid = await dividends.unpaid(snap)
        return {"runs": [r.to_json() for r in recent], "unpaid_dividends": [dividends.summary(d) for d in unpaid]}

    result = _run(_with_app(settings(), go), as_json=as_json)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    if not result["runs"]:
        click.echo("no batch has run yet")
    _print_runs(result)
    for d in result["unpaid_dividends"]:
        click.echo(f"dividend {d['dividend']}: {d['amount']:,}원 declared, not fully paid yet")


@batch.command("reconcile")
@click.argument("result_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def batch_reconcile(result_file: str, as_json: bool) -> None:
    """Settle what a bank's result file confirms (CSV: reference, amount, status, reason), line by line."""
    from pathlib import Path

    from chestnut.bootstrap import batch_context
    from scheduler import cashout_batch as cashout

    async def go(app: App) -> dict[str, Any]:
        try:
            text = Path(result_file).read_text(encoding="utf-8-sig")  # noqa: ASYNC240 - one small file
        except (OSError, UnicodeDecodeError) as exc:
            raise cashout.ResultFileError(f"cannot read {result_file}: {exc}") from None
        results, refused = cashout.parse_result_file(text)
        ctx = batch_context(app)
        outcomes, _notices = await cashout.apply_results(app.services, app.db, results, ctx.announcer)
        lines = sorted([*outcomes, *refused], key=lambda o: o.line)
        return {"lines": [o.to_json() for o in lines]}

    result = _run(_with_app(settings(), go), as_json=as_json)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        for line in result["lines"]:
            reason = f" ({line['reason']})" if line["reason"] else ""
            click.echo(f"line {line['line']}: {line['reference']} {line['outcome']}{reason}")
    if any(line["outcome"] == "refused" for line in result["lines"]):
        sys.exit(1)


@batch.command("declare-dividend")
@click.option("--amount", required=True, type=click.IntRange(min=1), help="won, paid from fees:platform")
@click.option("--operator", "operator_id", required=True, type=int, help="the declaring operator's member id")
@click.option("--record-size", default=None, type=click.IntRange(min=1), help="record point (default: now)")
@click.option("--pay/--no-pay", default=True, show_default=True, help="pay it right away (else the scheduler does)")
@click.option("--json", "as_json", is_flag=True)
def batch_declare_dividend(amount: int, operator_id: int, record_size: int | None, pay: bool, as_json: bool) -> None:
    """Declare a dividend to BNM holders at a record point (a ledger size), and pay it."""
    from chestnut.bootstrap import batch_context
    from scheduler import dividends
    from scheduler.wiring import run_batch

    async def go(app: App) -> dict[str, Any]:
        async with app.db.unit_of_work() as uow:
            dividend = await dividends.declare(app.services, uow, operator_id, amount, record_size=record_size)
            await uow.commit()
        out: dict[str, Any] = {"declared": dividends.summary(dividend)}
        if pay:
            with progress_bar(not as_json, "dividend") as update:
                report = await run_batch(
                    batch_context(app),
                    "dividend",
                    dividend.period,
                    progress=lambda run: update(run.items, dividend.holders),
                )
            out.update(report.to_json())
        return out

    result = _run(_with_app(settings(), go), as_json=as_json)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    d = result["declared"]
    click.echo(
        f"dividend {d['dividend']}: {d['amount']:,}원 to {d['holders']:,} holders of {d['supply']:,} BNM units "
        f"at record point {d['record_size']:,} (entry {d['declared_seq']})"
    )
    _print_runs(result)


# --------------------------------------------------------------------------------------- replica


def _replica_db_url(s: Settings, home: Path) -> str:
    return s.replica_database_url or f"sqlite+aiosqlite:///{(home / 'replica.db').resolve()}"


async def _replica_db(s: Settings, home: Path) -> Any:
    from chestnut.migrate import upgrade
    from ledger.storage.backends import open_database

    home.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start-up
    url = _replica_db_url(s, home)
    await upgrade(url)
    return await open_database(url, synchronous=s.sqlite_synchronous)


@main.group(invoke_without_command=True)
@click.option("--primary", help="the primary's base URL, e.g. http://127.0.0.1:8080")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), help="this replica's data directory")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int)
@click.option("--peer", "peers", multiple=True, help="another replica to cross-check (repeatable)")
@click.pass_context
def replica(
    ctx: click.Context, primary: str | None, home: Path | None, host: str, port: int, peers: tuple[str]
) -> None:
    """Run a replica: follow PRIMARY, verify every entry, keep a copy, cosign, and watch for forks.

    It needs the reader credential the primary's operator issued (CHESTNUT_REPLICA_TOKEN) to fetch
    every entry; without it, it follows the tree only (checkpoints, consistency, forks)."""
    if ctx.invoked_subcommand is not None:
        return
    if not primary or home is None:
        raise click.UsageError("chestnut replica needs --primary URL and --home DIR")
    from commerce.visibility import MARKET_VISIBILITY
    from ledger.replica.node import ReplicaNode

    s = settings()

    async def go() -> None:
        db = await _replica_db(s, home)
        node = ReplicaNode(
            db,
            home,
            primary,
            name=s.replica_name,
            ledger_key=s.replica_ledger_key,
            peers=tuple(peers) or tuple(s.replica_peers),
            poll_s=s.replica_poll_interval_s,
            workers=os.cpu_count() or 1,
            alarm_url=s.replica_alarm_url,
            reader_token=s.replica_token.get_secret_value() if s.replica_token else None,
            visibility=MARKET_VISIBILITY,
        )
        # SIGTERM stops the replica as Ctrl-C does: the server closes and its signature workers exit.
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await node.start()
            settle_heap()
            await node.serve(
                host,
                port,
                ready=lambda: print(
                    f"replica {node.signer.name} serving on http://{host}:{port}, following {primary}", flush=True
                ),
            )
        finally:
            await node.close()
            await db.close()

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        _run(go())


@replica.command("key")
@click.option("--home", required=True, type=click.Path(file_okay=False, path_type=Path))
def replica_key(home: Path) -> None:
    """Print this replica's cosigner key (give it to the primary's CHESTNUT_WITNESSES)."""
    from ledger.replica.node import cosigner_key, witness_signer

    home.mkdir(parents=True, exist_ok=True)
    click.echo(cosigner_key(witness_signer(home, settings().replica_name)))


@replica.command("audit")
@click.option("--home", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def replica_audit(home: Path, as_json: bool) -> None:
    """Print the fork evidence this replica kept, each re-verified; exit 1 if there is any."""
    from ledger.note import parse_verifier_key
    from ledger.replica.evidence import Evidence, verify_evidence
    from ledger.replica.store import ReplicaStore

    s = settings()

    async def go() -> dict[str, Any]:
        db = await _replica_db(s, home)
        try:
            store = ReplicaStore(db)
            async with db.snapshot() as snap:
                pinned = await store.pinned(snap)
                rows = await store.evidence(snap)
                latest = await store.latest(snap)
        finally:
            await db.close()
        key = parse_verifier_key(pinned.ledger_key) if pinned else None
        found = []
        for row_id, kind, text, created_ms in rows:
            evidence = Evidence.decode(text)
            found.append(
                {
                    "id": row_id,
                    "kind": kind,
                    "created_ms": created_ms,
                    "verified": verify_evidence(evidence, key),
                    "evidence": evidence.to_json(),
                }
            )
        return {
            "ledger_key": pinned.ledger_key if pinned else None,
            "accepted_size": latest[0] if latest else 0,
            "evidence": found,
        }

    result = _run(go(), as_json=as_json)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    elif not result["evidence"]:
        click.echo(f"no fork evidence; verified copy at size {result['accepted_size']} ({result['ledger_key']})")
    else:
        for item in result["evidence"]:
            click.echo(f"EVIDENCE #{item['id']} ({item['kind']}): {item['verified']}")
            click.echo(json.dumps(item["evidence"], ensure_ascii=False, indent=2))
    sys.exit(1 if result["evidence"] else 0)


@main.command()
@click.argument("shop", type=click.IntRange(min=1))
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False), help="default: labels-shop-<id>.pdf")
@click.option("--base-url", default=None, help="where the pages are served (default: CHESTNUT_PUBLIC_URL)")
def labels(shop: int, out: str | None, base_url: str | None) -> None:
    """A printable sheet of QR labels (one per product of SHOP) pointing at the provenance pages.

    The format follows the file name: .pdf (every page, A4) or .png (the first page).
    """
    from pathlib import Path

    from commerce.shops import catalog
    from commerce.shops import labels as label_sheet
    from commerce.shops import service as shops

    target = Path(out or f"labels-shop-{shop}.pdf")
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in label_sheet.FORMATS:
        raise click.BadParameter("the file must end in .pdf or .png", param_hint="--out")
    s = settings()

    async def go(app: App) -> dict[str, Any]:
        async with app.db.snapshot() as snap:
            the_shop = await shops.get(snap, shop)
            products = await catalog.list_products(snap, shop_id=the_shop.id, limit=1000)
        items = [label_sheet.LabelItem(p.id, p.name, p.origin_region) for p in products]
        data = label_sheet.sheet(items, base_url or s.public_url, fmt)
        return {"shop": the_shop.name, "labels": len(items), "data": data}

    result = _run(_with_app(s, go, initialize=False))
    target.write_bytes(result["data"])
    click.echo(f"{result['labels']} labels for {result['shop']} → {target}")


@main.group()
def trust() -> None:
    """Abuse rules over the public ledger."""


@trust.command("scan")
@click.option("--json", "as_json", is_flag=True)
def trust_scan(as_json: bool) -> None:
    """Run every abuse rule over the ledger; open (and record on the ledger) the new cases."""
    from commerce.trust import abuse

    async def go(app: App) -> list[dict[str, Any]]:
        async with app.db.unit_of_work() as uow:
            opened = await abuse.scan(app.services, uow)
            await uow.commit()
        return [
            {
                "case": c.id,
                "member": c.member_id,
                "rule": c.rule,
                "outcome": c.outcome,
                "seq": c.seq,
                "reason": c.reason,
            }
            for c in opened
        ]

    result = _run(_with_app(settings(), go), as_json=as_json)
    if as_json:
        click.echo(json.dumps({"opened": result}, ensure_ascii=False))
    else:
        for c in result:
            click.echo(f"case {c['case']}: member {c['member']} {c['rule']} → {c['outcome']} (entry #{c['seq']})")
        click.echo(f"{len(result)} new case(s)")


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
    _report(result, as_json=as_json)


@bench.command("batch")
@click.option("--orders", "orders_n", default=100_000, show_default=True, type=click.IntRange(min=10, max=10_000_000))
@click.option("--holders", "holders_n", default=1_000_000, show_default=True, type=click.IntRange(min=1, max=10**8))
@click.option("--json", "as_json", is_flag=True)
def bench_batch(orders_n: int, holders_n: int, as_json: bool) -> None:
    """Settlement of confirmed orders and a dividend to BNM holders (SQLite), timed, then verified."""
    from chestnut.bench import run_batch_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "seeding orders") as update:
            return await run_batch_bench(app, orders_n=orders_n, holders_n=holders_n, progress=update)

    result = _run(_with_app(settings(), go), as_json=as_json)
    _report(result, as_json=as_json)


@bench.command("replica")
@click.option("--entries", default=200_000, show_default=True, type=click.IntRange(min=100, max=10_000_000))
@click.option("--rate", default=500, show_default=True, type=click.IntRange(min=10, max=10_000), help="entries/s")
@click.option("--seconds", default=20.0, show_default=True, type=click.FloatRange(min=2))
@click.option("--json", "as_json", is_flag=True)
def bench_replica(entries: int, rate: int, seconds: float, as_json: bool) -> None:
    """A replica process syncing ENTRIES from nothing, then commit → witnessed-checkpoint lag at RATE."""
    from chestnut.bench import run_replica_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "writing the ledger") as update:
            return await run_replica_bench(app, entries=entries, rate=rate, seconds=seconds, progress=update)

    result = _run(_with_app(settings(), go, initialize=False), as_json=as_json)
    _report(result, as_json=as_json)


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
    _report(result, as_json=as_json)


@bench.command("market")
@click.option("--engine-orders", default=200_000, show_default=True, type=click.IntRange(min=100, max=10_000_000))
@click.option("--orders", "orders_n", default=3_000, show_default=True, type=click.IntRange(min=10, max=1_000_000))
@click.option("--json", "as_json", is_flag=True)
def bench_market(engine_orders: int, orders_n: int, as_json: bool) -> None:
    """The BNM matching engine in memory, then orders placed and settled through the ledger."""
    from chestnut.bench import run_market_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "market benchmark") as update:
            return await run_market_bench(app, engine_orders=engine_orders, ledgered_orders=orders_n, progress=update)

    result = _run(_with_app(settings(), go), as_json=as_json)
    _report(result, as_json=as_json)


@bench.command("web")
@click.option("--clients", default=200, show_default=True, type=click.IntRange(min=1, max=10_000))
@click.option("--requests", "per_client", default=25, show_default=True, type=click.IntRange(min=1, max=10_000))
@click.option("--shoppers", default=240, show_default=True, type=click.IntRange(min=10, max=100_000))
@click.option("--json", "as_json", is_flag=True)
def bench_web(clients: int, per_client: int, shoppers: int, as_json: bool) -> None:
    """Provenance pages (GET /p/<code>) read by concurrent clients over loopback, on the demo market."""
    from chestnut.bench import run_web_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "web benchmark") as update:
            return await run_web_bench(app, clients=clients, per_client=per_client, shoppers=shoppers, progress=update)

    result = _run(_with_app(settings(), go), as_json=as_json)
    _report(result, as_json=as_json)


@bench.command("chat")
@click.option("--shoppers", default=200, show_default=True, type=click.IntRange(min=1, max=100_000))
@click.option(
    "--rate", default=0.0, show_default=True, type=click.FloatRange(min=0), help="messages/s offered; 0: unpaced"
)
@click.option("--json", "as_json", is_flag=True)
def bench_chat(shoppers: int, rate: float, as_json: bool) -> None:
    """Shoppers ordering at once through the Kakao skill endpoint over loopback HTTP."""
    from chestnut.bench import run_chat_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "chat benchmark") as update:
            return await run_chat_bench(app, shoppers=shoppers, rate=rate, progress=update)

    result = _run(_with_app(settings(), go), as_json=as_json)
    _report(result, as_json=as_json)


@bench.command("ads")
@click.option("--members", "members_n", default=100_000, show_default=True, type=click.IntRange(min=10, max=1_000_000))
@click.option("--rate", default=1000.0, show_default=True, type=click.FloatRange(min=1), help="Telegram messages/s")
@click.option("--opens", default=10_000, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
def bench_ads(members_n: int, rate: float, opens: int, as_json: bool) -> None:
    """A campaign to opted-in members through a Telegram stand-in, then reward-on-open throughput."""
    from chestnut.bench_ads import run_ads_bench

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, "ads benchmark") as update:
            return await run_ads_bench(
                app, members_n=members_n, rate=rate, opens=min(opens, members_n), progress=update
            )

    result = _run(_with_app(settings(), go), as_json=as_json)
    _report(result, as_json=as_json)


if __name__ == "__main__":
    main()
