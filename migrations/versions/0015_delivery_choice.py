"""commerce: where an order goes — addresses with recipient and location, the cart's delivery choice,
pickup and delivery windows; one head for the whole history

Revision ID: 0015_delivery_choice
Revises: 0006_witness, 0007_ads, 0008_community, 0009_trust, 0010_reminders, 0011_identity, 0014_entries_by_actor
Create Date: 2026-12-07 17:00:00

Also a merge revision: the branches that grew from 0003 (and 0002, 0004, 0005) end here, so the
history has exactly one head again and ``alembic upgrade head`` names it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_delivery_choice"
# The merge's parents on one line, so a reader scanning ``down_revision`` lines sees every branch end here.
down_revision = ("0006_witness", "0007_ads", "0008_community", "0009_trust", "0010_reminders", "0011_identity", "0014_entries_by_actor")
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("addresses") as batch_op:
        batch_op.add_column(sa.Column("detail", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("recipient_name", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("recipient_phone", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("lat_e6", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("lon_e6", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("used_ms", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("shops") as batch_op:
        batch_op.add_column(sa.Column("hours", sa.String(11), nullable=False, server_default="09:00-19:00"))
        batch_op.add_column(sa.Column("pickup", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("windows", sa.String(64), nullable=False, server_default=""))
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("pickup_at", sa.String(8), nullable=True))
        batch_op.add_column(sa.Column("window_start_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("window_end_ms", sa.BigInteger(), nullable=True))
    op.create_table(
        "cart_choices",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("address_id", sa.BigInteger(), nullable=True),
        sa.Column("pickup_at", sa.String(8), nullable=True),
        sa.Column("window_start_ms", sa.BigInteger(), nullable=True),
        sa.Column("window_end_ms", sa.BigInteger(), nullable=True),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "shop_id"),
    )
    op.create_table(
        "order_addresses",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("detail", sa.String(100), nullable=False),
        sa.Column("recipient_name", sa.String(64), nullable=False),
        sa.Column("recipient_phone", sa.String(20), nullable=False),
        sa.Column("lat_e6", sa.BigInteger(), nullable=True),
        sa.Column("lon_e6", sa.BigInteger(), nullable=True),
        sa.Column("erased_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("order_id"),
    )


def downgrade() -> None:
    op.drop_table("order_addresses")
    op.drop_table("cart_choices")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_column("window_end_ms")
        batch_op.drop_column("window_start_ms")
        batch_op.drop_column("pickup_at")
    with op.batch_alter_table("shops") as batch_op:
        batch_op.drop_column("windows")
        batch_op.drop_column("pickup")
        batch_op.drop_column("hours")
    with op.batch_alter_table("addresses") as batch_op:
        batch_op.drop_column("used_ms")
        batch_op.drop_column("lon_e6")
        batch_op.drop_column("lat_e6")
        batch_op.drop_column("recipient_phone")
        batch_op.drop_column("recipient_name")
        batch_op.drop_column("detail")
