"""A ledger writer for the crash-safety tests: appends forever (or N times) and says what it committed.

Run as a subprocess (``python tests/e2e/crash_writer.py HOME --round R [--url URL] [--iterations N]``);
the test kills it with SIGKILL at random moments. It uses the real ``build()`` and ``Ledger`` — nothing
is faked. Every unit of work is named ``r<round>-n<i>`` and all of its transfer ids are
``r<round>-n<i>-k<entries in the unit>-j<index>``, so the test can tell from the stored entries alone
whether a unit is whole. Lines on stdout (flushed at once):

- ``ready``                      setup is done, the loop starts;
- ``begin <unit> <entries>``     a unit of work is about to be built and committed;
- ``committed <unit> <entries>`` it committed (so it must survive any later kill);
- ``refused <unit> <entries>``   it raised inside the unit of work (so none of it may be stored);
- ``checkpoint <size|none>``     a checkpoint was published;
- ``done``                       ``--iterations`` finished.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
from pathlib import Path

from chestnut.bootstrap import build
from chestnut.settings import Settings
from ledger.errors import InsufficientBalance, NotFound
from ledger.model import AccountSpec, Transfer
from ledger.requests import Request

MEMBERS = 8
MINT = 1_000_000_000


def wallet(i: int) -> str:
    return f"wallet:c{i}:btl"


def out(line: str) -> None:
    print(line, flush=True)


async def setup(app) -> None:  # type: ignore[no-untyped-def]
    """Open and fund the member wallets; idempotent, one unit of work per member (a kill may land here)."""
    for i in range(MEMBERS):
        async with app.db.unit_of_work() as uow:
            try:
                await app.ledger.account(uow, wallet(i))
                continue
            except NotFound:
                pass
            key = await app.keys.create(uow, f"member:c{i}")
            await app.ledger.record_many(
                uow,
                [
                    Request(
                        actor=f"member:c{i}",
                        kind="member.join",
                        accounts=[AccountSpec(wallet(i), "BTL", key.public_key)],
                    ),
                    Request(
                        actor="system:operator",
                        kind="cash.topup",
                        body={"office": "crash"},
                        transfers=[Transfer(f"setup-{i}", "reserve:cash", wallet(i), MINT, "BTL")],
                    ),
                ],
            )
            await uow.commit()


def payment(rng: random.Random, tid: str, *, overdraw: bool = False) -> Request:
    payer = rng.randrange(MEMBERS)
    payee = (payer + 1 + rng.randrange(MEMBERS - 1)) % MEMBERS
    amount = 10 * MINT * MEMBERS if overdraw else 1 + rng.randrange(1000)
    return Request(
        actor=f"member:c{payer}",
        kind="crash.pay",
        body={"memo": "crash test"},
        transfers=[Transfer(tid, wallet(payer), wallet(payee), amount, "BTL")],
    )


def mint(rng: random.Random, tid: str) -> Request:
    return Request(
        actor="system:operator",
        kind="cash.topup",
        body={"office": "crash"},
        transfers=[Transfer(tid, "reserve:cash", wallet(rng.randrange(MEMBERS)), 1 + rng.randrange(5000), "BTL")],
    )


def die_at_ddl(n: int) -> None:
    """Fault injection: kill -9 ourselves right after the n-th CREATE/ALTER/DROP statement has run.

    Nothing is replaced: the real migration runs on the real database, and the process dies for real
    at a precise point inside it (which a random timer hits only rarely: the DDL takes ~20 ms).
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    seen = 0

    @event.listens_for(Engine, "after_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        nonlocal seen
        if statement.lstrip().split(None, 1)[0].upper() in ("CREATE", "ALTER", "DROP"):
            seen += 1
            out(f"ddl {seen} {' '.join(statement.split())[:60]}")
            if seen == n:
                os.kill(os.getpid(), signal.SIGKILL)


def die_at_key_write() -> None:
    """Fault injection: kill -9 ourselves just as ``write_master_key`` (through ``write_secret_file``,
    which the pepper file shares) calls ``os.write``.

    A profile hook sees the C call before it runs, so the file is created but holds nothing yet —
    the state a crash or power cut at that moment leaves behind.
    """

    def hook(frame, event, arg):  # type: ignore[no-untyped-def]
        writing_key = frame.f_code.co_name == "write_master_key" or (
            frame.f_code.co_name == "write_secret_file"
            and frame.f_back is not None
            and frame.f_back.f_code.co_name == "write_master_key"
        )
        if event == "c_call" and arg is os.write and writing_key:
            out("dying in write_master_key")
            os.kill(os.getpid(), signal.SIGKILL)

    sys.setprofile(hook)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path)
    parser.add_argument("--url", default=None)
    parser.add_argument("--round", type=int, required=True)
    parser.add_argument("--iterations", type=int, default=0, help="0: run until killed")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--die-at-ddl", type=int, default=0, help="SIGKILL this process right after its N-th DDL statement"
    )
    parser.add_argument(
        "--die-at-key-write", action="store_true", help="SIGKILL this process as it writes a master key file"
    )
    parser.add_argument("--rotate", action="store_true", help="rotate the master key instead of writing entries")
    args = parser.parse_args()
    if args.die_at_ddl:
        die_at_ddl(args.die_at_ddl)
    if args.die_at_key_write:
        die_at_key_write()
    rng = random.Random(args.seed)
    settings = Settings(home=args.home, database_url=args.url, environment="test")
    app = await build(settings)
    try:
        if args.rotate:
            from ledger.keys import rotate_master_key

            old, new, count = await rotate_master_key(app.db, settings.resolved_master_key_file)
            out(f"rotated {old} {new} {count}")
            return 0
        await setup(app)
        out("ready")
        n = 0
        while not args.iterations or n < args.iterations:
            unit = f"r{args.round}-n{n}"
            n += 1
            roll = rng.random()
            if roll < 0.08:
                async with app.db.unit_of_work() as uow:
                    note = await app.ledger.publish_checkpoint(uow)
                    await uow.commit()
                out(f"checkpoint {note.splitlines()[1] if note else 'none'}")
                continue
            size = 1 if roll < 0.45 else rng.choice([2, 5, 20, 60, 150, 300])
            overdraw = size > 1 and rng.random() < 0.1  # the last one overdraws: the whole unit must vanish
            requests = []
            for j in range(size):
                tid = f"{unit}-k{size}-j{j}"
                if overdraw and j == size - 1:
                    requests.append(payment(rng, tid, overdraw=True))
                elif rng.random() < 0.15:
                    requests.append(mint(rng, tid))
                else:
                    requests.append(payment(rng, tid))
            out(f"begin {unit} {size}")
            try:
                async with app.db.unit_of_work() as uow:
                    if size == 1:
                        await app.ledger.record(uow, requests[0])
                    else:
                        await app.ledger.record_many(uow, requests)
                    await uow.commit()
            except InsufficientBalance:
                out(f"refused {unit} {size}")
                continue
            out(f"committed {unit} {size}")
        out("done")
    finally:
        await app.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
