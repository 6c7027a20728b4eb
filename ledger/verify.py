"""``chestnut ledger verify``: re-check a whole ledger from its stored entry bytes.

Every stored entry is replayed in order through ``ledger.replay`` (chain, hashes, tree, signatures,
per-actor sequence, money rules and invariants), each stored column compared with what the entry's
bytes say. Then the head row, every published checkpoint's root and signature, and the derived tables
(accounts, transfers, actors) are compared with the replay. The report names the *first* bad entry.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ledger.checkpoint import Checkpoint
from ledger.errors import ChestnutError
from ledger.note import open_note, parse_verifier_key, verifier_key
from ledger.replay import Bad, Replay, StoredEntry, judge_chunk, submit_signatures
from ledger.storage.unit_of_work import Database, UnitOfWork

CHUNK = 4096
__all__ = ["VerifyReport", "verify_ledger"]


@dataclass
class VerifyReport:
    ok: bool
    size: int = 0
    checkpoints: int = 0
    first_bad_seq: int | None = None
    problem: str | None = None
    seconds: float = 0.0
    entries_per_s: float = 0.0
    totals: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "size": self.size,
            "checkpoints": self.checkpoints,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "seconds": round(self.seconds, 3),
            "entries_per_s": round(self.entries_per_s, 1),
            "totals": self.totals,
        }


def _blob(value: Any) -> bytes | None:
    """Stored binary data, or None if the column holds another type (SQLite keeps any value anywhere)."""
    return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else None


def _whole(value: Any) -> int | None:
    """A stored whole number, or None if the column holds another type (text, a fraction)."""
    return value if type(value) is int else None


async def _checkpoint_sizes(snap: UnitOfWork) -> tuple[dict[int, tuple[bytes | None, str]], list[str]]:
    """Checkpoint rows by size, and the problems of rows that cannot be one (judged after the entries)."""
    rows = await snap.fetch("SELECT size, root, note FROM ledger_checkpoints ORDER BY size")
    found: dict[int, tuple[bytes | None, str]] = {}
    problems = []
    for size, root, note in rows:
        if _whole(size) is None or size <= 0:
            problems.append(f"a checkpoint row has size {size!r}, not a whole number of entries")
        else:
            found[size] = (_blob(root), note if isinstance(note, str) else "")
    return found, problems


def _default_executor(workers: int) -> Executor | None:
    if workers <= 0:
        return None
    return ProcessPoolExecutor(max_workers=workers)


async def verify_ledger(
    db: Database,
    origin: str,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    started = time.perf_counter()
    workers = (os.cpu_count() or 1) if workers is None else workers
    replay = Replay()
    report = VerifyReport(ok=False)
    executor = _default_executor(workers)
    try:
        async with db.snapshot() as snap:
            try:
                await _verify(snap, origin, replay, report, executor, workers, progress)
            except Bad as bad:
                report.first_bad_seq = bad.seq
                report.problem = bad.problem
                return report
    finally:
        if executor is not None:
            # wait=True: with wait=False CPython 3.11's exit hook can write to the manager thread's
            # already-closed wake-up pipe and print "Bad file descriptor" as the CLI exits. Queued
            # chunks are cancelled, so this waits at most for the chunks already running.
            executor.shutdown(wait=True, cancel_futures=True)
        report.seconds = time.perf_counter() - started
        report.entries_per_s = (replay.next_seq / report.seconds) if report.seconds else 0.0
        report.totals = replay.totals()
    report.ok = True
    return report


async def _verify(
    snap: UnitOfWork,
    origin: str,
    replay: Replay,
    report: VerifyReport,
    executor: Executor | None,
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    """The whole check, raising ``Bad`` at the first problem: entries, head, checkpoints, derived tables."""
    # Why the type checks here and in _read_chunk/_check_tables: SQLite keeps a value of any
    # type in any column, and such tampering (a text seq, an entry stored as text, no head
    # row) used to crash verify with a ValueError/TypeError/IndexError instead of reporting it
    # (tests/integration/test_tamper.py::test_values_of_the_wrong_type_are_reported_not_crashed_on).
    head_rows = await snap.fetch("SELECT size, last_hash, frontier FROM ledger_head WHERE id = 1")
    if not head_rows or _whole(head_rows[0][0]) is None:
        raise Bad(None, "the ledger_head row is missing or its size is not a whole number")
    head_size = int(head_rows[0][0])
    checkpoints, checkpoint_problems = await _checkpoint_sizes(snap)
    replay.checkpoint_sizes = set(checkpoints)
    count_rows = await snap.fetch("SELECT COUNT(*), MAX(seq) FROM ledger_entries")
    stored = int(count_rows[0][0])
    report.size = head_size
    await _replay_entries(snap, replay, executor, workers, max(stored, head_size), progress)
    if replay.next_seq != head_size:
        raise Bad(
            replay.next_seq if replay.next_seq < head_size else head_size,
            f"the head says {head_size} entries but {replay.next_seq} are stored",
        )
    if _blob(head_rows[0][1]) != replay.prev or _blob(head_rows[0][2]) != replay.frontier.to_bytes():
        raise Bad(head_size - 1 if head_size else None, "the head row does not match the chain")
    if checkpoint_problems:
        raise Bad(None, checkpoint_problems[0])
    report.checkpoints = await _check_checkpoints(snap, origin, replay, checkpoints)
    await _check_tables(snap, replay)


async def _replay_entries(
    snap: UnitOfWork,
    replay: Replay,
    executor: Executor | None,
    workers: int,
    total: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Every stored entry, chunk by chunk: the next chunk is read while the workers check this one."""
    loop = asyncio.get_running_loop()
    pending_chunk = await _read_chunk(snap, 0)
    while pending_chunk:
        chunk = pending_chunk
        sig_futures = submit_signatures(loop, executor, replay, chunk, workers)
        next_start = chunk[-1][0] + 1
        pending_chunk = await _read_chunk(snap, next_start)
        await judge_chunk(sig_futures, functools.partial(_replay_rows, replay, chunk))
        if progress:
            progress(replay.next_seq, total)


