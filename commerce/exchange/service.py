"""Placing, cancelling and matching BNM/BTL orders through the ledger.

How the tokens move (``escrow:market:btl`` and ``escrow:market:bnm`` are the market's two escrows)::

    place   (member-signed ``market.place``)   wallet ─pending hold→ escrow      the whole order's worth
    trade   (operator-signed ``market.trade``) post the buyer's and the seller's holds (at each order's
            first fill, in full), then escrow:bnm → buyer (units) and escrow:btl → seller (won); a buy
            filled below its limit gets the difference back in the entry that completes it
    cancel  (member-signed ``market.cancel``)  never filled: void the hold; filled in part: escrow →
            wallet for what is left, with the operator's countersignature (the escrow is unowned)

So an open order's tokens are never spendable twice: until its first fill they are a pending debit on
the member's wallet (``available`` excludes them), after it they sit in the market escrow, owed back
by the order row. A trade settles both sides in one entry — it is there whole or not at all. A
member's wallet is only ever debited by the member's own hold; the operator never needs the right to
debit a wallet for the market (no operator-debit kind).

Every placement and cancel first locks the one ``market_state`` row, so matching is serialised across
processes; the order is matched against the process's copy of the open book (``commerce.exchange.resting``,
good while the row's ``book_version`` is the one it was made at, read anew otherwise), and the outcome
written with the ledger entries in the same round trip (``Ledger.record_many(..., then=...)``). Fair
play — tick and lot sizes, the daily band around the reference price, per-member open-order limits, no
self-trade — is checked before anything is written; every refusal is a typed error and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from commerce.exchange import book as engine
from commerce.exchange import resting
from commerce.exchange.book import BUY, LIMIT, MARKET, SELL, Fill, Level
from commerce.exchange.errors import (
    BadOrder,
    NotEnoughTokens,
    NotYourOrder,
    OrderClosed,
    OutsideBand,
    TooManyOrders,
    UnknownMarketOrder,
)
from commerce.exchange.price import DAY_MS, day_start, source_of
from commerce.exchange.resting import Resting, RestingBook, new_version
from commerce.members import identity
from commerce.members import service as members
from commerce.members.rows import MEMBER_BY_ID, member_of
from commerce.services import BNM_UNITS, Services
from ledger.db import Op, Row, UnitOfWork, read, write, write_many
from ledger.model import Transfer
from ledger.service import Recorded, Request

ESCROW = {"BTL": "escrow:market:btl", "BNM": "escrow:market:bnm"}
PLACE_KIND, TRADE_KIND, CANCEL_KIND = "market.place", "market.trade", "market.cancel"
OPERATOR = "system:operator"
_ORDER_COLUMNS = (
    "id, member_id, side, kind, price, amount, remaining, held, traded_btl, status, placed_seq, closed_seq, created_ms"
)


@dataclass(frozen=True, slots=True)
class MarketConfig:
    """The market's fair-play rules.

    Tick × lot = 10원 × 100 units = 1원 per 1,000 units: every order's worth and every trade's value
    (price × units / 1,000) is a whole number of won, so no trade ever rounds.
    """

    tick: int = 10  # won per BNM
    lot: int = 100  # BNM units (0.1 BNM)
    band_bp: int = 3_000  # ±30 % around the day's reference price
    max_open_orders: int = 20  # resting orders per member
    max_units: int = 10_000_000  # 10,000 BNM in one order
    max_price: int = 10_000_000  # won per BNM
    max_fills: int = 200  # resting orders one placement may trade with


DEFAULT_CONFIG = MarketConfig()


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


@dataclass(frozen=True, slots=True)
class Placed:
    order: MarketOrder
    trades: tuple[MarketTrade, ...]
    earlier: bool = False  # a repeat of an order placed before (same one-time key): nothing new


@dataclass(frozen=True, slots=True)
class Band:
    low: int
    high: int
    anchor: int  # the reference price as the day began


@dataclass(frozen=True, slots=True)
class BookView:
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


def order_from_row(row: tuple[Any, ...]) -> MarketOrder:
    return MarketOrder(
        int(row[0]),
        int(row[1]),
        str(row[2]),
        str(row[3]),
        int(row[4]),
        int(row[5]),
        int(row[6]),
        int(row[7]),
        int(row[8]),
        str(row[9]),
        int(row[10]),
        None if row[11] is None else int(row[11]),
        int(row[12]),
    )


def hold_id(order_id: int) -> str:
    return f"mkt-{order_id}-hold"


def worth(price: int, units: int) -> int:
    """Won for ``units`` at ``price`` won per BNM (exact for prices on the tick and amounts on the lot)."""
    return price * units // BNM_UNITS


# ------------------------------------------------------------------------------------------ checks


def _check_int(value: Any, name: str, *, step: int, high: int) -> int:
    if type(value) is not int or value <= 0:
        raise BadOrder(f"{name} must be a whole number above 0", field=name, reason="not_positive")
    if value > high:
        raise BadOrder(f"{name} may be at most {high}", field=name, reason="too_large", high=high)
    if value % step:
        raise BadOrder(f"{name} must be a multiple of {step}", field=name, reason="off_step", step=step)
    return value


def band_of(anchor: int, config: MarketConfig) -> Band:
    tick = config.tick
    low = max(tick, -(-(anchor * (10_000 - config.band_bp)) // (10_000 * tick)) * tick)  # up to the tick
    high = anchor * (10_000 + config.band_bp) // (10_000 * tick) * tick  # down to the tick
    return Band(low, max(low, high), anchor)


async def band(market: Services, uow: UnitOfWork, config: MarketConfig = DEFAULT_CONFIG) -> Band:
    """Today's price band: ±``band_bp`` around the reference price as the day began (Korean time)."""
    anchor = await source_of(market.prices).band_anchor(uow, at_ms=market.clock())
    return band_of(anchor.price, config)


