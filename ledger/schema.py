"""The ledger's tables, as SQLAlchemy metadata (the single description Alembic migrations follow).

Money columns are BIGINT: 1 unit = 1 won (BTL) or 0.001 BNM, never a float.
``ledger_entries.entry`` holds the exact entry bytes; every other column of the ledger tables is
derived from those bytes and is re-checked by ``chestnut ledger verify`` — except the chain of each
actor's entries (``actor_prev``, ``ledger_actors.last_entry``), a listing aid: the member's page that
walks it keeps only entries whose checked ``actor`` column is the member's.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, MetaData, String, Table, Text

metadata = MetaData()

ledger_keys = Table(
    "ledger_keys",
    metadata,
    Column("public_key", LargeBinary(32), primary_key=True),
    Column("label", String(128), nullable=False, unique=True),
    Column("sealed", LargeBinary, nullable=False),  # SecretBox(nonce || ciphertext) of the 32-byte seed
    Column("master_key_id", String(16), nullable=False),  # which master key sealed it
    Column("created_ms", BigInteger, nullable=False),
)

ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("last_hash", LargeBinary(32), nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    Column("rules", Text, nullable=True),  # canonical JSON of the rules in force (replayable from entries)
)

# A BIGINT key that is INTEGER on SQLite: the rowid itself, not a second B-tree of the keys beside the
# table (migration 0012_market_keys).
ROWID_KEY = BigInteger().with_variant(Integer(), "sqlite")

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("seq", ROWID_KEY, primary_key=True, autoincrement=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("entry", LargeBinary, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("actor", LargeBinary(32), nullable=False),
    # Perfect-subtree hashes completed by this leaf (levels 1..t, 32 bytes each), for O(log n) proofs.
    Column("nodes", LargeBinary, nullable=False),
    # The same actor's entry before this one: an actor's entries are a chain from ledger_actors.last_entry,
    # walked back, instead of an index by actor (one B-tree less per append; migration 0014). A
    # convenience for listing, not evidence: each entry it leads to verifies on its own.
    Column("actor_prev", BigInteger, nullable=True),
)

ledger_actors = Table(
    "ledger_actors",
    metadata,
    Column("public_key", LargeBinary(32), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_entry", BigInteger, nullable=True),  # the seq of the actor's latest entry
)

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", String(96), primary_key=True),
    Column("token", String(8), nullable=False),
    Column("flags", Integer, nullable=False),
    Column("owner", LargeBinary(32), nullable=True),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("debits_pending", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    Column("opened_seq", BigInteger, nullable=False),
)

ledger_transfers = Table(
    "ledger_transfers",
    metadata,
    Column("id", String(96), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(8), nullable=False),  # single | pending | post | void
    Column("debit", String(96), nullable=False),
    Column("credit", String(96), nullable=False),
    Column("token", String(8), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("pending_id", String(96), nullable=True),
    Column("state", String(8), nullable=True),  # for pending transfers: pending | posted | voided
    Column("timeout_ms", BigInteger, nullable=True),
    Column("actor", LargeBinary(32), nullable=False),
    Index("ix_ledger_transfers_debit", "debit"),
    Index("ix_ledger_transfers_credit", "credit"),
)

ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

ledger_idempotency = Table(
    "ledger_idempotency",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("request_hash", LargeBinary(32), nullable=False),
    Column("seq", BigInteger, nullable=False),
)

# Accredited readers (``ledger.readers``): the bearer tokens of member organisations' replicas, kept only
# as SHA-256 digests, so a copy of the database holds no credential.
ledger_readers = Table(
    "ledger_readers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("revoked_ms", BigInteger, nullable=True),
)
