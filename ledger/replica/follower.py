"""The follower: take a signed checkpoint, fetch what it covers, verify every entry, accept it or refuse it.

Every entry is judged by the checks ``ledger verify`` uses (``ledger.replay``) — ``Replay.follow``
(numbering, ``prev`` link, leaf hash, canonical entry bytes, actor sequence, the money rules replayed,
every invariant after every entry) while ``check_signatures`` runs in worker processes (canonical JSON,
the actor's signature, the operator's countersignature), joined by ``judge_chunk`` so the first bad
entry is the one named. Then the Merkle root of the verified copy must be the checkpoint's root; the
checkpoint must be signed by the ledger key pinned at first contact, for the pinned origin.

A checkpoint inconsistent with one accepted earlier is a fork: same size with another root, an older size
whose root is not the root of our first entries, or a larger tree whose first entries are not ours. Then
the follower keeps both signed checkpoints with a consistency proof as ``Evidence`` (built from our own
store, or from the remote's hash tiles when the remote holds the larger tree), raises the alarm, and
never accepts the other history. Anything else that does not check out is refused with its reason, and
the follower goes on with the next poll.

Entries come from the primary only, with this replica's reader credential (``ledger.readers``): a peer's
checkpoint is first checked against the tree from the peer's public hash tiles, then synced with
entries from the primary. A replica without a credential cannot re-check restricted entries, so it
*follows the tree* only: every checkpoint's signature and its consistency with the largest one seen
(hash tiles, which are public), keeping fork evidence as above — it never accepts, serves or cosigns.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, NoReturn

from ledger import merkle
from ledger.checkpoint import Checkpoint
from ledger.errors import ChestnutError, VerificationError
from ledger.note import Verifier, open_note
from ledger.replay import Bad, Replay, judge_chunk, operator_hint, submit_signatures
from ledger.replica.evidence import Evidence, verify_evidence
from ledger.replica.remote import RemoteLog, RemoteRefused
from ledger.replica.store import ReplicaStore
from ledger.tiles import prefix_nodes

log = logging.getLogger("chestnut.replica")

CHUNK = 4096
PREFETCH = 3


class Refused(ChestnutError):
    """A checkpoint or its data did not check out; ``http_status`` is the tlog-witness answer for it."""

    code = "checkpoint_refused"
    http_status = 422


class UnknownOrigin(Refused):
    code = "unknown_origin"
    http_status = 404


class Untrusted(Refused):
    code = "untrusted_checkpoint"
    http_status = 403


class Malformed(Refused):
    code = "malformed_checkpoint"
    http_status = 400


class ForkDetected(Refused):
    code = "fork_detected"
    http_status = 409


@dataclass(frozen=True, slots=True)
class Accepted:
    size: int
    root: bytes
    note: str


@dataclass(frozen=True, slots=True)
class Refusal:
    time_s: float
    source: str
    code: str
    reason: str


def read_checkpoint(note: str, origin: str, key: Verifier) -> Checkpoint:
    """The checkpoint of a signed note: for our origin (404 otherwise), signed by the ledger key (403)."""
    split = note.rfind("\n\n")
    if split < 0:
        raise Malformed("the checkpoint is not a signed note (no blank line before the signatures)")
    try:
        cp = Checkpoint.parse(note[: split + 1])
    except ChestnutError as exc:
        raise Malformed(f"the checkpoint is malformed: {exc.message}") from None
    if cp.origin != origin:
        raise UnknownOrigin(f"unknown origin {cp.origin[:80]!r}; this replica follows {origin!r}")
    try:
        open_note(note, [key])
    except ChestnutError as exc:
        raise Untrusted(f"the checkpoint is not signed by the ledger key: {exc.message}") from None
    return cp


class Follower:
    def __init__(
        self,
        store: ReplicaStore,
        origin: str,
        ledger_key: Verifier,
        *,
        name: str,
        executor: Executor | None,
        workers: int,
        on_alarm: Callable[[Evidence], Awaitable[None]] | None = None,
        can_read: bool = True,
    ) -> None:
        self.can_read = can_read  # holds a reader credential: can fetch every entry
        self.tree: Accepted | None = None  # the largest checkpoint whose tree was checked from hash tiles
        self.store = store
        self.origin = origin
        self.key = ledger_key
        self.name = name
        self.executor = executor
        self.workers = workers
        self.on_alarm = on_alarm
        self.replay = Replay()
        self.accepted: Accepted | None = None
        self.refusals: collections.deque[Refusal] = collections.deque(maxlen=50)
        self.alarms = 0
        self.synced_entries = 0
        self.sync_seconds = 0.0
        self._lock = asyncio.Lock()
        self._forks: dict[str, str] = {}  # signed note → why it is a fork (bounded)

    # ------------------------------------------------------------------------------- start-up

    async def load(self) -> None:
        """Replay the stored copy (verified when it was stored; leaf hashes and nodes re-derived and compared)."""
        replay = Replay()
        async for rows in self.store.load_entries():
            for seq, leaf, entry, nodes in rows:
                try:
                    computed = replay.follow(entry)
                except Bad as bad:
                    raise VerificationError(f"the replica's own copy fails at entry {bad.seq}: {bad.problem}") from None
                if computed != (leaf, nodes):
                    raise VerificationError(f"the replica's own copy of entry {seq} has a wrong leaf hash or node")
        self.replay = replay
        async with self.store.db.snapshot() as snap:
            latest = await self.store.latest(snap)
        self.accepted = Accepted(*latest) if latest else None
        if self.accepted and self.accepted.size > replay.next_seq:
            raise VerificationError(
                f"the replica accepted size {self.accepted.size} but holds only {replay.next_seq} entries"
            )

    async def _rewind(self) -> None:
        """Drop entries past the last accepted checkpoint and rebuild the replay (after a refused sync)."""
        keep = self.accepted.size if self.accepted else 0
        async with self.store.db.unit_of_work() as uow:
            await self.store.truncate(uow, keep)
            await uow.commit()
        await self.load()

    # ------------------------------------------------------------------------------- checking

    def refuse(self, source: str, exc: ChestnutError) -> None:
        self.refusals.append(Refusal(time.time(), source, exc.code, exc.message))
        log.warning("refused checkpoint from %s: %s", source, exc.message)

    async def consider(self, note: str, remote: RemoteLog, *, context: str, source: RemoteLog | None = None) -> str:
        """Judge a signed checkpoint served by ``remote``: "accepted", "known" (consistent, not newer), "tree"
        (consistent with every checkpoint seen; entries not fetched, for want of a reader credential) or
        raise ``Refused`` (``ForkDetected`` with evidence kept).

        The entries come from ``source`` (default: ``remote``): a peer's checkpoint is synced with the
        primary's entries, after its tree was checked from the peer's own hash tiles."""
        cp = read_checkpoint(note, self.origin, self.key)
        known_fork = self._forks.get(note)
        if known_fork is not None:
            raise ForkDetected(known_fork)  # judged already: no second sync of a history we refused
        source = source or remote
        async with self._lock:
            accepted = self.accepted
            if accepted is not None and cp.size <= accepted.size:
                await self._check_known(cp, note, accepted, context)
                return "known"
            if not self.can_read or source is not remote:
                await self._check_tree(cp, note, remote, source, context)
            if not self.can_read:
                return "tree"
            if self.replay.next_seq > cp.size:
                await self._rewind()
            await self._sync(cp, note, source, remote, context)
            return "accepted"

    async def _check_tree(self, cp: Checkpoint, note: str, remote: RemoteLog, source: RemoteLog, context: str) -> None:
        """``cp`` against the largest checkpoint seen, from public hash tiles alone: a fork is kept as evidence.

        A larger tree is read from ``remote`` (which signed it to us); a smaller one is checked inside the
        larger tree seen before, read from ``source``."""
        ref = self.accepted
        if self.tree is not None and (ref is None or self.tree.size > ref.size):
            ref = self.tree
        seen = Accepted(cp.size, cp.root_hash, note)
        if ref is None:
            self.tree = seen
            return
        if cp.size == ref.size:
            if cp.root_hash != ref.root:
                await self.record_fork(Evidence(self.key_text, ref.note, note, found_by=self.name, context=context))
            return
        older, newer, tiles = (ref, seen, remote) if cp.size > ref.size else (seen, ref, source)
        try:
            nodes = await tiles.nodes(
                newer.size, prefix_nodes(older.size) + merkle.consistency_nodes(older.size, newer.size)
            )

            def get(level: int, index: int) -> bytes:
                return nodes[(level, index)]

            prefix = merkle.range_root(0, older.size, get)
            proof = merkle.consistency_proof(older.size, newer.size, get)
            merkle.verify_consistency(older.size, newer.size, prefix, newer.root, proof)
        except ChestnutError as exc:
            raise Refused(
                f"the hash tiles of the tree of size {newer.size} do not give its checkpoint's root: {exc.message}"
            ) from None
        if prefix != older.root:
            await self.record_fork(
                Evidence(self.key_text, older.note, newer.note, prefix, tuple(proof), self.name, context)
            )
        if self.tree is None or cp.size > self.tree.size:
            self.tree = seen

    async def _check_known(self, cp: Checkpoint, note: str, accepted: Accepted, context: str) -> None:
        if cp.size == accepted.size:
            if cp.root_hash != accepted.root:
                await self.record_fork(
                    Evidence(self.key_text, accepted.note, note, found_by=self.name, context=context)
                )
            return
        async with self.store.db.snapshot() as snap:
            ours = await self.store.tree.root_at(snap, cp.size)
            proof = await self.store.tree.consistency_proof(snap, cp.size, accepted.size)
        if ours != cp.root_hash:
            await self.record_fork(Evidence(self.key_text, note, accepted.note, ours, tuple(proof), self.name, context))

    @property
    def key_text(self) -> str:
        return str(self.key)

    async def record_fork(self, evidence: Evidence) -> NoReturn:
        explanation = verify_evidence(evidence, self.key)  # only evidence that proves the fork is kept
        pair = hashlib.sha256((evidence.older + evidence.newer).encode()).hexdigest()[:16]
        async with self.store.db.unit_of_work() as uow:
            new = await self.store.add_evidence(uow, f"fork:{pair}", evidence.encode())
            await uow.commit()
        if len(self._forks) > 1000:
            self._forks.clear()
        self._forks[
            evidence.newer if evidence.newer != (self.accepted.note if self.accepted else "") else evidence.older
        ] = f"fork detected: {explanation}"
        if new:
            self.alarms += 1
            log.error("ALARM: %s (%s); evidence kept, see `chestnut replica audit`", explanation, evidence.context)
            if self.on_alarm is not None:
                await self.on_alarm(evidence)
        raise ForkDetected(f"fork detected: {explanation}")

    # ------------------------------------------------------------------------------- syncing

    async def _sync(self, cp: Checkpoint, note: str, source: RemoteLog, remote: RemoteLog, context: str) -> None:
        """Fetch the entries up to ``cp`` from ``source`` and verify them; ``remote`` signed ``cp`` to us."""
        started = time.perf_counter()
        first = self.replay.next_seq
        queue: asyncio.Queue[list[bytes] | BaseException] = asyncio.Queue(maxsize=PREFETCH)

        async def fetch() -> None:
            try:
                for lo in range(first, cp.size, CHUNK):
                    await queue.put(await source.entries(lo, min(cp.size, lo + CHUNK)))
            except Exception as exc:  # handed to the consumer, which reports it
                await queue.put(exc)

        fetcher = asyncio.create_task(fetch())
        loop = asyncio.get_running_loop()
        # The next chunk's signature checks are handed to the workers before this chunk is replayed (when it
        # has arrived), so the workers never wait on the replay; if the chunk changed the operator key
        # (a ledger.rules entry), the next one is checked again with the key in force.
        ahead: tuple[list[tuple[int, bytes]], list[asyncio.Future[tuple[int, str] | None]], bytes | None] | None
        ahead = None
        try:
            while self.replay.next_seq < cp.size:
                start = self.replay.next_seq
                if ahead is None:
                    pairs = list(enumerate(_entries(await queue.get()), start))
                    futures = submit_signatures(loop, self.executor, self.replay, pairs, self.workers)
                else:
                    pairs, futures, used = ahead
                    in_force = self.replay.book.rules.operator_key if self.replay.book.rules else None
                    if used != in_force:
                        futures = submit_signatures(loop, self.executor, self.replay, pairs, self.workers)
                ahead = None
                if not queue.empty() and start + len(pairs) < cp.size:
                    upcoming = list(enumerate(_entries(queue.get_nowait()), start + len(pairs)))
                    hint = operator_hint(self.replay, pairs)
                    ahead = (
                        upcoming,
                        submit_signatures(loop, self.executor, self.replay, upcoming, self.workers, operator=hint),
                        hint,
                    )
                rows: list[tuple[int, bytes, bytes, bytes]] = []
                try:
                    await judge_chunk(futures, functools.partial(_follow_rows, self.replay, pairs, rows))
                except Bad as bad:
                    # A history that forks off ours shows first as an entry that does not link: look at the
                    # remote's tree to tell a fork (evidence) from a bad entry (refused).
                    await self._mismatch(cp, note, remote, context, f"entry {bad.seq} does not verify: {bad.problem}")
                if start == 0 and not self._genesis_names_pinned_key():
                    await self._rewind_to_stored()
                    raise Untrusted("the genesis entry names another ledger key than the one pinned")
                async with self.store.db.unit_of_work() as uow:
                    await self.store.append(uow, rows)
                    await uow.commit()
                self.synced_entries += len(rows)
        except BaseException:
            fetcher.cancel()
            raise
        finally:
            self.sync_seconds += time.perf_counter() - started
        await fetcher
        root = self.replay.frontier.root()
        if root != cp.root_hash:
            await self._mismatch(cp, note, remote, context, "the entries served do not give the checkpoint's root")
        async with self.store.db.unit_of_work() as uow:
            await self.store.accept(uow, cp.size, cp.root_hash, note)
            await uow.commit()
        self.accepted = Accepted(cp.size, cp.root_hash, note)
        log.info("accepted checkpoint %d (%d new entries verified)", cp.size, cp.size - first)

    async def _rewind_to_stored(self) -> None:
        """A chunk failed half-way through the replay: rebuild the replay from what is stored."""
        await self.load()

    def _genesis_names_pinned_key(self) -> bool:
        rules = self.replay.book.rules
        return rules is not None and rules.ledger_key == self.key.public_key

    async def _mismatch(self, cp: Checkpoint, note: str, remote: RemoteLog, context: str, problem: str) -> NoReturn:
        """The entries served do not verify or do not give the checkpoint's root: a fork, or garbage.

        Find out which from the remote's hash tiles: if its tree of the checkpoint's size does not start
        with the tree we accepted, that is a fork (evidence kept, ``ForkDetected``); otherwise ``Refused``.
        """
        await self._rewind()
        accepted = self.accepted
        if accepted is None:
            raise Refused(problem)
        try:
            needed = prefix_nodes(accepted.size) + merkle.consistency_nodes(accepted.size, cp.size)
            nodes = await remote.nodes(cp.size, needed)

            def get(level: int, index: int) -> bytes:
                return nodes[(level, index)]

            prefix = merkle.range_root(0, accepted.size, get)
            proof = merkle.consistency_proof(accepted.size, cp.size, get)
            merkle.verify_consistency(accepted.size, cp.size, prefix, cp.root_hash, proof)
        except ChestnutError as exc:
            raise Refused(f"{problem}; and its hash tiles do not give the checkpoint's root: {exc.message}") from None
        if prefix == accepted.root:
            raise Refused(problem)
        await self.record_fork(Evidence(self.key_text, accepted.note, note, prefix, tuple(proof), self.name, context))

    # ------------------------------------------------------------------------------- status

    def status(self) -> dict[str, Any]:
        return {
            "size": self.replay.next_seq,
            "accepted_size": self.accepted.size if self.accepted else 0,
            "reader_credential": self.can_read,
            "tree_size": max(self.tree.size if self.tree else 0, self.accepted.size if self.accepted else 0),
            "synced_entries": self.synced_entries,
            "sync_seconds": round(self.sync_seconds, 3),
            "refusals": [
                {"time": round(r.time_s, 3), "source": r.source, "error": r.code, "reason": r.reason}
                for r in list(self.refusals)[-10:]
            ],
        }


def _entries(item: list[bytes] | BaseException) -> list[bytes]:
    """A fetched chunk, or the fetcher's failure raised here (in order, where the consumer reached it)."""
    if isinstance(item, BaseException):
        if isinstance(item, ChestnutError):
            raise item
        raise RemoteRefused(f"fetching entries failed: {type(item).__name__}") from item
    return item


def _follow_rows(replay: Replay, pairs: list[tuple[int, bytes]], out: list[tuple[int, bytes, bytes, bytes]]) -> None:
    for seq, entry in pairs:
        leaf, nodes = replay.follow(entry)
        out.append((seq, leaf, entry, nodes))
