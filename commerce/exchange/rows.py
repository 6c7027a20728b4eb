"""The exchange's rows: ``market_orders`` into ``MarketOrder``, ``market_trades`` into ``MarketTrade``, and
the one ``market_state`` row every placement and cancel locks first.

Each mapper reads its row by column name; every statement that makes one selects ``ORDER_COLUMNS`` or
``TRADE_COLUMNS`` (``commerce.exchange.queries``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from commerce.exchange.book import BUY
from commerce.exchange.schema import market_orders, market_state, market_trades
from commerce.statements import Statement

ORDER_COLUMNS = (
    market_orders.c.id,
    market_orders.c.member_id,
    market_orders.c.side,
    market_orders.c.kind,
    market_orders.c.price,
    market_orders.c.amount,
    market_orders.c.remaining,
    market_orders.c.held,
    market_orders.c.traded_btl,
    market_orders.c.status,
    market_orders.c.placed_seq,
    market_orders.c.closed_seq,
    market_orders.c.created_ms,
)
TRADE_COLUMNS = tuple(market_trades.c)

# The market's lock (a caller adds ``uow.for_update``): the next ids, and the version of the open book.
MARKET_STATE = Statement.of(
    select(market_state.c.next_order, market_state.c.next_trade, market_state.c.book_version).where(
        market_state.c.id == 1
    )
)


@dataclass(frozen=True, slots=True)
class MarketOrder:
    id: int
    member_id: int
    side: str
    kind: str
    price: int
    amount: int
    remaining: int
    held: int
    traded_btl: int
    status: str
    placed_seq: int
    closed_seq: int | None
    created_ms: int

    @property
    def filled(self) -> int:
        return self.amount - self.remaining

    @property
    def token(self) -> str:
        """The token the order holds: BTL to buy, BNM to sell."""
        return "BTL" if self.side == BUY else "BNM"

    @property
    def still_held(self) -> int:
        """What the order still reserves (won for a buy, units for a sell); 0 once closed."""
        if self.status != "open":
            return 0
        return self.held - self.traded_btl if self.side == BUY else self.remaining


@dataclass(frozen=True, slots=True)
class MarketTrade:
    id: int
    buy_order: int
    sell_order: int
    buyer_id: int
    seller_id: int
    taker_side: str
    price: int
    units: int
    value: int
    seq: int
    time_ms: int


def order_of(row: Mapping[str, Any]) -> MarketOrder:
    closed = row["closed_seq"]
    return MarketOrder(
        int(row["id"]),
        int(row["member_id"]),
        str(row["side"]),
        str(row["kind"]),
        int(row["price"]),
        int(row["amount"]),
        int(row["remaining"]),
        int(row["held"]),
        int(row["traded_btl"]),
        str(row["status"]),
        int(row["placed_seq"]),
        None if closed is None else int(closed),
        int(row["created_ms"]),
    )


def trade_of(row: Mapping[str, Any]) -> MarketTrade:
    return MarketTrade(
        int(row["id"]),
        int(row["buy_order"]),
        int(row["sell_order"]),
        int(row["buyer_id"]),
        int(row["seller_id"]),
        str(row["taker_side"]),
        int(row["price"]),
        int(row["units"]),
        int(row["value"]),
        int(row["seq"]),
        int(row["time_ms"]),
    )