# ------------------------------------------------------------------------------------------ placing


@dataclass(slots=True)
class _Live(Resting):
    """An order's figures while a placement is planned (the taker and every maker it touches): what its
    row has (``Resting``), and what this placement does to it."""

    id: int = 0
    posted: bool = False  # its hold went to the escrow (at its first fill)
    status: str = "open"
    touched: bool = False  # traded in this placement: its row is written back
    closed: bool = False  # closed by this placement …
    closed_at: int | None = None  # … in this request of the placement (its entry is the order's closed_seq)

    @property
    def token(self) -> str:
        return "BTL" if self.side == BUY else "BNM"


def _post(o: _Live) -> Transfer:
    return Transfer(
        f"mkt-{o.id}-post",
        members.wallet(o.member, o.token),
        ESCROW[o.token],
        o.held,
        o.token,
        type="post",
        pending_id=hold_id(o.id),
    )


def _give_back(o: _Live) -> Transfer | None:
    """What a closing order gets back from the escrow: a buy's unspent won, a sell's unsold units."""
    rest = o.held - o.traded if o.side == BUY else o.remaining
    if rest <= 0:
        return None
    return Transfer(f"mkt-{o.id}-rest", ESCROW[o.token], members.wallet(o.member, o.token), rest, o.token)


# The fills of one placement are settled together: one operator-signed entry for up to this many of them
# (an entry's 64 KiB limit holds ~140), not one each. Each trade still settles both its sides in that one
# entry; what a placement matched at once is on the ledger at once. Most placements that trade meet
# several makers (3.4 on average in bench market), and an entry (signature, hashes, rows) cost as much
# as the rest of the order.
TRADES_PER_ENTRY = 32


