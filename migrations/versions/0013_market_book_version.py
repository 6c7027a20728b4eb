"""market: a version of the open book, new at every placement and cancel (a process keeps a copy of the book)

Revision ID: 0013_market_book_version
Revises: 0012_market_keys
Create Date: 2026-12-04 03:30:00

``commerce.exchange.resting``: a process matches against its copy of the open orders while the version it
made it at is the one this row holds, and reads the book anew otherwise. 0 is the version of a market
from before this column: no copy is kept for it (new versions are random and above 0).

Stop every Chestnut process before this upgrade: code from before it changes orders without writing a
new version, so a newer process would go on trusting a copy those changes made stale.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_market_book_version"
down_revision = "0012_market_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("market_state") as batch_op:
        batch_op.add_column(sa.Column("book_version", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("market_state") as batch_op:
        batch_op.drop_column("book_version")
