"""trust: abuse cases (rule, outcome, evidence from the ledger, appeal, decision)

Revision ID: 0009_trust
Revises: 0003_bots
Create Date: 2026-12-04 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_trust'
down_revision = '0003_bots'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('abuse_cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('appeal', sa.String(length=500), nullable=True),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule', 'member_id', 'subject', name='uq_abuse_cases_rule_subject')
    )
    with op.batch_alter_table('abuse_cases', schema=None) as batch_op:
        batch_op.create_index('ix_abuse_cases_member', ['member_id', 'status'], unique=False)
        batch_op.create_index('ix_abuse_cases_status', ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('abuse_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_abuse_cases_status')
        batch_op.drop_index('ix_abuse_cases_member')
    op.drop_table('abuse_cases')
