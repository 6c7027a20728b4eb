"""The ledger service: the one object every other package writes through, and the reads behind proofs.

``await ledger.record(uow, Request(...))`` signs the action with the actor's custodial key, applies its
transfers to the accounts (refusing any that would overdraw or that the signer may not make), and
appends the entry to the hash chain and Merkle tree — all inside the caller's unit of work, so the
action is on the ledger with all its effects when the caller commits, or not at all.
``record_many`` is the batch form: many entries, one transaction, the same rules.

``ledger.prepare(uow, requests)`` is the same append without the writing: it returns the answers and
the ledger's writes, and the caller runs those in one batch with rows of its own that name the new
entries (an order and the entry that proves it, in one round trip). The steps are in ``ledger.append``;
the reads in ``ledger.reads`` and ``ledger.proofs``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence

from ledger import append, proofs, reads
from ledger.book import GENESIS_KIND, Rules, genesis_body
from ledger.checkpoint import Checkpoint
from ledger.errors import LedgerNotEmpty, NotFound
from ledger.keys import ROLE_LEDGER, ROLE_OPERATOR, CustodialKey, KeyStore, NamedSigner
from ledger.model import AccountSpec, Transfer
from ledger.note import sign_note
from ledger.requests import Prepared, Recorded, Request, SignedAction
from ledger.rows import HEAD_COLUMNS
from ledger.rows import head as head_of_row
from ledger.storage.unit_of_work import Database, UnitOfWork

ISSUERS = {"BTL": "reserve:cash", "BNM": "treasury:bnm"}


def now_ms() -> int:
    return int(time.time() * 1000)


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

    async def prepare(self, uow: UnitOfWork, requests: Sequence[Request]) -> Prepared:
        """Decide the append of ``requests`` in the caller's transaction, and write nothing yet.

        Run ``ops`` of the answer in this unit of work, in one batch with rows of your own, before
        anything else asks the ledger: ``await uow.batch([*prepared.ops, *mine(prepared.recorded)])``.
        """
        return await append.prepare(uow, self.keys, self._clock, requests)

    async def record(self, uow: UnitOfWork, request: Request) -> Recorded:
        return (await self.record_many(uow, [request]))[0]

    async def record_many(self, uow: UnitOfWork, requests: Sequence[Request]) -> list[Recorded]:
        """Append many entries in the caller's transaction."""
        return await self._write(uow, await self.prepare(uow, requests))

    async def submit(self, uow: UnitOfWork, signed: SignedAction) -> Recorded:
        """Append an action its actor signed themselves (checked: canonical, key, signature, sequence)."""
        return (await self._write(uow, await append.prepare(uow, self.keys, self._clock, [signed])))[0]

    @staticmethod
    async def _write(uow: UnitOfWork, prepared: Prepared) -> list[Recorded]:
        if prepared.ops:
            await uow.batch(prepared.ops)
        return prepared.recorded

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

    # ------------------------------------------------------------------------------ checkpoints

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
        rows = await uow.fetch(f"SELECT {HEAD_COLUMNS} FROM ledger_head WHERE id = 1{uow.for_update}")
        head = head_of_row(rows[0])
        latest = await reads.checkpointed_size(uow)
        if head.size == 0 or (latest is not None and latest >= head.size):
            return None
        root = head.frontier.root()
        note = sign_note(Checkpoint(self.origin, head.size, root).to_text(), [await self.ledger_signer(uow)])
        await uow.execute(
            "INSERT INTO ledger_checkpoints (size, root, note, created_ms) VALUES (:size, :root, :note, :ms)",
            {"size": head.size, "root": root, "note": note, "ms": self._clock()},
        )
        return note

    async def ensure_checkpoint_covers(self, seq: int, db: Database) -> None:
        """Publish a checkpoint if entry ``seq`` exists but no checkpoint covers it yet."""
        async with db.unit_of_work() as uow:
            head = await self.head(uow)
            if seq >= head.size:
                raise NotFound(f"no entry {seq}; the ledger has {head.size}", seq=seq, size=head.size)
            latest = await reads.checkpointed_size(uow)
            if latest is None or latest <= seq:
                await self.publish_checkpoint(uow)
                await uow.commit()

    # ------------------------------------------------------------------------------------- reading

    head = staticmethod(reads.head)
    account = staticmethod(reads.account)
    entries = staticmethod(reads.entries)
    entry = staticmethod(reads.entry)
    latest_checkpoint = staticmethod(reads.latest_checkpoint)
    inclusion_proof = staticmethod(proofs.inclusion_proof)
    consistency_proof = staticmethod(proofs.consistency_proof)
    receipt = staticmethod(proofs.receipt)

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
