"""Commerce tables (same metadata as the ledger's, one Alembic history).

Personal data (names, phones, addresses, bank accounts) lives only here, never on the ledger: actions
carry member ids, salted phone hashes and address references instead. Money columns are BIGINT won
(BTL) or BNM units (0.001 BNM).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, UniqueConstraint

from ledger.schema import metadata

members = Table(
    "members",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("display_name", String(64), nullable=False),
    Column("phone", String(20), nullable=True, unique=True),  # E.164-ish digits; personal data
    Column("phone_hash", String(64), nullable=True),
    Column("roles", String(64), nullable=False),  # comma-separated: shopper, producer, courier, operator
    Column("lang", String(5), nullable=False),
    Column("bnm_share_pref", Integer, nullable=False),  # default BNM share (percent) for payments
    Column("status", String(12), nullable=False),  # active | merged
    Column("merged_into", BigInteger, nullable=True),
    Column("region", String(64), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
)

member_identities = Table(
    "member_identities",
    metadata,
    Column("channel", String(16), primary_key=True),  # telegram | kakao | web
    Column("external_id", String(128), primary_key=True),
    Column("member_id", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_member_identities_member", "member_id"),
)

phone_codes = Table(
    "phone_codes",
    metadata,
    Column("member_id", BigInteger, primary_key=True),
    Column("phone", String(20), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
)

# Every code sent, by phone hash: at most ``MarketRules.phone_codes_per_hour`` to one number, whoever asks.
phone_code_sends = Table(
    "phone_code_sends",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("phone_hash", String(64), nullable=False),
    Column("member_id", BigInteger, nullable=False),
    Column("sent_ms", BigInteger, nullable=False),
    Index("ix_phone_code_sends_phone", "phone_hash", "sent_ms"),
)

addresses = Table(
    "addresses",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("member_id", BigInteger, nullable=False),
    Column("label", String(32), nullable=False),
    Column("text", String(200), nullable=False),  # personal data
    Column("region", String(64), nullable=True),
    Column("ref", String(64), nullable=False),  # salted hash: what the ledger records
    Column("detail", String(100), nullable=True),  # 동/호수: personal data
    Column("recipient_name", String(64), nullable=True),  # NULL: the member themself
    Column("recipient_phone", String(20), nullable=True),  # NULL: the member's own phone
    Column("lat_e6", BigInteger, nullable=True),  # a shared location, in millionths of a degree
    Column("lon_e6", BigInteger, nullable=True),
    Column("used_ms", BigInteger, nullable=True),  # last chosen for an order: preselected next time
    Index("ix_addresses_member", "member_id"),
)

# The delivery choice for a member's cart at one shop, kept until it becomes an order (or the cart goes).
cart_choices = Table(
    "cart_choices",
    metadata,
    Column("member_id", BigInteger, primary_key=True),
    Column("shop_id", BigInteger, primary_key=True),
    Column("address_id", BigInteger, nullable=True),
    Column("pickup_at", String(8), nullable=True),  # shop | office; NULL: delivery to address_id
    Column("window_start_ms", BigInteger, nullable=True),
    Column("window_end_ms", BigInteger, nullable=True),
    Column("updated_ms", BigInteger, nullable=False),
)

# Where one order goes, copied from the address book when it is placed, so the shop and the courier see
# what the buyer chose even if the book changes. Erased (``erased_ms``) once no claim can be opened.
order_addresses = Table(
    "order_addresses",
    metadata,
    Column("order_id", BigInteger, primary_key=True),
    Column("label", String(32), nullable=False),
    Column("text", String(200), nullable=False),  # personal data
    Column("detail", String(100), nullable=False),  # personal data
    Column("recipient_name", String(64), nullable=False),  # personal data
    Column("recipient_phone", String(20), nullable=False),  # personal data
    Column("lat_e6", BigInteger, nullable=True),
    Column("lon_e6", BigInteger, nullable=True),
    Column("erased_ms", BigInteger, nullable=True),
)

shops = Table(
    "shops",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("owner_id", BigInteger, nullable=False),
    Column("name", String(60), nullable=False),
    Column("kind", String(16), nullable=False),  # farm | fishery | market_stall | alley_shop
    Column("market", String(60), nullable=True),
    Column("region", String(64), nullable=False),
    Column("phone", String(20), nullable=True),
    Column("business_no", String(12), nullable=True),
    Column("bnm_max_share", Integer, nullable=False),
    Column("delivery_regions", Text, nullable=False),  # comma-separated regions served
    Column("delivery_fee", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # pending | verified | suspended
    Column("referral_bp", Integer, nullable=False),  # commission for recommenders (basis points)
    Column("created_ms", BigInteger, nullable=False),
    Column("hours", String(11), nullable=False, server_default="09:00-19:00"),  # opening hours, Seoul time
    Column("pickup", Integer, nullable=False, server_default="0"),  # 1: buyers may collect at the shop
    # Delivery windows a day, "HH-HH" comma-separated; empty: the opening hours as one window.
    Column("windows", String(64), nullable=False, server_default=""),
)

products = Table(
    "products",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("shop_id", BigInteger, nullable=False),
    Column("name", String(60), nullable=False),
    Column("category", String(32), nullable=False),
    Column("unit", String(20), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("stock", BigInteger, nullable=False),
    Column("photos", Text, nullable=False),  # JSON list of photo references
    Column("active", Integer, nullable=False),
    Column("origin_region", String(64), nullable=False),
    Column("origin_producer", String(64), nullable=False),  # farm, boat, workshop
    Column("ingredients", String(300), nullable=False),
    Column("certifications", Text, nullable=False),  # JSON list
    Column("produced_on", String(10), nullable=True),  # YYYY-MM-DD harvest/production date
    Column("description", String(500), nullable=False),
    Column("search_text", Text, nullable=False),  # normalised name + synonyms + choseong, for search
    Column("listed_seq", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_products_shop", "shop_id"),
    Index("ix_products_category", "category"),
    Index("ix_products_updated", "updated_ms"),  # the search index's freshness check
)

synonyms = Table(
    "synonyms",
    metadata,
    Column("term", String(40), primary_key=True),
    Column("canonical", String(40), primary_key=True),
)

provenance_events = Table(
    "provenance_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("product_id", BigInteger, nullable=False),
    Column("order_id", BigInteger, nullable=True),
    Column("stage", String(16), nullable=False),  # harvested | processed | packed | handed_over | delivered
    Column("actor_id", BigInteger, nullable=False),
    Column("note", String(200), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Index("ix_provenance_product", "product_id"),
)

cart_lines = Table(
    "cart_lines",
    metadata,
    Column("member_id", BigInteger, primary_key=True),
    Column("product_id", BigInteger, primary_key=True),
    Column("shop_id", BigInteger, nullable=False),
    Column("qty", Integer, nullable=False),
    Column("price_seen", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("buyer_id", BigInteger, nullable=False),
    Column("shop_id", BigInteger, nullable=False),
    Column("state", String(12), nullable=False),
    Column("subtotal", BigInteger, nullable=False),
    Column("delivery_fee", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("address_id", BigInteger, nullable=True),
    Column("bnm_share", Integer, nullable=True),
    Column("btl_amount", BigInteger, nullable=True),
    Column("bnm_units", BigInteger, nullable=True),
    Column("bnm_price", BigInteger, nullable=True),  # won per 1 BNM at payment
    Column("courier_id", BigInteger, nullable=True),
    Column("refund_due", BigInteger, nullable=False),  # agreed refunds not yet paid (before settlement)
    Column("referrer_id", BigInteger, nullable=True),
    Column("placed_seq", BigInteger, nullable=False),
    Column("paid_seq", BigInteger, nullable=True),
    Column("settled_seq", BigInteger, nullable=True),
    Column("idempotency_key", String(100), nullable=True, unique=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("paid_ms", BigInteger, nullable=True),
    Column("delivered_ms", BigInteger, nullable=True),
    Column("updated_ms", BigInteger, nullable=False),
    Column("pickup_at", String(8), nullable=True),  # shop | office; NULL: delivered to the order's address
    Column("window_start_ms", BigInteger, nullable=True),  # the delivery window the buyer chose
    Column("window_end_ms", BigInteger, nullable=True),
    Index("ix_orders_buyer", "buyer_id"),
    Index("ix_orders_shop_state", "shop_id", "state"),
    Index("ix_orders_state", "state"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", BigInteger, primary_key=True),
    Column("product_id", BigInteger, primary_key=True),
    Column("name", String(60), nullable=False),
    Column("unit", String(20), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("qty", Integer, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("order_id", BigInteger, primary_key=True),
    Column("region", String(64), nullable=False),
    Column("courier_id", BigInteger, nullable=True),
    Column("status", String(12), nullable=False),  # open | assigned | picked_up | delivered | locked
    Column("code", String(6), nullable=False),  # one-time code shown only in the buyer's chat
    Column("wrong_attempts", Integer, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_deliveries_status_region", "status", "region"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, nullable=False),
    Column("product_id", BigInteger, nullable=False),
    Column("member_id", BigInteger, nullable=False),
    Column("rating", Integer, nullable=False),
    Column("text", String(1000), nullable=False),
    Column("photo", String(200), nullable=True),
    Column("status", String(12), nullable=False),  # visible | held
    Column("seq", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("order_id", "product_id", name="uq_reviews_order_product"),
    Index("ix_reviews_product", "product_id"),
)

claims = Table(
    "claims",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, nullable=False),
    Column("member_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # wrong_item | damaged | missing | quality | after_sales
    Column("text", String(1000), nullable=False),
    Column("status", String(12), nullable=False),  # open | answered | escalated | resolved | rejected
    Column("resolution", String(16), nullable=True),  # refund_full | refund_partial | replacement | reject
    Column("refund_amount", BigInteger, nullable=False),
    Column("answer", String(1000), nullable=True),
    Column("seq", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_claims_order", "order_id"),
)

bank_accounts = Table(
    "bank_accounts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("member_id", BigInteger, nullable=False),
    Column("bank_code", String(3), nullable=False),
    Column("account_no", String(20), nullable=False),  # personal data
    Column("holder", String(40), nullable=False),  # personal data
    Column("ref", String(64), nullable=False),  # salted hash for the ledger
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_bank_accounts_member", "member_id"),
)

cashouts = Table(
    "cashouts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("member_id", BigInteger, nullable=False),
    Column("bank_account_id", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # pending | paid | failed
    Column("transfer_id", String(96), nullable=False),  # the pending ledger transfer holding the BTL
    Column("seq", BigInteger, nullable=False),
    Column("reason", String(200), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_cashouts_status", "status"),
)

topups = Table(
    "topups",
    metadata,
    Column("id", String(64), primary_key=True),  # gateway order id, or office receipt id
    Column("member_id", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("method", String(8), nullable=False),  # office | gateway
    Column("status", String(12), nullable=False),  # requested | confirmed | failed
    Column("payment_key", String(200), nullable=True),
    Column("seq", BigInteger, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_topups_member", "member_id"),
)

market_settings = Table(
    "market_settings",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)