def _settle(trade_id: int, fill: Fill, buy: _Live, sell: _Live, last_for_market_taker: bool) -> list[Transfer]:
    """One trade's transfers (its orders' figures updated): the holds posted at each order's first fill,
    the BNM to the buyer and the won to the seller, and what a closing order gets back."""
    value = worth(fill.price, fill.units)
    transfers = [_post(o) for o in (buy, sell) if not o.posted]
    buy.posted = sell.posted = True
    transfers.append(
        Transfer(f"mkt-t{trade_id}-bnm", ESCROW["BNM"], members.wallet(buy.member, "BNM"), fill.units, "BNM")
    )
    transfers.append(Transfer(f"mkt-t{trade_id}-btl", ESCROW["BTL"], members.wallet(sell.member, "BTL"), value, "BTL"))
    for o in (buy, sell):
        o.remaining -= fill.units
        o.traded += value
        o.touched = True
    for o in (buy, sell):
        done = o.remaining == 0
        if done or (last_for_market_taker and o.id == fill.taker):
            back = _give_back(o)
            if back is not None:
                transfers.append(back)
            o.status, o.closed = ("filled" if done else "cancelled"), True
    return transfers


def _trade_requests(
    fills: Sequence[Fill], first_trade: int, live: dict[int, _Live], *, market_taker: bool, first_entry: int
) -> tuple[list[Request], list[int]]:
    """The ``market.trade`` entries of a placement's fills, and for each fill the index of its entry
    among the placement's requests (theirs start at ``first_entry``; so does each order's ``closed_at``)."""
    requests: list[Request] = []
    entry_of: list[int] = []
    for start in range(0, len(fills), TRADES_PER_ENTRY):
        trades: list[dict[str, Any]] = []
        transfers: list[Transfer] = []
        for i in range(start, min(len(fills), start + TRADES_PER_ENTRY)):
            fill = fills[i]
            last = market_taker and i == len(fills) - 1
            transfers += _settle(first_trade + i, fill, live[fill.buy_order], live[fill.sell_order], last)
            trades.append(
                {
                    "buy": fill.buy_order,
                    "price": fill.price,
                    "sell": fill.sell_order,
                    "taker": fill.taker_side,
                    "trade": first_trade + i,
                    "units": fill.units,
                    "value": worth(fill.price, fill.units),
                }
            )
            entry_of.append(first_entry + len(requests))
            for oid in (fill.maker, fill.taker):
                if live[oid].closed and live[oid].closed_at is None:
                    live[oid].closed_at = first_entry + len(requests)
        requests.append(Request(actor=OPERATOR, kind=TRADE_KIND, body={"trades": trades}, transfers=transfers))
    return requests, entry_of


def _resting_book(market: Services) -> RestingBook | None:
    book = market.resting_book
    return book if isinstance(book, RestingBook) else None


async def _book_at(market: Services, uow: UnitOfWork, version: int, rows: Sequence[Row] | None) -> RestingBook:
    """The process's copy of the open orders if it is the book at ``version`` (read under the market's
    lock); otherwise the book read anew (``rows``, if the decision's reads fetched it already)."""
    book = _resting_book(market)
    if book is not None and book.version == version and version:
        return book
    if rows is None:
        rows = (await uow.batch([read(resting.OPEN_ORDERS)]))[0]
    book = RestingBook(version, rows)
    # Version 0 is a market no placement of this code has written yet: not one to keep a copy for.
    market.resting_book = book if version else None
    return book


def _forget_book(market: Services) -> None:
    market.resting_book = None


def _makers(book: RestingBook, fills: Sequence[Fill]) -> dict[int, _Live]:
    """The live figures of each maker ``fills`` trade with, by order id."""
    live: dict[int, _Live] = {}
    for fill in fills:
        if fill.maker not in live:
            r = book.orders[fill.maker]
            posted = r.amount > r.remaining  # filled in part before: its hold went to the escrow then
            live[fill.maker] = _Live(
                r.member, r.side, r.kind, r.price, r.amount, r.remaining, r.held, r.traded, id=fill.maker, posted=posted
            )
    return live


