"""The append path: requests signed, applied to the accounts and chained, in named steps.

``prepare`` does all of an append but the writing: it finds the signers' keys, reads in one batch
what the requests touch (the head row, locked on PostgreSQL; the actors, accounts, transfers and
idempotency keys), signs each action, applies it to the accounts (refusing any transfer that would
overdraw or that its signer may not make), chains the entry and adds it to the Merkle tree. It returns
the answers and the ledger's writes; the caller runs those in the same unit of work, with rows of its
own in the same batch. So an append is two round trips: one batch of reads, one of writes.

Retries are answered, not refused: a request whose transfer ids (or idempotency key) were already
recorded with the same content returns the first result with ``existing=True``; the same ids with
other content are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from ledger import merkle, rows
from ledger.book import Book
from ledger.canonical import parse_canonical
from ledger.errors import BadSignature, IdempotencyConflict, SequenceReplay, TransferExists, UnknownKey
from ledger.keys import ROLE_OPERATOR, CustodialKey, KeyStore
from ledger.model import ACTION_PREFIX, COUNTERSIGN_PREFIX, Action, check_kind, encode_entry
from ledger.requests import Prepared, Recorded, Request, SignedAction, request_hash
from ledger.storage.ops import Op, read, write_many
from ledger.storage.unit_of_work import UnitOfWork

Item = Request | SignedAction


@dataclass(slots=True)
class _Asked:
    """What one call asks: the signers' keys, the self-signed actions parsed, every row the rules need."""

    keys: dict[str, CustodialKey]
    presigned: dict[int, Action]  # by id() of the SignedAction
    actor_keys: set[bytes] = field(default_factory=set)
    account_ids: set[str] = field(default_factory=set)
    transfer_ids: set[str] = field(default_factory=set)
    idempotency_keys: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _State:
    """The ledger as the call found it; the call's entries move it on as they are chained."""

    head: rows.Head
    book: Book
    last_seq: dict[bytes, int]
    last_entry: dict[bytes, int | None]
    idempotency: dict[str, tuple[bytes, int]]


@dataclass(slots=True)
class _Chain:
    """The entries this call appends, their answers, and where the chain and the tree stand after them."""

    size: int
    prev: bytes
    frontier: merkle.Frontier
    entry_rows: list[dict[str, Any]] = field(default_factory=list)
    new_idempotency: list[dict[str, Any]] = field(default_factory=list)
    out: list[Recorded] = field(default_factory=list)
    leaf_of_new: dict[int, bytes] = field(default_factory=dict)


async def prepare(uow: UnitOfWork, keys: KeyStore, clock: Callable[[], int], items: Sequence[Item]) -> Prepared:
    """Decide an append of ``items`` in ``uow``: the answers, and the writes that make them true."""
    asked = await _ask(uow, keys, items)
    state = await _read_state(uow, asked)
    chain = _Chain(state.head.size, state.head.last_hash, state.head.frontier.copy())
    for item in items:
        if isinstance(item, Request):
            earlier = _earlier_result(item, state, asked.keys[item.actor].public_key)
            if earlier is not None:
                chain.out.append(Recorded(earlier, chain.leaf_of_new.get(earlier, b""), item.kind, existing=True))
                continue
            action, action_bytes, sig, cosig = _sign(item, asked.keys, state.last_seq, clock)
        else:
            action = asked.presigned[id(item)]
            _check_next(action, state.last_seq)
            action_bytes, sig, cosig = item.action_bytes, item.signature, None
        _chain_entry(chain, state, item, action, action_bytes, sig, cosig)
    recorded = await _answer_retries(uow, chain)
    if chain.size == state.head.size:
        return Prepared(recorded, [])
    return Prepared(recorded, _writes(state, chain))


async def _ask(uow: UnitOfWork, keys: KeyStore, items: Sequence[Item]) -> _Asked:
    """Refuse what a verifier would refuse before anything is read or signed; find the signers' keys."""
    requests = [i for i in items if isinstance(i, Request)]
    for r in requests:
        check_kind(r.kind)
    presigned = {id(i): parse_signed(i) for i in items if isinstance(i, SignedAction)}
    labels = {r.actor for r in requests}
    if any(r.countersign for r in requests):
        labels.add(ROLE_OPERATOR)
    found = await keys.find(uow, sorted(labels))
    for label in labels:
        if label not in found:
            raise UnknownKey(f"no custodial key is registered for {label!r}", label=label)
    asked = _Asked(found, presigned)
    asked.actor_keys = {found[r.actor].public_key for r in requests} | {a.actor for a in presigned.values()}
    asked.idempotency_keys = sorted({r.idempotency_key for r in requests if r.idempotency_key})
    for transfers, accounts in [(r.transfers, r.accounts) for r in requests] + [
        (a.transfers, a.accounts) for a in presigned.values()
    ]:
        for t in transfers:
            asked.account_ids.add(t.debit)
            asked.account_ids.add(t.credit)
            asked.transfer_ids.add(t.id)
            if t.pending_id:
                asked.transfer_ids.add(t.pending_id)
        if accounts:
            asked.account_ids.update(a.id for a in accounts)
    return asked


