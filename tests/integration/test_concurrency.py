"""Many writers at once still make ONE linear chain, with exact balances (SQLite and PostgreSQL).

50 asyncio tasks, each with its own units of work, write payments among the same few wallets; 20 of
them also race to drain one wallet that holds exactly enough for 10 of them. Afterwards the stored
entries are checked independently (contiguous seqs, each ``prev`` = SHA256(0x00 || previous entry)),
``verify_ledger`` passes, every balance equals what the committed transfers add up to, and exactly 10
drains went through (a lost update would let more through). On PostgreSQL (and SQLite) the same runs
from TWO separate App instances — two engines, as two processes would have — whose writes
interleave, and still form one chain: the head-row lock (PostgreSQL) / write lock (SQLite) serialises them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import random
from collections import Counter
from dataclasses import dataclass, field

import pytest

from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from ledger.errors import InsufficientBalance
from ledger.model import AccountSpec, Transfer
from ledger.requests import Request
from ledger.verify import verify_ledger

pytestmark = pytest.mark.slow

MEMBERS = 10  # m0 is the wallet the drainers race for; m1..m9 trade among themselves
FUND = 100_000
DRAIN_FUND = 1_000
DRAIN_AMOUNT = 100
DRAINERS = 20
WRITERS = 50
UNITS = 4


def wallet(i: int) -> str:
    return f"wallet:k{i}:btl"


async def _setup(app: App) -> dict[str, int]:
    async with app.db.unit_of_work() as uow:
        requests = []
        for i in range(MEMBERS):
            key = await app.keys.create(uow, f"member:k{i}")
            requests.append(
                Request(
                    actor=f"member:k{i}", kind="member.join", accounts=[AccountSpec(wallet(i), "BTL", key.public_key)]
                )
            )
            requests.append(
                Request(
                    actor="system:operator",
                    kind="cash.topup",
                    transfers=[Transfer(f"fund-{i}", "reserve:cash", wallet(i), DRAIN_FUND if i == 0 else FUND, "BTL")],
                )
            )
        await app.ledger.record_many(uow, requests)
        await uow.commit()
    return {wallet(i): DRAIN_FUND if i == 0 else FUND for i in range(MEMBERS)}


@dataclass
class Outcome:
    committed: list[tuple[list[Transfer], list[int]]] = field(default_factory=list)  # transfers, seqs
    refused: list[list[Transfer]] = field(default_factory=list)
    by_app: dict[int, str] = field(default_factory=dict)  # seq -> which app wrote it


def _pay(payer: int, payee: int, amount: int, tid: str) -> Request:
    return Request(
        actor=f"member:k{payer}",
        kind="test.pay",
        body={"note": "concurrency"},
        transfers=[Transfer(tid, wallet(payer), wallet(payee), amount, "BTL")],
    )


async def _writer(app: App, name: str, w: int, start: asyncio.Event, out: Outcome, seed: int) -> None:
    rng = random.Random(seed * 1000 + w)
    await start.wait()
    for u in range(UNITS):
        if w < DRAINERS and u == 0:
            requests = [_pay(0, 1 + w % 9, DRAIN_AMOUNT, f"{name}-w{w}-u{u}-drain")]
        else:
            requests = []
            for j in range(rng.choice([1, 1, 2, 3])):
                payer = 1 + rng.randrange(9)
                payee = 1 + (payer + rng.randrange(8)) % 9
                requests.append(_pay(payer, payee, 1 + rng.randrange(500), f"{name}-w{w}-u{u}-j{j}"))
        transfers = [t for r in requests for t in r.transfers]
        try:
            async with app.db.unit_of_work() as uow:
                if len(requests) == 1:
                    recorded = [await app.ledger.record(uow, requests[0])]
                else:
                    recorded = await app.ledger.record_many(uow, requests)
                await uow.commit()
        except InsufficientBalance:
            out.refused.append(transfers)
            continue
        seqs = [r.seq for r in recorded]
        out.committed.append((transfers, seqs))
        for s in seqs:
            out.by_app[s] = name
        await asyncio.sleep(0)


async def _run_writers(apps: list[tuple[str, App]], seed: int) -> Outcome:
    out = Outcome()
    start = asyncio.Event()
    tasks = [
        asyncio.create_task(_writer(app, name, w, start, out, seed))
        for w in range(WRITERS)
        for name, app in [apps[w % len(apps)]]
    ]
    await asyncio.sleep(0)
    start.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    return out


async def _check(app: App, funded: dict[str, int], out: Outcome, setup_size: int) -> list[int]:
    # One linear chain, checked from the stored bytes with nothing but hashlib and json.
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT seq, entry FROM ledger_entries ORDER BY seq")
        head = await app.ledger.head(snap)
    entries = [(int(s), bytes(e)) for s, e in rows]
    assert [s for s, _ in entries] == list(range(len(entries))), "seqs are not contiguous from 0"
    assert head.size == len(entries)
    prev = b"\x00" * 32
    for seq, entry in entries:
        obj = json.loads(entry)
        assert obj["seq"] == seq
        assert base64.b64decode(obj["prev"]) == prev, f"entry {seq} does not link to entry {seq - 1}"
        prev = hashlib.sha256(b"\x00" + entry).digest()
    assert head.last_hash == prev

    # Every committed unit is there, at the seqs record() returned, each seq used exactly once.
    written = [s for _, seqs in out.committed for s in seqs]
    assert len(written) == len(set(written)), "two commits were given the same seq"
    assert sorted(written) == list(range(setup_size, head.size)), "entries that no writer committed, or lost ones"
    for transfers, seqs in out.committed:
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "one unit's entries are not consecutive"
        for t, s in zip(transfers, seqs, strict=True):
            stored = json.loads(entries[s][1])["signed"]["transfers"]
            assert [x["id"] for x in stored] == [t.id]
    stored_ids = {x["id"] for _, e in entries for x in json.loads(e)["signed"]["transfers"]}
    for transfers in out.refused:
        assert not {t.id for t in transfers} & stored_ids, "a refused unit left a transfer behind"

    # Balances are exactly the funding plus the committed transfers.
    expected = Counter(funded)
    for transfers, _ in out.committed:
        for t in transfers:
            expected[t.debit] -= t.amount
            expected[t.credit] += t.amount
    async with app.db.snapshot() as snap:
        for account, balance in expected.items():
            acct = await app.ledger.account(snap, account)
            assert acct.balance == balance, f"{account}: {acct.balance}, expected {balance}"
            assert acct.balance >= 0
        cash = await app.ledger.account(snap, "reserve:cash")
        assert cash.balance == -sum(funded.values())

    # Exactly DRAIN_FUND // DRAIN_AMOUNT drains can succeed; a lost update would let more through.
    drains_ok = sum(1 for transfers, _ in out.committed for t in transfers if t.id.endswith("-drain"))
    drains_refused = sum(1 for transfers in out.refused for t in transfers if t.id.endswith("-drain"))
    assert (drains_ok, drains_refused) == (DRAIN_FUND // DRAIN_AMOUNT, DRAINERS - DRAIN_FUND // DRAIN_AMOUNT)
    assert expected[wallet(0)] == 0

    for workers in (0, 2):
        report = await verify_ledger(app.db, app.ledger.origin, workers=workers)
        assert report.ok, (report.first_bad_seq, report.problem)
        assert report.size == head.size
    return written


async def test_fifty_concurrent_writers_make_one_chain(app: App) -> None:
    funded = await _setup(app)
    async with app.db.snapshot() as snap:
        setup_size = (await app.ledger.head(snap)).size
    out = await _run_writers([("a", app)], seed=7)
    assert len(out.committed) + len(out.refused) == WRITERS * UNITS
    await _check(app, funded, out, setup_size)


async def test_two_app_instances_write_one_chain(settings: Settings, app: App) -> None:
    """Two Apps = two engines/connection pools on one database, as two server processes would be."""
    funded = await _setup(app)
    async with app.db.snapshot() as snap:
        setup_size = (await app.ledger.head(snap)).size
    second = await build(settings)
    try:
        assert second.db is not app.db
        out = await _run_writers([("a", app), ("b", second)], seed=11)
        assert len(out.committed) + len(out.refused) == WRITERS * UNITS
        written = await _check(app, funded, out, setup_size)
        await _check(second, funded, out, setup_size)  # the other instance sees the same chain
        order = [out.by_app[s] for s in sorted(written)]
        assert set(order) == {"a", "b"}
        if app.db.dialect == "postgresql":
            # The two instances really wrote at the same time: their entries interleave in the chain.
            # (Not asserted on SQLite: there the second connection waits in SQLite's busy handler, which
            # backs off for milliseconds, so one instance usually finishes its short burst first.)
            switches = sum(1 for x, y in itertools.pairwise(order) if x != y)
            assert switches >= 2, f"no interleaving: {''.join(order)}"
    finally:
        await second.close()


async def test_concurrent_checkpoint_publishers_and_writers(settings: Settings, app: App) -> None:
    """Two instances publish checkpoints while 50 writers append (a server's publisher and
    ``chestnut ledger checkpoint --publish`` at once): no publisher fails, every checkpoint verifies."""
    funded = await _setup(app)
    async with app.db.snapshot() as snap:
        setup_size = (await app.ledger.head(snap)).size
    second = await build(settings)
    stop = asyncio.Event()
    published: list[int] = []

    async def publisher(instance: App) -> None:
        while not stop.is_set():
            async with instance.db.unit_of_work() as uow:
                note = await instance.ledger.publish_checkpoint(uow)
                await uow.commit()
            if note:
                published.append(int(note.split("\n")[1]))
            await asyncio.sleep(0)

    try:
        publishers = [asyncio.create_task(publisher(a)) for a in (app, second, app, second)]
        out = await _run_writers([("a", app), ("b", second)], seed=13)
        stop.set()
        await asyncio.gather(*publishers)  # re-raises the first publisher failure
        assert len(published) == len(set(published)), f"a size was signed twice: {sorted(published)}"
        assert len(published) >= 2
        await _check(app, funded, out, setup_size)  # includes verify_ledger, which checks every checkpoint
    finally:
        stop.set()
        await second.close()