async def place(
    market: Services,
    uow: UnitOfWork,
    member_id: int,
    *,
    side: str,
    amount: int,
    price: int | None = None,
    kind: str = LIMIT,
    client_key: str | None = None,
    config: MarketConfig = DEFAULT_CONFIG,
) -> Placed:
    """Place a limit order (``price`` its limit) or a market order (``price`` its protection limit,
    by default the edge of today's band); match it, settle every trade, rest what a limit order has left.

    ``client_key`` (the chat's one-time nonce) makes a repeat answer with the first placement, unchanged.
    """
    if side not in engine.SIDES:
        raise BadOrder("side must be 'buy' or 'sell'", field="side", reason="unknown")
    if kind not in engine.KINDS:
        raise BadOrder("kind must be 'limit' or 'market'", field="kind", reason="unknown")
    amount = _check_int(amount, "amount", step=config.lot, high=config.max_units)
    if kind == LIMIT or price is not None:
        price = _check_int(price, "price", step=config.tick, high=config.max_price)
    if client_key is not None and (not isinstance(client_key, str) or not 0 < len(client_key) <= 64):
        raise BadOrder("client_key is 1–64 characters", field="client_key", reason="bad")
    # Everything the decision needs in one round trip, the market's lock first (rows lock in statement
    # order): the member, the wallet, the day's reference for the band, an earlier placement with this
    # key (if a key is given) and, unless this process has a copy of it, the open book.
    token = "BTL" if side == BUY else "BNM"
    prices = source_of(market.prices)
    now = market.clock()
    earlier_read = read(  # a placement made before with this one-time key
        "SELECT id FROM market_orders WHERE member_id = :m AND client_key = :k", {"m": member_id, "k": client_key}
    )
    copy = _resting_book(market)
    state, member_rows, wallet_rows, *rest = await uow.batch(
        [
            read(f"SELECT next_order, next_trade, book_version FROM market_state WHERE id = 1{uow.for_update}"),
            MEMBER_BY_ID.read({"id": member_id}),
            read(
                "SELECT credits_posted - debits_posted - debits_pending FROM ledger_accounts WHERE id = :w",
                {"w": members.wallet(member_id, token)},
            ),
            *([read(resting.OPEN_ORDERS)] if copy is None else []),
            *([earlier_read] if client_key is not None else []),
            *prices.anchor_reads(now),
        ]
    )
    open_rows = rest.pop(0) if copy is None else None
    earlier_rows = rest.pop(0) if client_key is not None else []
    member = member_of(MEMBER_BY_ID.named(member_rows[0])) if member_rows else await members.get(uow, member_id)
    if member.status == "merged":  # the person's identities were joined: trade as the member they became
        merged = await members.get(uow, member.id)
        return await place(
            market,
            uow,
            merged.id,
            side=side,
            amount=amount,
            price=price,
            kind=kind,
            client_key=client_key,
            config=config,
        )
    if client_key is not None and earlier_rows:
        earlier = await get_order(uow, int(earlier_rows[0][0]))
        return Placed(earlier, tuple(await trades_of(uow, earlier.id)), earlier=True)
    identity.require(member, identity.PHONE, action="bnm_trade")
    today = band_of((await prices.anchor_from(uow, rest, now)).price, config)
    if price is None:
        price = today.high if side == BUY else today.low
    elif not today.low <= price <= today.high:
        raise OutsideBand(
            f"today's prices are {today.low}–{today.high} won per BNM", low=today.low, high=today.high, price=price
        )
    held = worth(price, amount) if side == BUY else amount
    order_id, next_trade = int(state[0][0]), int(state[0][1])
    have = int(wallet_rows[0][0]) if wallet_rows else 0
    if have < held:
        raise NotEnoughTokens(
            f"the order holds {held} {token}; {have} available",
            token=token,
            needed=held,
            have=have,
            missing=held - have,
        )
    book = await _book_at(market, uow, int(state[0][2]), open_rows)
    taker = engine.Order(order_id, member.id, side, price, amount, kind)
    fills = book.book.plan(taker)  # SelfTrade, NoLiquidity: refused before anything is written
    if len(fills) > config.max_fills:
        raise BadOrder(
            f"this order would trade with more than {config.max_fills} orders; place a smaller one",
            field="amount",
            reason="too_many_fills",
        )
    rests = kind == LIMIT and sum(f.units for f in fills) < amount
    if rests and book.open_by_member[member.id] >= config.max_open_orders:
        raise TooManyOrders(f"at most {config.max_open_orders} open orders per member", limit=config.max_open_orders)
    live = _makers(book, fills)
    me = live[order_id] = _Live(member.id, side, kind, price, amount, amount, held, 0, id=order_id)
    requests = [
        Request(
            actor=member.key_label,
            kind=PLACE_KIND,
            body={"amount": amount, "hold": held, "kind": kind, "order": order_id, "price": price, "side": side},
            transfers=[
                Transfer(
                    hold_id(order_id), members.wallet(member.id, token), ESCROW[token], held, token, type="pending"
                )
            ],
        )
    ]
    settled, entry_of = _trade_requests(fills, next_trade, live, market_taker=kind == MARKET, first_entry=len(requests))
    requests += settled
    trade_ids = [next_trade + i for i in range(len(fills))]
    version = new_version()
    next_ids = {"o": order_id + 1, "t": next_trade + len(fills), "v": version}

    def writes(recs: list[Recorded]) -> list[Op]:
        seq = [r.seq for r in recs]
        ops: list[Op] = [
            write(
                "INSERT INTO market_orders (id, member_id, side, kind, price, amount, remaining, held, traded_btl, "
                "status, client_key, placed_seq, closed_seq, created_ms, updated_ms) VALUES (:id, :m, :side, :kind, "
                ":price, :amount, :remaining, :held, :traded, :status, :key, :placed, :closed, :now, :now)",
                {
                    "id": order_id,
                    "m": member.id,
                    "side": side,
                    "kind": kind,
                    "price": price,
                    "amount": amount,
                    "remaining": me.remaining,
                    "held": held,
                    "traded": me.traded,
                    "status": me.status,
                    "key": client_key,
                    "placed": seq[0],
                    "closed": None if me.closed_at is None else seq[me.closed_at],
                    "now": now,
                },
            ),
            write("UPDATE market_state SET next_order = :o, next_trade = :t, book_version = :v WHERE id = 1", next_ids),
        ]
        makers = [o for oid, o in live.items() if oid != order_id and o.touched]
        if makers:
            ops.append(
                write_many(
                    "UPDATE market_orders SET remaining = :remaining, traded_btl = :traded, status = :status, "
                    "closed_seq = :closed, updated_ms = :now WHERE id = :id",
                    [
                        {
                            "remaining": o.remaining,
                            "traded": o.traded,
                            "status": o.status,
                            "closed": None if o.closed_at is None else seq[o.closed_at],
                            "now": now,
                            "id": o.id,
                        }
                        for o in makers
                    ],
                )
            )
        if fills:
            ops.append(
                write_many(
                    "INSERT INTO market_trades (id, buy_order, sell_order, buyer_id, seller_id, taker_side, price, "
                    "units, value, seq, time_ms) VALUES (:id, :b, :s, :bm, :sm, :ts, :p, :u, :v, :seq, :now)",
                    [
                        {
                            "id": trade_ids[i],
                            "b": f.buy_order,
                            "s": f.sell_order,
                            "bm": f.taker_member if f.taker_side == BUY else f.maker_member,
                            "sm": f.maker_member if f.taker_side == BUY else f.taker_member,
                            "ts": f.taker_side,
                            "p": f.price,
                            "u": f.units,
                            "v": worth(f.price, f.units),
                            "seq": seq[entry_of[i]],
                            "now": now,
                        }
                        for i, f in enumerate(fills)
                    ],
                )
            )
        return ops

    recs = await market.ledger.record_many(uow, requests, then=writes)
    # Written: the copy of the book follows, and is forgotten if this transaction does not commit.
    uow.on_rollback(lambda: _forget_book(market))
    book.placed(
        taker,
        fills,
        {oid: (o.remaining, o.traded) for oid, o in live.items() if oid != order_id},
        Resting(me.member, me.side, me.kind, me.price, me.amount, me.remaining, me.held, me.traded) if rests else None,
        version,
    )
    trades = tuple(
        MarketTrade(
            trade_ids[i],
            f.buy_order,
            f.sell_order,
            f.taker_member if f.taker_side == BUY else f.maker_member,
            f.maker_member if f.taker_side == BUY else f.taker_member,
            f.taker_side,
            f.price,
            f.units,
            worth(f.price, f.units),
            recs[entry_of[i]].seq,
            now,
        )
        for i, f in enumerate(fills)
    )
    order = MarketOrder(
        order_id,
        member.id,
        side,
        kind,
        price,
        amount,
        me.remaining,
        held,
        me.traded,
        me.status,
        recs[0].seq,
        None if me.closed_at is None else recs[me.closed_at].seq,
        now,
    )
    return Placed(order, trades)


