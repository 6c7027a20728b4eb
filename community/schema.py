"""Tables of recommendations, comments and contribution rewards (migration ``0008_community``).

Money never lives here: commissions and brokering rewards are transfers inside an order's settlement
entry, contribution rewards are transfers from ``treasury:bnm`` in ``reward.contribution`` entries.
These tables keep what the ledger must not carry in plain form (a comment's text, who shares what) and
the decisions a settlement or a batch reads back (who is owed a share of an order, which subject was
already rewarded), each pointing at the ledger entry that proves it (``seq``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from ledger.schema import metadata

_ID = BigInteger().with_variant(Integer, "sqlite")

referral_links = Table(
    "referral_links",
    metadata,
    Column("referrer_id", BigInteger, primary_key=True),
    Column("product_id", BigInteger, primary_key=True),
    Column("shop_id", BigInteger, nullable=False),
    Column("first_ms", BigInteger, nullable=False),
    Column("last_ms", BigInteger, nullable=False),  # a purchase within the window of the last share counts
    Column("seq", BigInteger, nullable=False),  # the ``referral.share`` entry
    # What the shared link carries (``r<token>``): unguessable, so a link names neither the member nor
    # their number. ``legacy``: shared as ``r<member>p<product>`` before links carried tokens (still honoured).
    Column("token", String(24), nullable=False, unique=True),
    Column("legacy", Integer, nullable=False, server_default="0"),
    Index("ix_referral_links_shop", "shop_id", "referrer_id"),
)

# Read by ``commerce.orders.settlement.payees``: the shares of an order's proceeds owed to others at settlement.
order_payees = Table(
    "order_payees",
    metadata,
    Column("order_id", BigInteger, primary_key=True),
    Column("role", String(12), primary_key=True),  # referral | broker
    Column("member_id", BigInteger, nullable=False),
    Column("bp", Integer, nullable=False),  # basis points of the goods' value, fixed at checkout
    Column("status", String(12), nullable=False),  # due | held | refused
    Column("reason", String(32), nullable=True),  # the fraud rule that held or refused it
    Column("source", BigInteger, nullable=False),  # the shared product, or the credited comment
    Column("created_ms", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),  # the ``referral.attribute`` / ``comment.credit`` entry
    Index("ix_order_payees_member", "member_id", "role"),
)

product_comments = Table(
    "product_comments",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("product_id", BigInteger, nullable=False),
    Column("author_id", BigInteger, nullable=False),
    Column("kind", String(12), nullable=False),  # question | answer | tip
    Column("reply_to", BigInteger, nullable=True),  # the question an answer answers
    Column("text", String(500), nullable=False),
    Column("text_hash", String(64), nullable=False),  # SHA-256 of the text, as signed on the ledger
    Column("status", String(12), nullable=False),  # visible | hidden
    Column("seq", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_product_comments_product", "product_id", "id"),
    Index("ix_product_comments_author", "author_id", "created_ms"),
)

reward_settings = Table(
    "reward_settings",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=True),  # the operator's ``reward.setting`` entry (NULL: the default)
)

reward_payouts = Table(
    "reward_payouts",
    metadata,
    Column("rule", String(24), primary_key=True),
    Column("subject", String(64), primary_key=True),  # "order:12", "review:3", "member:7", "cosign:<ref>"
    Column("member_id", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),  # BNM units paid (0 when over budget or refused)
    Column("period", String(7), nullable=False),  # YYYY-MM (Korea time): the emission budget's period
    Column("status", String(12), nullable=False),  # paid | over_budget | refused
    Column("seq", BigInteger, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_reward_payouts_period", "period", "status"),
    Index("ix_reward_payouts_member", "member_id"),
)

member_devices = Table(
    "member_devices",
    metadata,
    Column("device_ref", String(64), primary_key=True),  # salted hash of a device or session fingerprint
    Column("member_id", BigInteger, primary_key=True),
    Column("seen_ms", BigInteger, nullable=False),
    Index("ix_member_devices_member", "member_id"),
)