async def _read_state(uow: UnitOfWork, asked: _Asked) -> _State:
    """One batch: the head (locked), the actors' last entries, the accounts, transfers and idempotency keys."""
    ops = [read(f"SELECT {rows.HEAD_COLUMNS} FROM ledger_head WHERE id = 1{uow.for_update}")]
    actor_ops = rows.reads_in(
        "SELECT public_key, last_seq, last_entry FROM ledger_actors WHERE public_key IN {in}", sorted(asked.actor_keys)
    )
    account_ops = rows.reads_in(
        f"SELECT {rows.ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id IN {{in}}", sorted(asked.account_ids)
    )
    transfer_ops = rows.reads_in(
        f"SELECT {rows.TRANSFER_COLUMNS} FROM ledger_transfers WHERE id IN {{in}}", sorted(asked.transfer_ids)
    )
    idempotency_ops = rows.reads_in(
        "SELECT key, request_hash, seq FROM ledger_idempotency WHERE key IN {in}", asked.idempotency_keys
    )
    results = iter(await uow.batch([*ops, *actor_ops, *account_ops, *transfer_ops, *idempotency_ops]))
    head = rows.head(next(results)[0])
    state = _State(head, Book(rules=head.rules), {}, {}, {})
    for _ in actor_ops:
        for pk, s, e in next(results):
            state.last_seq[bytes(pk)] = int(s)
            state.last_entry[bytes(pk)] = None if e is None else int(e)
    for _ in account_ops:
        for row in next(results):
            state.book.accounts[row[0]] = rows.account(row)
    for _ in transfer_ops:
        for row in next(results):
            state.book.transfers[row[0]] = rows.transfer(row)
    for _ in idempotency_ops:
        state.idempotency.update((k, (bytes(h), int(s))) for k, h, s in next(results))
    return state


def parse_signed(signed: SignedAction) -> Action:
    """A self-signed action, checked: canonical JSON, a well-formed action, its actor's signature."""
    parse_canonical(signed.action_bytes)  # refuses anything but canonical JSON
    action = Action.decode(signed.action_bytes)
    if len(signed.signature) != 64:
        raise BadSignature("an Ed25519 signature is 64 bytes")
    try:
        VerifyKey(action.actor).verify(ACTION_PREFIX + signed.action_bytes, signed.signature)
    except BadSignatureError:
        raise BadSignature("the signature does not match the action and its actor's key") from None
    return action


def _earlier_result(req: Request, state: _State, actor: bytes) -> int | None:
    """The entry that already answered this request, if it is a retry."""
    if req.idempotency_key and req.idempotency_key in state.idempotency:
        digest, seq = state.idempotency[req.idempotency_key]
        if digest != request_hash(req):
            raise IdempotencyConflict("this idempotency key was used for a different request", key=req.idempotency_key)
        return seq
    seen = [state.book.transfers.get(t.id) for t in req.transfers]
    if not any(seen):
        return None
    seqs = {s.seq for s in seen if s is not None}
    if (
        all(s is not None and s.same_request(t) and s.actor == actor for s, t in zip(seen, req.transfers, strict=True))
        and len(seqs) == 1
    ):
        return seqs.pop()
    reused = [t.id for s, t in zip(seen, req.transfers, strict=True) if s is not None]
    raise TransferExists(f"transfer id(s) {', '.join(reused)} were already used for other transfers", transfers=reused)


def _sign(
    req: Request, keys: dict[str, CustodialKey], last_seq: dict[bytes, int], clock: Callable[[], int]
) -> tuple[Action, bytes, bytes, bytes | None]:
    """The request as its actor's next action: the action, its bytes, the signature, the countersignature."""
    key = keys[req.actor]
    action = Action(
        kind=req.kind,
        actor=key.public_key,
        seq=last_seq.get(key.public_key, 0) + 1,
        time=clock(),
        body=dict(req.body),
        accounts=tuple(req.accounts),
        transfers=tuple(req.transfers),
    )
    action_bytes = action.encode()
    sig = key.sign(ACTION_PREFIX + action_bytes)
    cosig = keys[ROLE_OPERATOR].sign(COUNTERSIGN_PREFIX + action_bytes) if req.countersign else None
    return action, action_bytes, sig, cosig


