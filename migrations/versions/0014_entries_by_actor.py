"""ledger: an actor's entries as a chain (each entry names the actor's previous one) instead of an index

Revision ID: 0014_entries_by_actor
Revises: 0013_market_book_version
Create Date: 2026-12-04 04:10:00

Why: ``ix_ledger_entries_actor`` was one more B-tree written at every append, a page of its own per
member who signs (~3 of a market order's ~36 pages), for one query: a member's latest entries on their
own ledger page. ``ledger_actors.last_entry`` and ``ledger_entries.actor_prev`` answer it by walking
back from the latest entry, a key lookup a step.

Stop every Chestnut process before this upgrade (as for 0013): code from before it appends entries
without their link and would leave the chain broken (the listing then stops short).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_entries_by_actor"
down_revision = "0013_market_book_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch_op:
        batch_op.add_column(sa.Column("actor_prev", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("ledger_actors") as batch_op:
        batch_op.add_column(sa.Column("last_entry", sa.BigInteger(), nullable=True))
    # One pass each (a window over the entries by actor), not a lookup per entry: on PostgreSQL most
    # entries are the operator's, and a per-row MAX over them approached N² work.
    op.execute(
        "UPDATE ledger_entries SET actor_prev = chained.prev FROM (SELECT seq, LAG(seq) OVER "
        "(PARTITION BY actor ORDER BY seq) AS prev FROM ledger_entries) AS chained "
        "WHERE ledger_entries.seq = chained.seq AND chained.prev IS NOT NULL"
    )
    op.execute(
        "UPDATE ledger_actors SET last_entry = latest.seq FROM (SELECT actor, MAX(seq) AS seq FROM ledger_entries "
        "GROUP BY actor) AS latest WHERE ledger_actors.public_key = latest.actor"
    )
    op.drop_index("ix_ledger_entries_actor", table_name="ledger_entries")


def downgrade() -> None:
    op.create_index("ix_ledger_entries_actor", "ledger_entries", ["actor"])
    with op.batch_alter_table("ledger_actors") as batch_op:
        batch_op.drop_column("last_entry")
    with op.batch_alter_table("ledger_entries") as batch_op:
        batch_op.drop_column("actor_prev")
