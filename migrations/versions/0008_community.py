"""community: recommendation links, order payees, product comments, contribution reward settings and payouts

Revision ID: 0008_community
Revises: 0003_bots
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_community"
down_revision = "0003_bots"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "referral_links",
        sa.Column("referrer_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("first_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("referrer_id", "product_id"),
    )
    op.create_index("ix_referral_links_shop", "referral_links", ["shop_id", "referrer_id"])
    op.create_table(
        "order_payees",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("bp", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("source", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "role"),
    )
    op.create_index("ix_order_payees_member", "order_payees", ["member_id", "role"])
    op.create_table(
        "product_comments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("reply_to", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_product_comments_product", "product_comments", ["product_id", "id"])
    op.create_index("ix_product_comments_author", "product_comments", ["author_id", "created_ms"])
    op.create_table(
        "reward_settings",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "reward_payouts",
        sa.Column("rule", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("rule", "subject"),
    )
    op.create_index("ix_reward_payouts_period", "reward_payouts", ["period", "status"])
    op.create_index("ix_reward_payouts_member", "reward_payouts", ["member_id"])
    op.create_table(
        "member_devices",
        sa.Column("device_ref", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("seen_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("device_ref", "member_id"),
    )
    op.create_index("ix_member_devices_member", "member_devices", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_member_devices_member", table_name="member_devices")
    op.drop_table("member_devices")
    op.drop_index("ix_reward_payouts_member", table_name="reward_payouts")
    op.drop_index("ix_reward_payouts_period", table_name="reward_payouts")
    op.drop_table("reward_payouts")
    op.drop_table("reward_settings")
    op.drop_index("ix_product_comments_author", table_name="product_comments")
    op.drop_index("ix_product_comments_product", table_name="product_comments")
    op.drop_table("product_comments")
    op.drop_index("ix_order_payees_member", table_name="order_payees")
    op.drop_table("order_payees")
    op.drop_index("ix_referral_links_shop", table_name="referral_links")
    op.drop_table("referral_links")
