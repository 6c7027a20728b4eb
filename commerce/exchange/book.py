"""The BNM/BTL matching engine: a pure, in-memory limit order book (no I/O, no clock, no ledger).

- **Limit orders** rest at their price until filled or cancelled; **market orders** take what is there
  up to their *protection limit* (the worst price the member accepts) and never rest.
- **Price-time priority**: the best price first (highest bid, lowest ask); at one price, the earliest
  order first (the order in which orders reached the book).
- **Partial fills**: a taker fills against as many makers as it needs; a maker may be filled in part and
  keeps its place in the queue.
- A trade is at the **maker's price** (the resting order set it; the taker accepted at least that).
- **Self-trade**: an order that would trade with its own member's resting order is refused whole
  (``SelfTrade``) — wash trades would let one member paint the reference price.
- A market order that finds nothing inside its protection limit is refused (``NoLiquidity``).

``place`` plans every fill first and only then changes the book, so a refusal leaves the book exactly as
it was. Prices are won per 1 BNM and amounts BNM units (0.001 BNM), both plain integers; the service
(``commerce.exchange.service``) checks ticks, lots and bands before an order gets here.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from commerce.exchange.errors import BadOrder, NoLiquidity, SelfTrade

BUY, SELL = "buy", "sell"
LIMIT, MARKET = "limit", "market"
SIDES = (BUY, SELL)
KINDS = (LIMIT, MARKET)


@dataclass(slots=True, eq=False)
class Order:
    """An order in the book. ``remaining`` falls as it fills; ``price`` is the limit (market: protection).

    Compared by identity (``eq=False``): a cancel finds *this* order in its queue at C speed, never one
    that merely has equal fields.
    """

    id: int
    member: int
    side: str
    price: int
    remaining: int
    kind: str = LIMIT


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade: ``units`` BNM between a resting maker and the incoming taker, at the maker's price."""

    maker: int
    taker: int
    maker_member: int
    taker_member: int
    taker_side: str
    price: int
    units: int

    @property
    def buy_order(self) -> int:
        return self.taker if self.taker_side == BUY else self.maker

    @property
    def sell_order(self) -> int:
        return self.maker if self.taker_side == BUY else self.taker


@dataclass(frozen=True, slots=True)
class Placement:
    """What placing did: the fills in order, what is left of the taker, and whether that rests."""

    order: Order
    fills: tuple[Fill, ...]
    rested: bool

    @property
    def filled(self) -> int:
        return sum(f.units for f in self.fills)


@dataclass(frozen=True, slots=True)
class Level:
    price: int
    units: int
    orders: int


