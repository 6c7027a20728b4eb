"""``chestnut ledger verify``: re-check a whole ledger from its stored entry bytes.

For every entry, in order: the sequence numbers are contiguous, ``prev`` is the leaf hash of the entry
before, the stored leaf hash is ``SHA256(0x00 || entry)`` (RFC 9162), the stored Merkle nodes are the
ones the entry completes, the action is canonical JSON (RFC 8785) signed by its actor (and
countersigned by the operator where it says so), each actor's sequence goes up by one, and the money
rules hold when the action is replayed (``ledger.book``). After every entry the invariants of
ARCHITECTURE.md are checked: per token all balances sum to zero, BTL in circulation equals cash
received less cash paid out, and no non-issuer account is below zero. Then every published
checkpoint's root and signature, and the derived tables (head, accounts, transfers, actors) are
compared with the replay.

Signature checks are the expensive part (~38 µs each), so they run in worker processes while this
process replays; a chunk's results are joined before the next chunk is judged, so the report always
names the *first* bad entry.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from ledger import merkle
from ledger.book import NO_OVERDRAFT, AccountState, Book
from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint
from ledger.errors import ChestnutError
from ledger.model import ACTION_PREFIX, COUNTERSIGN_PREFIX, GENESIS_PREV, Action, encode_entry, split_entry, unb64
from ledger.note import open_note, parse_verifier_key, verifier_key
from ledger.storage.unit_of_work import Database, UnitOfWork

CHUNK = 4096
__all__ = [
    "Bad",
    "Replay",
    "VerifyReport",
    "check_signatures",
    "judge_chunk",
    "operator_hint",
    "submit_signatures",
    "verify_ledger",
]


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


class _Bad(Exception):
    def __init__(self, seq: int | None, problem: str) -> None:
        super().__init__(problem)
        self.seq = seq
        self.problem = problem


def check_signatures(first_seq: int, entries: list[bytes], operator_key: bytes | None) -> tuple[int, str] | None:
    """Worker: canonical form and signatures of a run of entries. The first problem, or None."""
    # The raw libsodium binding, not VerifyKey.verify: the same call on signature + message, less ~6 µs of
    # wrapper per entry on the sync path. It needs 32-byte keys and 64-byte signatures: unb64 and
    # split_entry check those, VerifyKey checks the operator's key.
    operator = bytes(VerifyKey(operator_key)) if operator_key else None
    for offset, entry in enumerate(entries):
        seq = first_seq + offset
        try:
            parts = split_entry(entry)
            obj = json.loads(parts.action_bytes)
            if canonical_json(obj) != parts.action_bytes:
                return seq, "the action is not in canonical JSON form"
            actor = unb64(obj.get("actor") if isinstance(obj, dict) else None, "actor", 32)
            crypto_sign_open(parts.sig + ACTION_PREFIX + parts.action_bytes, actor)
            if parts.cosig is not None:
                if operator is None:
                    return seq, "a countersignature before the operator key is known"
                crypto_sign_open(parts.cosig + COUNTERSIGN_PREFIX + parts.action_bytes, operator)
        except BadSignatureError:
            return seq, "a signature does not verify against the action"
        except ChestnutError as exc:
            return seq, exc.message
        except ValueError as exc:
            return seq, f"unreadable entry: {exc}"
    return None


class _Replay:
    """The sequential half: chain, hashes, tree, per-actor sequence, money rules and invariants."""

    def __init__(self) -> None:
        self.book = Book()
        self.frontier = merkle.Frontier()
        self.prev = GENESIS_PREV
        self.next_seq = 0
        self.actor_seq: dict[bytes, int] = {}
        self.roots: dict[int, bytes] = {}
        self.checkpoint_sizes: set[int] = set()
        self.net: dict[str, int] = {}  # per token: sum of all posted balances, must stay 0
        self.pending_net: dict[str, int] = {}  # per token: pending debits less pending credits, must stay 0
        self.held: dict[str, int] = {}  # per token: balances outside the issuer (BTL: cash owed to members)

    def entry(
        self,
        seq: int,
        leaf_hash: bytes | None,
        entry: bytes | None,
        kind: Any,
        actor: bytes | None,
        nodes: bytes | None,
    ) -> None:
        """A stored entry with its derived columns, each compared with what the bytes say."""
        if seq != self.next_seq:
            raise _Bad(self.next_seq, f"entry {self.next_seq} is missing (next stored entry is {seq})")
        if leaf_hash is None or entry is None or actor is None or nodes is None or not isinstance(kind, str):
            raise _Bad(seq, "a stored column of this entry holds a value of the wrong type")
        self._apply(seq, entry, (leaf_hash, kind, actor, nodes))

    def follow(self, entry: bytes) -> tuple[bytes, bytes]:
        """The next entry as fetched from another node (a replica following): the same checks, no stored
        columns to compare; returns the leaf hash and the Merkle nodes it completes, for the follower's store.
        """
        return self._apply(self.next_seq, entry, None)

    def _apply(self, seq: int, entry: bytes, stored: tuple[bytes, Any, bytes, bytes] | None) -> tuple[bytes, bytes]:
        computed = merkle.leaf_hash(entry)
        if stored is not None and computed != stored[0]:
            raise _Bad(seq, "stored leaf hash does not match SHA256(0x00 || entry bytes)")
        try:
            parts = split_entry(entry)
            action = Action.decode(parts.action_bytes)
        except ChestnutError as exc:
            raise _Bad(seq, f"malformed entry: {exc.message}") from None
        if parts.seq != seq:
            raise _Bad(seq, f"entry says it is number {parts.seq}")
        if parts.prev != self.prev:
            raise _Bad(seq, "prev does not link to the previous entry's leaf hash")
        if stored is not None and (stored[1] != action.kind or stored[2] != action.actor):
            raise _Bad(seq, "stored kind/actor columns do not match the entry")
        # Why: the parsed fields do not pin the bytes (base64 with non-zero padding bits decodes to the
        # same signature or hash), so an entry re-encoded without changing what it says used to verify,
        # with another leaf hash (tests/integration/test_tamper.py::test_reencoded_entry_is_caught_at_that_entry).
        # Only the one encoding the writer produces is accepted.
        try:
            canonical = encode_entry(parts.seq, parts.prev, parts.action_bytes, parts.sig, parts.cosig)
        except ChestnutError as exc:
            raise _Bad(seq, f"malformed entry: {exc.message}") from None
        if canonical != entry:
            raise _Bad(seq, "the entry bytes are not the canonical encoding of its fields")
        expected_seq = self.actor_seq.get(action.actor, 0) + 1
        if action.seq != expected_seq:
            raise _Bad(seq, f"actor sequence {action.seq}, expected {expected_seq} (replay or gap)")
        completed = self.frontier.append(computed)
        nodes = b"".join(h for _level, _index, h in completed)
        if stored is not None and stored[3] != nodes:
            raise _Bad(seq, "stored Merkle nodes do not match the tree")
        if parts.cosig is not None and (self.book.rules is None):
            raise _Bad(seq, "countersignature before the genesis")
        before = {}
        for t in action.transfers:
            for account_id in (t.debit, t.credit):
                acct = self.book.accounts.get(account_id)
                if acct is not None and account_id not in before:
                    before[account_id] = (acct.balance, acct.debits_pending - acct.credits_pending)
        try:
            touched = self.book.apply(action, seq, countersigned=parts.cosig is not None)
        except ChestnutError as exc:
            raise _Bad(seq, f"money rules refuse this entry: {exc.message}") from None
        self.book.reset_changes()
        self._invariants(seq, touched, before)
        self.actor_seq[action.actor] = action.seq
        self.prev = computed
        self.next_seq += 1
        if self.next_seq in self.checkpoint_sizes:
            self.roots[self.next_seq] = self.frontier.root()
        return computed, nodes

    def _invariants(self, seq: int, touched: list[AccountState], before: dict[str, tuple[int, int]]) -> None:
        """ARCHITECTURE.md's invariants, kept incrementally: O(accounts touched) per entry."""
        rules = self.book.rules
        assert rules is not None
        changed: set[str] = set()
        for acct in touched:
            old_balance, old_pending = before.get(acct.id, (0, 0))
            d_balance = acct.balance - old_balance
            d_pending = (acct.debits_pending - acct.credits_pending) - old_pending
            if d_balance or d_pending:
                changed.add(acct.token)
                self.net[acct.token] = self.net.get(acct.token, 0) + d_balance
                self.pending_net[acct.token] = self.pending_net.get(acct.token, 0) + d_pending
                if rules.issuers.get(acct.token) != acct.id:
                    self.held[acct.token] = self.held.get(acct.token, 0) + d_balance
            if acct.flags & NO_OVERDRAFT and (acct.available < 0 or acct.balance < 0):
                raise _Bad(seq, f"account {acct.id} is below zero ({acct.balance}, available {acct.available})")
        for token in changed:
            if self.net[token] != 0 or self.pending_net[token] != 0:
                raise _Bad(
                    seq,
                    f"{token} balances sum to {self.net[token]} (pending {self.pending_net[token]}), not 0",
                )
            issuer = self.book.accounts.get(rules.issuers.get(token, ""))
            if issuer is not None and self.held.get(token, 0) != issuer.debits_posted - issuer.credits_posted:
                raise _Bad(
                    seq,
                    f"{token} in circulation ({self.held.get(token, 0)}) is not issued less retired "
                    f"({issuer.debits_posted} - {issuer.credits_posted})",
                )

    def totals(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        rules = self.book.rules
        if rules is None:
            return out
        for token, issuer_id in rules.issuers.items():
            issuer = self.book.accounts.get(issuer_id)
            held = sum(a.balance for a in self.book.accounts.values() if a.token == token and a.id != issuer_id)
            out[token] = {
                "issued": issuer.debits_posted if issuer else 0,
                "retired": issuer.credits_posted if issuer else 0,
                "in_circulation": held,
            }
        return out


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
    replay = _Replay()
    report = VerifyReport(ok=False)
    executor = _default_executor(workers)
    loop = asyncio.get_running_loop()
    try:
        async with db.snapshot() as snap:
            try:
                # Why the type checks here and in _read_chunk/_check_tables: SQLite keeps a value of any
                # type in any column, and such tampering (a text seq, an entry stored as text, no head
                # row) used to crash verify with a ValueError/TypeError/IndexError instead of reporting it
                # (tests/integration/test_tamper.py::test_values_of_the_wrong_type_are_reported_not_crashed_on).
                head_rows = await snap.fetch("SELECT size, last_hash, frontier FROM ledger_head WHERE id = 1")
                if not head_rows or _whole(head_rows[0][0]) is None:
                    raise _Bad(None, "the ledger_head row is missing or its size is not a whole number")
                head_size = int(head_rows[0][0])
                checkpoints, checkpoint_problems = await _checkpoint_sizes(snap)
                replay.checkpoint_sizes = set(checkpoints)
                count_rows = await snap.fetch("SELECT COUNT(*), MAX(seq) FROM ledger_entries")
                stored = int(count_rows[0][0])
                total = max(stored, head_size)
                report.size = head_size
                start = 0
                pending_chunk = await _read_chunk(snap, start)
                while pending_chunk:
                    chunk = pending_chunk
                    sig_futures = submit_signatures(loop, executor, replay, chunk, workers)
                    next_start = chunk[-1][0] + 1
                    pending_chunk = await _read_chunk(snap, next_start)
                    await judge_chunk(sig_futures, functools.partial(_replay_rows, replay, chunk))
                    if progress:
                        progress(replay.next_seq, total)
                if replay.next_seq != head_size:
                    raise _Bad(
                        replay.next_seq if replay.next_seq < head_size else head_size,
                        f"the head says {head_size} entries but {replay.next_seq} are stored",
                    )
                if _blob(head_rows[0][1]) != replay.prev or _blob(head_rows[0][2]) != replay.frontier.to_bytes():
                    raise _Bad(head_size - 1 if head_size else None, "the head row does not match the chain")
                if checkpoint_problems:
                    raise _Bad(None, checkpoint_problems[0])
                report.checkpoints = await _check_checkpoints(snap, origin, replay, checkpoints)
                await _check_tables(snap, replay)
            except _Bad as bad:
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


def _peek_operator(chunk: list[tuple[int, bytes | None]]) -> bytes | None:
    """The operator key from a genesis entry at the start of a chunk (for countersignatures in it)."""
    if chunk and chunk[0][0] == 0 and chunk[0][1] is not None:
        try:
            action = Action.decode(split_entry(chunk[0][1]).action_bytes)
            rules = action.body.get("rules", {})
            return unb64(rules.get("operator"), "operator", 32)
        except (ChestnutError, AttributeError):
            return None
    return None


def _replay_rows(replay: _Replay, rows: list[Row]) -> None:
    for row in rows:
        replay.entry(*row)


async def judge_chunk(
    sig_futures: list[asyncio.Future[tuple[int, str] | None]], replay_chunk: Callable[[], object]
) -> None:
    """Replay a chunk here while the workers check its signatures; raise the *first* problem of either.

    Shared by ``verify_ledger`` and the replica's follower (``ledger.replica.follower``), so both judge
    an entry by exactly the same checks.
    """
    main_problem: _Bad | None = None
    try:
        replay_chunk()
    except _Bad as bad:
        main_problem = bad
    sig_problems = [p for p in await asyncio.gather(*sig_futures) if p is not None]
    candidates = [(s, p) for s, p in sig_problems]
    if main_problem is not None:
        candidates.append((main_problem.seq if main_problem.seq is not None else 0, main_problem.problem))
    if candidates:
        seq, problem = min(candidates, key=lambda c: c[0])
        raise _Bad(seq, problem)


_IN_FORCE = object()


def operator_hint(replay: _Replay, chunk: Sequence[tuple[int, bytes | None]]) -> bytes | None:
    """The operator key expected after ``chunk`` (not yet replayed): the one in force, or the genesis's."""
    return replay.book.rules.operator_key if replay.book.rules else _peek_operator(list(chunk))


def submit_signatures(
    loop: asyncio.AbstractEventLoop,
    executor: Executor | None,
    replay: _Replay,
    chunk: Sequence[tuple[int, bytes | None]] | Sequence[Row],
    workers: int,
    *,
    operator: object = _IN_FORCE,
) -> list[asyncio.Future[tuple[int, str] | None]]:
    """Hand a chunk's canonical-form and signature checks to the workers (rows start ``(seq, _, entry)``
    or are ``(seq, entry)`` pairs); the operator key is the one in force after the entries before it,
    unless the caller passes the one it expects (a follower submitting a chunk ahead: see ``operator_hint``).
    """
    rows = [(row[0], row[2] if len(row) > 2 else row[1]) for row in chunk]
    if operator is _IN_FORCE:
        operator = replay.book.rules.operator_key if replay.book.rules else _peek_operator(rows)
    assert operator is None or isinstance(operator, bytes)
    entries = [entry if entry is not None else b"" for _seq, entry in rows]  # b"": no entry, reported as such
    first = rows[0][0]
    if executor is None:
        fut: asyncio.Future[tuple[int, str] | None] = loop.create_future()
        fut.set_result(check_signatures(first, entries, operator))
        return [fut]
    parts = max(1, workers)
    step = (len(entries) + parts - 1) // parts
    return [
        loop.run_in_executor(executor, check_signatures, first + i, entries[i : i + step], operator)
        for i in range(0, len(entries), step)
    ]


Row = tuple[int, bytes | None, bytes | None, Any, bytes | None, bytes | None]


async def _read_chunk(snap: UnitOfWork, start: int) -> list[Row]:
    rows = await snap.fetch(
        "SELECT seq, leaf_hash, entry, kind, actor, nodes FROM ledger_entries WHERE seq >= :start "
        "ORDER BY seq LIMIT :limit",
        {"start": start, "limit": CHUNK},
    )
    # A row whose seq is not a whole number is no entry: the gap it leaves is reported where it is.
    # (On SQLite such a seq sorts after every number, so it never hides the entries after it.)
    return [(s, _blob(lh), _blob(e), k, _blob(a), _blob(n)) for s, lh, e, k, a, n in rows if _whole(s) is not None]


async def _check_checkpoints(
    snap: UnitOfWork, origin: str, replay: _Replay, checkpoints: dict[int, tuple[bytes | None, str]]
) -> int:
    rules = replay.book.rules
    if rules is None:
        if checkpoints:
            raise _Bad(None, "checkpoints exist but the ledger has no genesis")
        return 0
    log_key = parse_verifier_key(verifier_key(origin, rules.ledger_key))
    for size, (root, note) in sorted(checkpoints.items()):
        expected = replay.roots.get(size)
        if expected is None:
            raise _Bad(size - 1, f"checkpoint of size {size} is beyond the ledger")
        if root != expected:
            raise _Bad(size - 1, f"checkpoint of size {size} has the wrong Merkle root")
        try:
            opened = open_note(note, [log_key])
            cp = Checkpoint.parse(opened.text)
        except ChestnutError as exc:
            raise _Bad(size - 1, f"checkpoint of size {size}: {exc.message}") from None
        if (cp.origin, cp.size, cp.root_hash) != (origin, size, expected):
            raise _Bad(size - 1, f"checkpoint note of size {size} does not say what its row says")
    return len(checkpoints)


async def _check_tables(snap: UnitOfWork, replay: _Replay) -> None:
    """The derived tables must be exactly what the replay produced (a changed balance is tampering too)."""
    rows = await snap.fetch(
        "SELECT id, token, flags, owner, debits_posted, credits_posted, debits_pending, credits_pending "
        "FROM ledger_accounts"
    )
    accounts = replay.book.accounts
    if len(rows) != len(accounts):
        raise _Bad(None, f"{len(rows)} accounts stored, {len(accounts)} opened by the ledger")
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
            raise _Bad(acct.opened_seq if acct else None, f"stored account {row[0]} differs from the ledger")
    rows = await snap.fetch("SELECT id, seq, amount, state FROM ledger_transfers")
    transfers = replay.book.transfers
    if len(rows) != len(transfers):
        raise _Bad(None, f"{len(rows)} transfers stored, {len(transfers)} made by the ledger")
    for tid, seq, amount, state in rows:
        t = transfers.get(tid)
        if t is None or (t.seq, t.amount, t.state) != (_whole(seq), _whole(amount), state):
            raise _Bad(_whole(seq), f"stored transfer {tid} differs from the ledger")
    rows = await snap.fetch("SELECT public_key, last_seq FROM ledger_actors")
    if {_blob(pk): _whole(s) for pk, s in rows} != replay.actor_seq:
        raise _Bad(None, "stored actor sequence numbers differ from the ledger")


# Public names for the replica's follower, which judges fetched entries with these very checks.
Replay = _Replay
Bad = _Bad
