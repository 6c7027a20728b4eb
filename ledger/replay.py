"""Replaying entries: the checks every entry must pass, in order, shared by ``chestnut ledger verify``
(``ledger.verify``, over the stored entries) and a replica following another node
(``ledger.replica.follower``, over the entries it fetches), so both judge an entry by the very same code.

For every entry: the sequence numbers are contiguous, ``prev`` is the leaf hash of the entry before,
the leaf hash is ``SHA256(0x00 || entry)`` (RFC 9162), the Merkle nodes are the ones the entry
completes, the action is canonical JSON (RFC 8785) signed by its actor (and countersigned by the
operator where it says so), each actor's sequence goes up by one, and the money rules hold when the
action is replayed (``ledger.book``). After every entry the invariants of ARCHITECTURE.md are checked:
per token all balances sum to zero, BTL in circulation equals cash received less cash paid out, and no
non-issuer account is below zero.

Signature checks are the expensive part (~38 µs each), so they run in worker processes while this
process replays; a chunk's results are joined before the next chunk is judged, so the first problem
reported is always the *first* bad entry.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from ledger import merkle
from ledger.book import NO_OVERDRAFT, AccountState, Book
from ledger.canonical import canonical_json
from ledger.errors import ChestnutError
from ledger.model import ACTION_PREFIX, COUNTERSIGN_PREFIX, GENESIS_PREV, Action, encode_entry, split_entry, unb64

__all__ = ["Bad", "Replay", "StoredEntry", "check_signatures", "judge_chunk", "operator_hint", "submit_signatures"]

# A stored entry as verify reads it: seq, leaf hash, entry bytes, kind, actor, Merkle nodes (None where
# the column holds a value of another type).
StoredEntry = tuple[int, bytes | None, bytes | None, Any, bytes | None, bytes | None]


class Bad(Exception):
    """The first problem found, and the entry it is at (None when it is no one entry's)."""

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


class Replay:
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
            raise Bad(self.next_seq, f"entry {self.next_seq} is missing (next stored entry is {seq})")
        if leaf_hash is None or entry is None or actor is None or nodes is None or not isinstance(kind, str):
            raise Bad(seq, "a stored column of this entry holds a value of the wrong type")
        self._apply(seq, entry, (leaf_hash, kind, actor, nodes))

    def follow(self, entry: bytes) -> tuple[bytes, bytes]:
        """The next entry as fetched from another node (a replica following): the same checks, no stored
        columns to compare; returns the leaf hash and the Merkle nodes it completes, for the follower's store.
        """
        return self._apply(self.next_seq, entry, None)

    def _apply(self, seq: int, entry: bytes, stored: tuple[bytes, Any, bytes, bytes] | None) -> tuple[bytes, bytes]:
        computed = merkle.leaf_hash(entry)
        if stored is not None and computed != stored[0]:
            raise Bad(seq, "stored leaf hash does not match SHA256(0x00 || entry bytes)")
        try:
            parts = split_entry(entry)
            action = Action.decode(parts.action_bytes)
        except ChestnutError as exc:
            raise Bad(seq, f"malformed entry: {exc.message}") from None
        if parts.seq != seq:
            raise Bad(seq, f"entry says it is number {parts.seq}")
        if parts.prev != self.prev:
            raise Bad(seq, "prev does not link to the previous entry's leaf hash")
        if stored is not None and (stored[1] != action.kind or stored[2] != action.actor):
            raise Bad(seq, "stored kind/actor columns do not match the entry")
        # Why: the parsed fields do not pin the bytes (base64 with non-zero padding bits decodes to the
        # same signature or hash), so an entry re-encoded without changing what it says used to verify,
        # with another leaf hash (tests/integration/test_tamper.py::test_reencoded_entry_is_caught_at_that_entry).
        # Only the one encoding the writer produces is accepted.
        try:
            canonical = encode_entry(parts.seq, parts.prev, parts.action_bytes, parts.sig, parts.cosig)
        except ChestnutError as exc:
            raise Bad(seq, f"malformed entry: {exc.message}") from None
        if canonical != entry:
            raise Bad(seq, "the entry bytes are not the canonical encoding of its fields")
        expected_seq = self.actor_seq.get(action.actor, 0) + 1
        if action.seq != expected_seq:
            raise Bad(seq, f"actor sequence {action.seq}, expected {expected_seq} (replay or gap)")
        completed = self.frontier.append(computed)
        nodes = b"".join(h for _level, _index, h in completed)
        if stored is not None and stored[3] != nodes:
            raise Bad(seq, "stored Merkle nodes do not match the tree")
        if parts.cosig is not None and (self.book.rules is None):
            raise Bad(seq, "countersignature before the genesis")
        before = {}
        for t in action.transfers:
            for account_id in (t.debit, t.credit):
                acct = self.book.accounts.get(account_id)
                if acct is not None and account_id not in before:
                    before[account_id] = (acct.balance, acct.debits_pending - acct.credits_pending)
        try:
            touched = self.book.apply(action, seq, countersigned=parts.cosig is not None)
        except ChestnutError as exc:
            raise Bad(seq, f"money rules refuse this entry: {exc.message}") from None
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
                raise Bad(seq, f"account {acct.id} is below zero ({acct.balance}, available {acct.available})")
        for token in changed:
            if self.net[token] != 0 or self.pending_net[token] != 0:
                raise Bad(
                    seq,
                    f"{token} balances sum to {self.net[token]} (pending {self.pending_net[token]}), not 0",
                )
            issuer = self.book.accounts.get(rules.issuers.get(token, ""))
            if issuer is not None and self.held.get(token, 0) != issuer.debits_posted - issuer.credits_posted:
                raise Bad(
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


async def judge_chunk(
    sig_futures: list[asyncio.Future[tuple[int, str] | None]], replay_chunk: Callable[[], object]
) -> None:
    """Replay a chunk here while the workers check its signatures; raise the *first* problem of either.

    Shared by ``verify_ledger`` and the replica's follower (``ledger.replica.follower``), so both judge
    an entry by exactly the same checks.
    """
    main_problem: Bad | None = None
    try:
        replay_chunk()
    except Bad as bad:
        main_problem = bad
    sig_problems = [p for p in await asyncio.gather(*sig_futures) if p is not None]
    candidates = [(s, p) for s, p in sig_problems]
    if main_problem is not None:
        candidates.append((main_problem.seq if main_problem.seq is not None else 0, main_problem.problem))
    if candidates:
        seq, problem = min(candidates, key=lambda c: c[0])
        raise Bad(seq, problem)


_IN_FORCE = object()


def operator_hint(replay: Replay, chunk: Sequence[tuple[int, bytes | None]]) -> bytes | None:
    """The operator key expected after ``chunk`` (not yet replayed): the one in force, or the genesis's."""
    return replay.book.rules.operator_key if replay.book.rules else _peek_operator(list(chunk))


def submit_signatures(
    loop: asyncio.AbstractEventLoop,
    executor: Executor | None,
    replay: Replay,
    chunk: Sequence[tuple[int, bytes | None]] | Sequence[StoredEntry],
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