# ------------------------------------------------------------------------------------------ cancelling


async def cancel(market: Services, uow: UnitOfWork, member_id: int, order_id: int) -> MarketOrder:
    """The member takes their open order off the book; whatever it still holds goes back to them."""
    member = await members.get(uow, member_id)
    state = await uow.fetch(f"SELECT book_version FROM market_state WHERE id = 1{uow.for_update}")
    order = await get_order(uow, order_id)
    if order.member_id != member.id:
        raise NotYourOrder("only the member who placed an order can cancel it", order=order.id)
    if order.status != "open":
        raise OrderClosed(f"order {order.id} is already {order.status}", order=order.id, status=order.status)
    token, wallet = order.token, members.wallet(member.id, order.token)
    back = order.still_held
    if order.filled == 0:  # still a pending hold on the wallet: release it
        transfer = Transfer(
            f"mkt-{order.id}-void", wallet, ESCROW[token], order.held, token, type="void", pending_id=hold_id(order.id)
        )
    else:  # posted at its first fill: the rest comes back out of the escrow, with the operator's consent
        transfer = Transfer(f"mkt-{order.id}-rest", ESCROW[token], wallet, back, token)
    now, version = market.clock(), new_version()
    await market.ledger.record(
        uow,
        Request(
            actor=member.key_label,
            kind=CANCEL_KIND,
            body={"order": order.id, "returned": back, "token": token},
            transfers=[transfer],
            countersign=order.filled > 0,
        ),
        then=lambda recs: [
            write(
                "UPDATE market_orders SET status = 'cancelled', closed_seq = :seq, updated_ms = :now WHERE id = :id",
                {"seq": recs[0].seq, "now": now, "id": order.id},
            ),
            write("UPDATE market_state SET book_version = :v WHERE id = 1", {"v": version}),
        ],
    )
    uow.on_rollback(lambda: _forget_book(market))
    book = _resting_book(market)
    if book is not None and book.version == int(state[0][0]):
        book.cancelled(order.id, version)
    else:
        _forget_book(market)
    return await get_order(uow, order.id)


