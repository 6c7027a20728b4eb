"""commerce: members, shops, catalog, orders, delivery, reviews, claims, wallet

Revision ID: 0002_commerce
Revises: 0001_ledger
Create Date: 2026-11-24 14:51:10.631918
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_commerce'
down_revision = '0001_ledger'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('addresses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('label', sa.String(length=32), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=True),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.create_index('ix_addresses_member', ['member_id'], unique=False)

    op.create_table('bank_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('bank_code', sa.String(length=3), nullable=False),
    sa.Column('account_no', sa.String(length=20), nullable=False),
    sa.Column('holder', sa.String(length=40), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bank_accounts', schema=None) as batch_op:
        batch_op.create_index('ix_bank_accounts_member', ['member_id'], unique=False)

    op.create_table('cart_lines',
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('price_seen', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('member_id', 'product_id')
    )
    op.create_table('cashouts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('bank_account_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('transfer_id', sa.String(length=96), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cashouts', schema=None) as batch_op:
        batch_op.create_index('ix_cashouts_status', ['status'], unique=False)

    op.create_table('claims',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('resolution', sa.String(length=16), nullable=True),
    sa.Column('refund_amount', sa.BigInteger(), nullable=False),
    sa.Column('answer', sa.String(length=1000), nullable=True),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index('ix_claims_order', ['order_id'], unique=False)

    op.create_table('deliveries',
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('courier_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('wrong_attempts', sa.Integer(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_status_region', ['status', 'region'], unique=False)

    op.create_table('market_settings',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('member_identities',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'external_id')
    )
    with op.batch_alter_table('member_identities', schema=None) as batch_op:
        batch_op.create_index('ix_member_identities_member', ['member_id'], unique=False)

    op.create_table('members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('phone_hash', sa.String(length=64), nullable=True),
    sa.Column('roles', sa.String(length=64), nullable=False),
    sa.Column('lang', sa.String(length=5), nullable=False),
    sa.Column('bnm_share_pref', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('merged_into', sa.BigInteger(), nullable=True),
    sa.Column('region', sa.String(length=64), nullable=True),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('phone')
    )
    op.create_table('order_lines',
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('order_id', 'product_id')
    )
    op.create_table('orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('buyer_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('subtotal', sa.BigInteger(), nullable=False),
    sa.Column('delivery_fee', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('address_id', sa.BigInteger(), nullable=True),
    sa.Column('bnm_share', sa.Integer(), nullable=True),
    sa.Column('btl_amount', sa.BigInteger(), nullable=True),
    sa.Column('bnm_units', sa.BigInteger(), nullable=True),
    sa.Column('bnm_price', sa.BigInteger(), nullable=True),
    sa.Column('courier_id', sa.BigInteger(), nullable=True),
    sa.Column('refund_due', sa.BigInteger(), nullable=False),
    sa.Column('referrer_id', sa.BigInteger(), nullable=True),
    sa.Column('placed_seq', sa.BigInteger(), nullable=False),
    sa.Column('paid_seq', sa.BigInteger(), nullable=True),
    sa.Column('settled_seq', sa.BigInteger(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('paid_ms', sa.BigInteger(), nullable=True),
    sa.Column('delivered_ms', sa.BigInteger(), nullable=True),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_buyer', ['buyer_id'], unique=False)
        batch_op.create_index('ix_orders_shop_state', ['shop_id', 'state'], unique=False)
        batch_op.create_index('ix_orders_state', ['state'], unique=False)

    op.create_table('phone_codes',
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_ms', sa.BigInteger(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('member_id')
    )
    op.create_table('products',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('stock', sa.BigInteger(), nullable=False),
    sa.Column('photos', sa.Text(), nullable=False),
    sa.Column('active', sa.Integer(), nullable=False),
    sa.Column('origin_region', sa.String(length=64), nullable=False),
    sa.Column('origin_producer', sa.String(length=64), nullable=False),
    sa.Column('ingredients', sa.String(length=300), nullable=False),
    sa.Column('certifications', sa.Text(), nullable=False),
    sa.Column('produced_on', sa.String(length=10), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('listed_seq', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index('ix_products_category', ['category'], unique=False)
        batch_op.create_index('ix_products_shop', ['shop_id'], unique=False)
        batch_op.create_index('ix_products_updated', ['updated_ms'], unique=False)

    op.create_table('provenance_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('time_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('provenance_events', schema=None) as batch_op:
        batch_op.create_index('ix_provenance_product', ['product_id'], unique=False)

    op.create_table('reviews',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('photo', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'product_id', name='uq_reviews_order_product')
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index('ix_reviews_product', ['product_id'], unique=False)

    op.create_table('shops',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('market', sa.String(length=60), nullable=True),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('business_no', sa.String(length=12), nullable=True),
    sa.Column('bnm_max_share', sa.Integer(), nullable=False),
    sa.Column('delivery_regions', sa.Text(), nullable=False),
    sa.Column('delivery_fee', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('referral_bp', sa.Integer(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.create_index('ix_shops_owner', ['owner_id'], unique=False)

    op.create_table('synonyms',
    sa.Column('term', sa.String(length=40), nullable=False),
    sa.Column('canonical', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('term', 'canonical')
    )
    op.create_table('topups',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('payment_key', sa.String(length=200), nullable=True),
    sa.Column('seq', sa.BigInteger(), nullable=True),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('topups', schema=None) as batch_op:
        batch_op.create_index('ix_topups_member', ['member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('topups', schema=None) as batch_op:
        batch_op.drop_index('ix_topups_member')

    op.drop_table('topups')
    op.drop_table('synonyms')
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_index('ix_shops_owner')

    op.drop_table('shops')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_reviews_product')

    op.drop_table('reviews')
    with op.batch_alter_table('provenance_events', schema=None) as batch_op:
        batch_op.drop_index('ix_provenance_product')

    op.drop_table('provenance_events')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index('ix_products_updated')
        batch_op.drop_index('ix_products_shop')
        batch_op.drop_index('ix_products_category')

    op.drop_table('products')
    op.drop_table('phone_codes')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_state')
        batch_op.drop_index('ix_orders_shop_state')
        batch_op.drop_index('ix_orders_buyer')

    op.drop_table('orders')
    op.drop_table('order_lines')
    op.drop_table('members')
    with op.batch_alter_table('member_identities', schema=None) as batch_op:
        batch_op.drop_index('ix_member_identities_member')

    op.drop_table('member_identities')
    op.drop_table('market_settings')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_status_region')

    op.drop_table('deliveries')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_order')

    op.drop_table('claims')
    with op.batch_alter_table('cashouts', schema=None) as batch_op:
        batch_op.drop_index('ix_cashouts_status')

    op.drop_table('cashouts')
    op.drop_table('cart_lines')
    with op.batch_alter_table('bank_accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_accounts_member')

    op.drop_table('bank_accounts')
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_index('ix_addresses_member')

    op.drop_table('addresses')
