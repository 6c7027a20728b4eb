"""replication: replica tables (verified copy, accepted checkpoints, witness state, evidence) and the
primary's witnessed checkpoints and witness contributions

Revision ID: 0006_witness
Revises: 0003_bots
Create Date: 2026-12-03 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_witness'
down_revision = '0003_bots'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('replica_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('origin', sa.String(length=256), nullable=False),
    sa.Column('ledger_key', sa.Text(), nullable=False),
    sa.Column('primary_url', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('replica_entries',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('leaf_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('entry', sa.LargeBinary(), nullable=False),
    sa.Column('nodes', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('replica_checkpoints',
    sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root', sa.LargeBinary(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('size')
    )
    op.create_table('replica_witness',
    sa.Column('origin', sa.String(length=256), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('root', sa.LargeBinary(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('origin')
    )
    op.create_table('replica_cosigned',
    sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root', sa.LargeBinary(length=32), nullable=False),
    sa.Column('cosignature', sa.Text(), nullable=False),
    sa.Column('time_s', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('size')
    )
    op.create_table('replica_evidence',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('ledger_witnessed',
    sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('cosigners', sa.Integer(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('size')
    )
    op.create_table('witness_contributions',
    sa.Column('witness', sa.String(length=300), nullable=False),
    sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('operator', sa.String(length=128), nullable=False),
    sa.Column('time_s', sa.BigInteger(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('witness', 'size')
    )
    with op.batch_alter_table('witness_contributions', schema=None) as batch_op:
        batch_op.create_index('ix_witness_contributions_operator', ['operator'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('witness_contributions', schema=None) as batch_op:
        batch_op.drop_index('ix_witness_contributions_operator')
    op.drop_table('witness_contributions')
    op.drop_table('ledger_witnessed')
    op.drop_table('replica_evidence')
    op.drop_table('replica_cosigned')
    op.drop_table('replica_witness')
    op.drop_table('replica_checkpoints')
    op.drop_table('replica_entries')
    op.drop_table('replica_state')
