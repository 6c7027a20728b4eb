"""The ledger: keys, entries, head, actors, accounts, transfers, checkpoints, idempotency keys.

Revision ID: 0001_ledger
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_ledger"
down_revision = None
branch_labels = None
depends_on = None

money = sa.BigInteger


def upgrade() -> None:
    op.create_table(
        "ledger_keys",
        sa.Column("public_key", sa.LargeBinary(32), primary_key=True),
        sa.Column("label", sa.String(128), nullable=False, unique=True),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("master_key_id", sa.String(16), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("frontier", sa.LargeBinary, nullable=False),
        sa.Column("rules", sa.Text, nullable=True),
    )
    op.bulk_insert(
        sa.table("ledger_head", sa.column("id"), sa.column("size"), sa.column("last_hash"), sa.column("frontier")),
        [{"id": 1, "size": 0, "last_hash": b"\x00" * 32, "frontier": b""}],
    )
    op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("entry", sa.LargeBinary, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor", sa.LargeBinary(32), nullable=False),
        sa.Column("nodes", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_ledger_entries_actor", "ledger_entries", ["actor"])
    op.create_table(
        "ledger_actors",
        sa.Column("public_key", sa.LargeBinary(32), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.String(96), primary_key=True),
        sa.Column("token", sa.String(8), nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
        sa.Column("owner", sa.LargeBinary(32), nullable=True),
        sa.Column("debits_posted", money, nullable=False),
        sa.Column("credits_posted", money, nullable=False),
        sa.Column("debits_pending", money, nullable=False),
        sa.Column("credits_pending", money, nullable=False),
        sa.Column("opened_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ledger_transfers",
        sa.Column("id", sa.String(96), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("debit", sa.String(96), nullable=False),
        sa.Column("credit", sa.String(96), nullable=False),
        sa.Column("token", sa.String(8), nullable=False),
        sa.Column("amount", money, nullable=False),
        sa.Column("pending_id", sa.String(96), nullable=True),
        sa.Column("state", sa.String(8), nullable=True),
        sa.Column("timeout_ms", sa.BigInteger, nullable=True),
        sa.Column("actor", sa.LargeBinary(32), nullable=False),
    )
    op.create_index("ix_ledger_transfers_debit", "ledger_transfers", ["debit"])
    op.create_index("ix_ledger_transfers_credit", "ledger_transfers", ["credit"])
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ledger_idempotency",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_idempotency")
    op.drop_table("ledger_checkpoints")
    op.drop_index("ix_ledger_transfers_credit", "ledger_transfers")
    op.drop_index("ix_ledger_transfers_debit", "ledger_transfers")
    op.drop_table("ledger_transfers")
    op.drop_table("ledger_accounts")
    op.drop_table("ledger_actors")
    op.drop_index("ix_ledger_entries_actor", "ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_head")
    op.drop_table("ledger_keys")
