"""The ads' own tables: consents, campaigns, per-campaign recipients, keyword bids and fraud signals.

Money never lives here: a campaign's budget is the ledger account ``campaign:<id>`` and every reward is a
ledger transfer. These tables keep what the ledger must not carry (who may be messaged, where a dispatch
got to, which open was already paid) and point at the ledger entries that prove the rest (``seq``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from ledger.schema import metadata

_ID = BigInteger().with_variant(Integer, "sqlite")

ad_consents = Table(
    "ad_consents",
    metadata,
    Column("member_id", BigInteger, primary_key=True),
    Column("scope", String(16), primary_key=True),  # category | region | night
    Column("value", String(64), primary_key=True),  # a product category, a region, "*" (any); "" for night
    Column("status", String(12), nullable=False),  # granted | withdrawn
    Column("confirmed_ms", BigInteger, nullable=False),  # given or last re-confirmed (valid for 2 years)
    Column("updated_ms", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),  # the ``ad.consent`` entry that recorded the change
    Index("ix_ad_consents_scope_value", "scope", "value", "status"),
)

ad_campaigns = Table(
    "ad_campaigns",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("shop_id", BigInteger, nullable=False),
    Column("producer_id", BigInteger, nullable=False),  # the member who pays
    Column("product_id", BigInteger, nullable=False),
    Column("message", Text, nullable=False),
    Column("photo", String(300), nullable=True),
    Column("audience", Text, nullable=False),  # JSON: categories, regions, markets, past_buyers
    Column("reward", BigInteger, nullable=False),  # BTL per first open
    Column("per_member_limit", Integer, nullable=False),  # this shop's ads a member may get in 7 days
    Column("budget", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # draft | running | paused | ended
    Column("filled", Integer, nullable=False),  # 1 once the recipients were chosen (at start, once)
    Column("refunded", BigInteger, nullable=False),  # unspent budget returned at the end
    Column("created_ms", BigInteger, nullable=False),
    Column("started_ms", BigInteger, nullable=True),
    Column("ended_ms", BigInteger, nullable=True),
    Index("ix_ad_campaigns_shop", "shop_id", "status"),
    Index("ix_ad_campaigns_status", "status"),
)

ad_recipients = Table(
    "ad_recipients",
    metadata,
    Column("campaign_id", BigInteger, primary_key=True),
    Column("member_id", BigInteger, primary_key=True),
    # pending → sending → sent | blocked | unreachable | refused (no valid consent at the moment of sending)
    # | capped (per-member limit) | unknown (a crash between claiming and recording; never sent again)
    Column("status", String(12), nullable=False),
    Column("channel", String(16), nullable=True),
    Column("reason", String(64), nullable=True),
    Column("token", String(32), nullable=False),  # random, per recipient: the open button's proof
    Column("sent_ms", BigInteger, nullable=True),
    Column("opened_ms", BigInteger, nullable=True),
    Column("paid", BigInteger, nullable=False),  # BTL paid for the open (0: not paid)
    Column("open_seq", BigInteger, nullable=True),  # the ``ad.open`` entry that paid it
    Index("ix_ad_recipients_status", "campaign_id", "status", "member_id"),
    Index("ix_ad_recipients_member", "member_id", "sent_ms"),
)

ad_bids = Table(
    "ad_bids",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("campaign_id", BigInteger, nullable=False),  # pays opens like an ad open; its product is shown
    Column("keyword", String(64), nullable=False),  # normalised search keyword
    Column("bid", BigInteger, nullable=False),  # BTL per paid open, ranks the bids of a keyword
    Column("status", String(12), nullable=False),  # active | withdrawn
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_ad_bids_keyword", "keyword", "status"),
)

ad_sponsored_opens = Table(
    "ad_sponsored_opens",
    metadata,
    Column("campaign_id", BigInteger, primary_key=True),
    Column("member_id", BigInteger, primary_key=True),
    Column("paid", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
)

ad_signals = Table(
    "ad_signals",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # fast_open | open_flood | shared_phone | self_referral | …
    Column("member_id", BigInteger, nullable=True),
    Column("subject", String(64), nullable=False),  # what it is about: "campaign:7", "order:12", "phone:<ref>"
    Column("reason", Text, nullable=False),  # one sentence an operator can read
    Column("evidence", Text, nullable=False),  # JSON object with the figures
    Column("status", String(12), nullable=False),  # held | refused | cleared
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_ad_signals_member", "member_id", "created_ms"),
    Index("ix_ad_signals_status", "status", "created_ms"),
    Index("ix_ad_signals_kind", "kind", "subject"),
)