class Book:
    """Two sides of price levels; each level a FIFO queue of orders.

    Prices of each side are kept in one ascending list (``bisect``), so the best bid is the last and the
    best ask the first; a level's queue is a ``deque``. Filled makers are always at the front of their
    queue, so applying a placement only pops from the left.
    """

    def __init__(self) -> None:
        self._levels: dict[str, dict[int, deque[Order]]] = {BUY: {}, SELL: {}}
        self._prices: dict[str, list[int]] = {BUY: [], SELL: []}
        self._orders: dict[int, Order] = {}

    # ------------------------------------------------------------------------------------- reading

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders

    def get(self, order_id: int) -> Order | None:
        return self._orders.get(order_id)

    def best(self, side: str) -> int | None:
        prices = self._prices[side]
        if not prices:
            return None
        return prices[-1] if side == BUY else prices[0]

    def _priced(self, side: str) -> Iterator[int]:
        prices = self._prices[side]
        return reversed(prices) if side == BUY else iter(prices)

    def orders(self, side: str) -> Iterator[Order]:
        """Every resting order of a side, in priority order."""
        levels = self._levels[side]
        for price in list(self._priced(side)):
            yield from levels[price]

    def depth(self, side: str, levels: int = 10) -> list[Level]:
        out = []
        for price in self._priced(side):
            queue = self._levels[side][price]
            out.append(Level(price, sum(o.remaining for o in queue), len(queue)))
            if len(out) >= levels:
                break
        return out

    # ------------------------------------------------------------------------------------- writing

    def rest(self, order: Order) -> None:
        """Put an order on the book without matching (a resting order loaded back from storage)."""
        if order.side not in SIDES or order.kind != LIMIT or order.remaining <= 0 or order.price <= 0:
            raise BadOrder(f"order {order.id} cannot rest on the book", order=order.id)
        if order.id in self._orders:
            raise BadOrder(f"order {order.id} is already on the book", order=order.id)
        levels = self._levels[order.side]
        queue = levels.get(order.price)
        if queue is None:
            queue = levels[order.price] = deque()
            insort(self._prices[order.side], order.price)
        queue.append(order)
        self._orders[order.id] = order

    def cancel(self, order_id: int) -> Order | None:
        """Take an order off the book; None if it is not there (filled, cancelled, never rested)."""
        order = self._orders.pop(order_id, None)
        if order is None:
            return None
        queue = self._levels[order.side][order.price]
        queue.remove(order)
        if not queue:
            self._drop_level(order.side, order.price)
        return order

    def _drop_level(self, side: str, price: int) -> None:
        del self._levels[side][price]
        prices = self._prices[side]
        del prices[bisect_left(prices, price)]

    def plan(self, order: Order) -> list[Fill]:
        """The fills ``order`` would get, in order, without changing anything. Raises on a self-trade,
        and for a market order that finds nothing inside its protection limit."""
        side = order.side
        if side not in SIDES or order.kind not in KINDS or order.remaining <= 0 or order.price <= 0:
            raise BadOrder(f"order {order.id} is not a valid order", order=order.id)
        if order.id in self._orders:
            raise BadOrder(f"order {order.id} is already on the book", order=order.id)
        buying = side == BUY
        opposite = SELL if buying else BUY
        prices = self._prices[opposite]
        limit = order.price
        # The commonest case, an order that does not cross, returns before any loop starts.
        if not prices or (prices[0] > limit if buying else prices[-1] < limit):
            return self._nothing_for(order)
        levels = self._levels[opposite]
        left, member, oid = order.remaining, order.member, order.id
        fills: list[Fill] = []
        for price in prices if buying else reversed(prices):
            if (price > limit) if buying else (price < limit):
                break
            for maker in levels[price]:
                if maker.member == member:
                    raise SelfTrade(
                        f"order {oid} would trade with the member's own order {maker.id}", order=maker.id, price=price
                    )
                take = maker.remaining if maker.remaining < left else left
                fills.append(Fill(maker.id, oid, maker.member, member, side, price, take))
                left -= take
                if not left:
                    return fills
        return fills  # a market order that crossed found something: it never gets here empty

    @staticmethod
    def _nothing_for(order: Order) -> list[Fill]:
        if order.kind == MARKET:
            raise NoLiquidity(
                f"no {'sell' if order.side == BUY else 'buy'} orders within the protection price {order.price}",
                side=order.side,
                protection=order.price,
            )
        return []

    def place(self, order: Order) -> Placement:
        """Match ``order`` against the book, then rest what is left of a limit order."""
        return self.apply(order, self.plan(order))

    def apply(self, order: Order, fills: list[Fill]) -> Placement:
        """Make the fills ``plan`` gave for ``order`` (nothing changed since), then rest what is left."""
        opposite = SELL if order.side == BUY else BUY
        levels = self._levels[opposite]
        for fill in fills:
            queue = levels[fill.price]
            maker = queue[0]
            assert maker.id == fill.maker  # planned fills consume each queue from its front
            maker.remaining -= fill.units
            order.remaining -= fill.units
            if not maker.remaining:
                queue.popleft()
                del self._orders[maker.id]
                if not queue:
                    self._drop_level(opposite, fill.price)
        rested = order.kind == LIMIT and order.remaining > 0
        if rested:  # checked by ``plan`` already: straight onto its level
            side_levels = self._levels[order.side]
            waiting = side_levels.get(order.price)
            if waiting is None:
                waiting = side_levels[order.price] = deque()
                insort(self._prices[order.side], order.price)
            waiting.append(order)
            self._orders[order.id] = order
        return Placement(order, tuple(fills), rested)
