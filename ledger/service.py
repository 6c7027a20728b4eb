"""The ledger service: the one call every other package uses to write, and the reads behind proofs.

``await ledger.record(uow, Request(...))`` signs the action with the actor's custodial key, applies its
transfers to the accounts (refusing any that would overdraw or that the signer may not make), and
appends the entry to the hash chain and Merkle tree — all inside the caller's unit of work, so the
action is on the ledger with all its effects when the caller commits, or not at all.
``record_many`` is the batch form: many entries, one transaction, the same rules.

Each call is two round trips to the database: one batch of reads (the head row, locked on
PostgreSQL; the actors, accounts and transfers involved) and one batch of writes.

Retries are answered, not refused: a request whose transfer ids (or idempotency key) were already
recorded with the same content returns the first result with ``existing=True``; the same ids with
other content are refused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ledger import merkle
from ledger.book import GENESIS_KIND, AccountState, Book, Rules, TransferState, genesis_body
from ledger.canonical import canonical_json, parse_canonical
from ledger.checkpoint import Checkpoint
from ledger.errors import (
    BadSignature,
    IdempotencyConflict,
    LedgerNotEmpty,
    MalformedAction,
    NotFound,
    ProofError,
    SequenceReplay,
    TransferExists,
    UnknownKey,
)
from ledger.keys import ROLE_LEDGER, ROLE_OPERATOR, CustodialKey, KeyStore, NamedSigner
from ledger.model import (
    ACTION_PREFIX,
    COUNTERSIGN_PREFIX,
    AccountSpec,
    Action,
    Transfer,
    check_kind,
    encode_entry,
)
from ledger.note import sign_note
from ledger.receipt import format_receipt
from ledger.storage.ops import Op, Row, in_clause, read, write, write_many
from ledger.storage.unit_of_work import Database, UnitOfWork

ISSUERS = {"BTL": "reserve:cash", "BNM": "treasury:bnm"}
_IN_CHUNK = 400  # parameters per IN list, well under SQLite's and asyncpg's limits


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Request:
    """What a service asks the ledger to record. ``actor`` is the custodial key's label."""

    actor: str
    kind: str
    body: Mapping[str, Any] = field(default_factory=dict)
    transfers: Sequence[Transfer] = ()
    accounts: Sequence[AccountSpec] = ()
    countersign: bool = False
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class SignedAction:
    """An action signed outside the key store (a member holding their own key)."""

    action_bytes: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class Recorded:
    seq: int
    leaf_hash: bytes
    kind: str
    existing: bool = False


@dataclass(frozen=True, slots=True)
class Head:
    size: int
    last_hash: bytes
    frontier: merkle.Frontier
    rules: Rules | None


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


@functools.lru_cache(maxsize=256)
def _with_in(sql: str, clause: str) -> str:
    return sql.replace("{in}", clause)


def _reads_in(sql: str, values: Sequence[Any]) -> list[Op]:
    """``sql`` with an ``{in}`` placeholder, split into IN lists of a safe length."""
    ops = []
    for part in _chunks(values):
        clause, params = in_clause("v", part)
        ops.append(read(_with_in(sql, clause), params))
    return ops


_ACCOUNT_COLUMNS = "id, token, flags, owner, debits_posted, credits_posted, debits_pending, credits_pending, opened_seq"
_TRANSFER_COLUMNS = "id, seq, type, debit, credit, token, amount, pending_id, state, timeout_ms, actor"


def _account(row: Row) -> AccountState:
    return AccountState(
        row[0], row[1], int(row[2]), None if row[3] is None else bytes(row[3]), *(int(v) for v in row[4:9])
    )


def _transfer(row: Row) -> TransferState:
    return TransferState(
        row[0],
        int(row[1]),
        row[2],
        row[3],
        row[4],
        row[5],
        int(row[6]),
        row[7],
        row[8],
        None if row[9] is None else int(row[9]),
        bytes(row[10]),
    )


