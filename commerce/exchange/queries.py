"""What the exchange's screens and the placement read: orders, trades, the book by price level, the day
at a glance, and today's price band."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select

from commerce.exchange.book import BUY, SELL, Level
from commerce.exchange.errors import UnknownMarketOrder
from commerce.exchange.price import DAY_MS, day_start, source_of
from commerce.exchange.rows import ORDER_COLUMNS, TRADE_COLUMNS, MarketOrder, MarketTrade, order_of, trade_of
from commerce.exchange.rules import DEFAULT_CONFIG, Band, MarketConfig, band_of
from commerce.exchange.schema import market_orders as orders
from commerce.exchange.schema import market_trades as trades
from commerce.services import Services
from commerce.statements import Statement
from ledger.storage.unit_of_work import UnitOfWork

_ORDER = Statement.of(select(*ORDER_COLUMNS).where(orders.c.id == bindparam("id")))
_MEMBER_OPEN = Statement.of(
    select(*ORDER_COLUMNS).where(orders.c.member_id == bindparam("m"), orders.c.status == "open").order_by(orders.c.id)
)
# Through the book's partial index (side, price, id of the open orders), not a scan of the history.
_ALL_OPEN = Statement.of(
    select(*ORDER_COLUMNS).where(orders.c.status == "open").order_by(orders.c.side, orders.c.price, orders.c.id)
)
_TRADES_OF = Statement.of(
    select(*TRADE_COLUMNS)
    .where((trades.c.buy_order == bindparam("o")) | (trades.c.sell_order == bindparam("o")))
    .order_by(trades.c.id)
)
_TRADES_SINCE = Statement.of(
    select(*TRADE_COLUMNS).where(trades.c.id > bindparam("since")).order_by(trades.c.id).limit(bindparam("n"))
)
_TRADES_BETWEEN = Statement.of(
    select(*TRADE_COLUMNS)
    .where(trades.c.time_ms >= bindparam("a"), trades.c.time_ms < bindparam("b"))
    .order_by(trades.c.id)
    .limit(bindparam("n"))
)


async def get_order(uow: UnitOfWork, order_id: int) -> MarketOrder:
    rows = await uow.fetch(_ORDER.sql, {"id": order_id})
    if not rows:
        raise UnknownMarketOrder(f"no market order {order_id}", order=order_id)
    return order_of(_ORDER.named(rows[0]))


async def open_orders(uow: UnitOfWork, member_id: int) -> list[MarketOrder]:
    rows = await uow.fetch(_MEMBER_OPEN.sql, {"m": member_id})
    return [order_of(_MEMBER_OPEN.named(r)) for r in rows]


async def all_open_orders(uow: UnitOfWork) -> list[MarketOrder]:
    """Every open order, oldest first."""
    rows = await uow.fetch(_ALL_OPEN.sql)
    return sorted((order_of(_ALL_OPEN.named(r)) for r in rows), key=lambda o: o.id)


async def trades_of(uow: UnitOfWork, order_id: int) -> list[MarketTrade]:
    rows = await uow.fetch(_TRADES_OF.sql, {"o": order_id})
    return [trade_of(_TRADES_OF.named(r)) for r in rows]


async def trades_since(uow: UnitOfWork, since: int = 0, *, limit: int = 500) -> list[MarketTrade]:
    """Trades with an id above ``since``, oldest first: a client polls with the last id it has."""
    rows = await uow.fetch(_TRADES_SINCE.sql, {"since": since, "n": limit})
    return [trade_of(_TRADES_SINCE.named(r)) for r in rows]


async def trades_between(uow: UnitOfWork, start_ms: int, end_ms: int, *, limit: int = 5_000) -> list[MarketTrade]:
    rows = await uow.fetch(_TRADES_BETWEEN.sql, {"a": start_ms, "b": end_ms, "n": limit})
    return [trade_of(_TRADES_BETWEEN.named(r)) for r in rows]


async def band(market: Services, uow: UnitOfWork, config: MarketConfig = DEFAULT_CONFIG) -> Band:
    """Today's price band: ±``band_bp`` around the reference price as the day began (Korean time)."""
    anchor = await source_of(market.prices).band_anchor(uow, at_ms=market.clock())
    return band_of(anchor.price, config)


@dataclass(frozen=True, slots=True)
class BookView:
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


def _levels(side: str, best_first: ColumnElement[Any]) -> Statement:
    return Statement.of(
        select(
            orders.c.price.label("price"),
            func.sum(orders.c.remaining).label("units"),
            func.count().label("orders"),
        )
        .where(orders.c.status == "open", orders.c.side == side)
        .group_by(orders.c.price)
        .order_by(best_first)
        .limit(bindparam("n"))
    )


_BIDS = _levels(BUY, orders.c.price.desc())
_ASKS = _levels(SELL, orders.c.price.asc())


async def book_view(uow: UnitOfWork, levels: int = 10) -> BookView:
    """The book by price level: bids best (highest) first, asks best (lowest) first."""
    bids, asks = await uow.batch([_BIDS.read({"n": levels}), _ASKS.read({"n": levels})])

    def level(statement: Statement, row: tuple[object, ...]) -> Level:
        named = statement.named(row)
        return Level(int(named["price"]), int(named["units"]), int(named["orders"]))

    return BookView(tuple(level(_BIDS, r) for r in bids), tuple(level(_ASKS, r) for r in asks))


@dataclass(frozen=True, slots=True)
class DaySummary:
    """Today (Korean time) at a glance, and the week's closing prices, oldest first."""

    high: int | None
    low: int | None
    last: int | None  # the last trade's price, today or before
    volume: int  # units traded today
    trades: int
    closes: tuple[int | None, ...]  # the last price at the end of each of the last 7 days (today last)


_TODAY = Statement.of(
    select(
        func.max(trades.c.price).label("high"),
        func.min(trades.c.price).label("low"),
        func.coalesce(func.sum(trades.c.units), 0).label("volume"),
        func.count().label("trades"),
    ).where(trades.c.time_ms >= bindparam("a"), trades.c.time_ms <= bindparam("b"))
)
_LAST_PRICE = Statement.of(
    select(trades.c.price)
    .where(trades.c.time_ms <= bindparam("b"))
    .order_by(trades.c.time_ms.desc(), trades.c.id.desc())
    .limit(1)
)


async def summary(market: Services, uow: UnitOfWork, *, days: int = 7) -> DaySummary:
    now = market.clock()
    start = day_start(now)
    ends = [now] + [start - i * DAY_MS - 1 for i in range(days - 1)]  # today so far, then each earlier day's end
    today, *closes = await uow.batch([_TODAY.read({"a": start, "b": now}), *(_LAST_PRICE.read({"b": b}) for b in ends)])
    day = _TODAY.named(today[0])
    last = [int(_LAST_PRICE.named(rows[0])["price"]) if rows else None for rows in closes]
    return DaySummary(
        None if day["high"] is None else int(day["high"]),
        None if day["low"] is None else int(day["low"]),
        last[0],
        int(day["volume"]),
        int(day["trades"]),
        tuple(reversed(last)),
    )
