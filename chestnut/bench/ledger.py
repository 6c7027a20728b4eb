"""``chestnut bench ledger``: the ledger's speed on the configured database, against the machine's ceiling.

Measured in one run, on a ledger that must be empty (so a benchmark can never pollute a real one):

- ``batch_entries_per_s`` — payments appended through ``record_many``, 2,000 per transaction;
- ``single_commits_per_s`` — one unit of work (one transaction, one commit) per payment, as a chat
  order does;
- ``verify_entries_per_s`` — ``chestnut ledger verify`` over everything written;
- ``ceiling_entries_per_s`` — a bare loop of Ed25519 sign + verify + SHA-256 + SQLite batch insert on
  this machine: what any signed-ledger design could at most reach here.

The payers and their payments are the replica benchmark's traffic too.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

from chestnut.bench.measure import BATCH, ceiling
from chestnut.bootstrap import App
from ledger.model import AccountSpec, Transfer
from ledger.requests import Request
from ledger.verify import verify_ledger

MEMBERS = 1000
TOPUP = 10_000_000


def wallet(i: int) -> str:
    return f"wallet:m{i}:btl"


async def open_payers(app: App) -> None:
    """``MEMBERS`` members with keys and ``TOPUP`` each, on a ledger that must be empty."""
    async with app.db.unit_of_work() as uow:
        await app.ledger.require_empty(uow)
        await app.ledger.initialize(uow)
        keys = await app.keys.create_many(uow, [f"member:m{i}" for i in range(MEMBERS)])
        requests = [
            Request(
                actor=f"member:m{i}",
                kind="member.join",
                accounts=[AccountSpec(wallet(i), "BTL", k.public_key)],
            )
            for i, k in enumerate(keys)
        ]
        requests += [
            Request(
                actor="system:operator",
                kind="cash.topup",
                body={"office": "bench"},
                transfers=[Transfer(f"topup-{i}", "reserve:cash", wallet(i), TOPUP, "BTL")],
            )
            for i in range(MEMBERS)
        ]
        await app.ledger.record_many(uow, requests)
        await uow.commit()


def payment(rng: random.Random, n: int, prefix: str) -> Request:
    """A payment between two random payers; ``prefix`` keeps transfer ids apart between runs."""
    payer = rng.randrange(MEMBERS)
    payee = (payer + 1 + rng.randrange(MEMBERS - 1)) % MEMBERS
    return Request(
        actor=f"member:m{payer}",
        kind="bench.pay",
        body={"memo": "bench", "n": n},
        transfers=[Transfer(f"{prefix}{n}", wallet(payer), wallet(payee), 1 + rng.randrange(500), "BTL")],
    )


async def _batched(
    app: App, rng: random.Random, entries: int, progress: Callable[[int, int], None] | None, total: int
) -> float:
    """Seconds to append ``entries`` payments, ``BATCH`` per transaction."""
    started = time.perf_counter()
    for start in range(0, entries, BATCH):
        requests = [payment(rng, n, "b") for n in range(start, min(entries, start + BATCH))]
        async with app.db.unit_of_work() as uow:
            await app.ledger.record_many(uow, requests)
            await uow.commit()
        if progress:
            progress(start + len(requests), total)
    return time.perf_counter() - started


async def _singles(
    app: App, rng: random.Random, singles: int, progress: Callable[[int, int], None] | None, done: int, total: int
) -> float:
    """Seconds to append ``singles`` payments, one transaction each."""
    started = time.perf_counter()
    for n in range(singles):
        async with app.db.unit_of_work() as uow:
            await app.ledger.record(uow, payment(rng, n, "s"))
            await uow.commit()
        if progress and n % 100 == 0:
            progress(done + n + 1, total)
    return time.perf_counter() - started


async def run_ledger_bench(
    app: App, entries: int, *, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    rng = random.Random(20261124)  # noqa: S311 - benchmark traffic, not security
    await open_payers(app)
    singles = max(500, min(5000, entries // 10))
    total = entries + singles
    batch_s = await _batched(app, rng, entries, progress, total)
    single_s = await _singles(app, rng, singles, progress, entries, total)

    async with app.db.unit_of_work() as uow:
        await app.ledger.publish_checkpoint(uow)
        await uow.commit()

    report = await verify_ledger(app.db, app.ledger.origin)
    top = ceiling(min(entries, 50_000))
    batch_rate = entries / batch_s
    single_rate = singles / single_s
    return {
        "database": app.db.dialect,
        "cores": os.cpu_count(),
        "entries": entries,
        "single_commits": singles,
        "batch_entries_per_s": round(batch_rate),
        "single_commits_per_s": round(single_rate),
        "verify_entries_per_s": round(report.entries_per_s),
        "verify_ok": report.ok,
        "verified_entries": report.size,
        "ceiling_entries_per_s": round(top),
        "ratio_batch_to_ceiling": round(batch_rate / top, 3),
        "ratio_single_to_ceiling": round(single_rate / top, 3),
        "ratio_verify_to_ceiling": round(report.entries_per_s / top, 3),
    }
