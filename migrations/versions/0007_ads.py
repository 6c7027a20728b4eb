"""ads: consents, campaigns, recipients, keyword bids, sponsored opens, fraud signals

Revision ID: 0007_ads
Revises: 0003_bots
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_ads"
down_revision = "0003_bots"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ad_consents",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("confirmed_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "scope", "value"),
    )
    op.create_index("ix_ad_consents_scope_value", "ad_consents", ["scope", "value", "status"])
    op.create_table(
        "ad_campaigns",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("producer_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("photo", sa.String(length=300), nullable=True),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("reward", sa.BigInteger(), nullable=False),
        sa.Column("per_member_limit", sa.Integer(), nullable=False),
        sa.Column("budget", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("filled", sa.Integer(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=True),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ad_campaigns_shop", "ad_campaigns", ["shop_id", "status"])
    op.create_index("ix_ad_campaigns_status", "ad_campaigns", ["status"])
    op.create_table(
        "ad_recipients",
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("sent_ms", sa.BigInteger(), nullable=True),
        sa.Column("opened_ms", sa.BigInteger(), nullable=True),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("open_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "member_id"),
    )
    op.create_index("ix_ad_recipients_status", "ad_recipients", ["campaign_id", "status", "member_id"])
    op.create_index("ix_ad_recipients_member", "ad_recipients", ["member_id", "sent_ms"])
    op.create_table(
        "ad_bids",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("keyword", sa.String(length=64), nullable=False),
        sa.Column("bid", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ad_bids_keyword", "ad_bids", ["keyword", "status"])
    op.create_table(
        "ad_sponsored_opens",
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "member_id"),
    )
    op.create_table(
        "ad_signals",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ad_signals_member", "ad_signals", ["member_id", "created_ms"])
    op.create_index("ix_ad_signals_status", "ad_signals", ["status", "created_ms"])
    op.create_index("ix_ad_signals_kind", "ad_signals", ["kind", "subject"])


def downgrade() -> None:
    op.drop_index("ix_ad_signals_kind", table_name="ad_signals")
    op.drop_index("ix_ad_signals_status", table_name="ad_signals")
    op.drop_index("ix_ad_signals_member", table_name="ad_signals")
    op.drop_table("ad_signals")
    op.drop_table("ad_sponsored_opens")
    op.drop_index("ix_ad_bids_keyword", table_name="ad_bids")
    op.drop_table("ad_bids")
    op.drop_index("ix_ad_recipients_member", table_name="ad_recipients")
    op.drop_index("ix_ad_recipients_status", table_name="ad_recipients")
    op.drop_table("ad_recipients")
    op.drop_index("ix_ad_campaigns_status", table_name="ad_campaigns")
    op.drop_index("ix_ad_campaigns_shop", table_name="ad_campaigns")
    op.drop_table("ad_campaigns")
    op.drop_index("ix_ad_consents_scope_value", table_name="ad_consents")
    op.drop_table("ad_consents")