def _replay_rows(replay: Replay, rows: list[StoredEntry]) -> None:
    for row in rows:
        replay.entry(*row)


async def _read_chunk(snap: UnitOfWork, start: int) -> list[StoredEntry]:
    rows = await snap.fetch(
        "SELECT seq, leaf_hash, entry, kind, actor, nodes FROM ledger_entries WHERE seq >= :start "
        "ORDER BY seq LIMIT :limit",
        {"start": start, "limit": CHUNK},
    )
    # A row whose seq is not a whole number is no entry: the gap it leaves is reported where it is.
    # (On SQLite such a seq sorts after every number, so it never hides the entries after it.)
    return [(s, _blob(lh), _blob(e), k, _blob(a), _blob(n)) for s, lh, e, k, a, n in rows if _whole(s) is not None]


async def _check_checkpoints(
    snap: UnitOfWork, origin: str, replay: Replay, checkpoints: dict[int, tuple[bytes | None, str]]
) -> int:
    rules = replay.book.rules
    if rules is None:
        if checkpoints:
            raise Bad(None, "checkpoints exist but the ledger has no genesis")
        return 0
    log_key = parse_verifier_key(verifier_key(origin, rules.ledger_key))
    for size, (root, note) in sorted(checkpoints.items()):
        expected = replay.roots.get(size)
        if expected is None:
            raise Bad(size - 1, f"checkpoint of size {size} is beyond the ledger")
        if root != expected:
            raise Bad(size - 1, f"checkpoint of size {size} has the wrong Merkle root")
        try:
            opened = open_note(note, [log_key])
            cp = Checkpoint.parse(opened.text)
        except ChestnutError as exc:
            raise Bad(size - 1, f"checkpoint of size {size}: {exc.message}") from None
        if (cp.origin, cp.size, cp.root_hash) != (origin, size, expected):
            raise Bad(size - 1, f"checkpoint note of size {size} does not say what its row says")
    return len(checkpoints)


async def _check_tables(snap: UnitOfWork, replay: Replay) -> None:
    """The derived tables must be exactly what the replay produced (a changed balance is tampering too)."""
    rows = await snap.fetch(
        "SELECT id, token, flags, owner, debits_posted, credits_posted, debits_pending, credits_pending "
        "FROM ledger_accounts"
    )
    accounts = replay.book.accounts
    if len(rows) != len(accounts):
        raise Bad(None, f"{len(rows)} accounts stored, {len(accounts)} opened by the ledger")
    for row in rows:
        acct = accounts.get(row[0])
        owner = None if row[3] is None else _blob(row[3]) or b"not binary"  # never equals a key
        if acct is None or (row[1], _whole(row[2]), owner, *(_whole(v) for v in row[4:8])) != (
            acct.token,
            acct.flags,
            acct.owner,
            acct.debits_posted,
            acct.credits_posted,
            acct.debits_pending,
            acct.credits_pending,
        ):
            raise Bad(acct.opened_seq if acct else None, f"stored account {row[0]} differs from the ledger")
    rows = await snap.fetch("SELECT id, seq, amount, state FROM ledger_transfers")
    transfers = replay.book.transfers
    if len(rows) != len(transfers):
        raise Bad(None, f"{len(rows)} transfers stored, {len(transfers)} made by the ledger")
    for tid, seq, amount, state in rows:
        t = transfers.get(tid)
        if t is None or (t.seq, t.amount, t.state) != (_whole(seq), _whole(amount), state):
            raise Bad(_whole(seq), f"stored transfer {tid} differs from the ledger")
    rows = await snap.fetch("SELECT public_key, last_seq FROM ledger_actors")
    if {_blob(pk): _whole(s) for pk, s in rows} != replay.actor_seq:
        raise Bad(None, "stored actor sequence numbers differ from the ledger")
