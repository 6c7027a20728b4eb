"""``chestnut ledger``: inspect and verify the ledger, print its key, checkpoints and receipts, and
manage the reader credentials of member organisations' replicas."""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

import click

from chestnut.bootstrap import App
from chestnut.cli.command import progress_bar, run_command, settings, with_app


@click.group()
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

    report = run_command(with_app(s, go, initialize=False), as_json=as_json)
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

    click.echo(run_command(with_app(settings(), go)), nl=False)


@ledger.command("key")
def ledger_key() -> None:
    """Print the ledger's verifier key (C2SP form: name+keyid+base64(0x01||pubkey))."""
    from ledger.note import verifier_key

    async def go(app: App) -> str:
        async with app.db.snapshot() as snap:
            signer = await app.ledger.ledger_signer(snap)
        return verifier_key(signer.name, signer.public_key)

    click.echo(run_command(with_app(settings(), go)))


@ledger.command("proof")
@click.argument("seq", type=click.IntRange(min=0))
def ledger_proof(seq: int) -> None:
    """Print a c2sp.org/tlog-proof@v1 receipt for entry SEQ against the latest checkpoint."""

    async def go(app: App) -> str:
        await app.ledger.ensure_checkpoint_covers(seq, app.db)
        async with app.db.snapshot() as snap:
            return await app.ledger.receipt(snap, seq)

    click.echo(run_command(with_app(settings(), go)), nl=False)


@ledger.command("show")
@click.argument("seq", type=click.IntRange(min=0))
@click.option("--raw", is_flag=True, help="the exact entry bytes, base64 (leaf hash = SHA256(0x00 || bytes))")
def ledger_show(seq: int, raw: bool) -> None:
    """Show entry SEQ decoded (or its exact bytes with --raw)."""
    from ledger.model import decode_entry_json

    async def go(app: App) -> bytes:
        async with app.db.snapshot() as snap:
            return await app.ledger.entry(snap, seq)

    entry = run_command(with_app(settings(), go))
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

    click.echo(run_command(with_app(settings(), go, initialize=False)))


@ledger_readers.command("revoke")
@click.argument("name")
def ledger_readers_revoke(name: str) -> None:
    """Revoke NAME's token: its next request is refused (401)."""
    from ledger import readers

    async def go(app: App) -> None:
        async with app.db.unit_of_work() as uow:
            await readers.revoke(uow, name)
            await uow.commit()

    run_command(with_app(settings(), go, initialize=False))
    click.echo(f"revoked the reader credential of {name}")


@ledger_readers.command("list")
@click.option("--json", "as_json", is_flag=True)
def ledger_readers_list(as_json: bool) -> None:
    """The registered readers (names and dates; tokens are never stored, so never shown)."""
    from ledger import readers

    async def go(app: App) -> list[readers.Reader]:
        async with app.db.snapshot() as snap:
            return await readers.listing(snap)

    found = run_command(with_app(settings(), go, initialize=False))
    if as_json:
        click.echo(
            json.dumps([{"name": r.name, "created_ms": r.created_ms, "revoked_ms": r.revoked_ms} for r in found])
        )
        return
    for r in found:
        click.echo(f"{r.name}\t{'revoked' if r.revoked_ms else 'active'}")
