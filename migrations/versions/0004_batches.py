"""batches: batch runs, dividends, payout lines, the scheduler lease

Revision ID: 0004_batches
Revises: 0003_bots
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_batches"
down_revision = "0003_bots"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "batch_runs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("phase", sa.String(length=24), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("chunks", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("finished_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "period", name="uq_batch_runs_kind_period"),
    )
    op.create_table(
        "dividends",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("record_size", sa.BigInteger(), nullable=False),
        sa.Column("supply", sa.BigInteger(), nullable=False),
        sa.Column("holders", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("declared_seq", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("declared_by", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "payout_lines",
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("cashout_id", sa.BigInteger(), nullable=False),
        sa.Column("bank_code", sa.String(length=3), nullable=False),
        sa.Column("account_no", sa.String(length=20), nullable=False),
        sa.Column("holder", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("result_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("reference"),
        sa.UniqueConstraint("cashout_id"),
    )
    with op.batch_alter_table("payout_lines", schema=None) as batch_op:
        batch_op.create_index("ix_payout_lines_run", ["run_id"], unique=False)
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("scheduler_lease")
    with op.batch_alter_table("payout_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_payout_lines_run")
    op.drop_table("payout_lines")
    op.drop_table("dividends")
    op.drop_table("batch_runs")
