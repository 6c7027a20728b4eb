"""Tables for replication, on the shared metadata (created by ``migrations/versions/0006_witness.py``).

Replica side (``replica_*``, in the replica's own database): the verified copy of the entries with the
Merkle nodes each completes (the same layout as ``ledger_entries``, so ``ledger.tiles.TreeStore`` serves
tiles and proofs from it), the checkpoints it accepted, its witness state (one row per origin: the
latest checkpoint it cosigned — compared and replaced in one transaction), the cosignatures it gave,
and the evidence of any fork it saw.

Primary side (``ledger_witnessed``, ``witness_contributions``): checkpoints that met the witness policy,
with their cosignatures, and one row per cosignature a replica gave — the contribution its operator is
paid for by the rewards issue.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Table, Text

from ledger.schema import metadata

replica_state = Table(
    "replica_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("origin", String(256), nullable=False),
    Column("ledger_key", Text, nullable=False),  # verifier key pinned at first contact (or given)
    Column("primary_url", Text, nullable=False),
)

replica_entries = Table(
    "replica_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("entry", LargeBinary, nullable=False),
    Column("nodes", LargeBinary, nullable=False),
)

replica_checkpoints = Table(
    "replica_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

replica_witness = Table(
    "replica_witness",
    metadata,
    Column("origin", String(256), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
)

replica_cosigned = Table(
    "replica_cosigned",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("cosignature", Text, nullable=False),
    Column("time_s", BigInteger, nullable=False),
)

replica_evidence = Table(
    "replica_evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("evidence", Text, nullable=False),  # canonical JSON, see ledger.replica.evidence
    Column("created_ms", BigInteger, nullable=False),
)

ledger_witnessed = Table(
    "ledger_witnessed",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", Text, nullable=False),  # the ledger's signed checkpoint with the cosignature lines
    Column("cosigners", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

witness_contributions = Table(
    "witness_contributions",
    metadata,
    Column("witness", String(300), primary_key=True),  # the witness's verifier key
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("operator", String(128), nullable=False),  # who runs it: the party the rewards issue pays
    Column("time_s", BigInteger, nullable=False),  # the cosignature's own timestamp
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_witness_contributions_operator", "operator"),
)
