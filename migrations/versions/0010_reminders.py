"""reminders: which paid orders a producer was already reminded to accept

Revision ID: 0010_reminders
Revises: 0004_batches
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_reminders"
down_revision = "0004_batches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_reminders",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("sent_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )


def downgrade() -> None:
    op.drop_table("order_reminders")
