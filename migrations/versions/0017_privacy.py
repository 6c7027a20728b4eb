"""ledger: accredited readers (replicas' bearer-token digests); ads: recommendation links carry tokens

Revision ID: 0017_privacy
Revises: 0016_outbox
Create Date: 2026-12-08 10:00:00

Existing recommendation links get a token each and are marked ``legacy``: a link shared before as
``r<member>p<product>`` keeps crediting its member (``community.referrals.resolve``), while every link shared
from now on carries only its token. The phone-hash pepper leaves ``market_settings`` at start-up, not
here (``commerce.members.pepper``): it moves into a file beside the master key, whose path only the running
settings know.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0017_privacy"
down_revision = "0016_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_readers",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("revoked_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("referral_links") as batch_op:
        batch_op.add_column(sa.Column("token", sa.String(24), nullable=True))
        batch_op.add_column(sa.Column("legacy", sa.Integer(), nullable=False, server_default="0"))
    bind = op.get_bind()
    links = sa.table(
        "referral_links",
        sa.column("referrer_id", sa.BigInteger()),
        sa.column("product_id", sa.BigInteger()),
        sa.column("token", sa.String()),
        sa.column("legacy", sa.Integer()),
    )
    for referrer, product in bind.execute(sa.select(links.c.referrer_id, links.c.product_id)).all():
        bind.execute(
            links.update()
            .where(links.c.referrer_id == referrer, links.c.product_id == product)
            .values(token=secrets.token_urlsafe(16), legacy=1)
        )
    with op.batch_alter_table("referral_links") as batch_op:
        batch_op.alter_column("token", existing_type=sa.String(24), nullable=False)
        batch_op.create_unique_constraint("uq_referral_links_token", ["token"])


def downgrade() -> None:
    with op.batch_alter_table("referral_links") as batch_op:
        batch_op.drop_constraint("uq_referral_links_token", type_="unique")
        batch_op.drop_column("legacy")
        batch_op.drop_column("token")
    op.drop_table("ledger_readers")