# ------------------------------------------------------------------------------------------ reading


async def get_order(uow: UnitOfWork, order_id: int) -> MarketOrder:
    rows = await uow.fetch(f"SELECT {_ORDER_COLUMNS} FROM market_orders WHERE id = :id", {"id": order_id})
    if not rows:
        raise UnknownMarketOrder(f"no market order {order_id}", order=order_id)
    return order_from_row(rows[0])


async def open_orders(uow: UnitOfWork, member_id: int) -> list[MarketOrder]:
    rows = await uow.fetch(
        f"SELECT {_ORDER_COLUMNS} FROM market_orders WHERE member_id = :m AND status = 'open' ORDER BY id",
        {"m": member_id},
    )
    return [order_from_row(r) for r in rows]


async def all_open_orders(uow: UnitOfWork) -> list[MarketOrder]:
    """Every open order, oldest first (read through the book's partial index, not a scan of the history)."""
    rows = await uow.fetch(f"SELECT {_ORDER_COLUMNS} FROM market_orders WHERE status = 'open' ORDER BY side, price, id")
    return sorted((order_from_row(r) for r in rows), key=lambda o: o.id)


def _trade(row: tuple[Any, ...]) -> MarketTrade:
    return MarketTrade(int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]), str(row[5]), *map(int, row[6:]))


