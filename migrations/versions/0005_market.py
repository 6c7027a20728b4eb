"""market: the BNM/BTL order book, its trades and the id counters

Revision ID: 0005_market
Revises: 0003_bots
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_market'
down_revision = '0003_bots'
branch_labels = None
depends_on = None


def upgrade() -> None:
    state = op.create_table('market_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('next_order', sa.BigInteger(), nullable=False),
    sa.Column('next_trade', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(state, [{'id': 1, 'next_order': 1, 'next_trade': 1}])
    op.create_table('market_orders',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('kind', sa.String(length=6), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('held', sa.BigInteger(), nullable=False),
    sa.Column('traded_btl', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('client_key', sa.String(length=64), nullable=True),
    sa.Column('placed_seq', sa.BigInteger(), nullable=False),
    sa.Column('closed_seq', sa.BigInteger(), nullable=True),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id', 'client_key', name='uq_market_orders_client_key')
    )
    with op.batch_alter_table('market_orders', schema=None) as batch_op:
        batch_op.create_index('ix_market_orders_book', ['status', 'side', 'price', 'id'], unique=False)
        batch_op.create_index('ix_market_orders_member', ['member_id', 'status'], unique=False)
    op.create_table('market_trades',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('buy_order', sa.BigInteger(), nullable=False),
    sa.Column('sell_order', sa.BigInteger(), nullable=False),
    sa.Column('buyer_id', sa.BigInteger(), nullable=False),
    sa.Column('seller_id', sa.BigInteger(), nullable=False),
    sa.Column('taker_side', sa.String(length=4), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('units', sa.BigInteger(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('time_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('market_trades', schema=None) as batch_op:
        batch_op.create_index('ix_market_trades_time', ['time_ms'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('market_trades', schema=None) as batch_op:
        batch_op.drop_index('ix_market_trades_time')
    op.drop_table('market_trades')
    with op.batch_alter_table('market_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_market_orders_member')
        batch_op.drop_index('ix_market_orders_book')
    op.drop_table('market_orders')
    op.drop_table('market_state')
