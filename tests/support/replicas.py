"""Helpers for the replica tests: a ledger workload, and a dishonest operator who rewrites history.

``rewrite_history`` does what an operator holding the master key could do: change one byte of an old
entry's action, re-sign it with the actor's custodial key, then recompute every later ``prev`` link,
leaf hash and Merkle node, the head row, and re-sign every checkpoint with the ledger key — so the
primary's own ``chestnut ledger verify`` passes on the new history. Only replicas that kept the old
checkpoints can tell. ``forge_transfer`` changes a member's payment the same way: a replica that never
saw the old history still refuses it, on the signature or on the money rules.
"""

from __future__ import annotations

import random
import re

from chestnut.bootstrap import App
from ledger import merkle, readers
from ledger.checkpoint import Checkpoint
from ledger.keys import ROLE_OPERATOR
from ledger.model import ACTION_PREFIX, AccountSpec, Transfer, encode_entry, split_entry
from ledger.note import sign_note
from ledger.requests import Request

MEMBERS = 20


async def reader_token(app: App, name: str = "coop-test") -> str:
    """A reader credential for a replica, as ``chestnut ledger readers issue NAME`` makes one."""
    async with app.db.unit_of_work() as uow:
        token = await readers.issue(uow, name)
        await uow.commit()
    return token


def wallet(i: int) -> str:
    return f"wallet:r{i}:btl"


async def grow(app: App, entries: int, *, seed: int = 1, batch: int = 2000, checkpoint: bool = True) -> int:
    """Append about ``entries`` signed payments (members and top-ups first, on an empty market)."""
    rng = random.Random(seed)
    async with app.db.unit_of_work() as uow:
        have = await uow.fetch("SELECT COUNT(*) FROM ledger_accounts WHERE id = :id", {"id": wallet(0)})
        if not int(have[0][0]):
            keys = await app.keys.create_many(uow, [f"member:r{i}" for i in range(MEMBERS)])
            requests = [
                Request(
                    actor=f"member:r{i}", kind="member.join", accounts=[AccountSpec(wallet(i), "BTL", k.public_key)]
                )
                for i, k in enumerate(keys)
            ]
            requests += [
                Request(
                    actor=ROLE_OPERATOR,
                    kind="cash.topup",
                    body={"office": "replica-test"},
                    transfers=[Transfer(f"rtopup-{i}", "reserve:cash", wallet(i), 10_000_000, "BTL")],
                )
                for i in range(MEMBERS)
            ]
            await app.ledger.record_many(uow, requests)
            await uow.commit()
    done = 0
    tag = rng.randrange(10**9)
    while done < entries:
        n = min(batch, entries - done)
        requests = []
        for k in range(n):
            payer = rng.randrange(MEMBERS)
            payee = (payer + 1 + rng.randrange(MEMBERS - 1)) % MEMBERS
            requests.append(
                Request(
                    actor=f"member:r{payer}",
                    kind="test.pay",
                    body={"n": done + k},
                    transfers=[
                        Transfer(f"rp-{tag}-{done + k}", wallet(payer), wallet(payee), 1 + rng.randrange(50), "BTL")
                    ],
                )
            )
        async with app.db.unit_of_work() as uow:
            await app.ledger.record_many(uow, requests)
            await uow.commit()
        done += n
    if checkpoint:
        async with app.db.unit_of_work() as uow:
            await app.ledger.publish_checkpoint(uow)
            await uow.commit()
    async with app.db.snapshot() as snap:
        return (await app.ledger.head(snap)).size


async def rewrite_history(app: App, *, kind: str = "cash.topup") -> int:
    """Change one byte of the first ``kind`` entry and recompute everything after it. Returns its seq."""
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT seq, entry FROM ledger_entries ORDER BY seq")
        operator = await app.keys.get(snap, ROLE_OPERATOR)
    target = next(int(s) for s, e in rows if b'"kind":"' + kind.encode() + b'"' in bytes(e))
    action = split_entry(bytes(rows[target][1])).action_bytes.replace(b"replica-test", b"replica-tesT", 1)  # one byte
    await _rewrite(app, target, action, operator.sign(ACTION_PREFIX + action))
    return target


async def forge_transfer(app: App, amount: int | None = None, *, resign: bool) -> int:
    """What an operator holding every key could try: change the amount of the first member payment
    (``test.pay``) — to ``amount``, or one more — re-signed with the member's custodial key or not, and
    recompute every later link, hash, node and checkpoint. Returns its seq."""
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT seq, entry, actor FROM ledger_entries WHERE kind = 'test.pay' ORDER BY seq")
        target, raw, actor = int(rows[0][0]), bytes(rows[0][1]), bytes(rows[0][2])
        label = (await snap.fetch("SELECT label FROM ledger_keys WHERE public_key = :k", {"k": actor}))[0][0]
        member = await app.keys.get(snap, str(label))
    parts = split_entry(raw)
    old = int(re.findall(rb'"amount":(\d+)', parts.action_bytes)[0])
    action = parts.action_bytes.replace(b'"amount":%d' % old, b'"amount":%d' % (amount or old + 1), 1)
    await _rewrite(app, target, action, member.sign(ACTION_PREFIX + action) if resign else parts.sig)
    return target


async def _rewrite(app: App, target: int, action: bytes, sig: bytes) -> None:
    """Put ``action`` (signed ``sig``) at ``target``; relink, rehash and re-sign everything after it."""
    async with app.db.unit_of_work() as uow:
        rows = await uow.fetch("SELECT seq, entry FROM ledger_entries ORDER BY seq")
        ledger_signer = await app.ledger.ledger_signer(uow)
        checkpoint_sizes = {int(r[0]) for r in await uow.fetch("SELECT size FROM ledger_checkpoints")}
        frontier = merkle.Frontier()
        prev = b"\x00" * 32
        roots: dict[int, bytes] = {}
        for seq, raw in rows:
            entry = bytes(raw)
            parts = split_entry(entry)
            if int(seq) >= target:
                signed = (action, sig) if int(seq) == target else (parts.action_bytes, parts.sig)
                entry = encode_entry(int(seq), prev, signed[0], signed[1], parts.cosig)
            leaf = merkle.leaf_hash(entry)
            nodes = b"".join(h for _l, _i, h in frontier.append(leaf))
            if int(seq) >= target:
                await uow.execute(
                    "UPDATE ledger_entries SET entry = :e, leaf_hash = :l, nodes = :n WHERE seq = :s",
                    {"e": entry, "l": leaf, "n": nodes, "s": int(seq)},
                )
            prev = leaf
            if frontier.size in checkpoint_sizes:
                roots[frontier.size] = frontier.root()
        await uow.execute(
            "UPDATE ledger_head SET last_hash = :h, frontier = :f WHERE id = 1", {"h": prev, "f": frontier.to_bytes()}
        )
        for size, root in roots.items():
            note = sign_note(Checkpoint(app.ledger.origin, size, root).to_text(), [ledger_signer])
            await uow.execute(
                "UPDATE ledger_checkpoints SET root = :r, note = :n WHERE size = :s", {"r": root, "n": note, "s": size}
            )
        await uow.commit()
