"""The replica's own store: its database through ``ledger.storage``, its ``replica_*`` tables.

What is stored is only what the follower verified: entries (with their leaf hash and the Merkle nodes
they complete, so proofs and tiles are served from this copy), the checkpoints it accepted (the ledger's
signed notes, verbatim), the witness state and cosignatures, and fork evidence. The replay state (the
book of accounts) is not stored: a restarting replica replays its stored entries (``load_entries``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from ledger.storage.ops import write, write_many
from ledger.storage.unit_of_work import Database, UnitOfWork
from ledger.tiles import TreeStore

TREE = TreeStore("replica_entries", "replica_checkpoints")


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Pinned:
    origin: str
    ledger_key: str
    primary_url: str


@dataclass(frozen=True, slots=True)
class WitnessState:
    size: int
    root: bytes
    note: str


class ReplicaStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.tree = TREE

    async def pinned(self, uow: UnitOfWork) -> Pinned | None:
        rows = await uow.fetch("SELECT origin, ledger_key, primary_url FROM replica_state WHERE id = 1")
        return Pinned(*rows[0]) if rows else None

    async def pin(self, uow: UnitOfWork, pinned: Pinned) -> None:
        await uow.execute(
            "INSERT INTO replica_state (id, origin, ledger_key, primary_url) VALUES (1, :o, :k, :u)",
            {"o": pinned.origin, "k": pinned.ledger_key, "u": pinned.primary_url},
        )

    async def size(self, uow: UnitOfWork) -> int:
        rows = await uow.fetch("SELECT MAX(seq) FROM replica_entries")
        return 0 if rows[0][0] is None else int(rows[0][0]) + 1

    async def load_entries(self, chunk: int = 4096) -> AsyncIterator[list[tuple[int, bytes, bytes, bytes]]]:
        """Every stored entry, in order, in chunks (for the replay at start-up)."""
        start = 0
        async with self.db.snapshot() as snap:
            while True:
                rows = await snap.fetch(
                    "SELECT seq, leaf_hash, entry, nodes FROM replica_entries WHERE seq >= :s ORDER BY seq LIMIT :n",
                    {"s": start, "n": chunk},
                )
                if not rows:
                    return
                yield [(int(s), bytes(lh), bytes(e), bytes(n)) for s, lh, e, n in rows]
                start = int(rows[-1][0]) + 1

    async def append(self, uow: UnitOfWork, rows: Sequence[tuple[int, bytes, bytes, bytes]]) -> None:
        await uow.batch(
            [
                write_many(
                    "INSERT INTO replica_entries (seq, leaf_hash, entry, nodes) VALUES (:s, :l, :e, :n)",
                    [{"s": s, "l": lh, "e": e, "n": n} for s, lh, e, n in rows],
                )
            ]
        )

    async def truncate(self, uow: UnitOfWork, size: int) -> None:
        """Forget entries at and after ``size`` (ones fetched past the last accepted checkpoint that did
        not end in a matching root)."""
        await uow.execute("DELETE FROM replica_entries WHERE seq >= :s", {"s": size})

    async def accept(self, uow: UnitOfWork, size: int, root: bytes, note: str) -> None:
        await uow.execute(
            "INSERT INTO replica_checkpoints (size, root, note, created_ms) VALUES (:s, :r, :n, :t) "
            "ON CONFLICT (size) DO NOTHING",
            {"s": size, "r": root, "n": note, "t": now_ms()},
        )

    async def latest(self, uow: UnitOfWork) -> tuple[int, bytes, str] | None:
        rows = await uow.fetch("SELECT size, root, note FROM replica_checkpoints ORDER BY size DESC LIMIT 1")
        return (int(rows[0][0]), bytes(rows[0][1]), str(rows[0][2])) if rows else None

    async def add_evidence(self, uow: UnitOfWork, kind: str, evidence: str) -> bool:
        """Keep evidence once per ``kind`` (``fork:<hash of the two notes>``: the same pair of checkpoints seen
        again, by polling or by witnessing, adds nothing). True if new."""
        rows = await uow.fetch("SELECT 1 FROM replica_evidence WHERE kind = :k", {"k": kind})
        if rows:
            return False
        await uow.execute(
            "INSERT INTO replica_evidence (kind, evidence, created_ms) VALUES (:k, :e, :t)",
            {"k": kind, "e": evidence, "t": now_ms()},
        )
        return True

    async def evidence(self, uow: UnitOfWork) -> list[tuple[int, str, str, int]]:
        rows = await uow.fetch("SELECT id, kind, evidence, created_ms FROM replica_evidence ORDER BY id")
        return [(int(i), str(k), str(e), int(t)) for i, k, e, t in rows]

    async def witness_state(self, uow: UnitOfWork, origin: str) -> WitnessState | None:
        rows = await uow.fetch(
            f"SELECT size, root, note FROM replica_witness WHERE origin = :o{uow.for_update}", {"o": origin}
        )
        return WitnessState(int(rows[0][0]), bytes(rows[0][1]), str(rows[0][2])) if rows else None

    async def store_cosigned(
        self,
        uow: UnitOfWork,
        origin: str,
        state: WitnessState,
        *,
        had_state: bool,
        cosignature: str,
        time_s: int,
    ) -> None:
        params = {"o": origin, "s": state.size, "r": state.root, "n": state.note}
        upsert = (
            "UPDATE replica_witness SET size = :s, root = :r, note = :n WHERE origin = :o"
            if had_state
            else "INSERT INTO replica_witness (origin, size, root, note) VALUES (:o, :s, :r, :n)"
        )
        await uow.batch(
            [
                write(upsert, params),
                write(
                    "INSERT INTO replica_cosigned (size, root, cosignature, time_s) VALUES (:s, :r, :c, :t) "
                    "ON CONFLICT (size) DO UPDATE SET cosignature = excluded.cosignature, time_s = excluded.time_s",
                    {"s": state.size, "r": state.root, "c": cosignature, "t": time_s},
                ),
            ]
        )

    async def cosigned_count(self, uow: UnitOfWork) -> int:
        rows = await uow.fetch("SELECT COUNT(*) FROM replica_cosigned")
        return int(rows[0][0])