def _check_next(action: Action, last_seq: dict[bytes, int]) -> None:
    """A self-signed action must be its actor's next one: no replay, no gap."""
    expected = last_seq.get(action.actor, 0) + 1
    if action.seq != expected:
        raise SequenceReplay(
            f"actor sequence {action.seq} is not the next one ({expected})", expected=expected, found=action.seq
        )


def _chain_entry(
    chain: _Chain, state: _State, item: Item, action: Action, action_bytes: bytes, sig: bytes, cosig: bytes | None
) -> None:
    """Apply the action to the accounts, then make it the next entry of the chain and leaf of the tree."""
    size = chain.size
    state.book.apply(action, size, countersigned=cosig is not None)
    entry = encode_entry(size, chain.prev, action_bytes, sig, cosig)
    leaf = merkle.leaf_hash(entry)
    nodes = chain.frontier.append(leaf)
    chain.entry_rows.append(
        {
            "seq": size,
            "leaf": leaf,
            "entry": entry,
            "kind": action.kind,
            "actor": action.actor,
            "nodes": b"".join(h for _level, _index, h in nodes),
            "prev": state.last_entry.get(action.actor),
        }
    )
    state.last_entry[action.actor] = size
    if isinstance(item, Request) and item.idempotency_key:
        state.idempotency[item.idempotency_key] = (request_hash(item), size)
        chain.new_idempotency.append({"key": item.idempotency_key, "hash": request_hash(item), "seq": size})
    state.last_seq[action.actor] = action.seq
    chain.out.append(Recorded(size, leaf, action.kind))
    chain.leaf_of_new[size] = leaf
    chain.prev = leaf
    chain.size = size + 1


async def _answer_retries(uow: UnitOfWork, chain: _Chain) -> list[Recorded]:
    """The answers, a retry's made whole from the entry that first answered it (one read, retries only)."""
    # Why: a retry answered by an entry of an earlier call came back with an empty leaf hash (only
    # this call's entries were at hand); a retry must get the first result whole (test_ledger_service.py::
    # test_retry_with_same_fields_answers_the_first_result_and_changes_nothing).
    out = chain.out
    earlier_seqs = sorted({r.seq for r in out if r.existing and r.seq not in chain.leaf_of_new})
    kinds = {row["seq"]: row["kind"] for row in chain.entry_rows}
    if earlier_seqs:
        found: dict[int, bytes] = {}
        for found_rows in await uow.batch(
            rows.reads_in("SELECT seq, leaf_hash, kind FROM ledger_entries WHERE seq IN {in}", earlier_seqs)
        ):
            found.update((int(s), bytes(h)) for s, h, _k in found_rows)
            kinds.update((int(s), k) for s, _h, k in found_rows)
        out = [replace(r, leaf_hash=found[r.seq]) if r.existing and r.seq in found else r for r in out]
    # A retry is the same request again: the same transfers *and* the same kind of action (and, checked
    # in _earlier_result, the same signer). Otherwise another action — a cancel after a refund that
    # built the same void — would be answered as done while its own effects were never applied.
    for answered in out:
        if answered.existing and kinds.get(answered.seq, answered.kind) != answered.kind:
            raise TransferExists(
                f"the transfers of this {answered.kind} were already made by a {kinds[answered.seq]} "
                f"(entry {answered.seq})",
                seq=answered.seq,
            )
    return out


def _writes(state: _State, chain: _Chain) -> list[Op]:
    """The append's one batch of writes: entries, actors, accounts, transfers, idempotency keys, head."""
    touched_actors = {r["actor"] for r in chain.entry_rows}
    ops = [
        write_many(
            "INSERT INTO ledger_entries (seq, leaf_hash, entry, kind, actor, nodes, actor_prev) "
            "VALUES (:seq, :leaf, :entry, :kind, :actor, :nodes, :prev)",
            chain.entry_rows,
        ),
        write_many(
            "INSERT INTO ledger_actors (public_key, last_seq, last_entry) VALUES (:pk, :seq, :last) "
            "ON CONFLICT (public_key) DO UPDATE SET last_seq = excluded.last_seq, last_entry = excluded.last_entry",
            [{"pk": pk, "seq": state.last_seq[pk], "last": state.last_entry[pk]} for pk in touched_actors],
        ),
        *rows.account_writes(state.book),
        *rows.transfer_writes(state.book),
    ]
    if chain.new_idempotency:
        ops.append(
            write_many(
                "INSERT INTO ledger_idempotency (key, request_hash, seq) VALUES (:key, :hash, :seq)",
                chain.new_idempotency,
            )
        )
    ops.append(rows.head_write(state.book, chain.size, chain.prev, chain.frontier))
    return ops