def _account_row(a: AccountState) -> dict[str, Any]:
    return {
        "id": a.id,
        "token": a.token,
        "flags": a.flags,
        "owner": a.owner,
        "dp": a.debits_posted,
        "cp": a.credits_posted,
        "dpe": a.debits_pending,
        "cpe": a.credits_pending,
        "seq": a.opened_seq,
    }


@functools.lru_cache(maxsize=8)
def _rules_of(text: str) -> Rules:
    """The ledger's rules as the head row stores them: parsed once per text, not on every append (they
    change only with a ledger.rules entry; the parse was ~4 % of a market order)."""
    return Rules.from_json(json.loads(text))


def _request_hash(req: Request) -> bytes:
    return hashlib.sha256(
        canonical_json(
            {
                "accounts": [a.to_json() for a in req.accounts],
                "actor": req.actor,
                "body": dict(req.body),
                "kind": req.kind,
                "transfers": [t.to_json() for t in req.transfers],
            }
        )
    ).digest()


class Ledger:
    """Signs, applies and appends; serves checkpoints and proofs. One per process, built by bootstrap."""

    def __init__(self, keys: KeyStore, origin: str, *, clock: Callable[[], int] = now_ms) -> None:
        self.keys = keys
        self.origin = origin
        self._clock = clock

    # ------------------------------------------------------------------------------------- writing

    async def initialize(self, uow: UnitOfWork, *, operator_debit_kinds: Iterable[str] = ()) -> bool:
        """Create the system keys and the genesis entry on an empty ledger. True if it did."""
        head = await self.head(uow)
        if head.size:
            return False
        ledger_key = await self.keys.create(uow, ROLE_LEDGER)
        operator_key = await self.keys.create(uow, ROLE_OPERATOR)
        rules = Rules(ledger_key.public_key, operator_key.public_key, dict(ISSUERS), frozenset(operator_debit_kinds))
        await self.record(
            uow,
            Request(
                actor=ROLE_LEDGER,
                kind=GENESIS_KIND,
                body=genesis_body(rules, self.origin),
                accounts=[AccountSpec(account, token) for token, account in ISSUERS.items()],
            ),
        )
        return True

    async def record(
        self, uow: UnitOfWork, request: Request, *, then: Callable[[list[Recorded]], Sequence[Op]] | None = None
    ) -> Recorded:
        return (await self.record_many(uow, [request], then=then))[0]

    async def submit(self, uow: UnitOfWork, signed: SignedAction) -> Recorded:
        """Append an action its actor signed themselves (checked: canonical, key, signature, sequence)."""
        return (await self._append(uow, [signed]))[0]

    async def record_many(
        self,
        uow: UnitOfWork,
        requests: Sequence[Request],
        *,
        then: Callable[[list[Recorded]], Sequence[Op]] | None = None,
    ) -> list[Recorded]:
        """Append many entries in the caller's transaction.

        ``then`` lets the caller write its own rows (which may name the new sequence numbers) in the
        same round trip as the ledger's writes — an order and the entry that proves it, together.
        """
        return await self._append(uow, requests, then)

    async def _append(
        self,
        uow: UnitOfWork,
        items: Sequence[Request | SignedAction],
        then: Callable[[list[Recorded]], Sequence[Op]] | None = None,
    ) -> list[Recorded]:
        requests = [i for i in items if isinstance(i, Request)]
        for r in requests:
            check_kind(r.kind)  # refuse what a verifier would refuse, before anything is read or signed
        presigned = {id(i): self._parse_signed(i) for i in items if isinstance(i, SignedAction)}
        labels = {r.actor for r in requests}
        if any(r.countersign for r in requests):
            labels.add(ROLE_OPERATOR)
        keys = await self.keys.find(uow, sorted(labels))
        for label in labels:
            if label not in keys:
                raise UnknownKey(f"no custodial key is registered for {label!r}", label=label)

        actor_keys = {keys[r.actor].public_key for r in requests} | {a.actor for a in presigned.values()}
        account_ids: set[str] = set()
        transfer_ids: set[str] = set()
        idem_keys = sorted({r.idempotency_key for r in requests if r.idempotency_key})
        for transfers, accounts in [(r.transfers, r.accounts) for r in requests] + [
            (a.transfers, a.accounts) for a in presigned.values()
        ]:
            for t in transfers:
                account_ids.add(t.debit)
                account_ids.add(t.credit)
                transfer_ids.add(t.id)
                if t.pending_id:
                    transfer_ids.add(t.pending_id)
            if accounts:
                account_ids.update(a.id for a in accounts)

        ops = [read(f"SELECT size, last_hash, frontier, rules FROM ledger_head WHERE id = 1{uow.for_update}")]
        ops += _reads_in(
            "SELECT public_key, last_seq, last_entry FROM ledger_actors WHERE public_key IN {in}", sorted(actor_keys)
        )
        n_actor_ops = len(ops) - 1
        ops += _reads_in(f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id IN {{in}}", sorted(account_ids))
        n_account_ops = len(ops) - 1 - n_actor_ops
        ops += _reads_in(f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfers WHERE id IN {{in}}", sorted(transfer_ids))
        n_transfer_ops = len(ops) - 1 - n_actor_ops - n_account_ops
        ops += _reads_in("SELECT key, request_hash, seq FROM ledger_idempotency WHERE key IN {in}", idem_keys)
        results = await uow.batch(ops)

        head = self._head_from_row(results[0][0])
        pos = 1
        last_seq: dict[bytes, int] = {}
        last_entry: dict[bytes, int | None] = {}
        for rows in results[pos : pos + n_actor_ops]:
            for pk, s, e in rows:
                last_seq[bytes(pk)] = int(s)
                last_entry[bytes(pk)] = None if e is None else int(e)
        pos += n_actor_ops
        book = Book(rules=head.rules)
        for rows in results[pos : pos + n_account_ops]:
            for row in rows:
                book.accounts[row[0]] = _account(row)
        pos += n_account_ops
        for rows in results[pos : pos + n_transfer_ops]:
            for row in rows:
                book.transfers[row[0]] = _transfer(row)
        pos += n_transfer_ops
        idempotency: dict[str, tuple[bytes, int]] = {}
        for rows in results[pos:]:
            idempotency.update((k, (bytes(h), int(s))) for k, h, s in rows)

        frontier = head.frontier.copy()
        prev = head.last_hash
        size = head.size
        entry_rows: list[dict[str, Any]] = []
        new_idempotency: list[dict[str, Any]] = []
        out: list[Recorded] = []
        leaf_of_new: dict[int, bytes] = {}

        for item in items:
            if isinstance(item, Request):
                earlier = self._earlier_result(item, book, idempotency, keys[item.actor].public_key)
                if earlier is not None:
                    out.append(Recorded(earlier, leaf_of_new.get(earlier, b""), item.kind, existing=True))
                    continue
                key = keys[item.actor]
                seq = last_seq.get(key.public_key, 0) + 1
                action = Action(
                    kind=item.kind,
                    actor=key.public_key,
                    seq=seq,
                    time=self._clock(),
                    body=dict(item.body),
                    accounts=tuple(item.accounts),
                    transfers=tuple(item.transfers),
                )
                action_bytes = action.encode()
                sig = key.sign(ACTION_PREFIX + action_bytes)
                cosig = keys[ROLE_OPERATOR].sign(COUNTERSIGN_PREFIX + action_bytes) if item.countersign else None
            else:
                action = presigned[id(item)]
                expected = last_seq.get(action.actor, 0) + 1
                if action.seq != expected:
                    raise SequenceReplay(
                        f"actor sequence {action.seq} is not the next one ({expected})",
                        expected=expected,
                        found=action.seq,
                    )
                action_bytes, sig, cosig = item.action_bytes, item.signature, None
            book.apply(action, size, countersigned=cosig is not None)
            entry = encode_entry(size, prev, action_bytes, sig, cosig)
            leaf = merkle.leaf_hash(entry)
            nodes = frontier.append(leaf)
            entry_rows.append(
                {
                    "seq": size,
                    "leaf": leaf,
                    "entry": entry,
                    "kind": action.kind,
                    "actor": action.actor,
                    "nodes": b"".join(h for _level, _index, h in nodes),
                    "prev": last_entry.get(action.actor),
                }
            )
            last_entry[action.actor] = size
            if isinstance(item, Request) and item.idempotency_key:
                idempotency[item.idempotency_key] = (_request_hash(item), size)
                new_idempotency.append({"key": item.idempotency_key, "hash": _request_hash(item), "seq": size})
            last_seq[action.actor] = action.seq
            out.append(Recorded(size, leaf, action.kind))
            leaf_of_new[size] = leaf
            prev = leaf
            size += 1

        # Why: a retry answered by an entry of an earlier call came back with an empty leaf hash (only
        # this call's entries were at hand); a retry must get the first result whole (test_ledger_service.py::
        # test_retry_with_same_fields_answers_the_first_result_and_changes_nothing). One read, retries only.
        earlier_seqs = sorted({r.seq for r in out if r.existing and r.seq not in leaf_of_new})
        kinds = {row["seq"]: row["kind"] for row in entry_rows}
        if earlier_seqs:
            found: dict[int, bytes] = {}
            for rows in await uow.batch(
                _reads_in("SELECT seq, leaf_hash, kind FROM ledger_entries WHERE seq IN {in}", earlier_seqs)
            ):
                found.update((int(s), bytes(h)) for s, h, _k in rows)
                kinds.update((int(s), k) for s, _h, k in rows)
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
        extra = list(then(out)) if then is not None else []
        if size == head.size:
            if extra:
                await uow.batch(extra)
            return out
        await uow.batch(
            [*self._writes(book, entry_rows, last_seq, last_entry, new_idempotency, size, prev, frontier), *extra]
        )
        return out

    def _parse_signed(self, signed: SignedAction) -> Action:
        parse_canonical(signed.action_bytes)  # refuses anything but canonical JSON
        action = Action.decode(signed.action_bytes)
        if len(signed.signature) != 64:
            raise BadSignature("an Ed25519 signature is 64 bytes")
        from nacl.exceptions import BadSignatureError
        from nacl.signing import VerifyKey

        try:
            VerifyKey(action.actor).verify(ACTION_PREFIX + signed.action_bytes, signed.signature)
        except BadSignatureError:
            raise BadSignature("the signature does not match the action and its actor's key") from None
        return action

    def _earlier_result(
        self, req: Request, book: Book, idempotency: dict[str, tuple[bytes, int]], actor: bytes
    ) -> int | None:
        """The entry that already answered this request, if it is a retry."""
        if req.idempotency_key and req.idempotency_key in idempotency:
            digest, seq = idempotency[req.idempotency_key]
            if digest != _request_hash(req):
                raise IdempotencyConflict(
                    "this idempotency key was used for a different request", key=req.idempotency_key
                )
            return seq
        seen = [book.transfers.get(t.id) for t in req.transfers]
        if not any(seen):
            return None
        seqs = {s.seq for s in seen if s is not None}
        if (
            all(
                s is not None and s.same_request(t) and s.actor == actor
                for s, t in zip(seen, req.transfers, strict=True)
            )
            and len(seqs) == 1
        ):
            return seqs.pop()
        reused = [t.id for s, t in zip(seen, req.transfers, strict=True) if s is not None]
        raise TransferExists(
            f"transfer id(s) {', '.join(reused)} were already used for other transfers", transfers=reused
        )

    def _writes(
        self,
        book: Book,
        entry_rows: list[dict[str, Any]],
        last_seq: dict[bytes, int],
        last_entry: dict[bytes, int | None],
        new_idempotency: list[dict[str, Any]],
        size: int,
        last_hash: bytes,
        frontier: merkle.Frontier,
    ) -> list[Op]:
        touched_actors = {r["actor"] for r in entry_rows}
        ops = [
            write_many(
                "INSERT INTO ledger_entries (seq, leaf_hash, entry, kind, actor, nodes, actor_prev) "
                "VALUES (:seq, :leaf, :entry, :kind, :actor, :nodes, :prev)",
                entry_rows,
            ),
            write_many(
                "INSERT INTO ledger_actors (public_key, last_seq, last_entry) VALUES (:pk, :seq, :last) "
                "ON CONFLICT (public_key) DO UPDATE SET last_seq = excluded.last_seq, last_entry = excluded.last_entry",
                [{"pk": pk, "seq": last_seq[pk], "last": last_entry[pk]} for pk in touched_actors],
            ),
        ]
        if book.new_accounts:
            ops.append(
                write_many(
                    f"INSERT INTO ledger_accounts ({_ACCOUNT_COLUMNS}) "
                    "VALUES (:id, :token, :flags, :owner, :dp, :cp, :dpe, :cpe, :seq)",
                    [_account_row(book.accounts[a]) for a in book.new_accounts],
                )
            )
        if book.dirty_accounts:
            ops.append(
                write_many(
                    "UPDATE ledger_accounts SET debits_posted = :dp, credits_posted = :cp, "
                    "debits_pending = :dpe, credits_pending = :cpe WHERE id = :id",
                    [_account_row(book.accounts[a]) for a in sorted(book.dirty_accounts)],
                )
            )
        if book.new_transfers:
            rows = []
            for tid in book.new_transfers:
                t = book.transfers[tid]
                rows.append(
                    {
                        "id": t.id,
                        "seq": t.seq,
                        "type": t.type,
                        "debit": t.debit,
                        "credit": t.credit,
                        "token": t.token,
                        "amount": t.amount,
                        "pending_id": t.pending_id,
                        "state": t.state,
                        "timeout_ms": t.timeout_ms,
                        "actor": t.actor,
                    }
                )
            ops.append(
                write_many(
                    f"INSERT INTO ledger_transfers ({_TRANSFER_COLUMNS}) VALUES (:id, :seq, :type, :debit, :credit, "
                    ":token, :amount, :pending_id, :state, :timeout_ms, :actor)",
                    rows,
                )
            )
        # Why the set: ``new_transfers`` is a list (insertion order), and a membership test on it for every
        # resolved pending transfer was quadratic — ~1 s of every 20,000 settlements (two holds posted per order).
        created = set(book.new_transfers)
        resolved = [p for p in book.resolved_pending if p not in created]
        if resolved:
            ops.append(
                write_many(
                    "UPDATE ledger_transfers SET state = :state WHERE id = :id",
                    [{"id": p, "state": book.transfers[p].state} for p in resolved],
                )
            )
        if new_idempotency:
            ops.append(
                write_many(
                    "INSERT INTO ledger_idempotency (key, request_hash, seq) VALUES (:key, :hash, :seq)",
                    new_idempotency,
                )
            )
        head: dict[str, Any] = {"size": size, "hash": last_hash, "frontier": frontier.to_bytes()}
        if book.rules_changed:  # otherwise the stored rules stand (encoding them was ~10 µs of every append)
            head["rules"] = canonical_json(book.rules.to_json()).decode() if book.rules is not None else None
        ops.append(
            write(
                "UPDATE ledger_head SET size = :size, last_hash = :hash, frontier = :frontier"
                f"{', rules = :rules' if 'rules' in head else ''} WHERE id = 1",
                head,
            )
        )
        return ops

    async def void_expired(self, uow: UnitOfWork, *, limit: int = 150) -> Recorded | None:
        """Void pending transfers whose timeout has passed, in one operator-signed entry.

        At most ``limit`` voids an entry (150 × ~200 bytes stays well inside the 64 KiB entry limit).
        TigerBeetle voids an expired pending transfer by itself; here the expiry is an entry like any
        other, so a replica sees why the hold was released. The void's id is derived from the pending
        id, so a second run (another worker, a restart) is answered as a retry, not doubled.
        """
        rows = await uow.fetch(
            "SELECT id, debit, credit, token, amount FROM ledger_transfers WHERE type = 'pending' "
            "AND state = 'pending' AND timeout_ms IS NOT NULL AND timeout_ms <= :now ORDER BY timeout_ms, id "
            "LIMIT :limit",
            {"now": self._clock(), "limit": limit},
        )
        if not rows:
            return None
        voids = [
            Transfer(
                "expire-" + hashlib.sha256(pending_id.encode()).hexdigest()[:40],
                debit,
                credit,
                int(amount),
                token,
                type="void",
                pending_id=pending_id,
            )
            for pending_id, debit, credit, token, amount in rows
        ]
        return await self.record(
            uow,
            Request(
                actor=ROLE_OPERATOR,
                kind="ledger.expire",
                body={"pending": [t.pending_id for t in voids]},
                transfers=voids,
            ),
        )

    # ------------------------------------------------------------------------------------- reading

    @staticmethod
    def _head_from_row(row: Row) -> Head:
        size, last_hash, frontier, rules = row
        rules_obj = None if rules is None else _rules_of(rules)
        return Head(int(size), bytes(last_hash), merkle.Frontier.from_bytes(int(size), bytes(frontier)), rules_obj)

    async def head(self, uow: UnitOfWork) -> Head:
        rows = await uow.fetch("SELECT size, last_hash, frontier, rules FROM ledger_head WHERE id = 1")
        return self._head_from_row(rows[0])

    async def account(self, uow: UnitOfWork, account_id: str) -> AccountState:
        rows = await uow.fetch(f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = :id", {"id": account_id})
        if not rows:
            raise NotFound(f"no account {account_id!r}", account=account_id)
        return _account(rows[0])

    async def ledger_signer(self, uow: UnitOfWork) -> NamedSigner:
        return NamedSigner(self.origin, await self.keys.get(uow, ROLE_LEDGER))

    async def operator_key(self, uow: UnitOfWork) -> CustodialKey:
        return await self.keys.get(uow, ROLE_OPERATOR)

    async def publish_checkpoint(self, uow: UnitOfWork) -> str | None:
        """Sign and store a checkpoint if the ledger grew since the last one; returns the new note."""
        # Why the row lock (PostgreSQL; SQLite's writer already holds the database lock): two publishers
        # at once (the server's loop and `chestnut ledger checkpoint --publish`, or two web workers) both
        # saw the same unpublished size and the second failed on the checkpoints' primary key with a raw
        # IntegrityError (tests/integration/test_concurrency.py::test_concurrent_checkpoint_publishers_and_writers).
        rows = await uow.fetch(f"SELECT size, last_hash, frontier, rules FROM ledger_head WHERE id = 1{uow.for_update}")
        head = self._head_from_row(rows[0])
        latest = await uow.fetch("SELECT MAX(size) FROM ledger_checkpoints")
        if head.size == 0 or (latest[0][0] is not None and int(latest[0][0]) >= head.size):
            return None
        root = head.frontier.root()
        note = sign_note(Checkpoint(self.origin, head.size, root).to_text(), [await self.ledger_signer(uow)])
        await uow.execute(
            "INSERT INTO ledger_checkpoints (size, root, note, created_ms) VALUES (:size, :root, :note, :ms)",
            {"size": head.size, "root": root, "note": note, "ms": self._clock()},
        )
        return note

    async def latest_checkpoint(self, uow: UnitOfWork) -> tuple[int, str]:
        rows = await uow.fetch("SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1")
        if not rows:
            raise NotFound("no checkpoint has been published yet")
        return int(rows[0][0]), rows[0][1]

    async def entries(self, uow: UnitOfWork, start: int, end: int) -> list[tuple[int, bytes]]:
        rows = await uow.fetch(
            "SELECT seq, entry FROM ledger_entries WHERE seq >= :start AND seq < :end ORDER BY seq",
            {"start": start, "end": end},
        )
        return [(int(s), bytes(e)) for s, e in rows]

    async def entry(self, uow: UnitOfWork, seq: int) -> bytes:
        found = await self.entries(uow, seq, seq + 1)
        if not found:
            raise NotFound(f"no entry {seq}", seq=seq)
        return found[0][1]

    async def _nodes(self, uow: UnitOfWork, needed: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Perfect-subtree hashes by (level, index), from the entry that completed each."""
        by_seq = {merkle.completed_by(level, index): (level, index) for level, index in needed}
        found: dict[tuple[int, int], bytes] = {}
        if not by_seq:
            return found
        rows: list[Row] = []
        for ops_rows in await uow.batch(
            _reads_in("SELECT seq, leaf_hash, nodes FROM ledger_entries WHERE seq IN {in}", sorted(by_seq))
        ):
            rows.extend(ops_rows)
        for seq, leaf, nodes in rows:
            level, index = by_seq[int(seq)]
            data = bytes(leaf) if level == 0 else bytes(nodes)[(level - 1) * 32 : level * 32]
            found[(level, index)] = data
        return found

    async def _check_size(self, uow: UnitOfWork, size: int) -> None:
        head = await self.head(uow)
        if size > head.size:
            raise ProofError(f"the ledger has {head.size} entries, not {size}", size=head.size, asked=size)

    async def inclusion_proof(self, uow: UnitOfWork, index: int, size: int) -> list[bytes]:
        if not 0 <= index < size:
            raise ProofError(f"entry {index} is not in a tree of size {size}", seq=index, size=size)
        await self._check_size(uow, size)
        nodes = await self._nodes(uow, merkle.inclusion_nodes(index, size))
        return merkle.inclusion_proof(index, size, lambda level, i: nodes[(level, i)])

    async def consistency_proof(self, uow: UnitOfWork, old: int, new: int) -> list[bytes]:
        if not 0 <= old <= new:
            raise ProofError(f"no consistency proof from size {old} to size {new}", old=old, new=new)
        await self._check_size(uow, new)
        if old == 0 or old == new:
            return []
        nodes = await self._nodes(uow, merkle.consistency_nodes(old, new))
        return merkle.consistency_proof(old, new, lambda level, i: nodes[(level, i)])

    async def receipt(self, uow: UnitOfWork, seq: int) -> str:
        """A c2sp.org/tlog-proof@v1 receipt for entry ``seq`` against the latest checkpoint."""
        size, note = await self.latest_checkpoint(uow)
        if seq < 0:
            raise ProofError("entry numbers start at 0", seq=seq)
        if seq >= size:
            raise ProofError(
                f"entry {seq} is not yet covered by a published checkpoint (size {size})", seq=seq, size=size
            )
        return format_receipt(seq, await self.inclusion_proof(uow, seq, size), note)

    async def ensure_checkpoint_covers(self, seq: int, db: Database) -> None:
        """Publish a checkpoint if entry ``seq`` exists but no checkpoint covers it yet."""
        async with db.unit_of_work() as uow:
            head = await self.head(uow)
            if seq >= head.size:
                raise NotFound(f"no entry {seq}; the ledger has {head.size}", seq=seq, size=head.size)
            latest = await uow.fetch("SELECT MAX(size) FROM ledger_checkpoints")
            if latest[0][0] is None or int(latest[0][0]) <= seq:
                await self.publish_checkpoint(uow)
                await uow.commit()

    async def require_empty_market(self, uow: UnitOfWork) -> None:
        """Refuse anything past the set-up bootstrap does itself (genesis and system accounts)."""
        rows = await uow.fetch(
            "SELECT COUNT(*) FROM ledger_entries WHERE kind NOT IN ('ledger.genesis', 'market.accounts')"
        )
        if int(rows[0][0]):
            raise LedgerNotEmpty(
                "this ledger already has entries; point CHESTNUT_HOME (or CHESTNUT_DATABASE_URL) at an empty one",
                entries=int(rows[0][0]),
            )

    async def require_empty(self, uow: UnitOfWork) -> None:
        head = await self.head(uow)
        if head.size:
            raise LedgerNotEmpty(
                f"this ledger already has {head.size} entries; point CHESTNUT_HOME (or CHESTNUT_DATABASE_URL) "
                "at an empty one",
                size=head.size,
            )


__all__ = ["ISSUERS", "Ledger", "MalformedAction", "Recorded", "Request", "SignedAction"]
