"""bots: conversation state, handled-message keys, reachability per channel

Revision ID: 0003_bots
Revises: 0002_commerce
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_bots'
down_revision = '0002_commerce'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bot_conversations',
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('member_id')
    )
    op.create_table('bot_inbox',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'key')
    )
    with op.batch_alter_table('bot_inbox', schema=None) as batch_op:
        batch_op.create_index('ix_bot_inbox_created', ['created_ms'], unique=False)
    op.create_table('bot_reach',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'external_id')
    )
    with op.batch_alter_table('bot_reach', schema=None) as batch_op:
        batch_op.create_index('ix_bot_reach_member', ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bot_reach', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_reach_member')
    op.drop_table('bot_reach')
    with op.batch_alter_table('bot_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_inbox_created')
    op.drop_table('bot_inbox')
    op.drop_table('bot_conversations')
