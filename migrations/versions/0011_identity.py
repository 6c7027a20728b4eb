"""identity: the codes sent to each phone number (an SMS flood limit across members)

Revision ID: 0011_identity
Revises: 0002_commerce
Create Date: 2026-12-02 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_identity"
down_revision = "0002_commerce"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_code_sends",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("sent_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_phone_code_sends_phone", "phone_code_sends", ["phone_hash", "sent_ms"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_phone_code_sends_phone", table_name="phone_code_sends")
    op.drop_table("phone_code_sends")
