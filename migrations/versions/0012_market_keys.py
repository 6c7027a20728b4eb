"""keys: rowid keys on SQLite for the entries, orders and trades; the book's indexes only over what they find

Revision ID: 0012_market_keys
Revises: 0005_market
Create Date: 2026-12-04 03:00:00

Why: a market order writes about forty database pages, and every index it touches is one or more of
them. On SQLite a ``BIGINT PRIMARY KEY`` is a second B-tree beside the table (only a column declared
``INTEGER`` is the rowid itself), so ``ledger_entries``, ``market_orders`` and ``market_trades`` each
kept their key twice. The book index held every order ever placed, grouped by status, so a filled order
moved into the history part of it; it now holds the open orders only (every query of it asks for
those). The one-time-key index held a row for every order, keyless ones too, though only keyed ones
can clash. bench market: ~6 % more orders per second on SQLite.

PostgreSQL keeps its BIGINT keys (its tables are heaps either way); the index changes apply to both.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_market_keys"
down_revision = "0005_market"
branch_labels = None
depends_on = None

_KEYED = (("ledger_entries", "seq"), ("market_orders", "id"), ("market_trades", "id"))
_OPEN = sa.text("status = 'open'")
_KEY_GIVEN = sa.text("client_key IS NOT NULL")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column in _KEYED:  # one rebuild of each table on SQLite, none on PostgreSQL
        with op.batch_alter_table(table, recreate="always" if sqlite else "auto") as batch_op:
            if sqlite:
                batch_op.alter_column(column, type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
            if table == "market_orders":
                batch_op.drop_index("ix_market_orders_book")
                batch_op.drop_constraint("uq_market_orders_client_key", type_="unique")
    op.create_index(
        "ix_market_orders_book", "market_orders", ["side", "price", "id"], sqlite_where=_OPEN, postgresql_where=_OPEN
    )
    op.create_index(
        "uq_market_orders_client_key",
        "market_orders",
        ["member_id", "client_key"],
        unique=True,
        sqlite_where=_KEY_GIVEN,
        postgresql_where=_KEY_GIVEN,
    )


def downgrade() -> None:
    op.drop_index("uq_market_orders_client_key", table_name="market_orders")
    op.drop_index("ix_market_orders_book", table_name="market_orders")
    with op.batch_alter_table("market_orders") as batch_op:
        batch_op.create_unique_constraint("uq_market_orders_client_key", ["member_id", "client_key"])
    op.create_index("ix_market_orders_book", "market_orders", ["status", "side", "price", "id"])
    if op.get_bind().dialect.name == "sqlite":
        for table, column in _KEYED:
            with op.batch_alter_table(table, recreate="always") as batch_op:
                batch_op.alter_column(column, type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)