_TRADE_COLUMNS = "id, buy_order, sell_order, buyer_id, seller_id, taker_side, price, units, value, seq, time_ms"


async def trades_of(uow: UnitOfWork, order_id: int) -> list[MarketTrade]:
    rows = await uow.fetch(
        f"SELECT {_TRADE_COLUMNS} FROM market_trades WHERE buy_order = :o OR sell_order = :o ORDER BY id",
        {"o": order_id},
    )
    return [_trade(r) for r in rows]


async def trades_since(uow: UnitOfWork, since: int = 0, *, limit: int = 500) -> list[MarketTrade]:
    """Trades with an id above ``since``, oldest first: a client polls with the last id it has."""
    rows = await uow.fetch(
        f"SELECT {_TRADE_COLUMNS} FROM market_trades WHERE id > :since ORDER BY id LIMIT :n",
        {"since": since, "n": limit},
    )
    return [_trade(r) for r in rows]


async def trades_between(uow: UnitOfWork, start_ms: int, end_ms: int, *, limit: int = 5_000) -> list[MarketTrade]:
    rows = await uow.fetch(
        f"SELECT {_TRADE_COLUMNS} FROM market_trades WHERE time_ms >= :a AND time_ms < :b ORDER BY id LIMIT :n",
        {"a": start_ms, "b": end_ms, "n": limit},
    )
    return [_trade(r) for r in rows]


async def book_view(uow: UnitOfWork, levels: int = 10) -> BookView:
    """The book by price level: bids best (highest) first, asks best (lowest) first."""
    sql = (
        "SELECT price, SUM(remaining), COUNT(*) FROM market_orders WHERE status = 'open' AND side = :s "
        "GROUP BY price ORDER BY price {order} LIMIT :n"
    )
    bids, asks = await uow.batch(
        [
            read(sql.format(order="DESC"), {"s": BUY, "n": levels}),
            read(sql.format(order="ASC"), {"s": SELL, "n": levels}),
        ]
    )
    return BookView(
        tuple(Level(int(p), int(u), int(n)) for p, u, n in bids),
        tuple(Level(int(p), int(u), int(n)) for p, u, n in asks),
    )


@dataclass(frozen=True, slots=True)
class DaySummary:
    """Today (Korean time) at a glance, and the week's closing prices, oldest first."""

    high: int | None
    low: int | None
    last: int | None  # the last trade's price, today or before
    volume: int  # units traded today
    trades: int
    closes: tuple[int | None, ...]  # the last price at the end of each of the last 7 days (today last)


async def summary(market: Services, uow: UnitOfWork, *, days: int = 7) -> DaySummary:
    now = market.clock()
    start = day_start(now)
    ops = [
        read(
            "SELECT MAX(price), MIN(price), COALESCE(SUM(units), 0), COUNT(*) FROM market_trades "
            "WHERE time_ms >= :a AND time_ms <= :b",
            {"a": start, "b": now},
        )
    ]
    ends = [now] + [start - i * DAY_MS - 1 for i in range(days - 1)]  # today so far, then each earlier day's end
    ops += [
        read("SELECT price FROM market_trades WHERE time_ms <= :b ORDER BY time_ms DESC, id DESC LIMIT 1", {"b": b})
        for b in ends
    ]
    today, *closes = await uow.batch(ops)
    high, low, volume, count = today[0]
    last = [int(rows[0][0]) if rows else None for rows in closes]
    return DaySummary(
        None if high is None else int(high),
        None if low is None else int(low),
        last[0],
        int(volume),
        int(count),
        tuple(reversed(last)),
    )
