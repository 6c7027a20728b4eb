"""``chestnut replica``: a replica of the primary's ledger — follow it, verify every entry, keep a copy, cosign,
watch for forks — and the replica's key and the fork evidence it kept."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from chestnut.cli.command import run_command, settings, settle_heap
from chestnut.settings import Settings


def _replica_db_url(s: Settings, home: Path) -> str:
    return s.replica_database_url or f"sqlite+aiosqlite:///{(home / 'replica.db').resolve()}"


async def _replica_db(s: Settings, home: Path) -> Any:
    from chestnut.migrate import upgrade
    from ledger.storage.backends import open_database

    home.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start-up
    url = _replica_db_url(s, home)
    await upgrade(url)
    return await open_database(url, synchronous=s.sqlite_synchronous)


@click.group(invoke_without_command=True)
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
        run_command(go())


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

    result = run_command(go(), as_json=as_json)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    elif not result["evidence"]:
        click.echo(f"no fork evidence; verified copy at size {result['accepted_size']} ({result['ledger_key']})")
    else:
        for item in result["evidence"]:
            click.echo(f"EVIDENCE #{item['id']} ({item['kind']}): {item['verified']}")
            click.echo(json.dumps(item["evidence"], ensure_ascii=False, indent=2))
    sys.exit(1 if result["evidence"] else 0)
