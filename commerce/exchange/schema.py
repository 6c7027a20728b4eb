"""The market's tables (same metadata as the ledger's, one Alembic history; revision ``0005_market``).

Amounts are BIGINT: prices in won per 1 BNM, amounts in BNM units (0.001 BNM), values in won (BTL).
The ledger is the record of every hold, trade and cancel; these rows are the book's working state and
name the ledger entries that made them (``placed_seq``, ``closed_seq``, ``seq``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, text

from ledger.schema import ROWID_KEY, metadata

# One row (id 1): the next order and trade ids, and the book's version. Every placement and cancel locks
# it first, so matching is serialised across processes (PostgreSQL ``FOR UPDATE``; SQLite already holds
# the write lock).
market_state = Table(
    "market_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("next_order", BigInteger, nullable=False),
    Column("next_trade", BigInteger, nullable=False),
    # New at every placement and cancel: a process's copy of the open book is good while it matches
    # (``commerce.exchange.resting``; migration 0013_market_book_version).
    Column("book_version", BigInteger, nullable=False, server_default="0"),
)

# Keys are INTEGER on SQLite (``ROWID_KEY``); the book index holds the open orders only, the one-time-key
# index only keyed orders (migration 0012_market_keys).
_OPEN = text("status = 'open'")
_KEY_GIVEN = text("client_key IS NOT NULL")

market_orders = Table(
    "market_orders",
    metadata,
    Column("id", ROWID_KEY, primary_key=True, autoincrement=False),
    Column("member_id", BigInteger, nullable=False),
    Column("side", String(4), nullable=False),  # buy | sell
    Column("kind", String(6), nullable=False),  # limit | market
    Column("price", BigInteger, nullable=False),  # limit price; a market order's protection limit
    Column("amount", BigInteger, nullable=False),  # BNM units asked
    Column("remaining", BigInteger, nullable=False),  # BNM units not yet traded
    Column("held", BigInteger, nullable=False),  # what the hold reserved: BTL (buy) or BNM units (sell)
    Column("traded_btl", BigInteger, nullable=False),  # won paid (buy) or received (sell) so far
    Column("status", String(10), nullable=False),  # open | filled | cancelled
    Column("client_key", String(64), nullable=True),  # the chat's one-time nonce: a double tap places once
    Column("placed_seq", BigInteger, nullable=False),
    Column("closed_seq", BigInteger, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index(
        "uq_market_orders_client_key",
        "member_id",
        "client_key",
        unique=True,
        sqlite_where=_KEY_GIVEN,
        postgresql_where=_KEY_GIVEN,
    ),
    Index("ix_market_orders_book", "side", "price", "id", sqlite_where=_OPEN, postgresql_where=_OPEN),
    Index("ix_market_orders_member", "member_id", "status"),
)

market_trades = Table(
    "market_trades",
    metadata,
    Column("id", ROWID_KEY, primary_key=True, autoincrement=False),
    Column("buy_order", BigInteger, nullable=False),
    Column("sell_order", BigInteger, nullable=False),
    Column("buyer_id", BigInteger, nullable=False),
    Column("seller_id", BigInteger, nullable=False),
    Column("taker_side", String(4), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("value", BigInteger, nullable=False),  # won: price × units / 1,000, exact by tick and lot
    Column("seq", BigInteger, nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Index("ix_market_trades_time", "time_ms"),
)
