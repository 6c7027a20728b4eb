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
written with the ledger entries in the same round trip (``Ledger.prepare``). Fair
play — tick and lot sizes, the daily band around the reference price, per-member open-order limits, no
self-trade (``commerce.exchange.rules``) — is checked before anything is written; every refusal is a
typed error and changes nothing. What the fills transfer and write is ``commerce.exchange.fills``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from commerce.exchange import fills as settle
from commerce.exchange import resting
from commerce.exchange.accounts import CANCEL_KIND, ESCROW, PLACE_KIND, hold_id
from commerce.exchange.book import BUY, LIMIT, MARKET, Fill, Order
from commerce.exchange.errors import BadOrder, NotEnoughTokens, NotYourOrder, OrderClosed, OutsideBand, TooManyOrders
from commerce.exchange.price import MarketPrice, source_of
from commerce.exchange.queries import get_order, trades_of
from commerce.exchange.resting import Resting, RestingBook, new_version
from commerce.exchange.rows import MARKET_STATE, MarketOrder, MarketTrade
from commerce.exchange.rules import DEFAULT_CONFIG, MarketConfig, band_of, check_order, worth
from commerce.exchange.schema import market_orders
from commerce.members import identity
from commerce.members import service as members
from commerce.members.rows import MEMBER_BY_ID, Member, member_of
from commerce.services import Services
from commerce.statements import Statement
from ledger import reads
from ledger.model import Transfer
from ledger.requests import Request
from ledger.storage.ops import Row, read, write
from ledger.storage.unit_of_work import UnitOfWork

# A placement made before with this one-time key.
_EARLIER = Statement.of(
    select(market_orders.c.id).where(
        market_orders.c.member_id == bindparam("m"), market_orders.c.client_key == bindparam("k")
    )
)


@dataclass(frozen=True, slots=True)
class Placed:
    order: MarketOrder
    trades: tuple[MarketTrade, ...]
    earlier: bool = False  # a repeat of an order placed before (same one-time key): nothing new


@dataclass(frozen=True, slots=True)
class _Seen:
    """What a placement's one round trip read."""

    next_order: int
    next_trade: int
    book_version: int
    member: Member | None  # None: no such member (``members.get`` says so)
    available: int  # of the token the order holds
    open_rows: list[Row] | None  # the open book, unless this process had a copy of it
    earlier: int | None  # the order placed before with this one-time key
    anchor_rows: list[list[Row]]  # the band anchor's (``MarketPrice.anchor_reads``)


async def _read(
    market: Services,
    uow: UnitOfWork,
    prices: MarketPrice,
    now: int,
    member_id: int,
    token: str,
    client_key: str | None,
) -> _Seen:
    """Everything the decision needs in one round trip, the market's lock first (rows lock in statement
    order): the member, the wallet, the day's reference for the band, an earlier placement with this
    key (if a key is given) and, unless this process has a copy of it, the open book."""
    copy = resting.copy_of(market)
    state, member_rows, wallet_rows, *rest = await uow.batch(
        [
            read(MARKET_STATE.sql + uow.for_update),
            MEMBER_BY_ID.read({"id": member_id}),
            reads.available_op(members.wallet(member_id, token)),
            *([resting.OPEN_ORDERS.read()] if copy is None else []),
            *([_EARLIER.read({"m": member_id, "k": client_key})] if client_key is not None else []),
            *prices.anchor_reads(now),
        ]
    )
    open_rows = rest.pop(0) if copy is None else None
    earlier_rows = rest.pop(0) if client_key is not None else []
    ids = MARKET_STATE.named(state[0])
    return _Seen(
        int(ids["next_order"]),
        int(ids["next_trade"]),
        int(ids["book_version"]),
        member_of(MEMBER_BY_ID.named(member_rows[0])) if member_rows else None,
        int(wallet_rows[0][0]) if wallet_rows else 0,
        open_rows,
        int(_EARLIER.named(earlier_rows[0])["id"]) if earlier_rows else None,
        rest,
    )


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
    amount, price = check_order(side=side, kind=kind, amount=amount, price=price, client_key=client_key, config=config)
    token = "BTL" if side == BUY else "BNM"
    prices = source_of(market.prices)
    now = market.clock()
    seen = await _read(market, uow, prices, now, member_id, token, client_key)
    member = seen.member if seen.member is not None else await members.get(uow, member_id)
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
    if seen.earlier is not None:
        earlier = await get_order(uow, seen.earlier)
        return Placed(earlier, tuple(await trades_of(uow, earlier.id)), earlier=True)
    identity.require(member, identity.PHONE, action="bnm_trade")
    price = await _price_in_band(prices, uow, seen, now, side, price, config)
    held = worth(price, amount) if side == BUY else amount
    if seen.available < held:
        raise _not_enough(token, held, seen.available)
    book = await resting.book_at(market, uow, seen.book_version, seen.open_rows)
    taker = Order(seen.next_order, member.id, side, price, amount, kind)
    fills, rests = _match(book, taker, amount, config)
    placement, requests = _plan(book, taker, fills, member, amount, held, client_key, now, seen.next_trade)
    prepared = await market.ledger.prepare(uow, requests)
    recs = prepared.recorded
    await uow.batch([*prepared.ops, *settle.writes(placement, recs)])
    # Written: the copy of the book follows, and is forgotten if this transaction does not commit.
    uow.on_rollback(lambda: resting.forget(market))
    _follow(book, taker, fills, placement, rests)
    seq = [r.seq for r in recs]
    return Placed(settle.order(placement, seq), settle.trades(placement, seq))


def _not_enough(token: str, held: int, have: int) -> NotEnoughTokens:
    return NotEnoughTokens(
        f"the order holds {held} {token}; {have} available", token=token, needed=held, have=have, missing=held - have
    )


def _follow(book: RestingBook, taker: Order, fills: list[Fill], placement: settle.Placement, rests: bool) -> None:
    """The process's copy of the book takes in what the placement wrote."""
    me = placement.taker
    book.placed(
        taker,
        fills,
        {oid: (o.remaining, o.traded) for oid, o in placement.live.items() if oid != taker.id},
        Resting(me.member, me.side, me.kind, me.price, me.amount, me.remaining, me.held, me.traded) if rests else None,
        placement.next_ids["v"],
    )


async def _price_in_band(
    prices: MarketPrice, uow: UnitOfWork, seen: _Seen, now: int, side: str, price: int | None, config: MarketConfig
) -> int:
    """The order's price: a market order's protection limit is the edge of today's band unless it names
    one; a price outside the band is refused."""
    today = band_of((await prices.anchor_from(uow, seen.anchor_rows, now)).price, config)
    if price is None:
        return today.high if side == BUY else today.low
    if not today.low <= price <= today.high:
        raise OutsideBand(
            f"today's prices are {today.low}–{today.high} won per BNM", low=today.low, high=today.high, price=price
        )
    return price


def _match(book: RestingBook, taker: Order, amount: int, config: MarketConfig) -> tuple[list[Fill], bool]:
    """The fills the order would make, and whether what is left of it rests; refused before anything is
    written (``SelfTrade``, ``NoLiquidity`` from the book; too many fills; too many open orders)."""
    fills = book.book.plan(taker)
    if len(fills) > config.max_fills:
        raise BadOrder(
            f"this order would trade with more than {config.max_fills} orders; place a smaller one",
            field="amount",
            reason="too_many_fills",
        )
    rests = taker.kind == LIMIT and sum(f.units for f in fills) < amount
    if rests and book.open_by_member[taker.member] >= config.max_open_orders:
        raise TooManyOrders(f"at most {config.max_open_orders} open orders per member", limit=config.max_open_orders)
    return fills, rests


def _plan(
    book: RestingBook,
    taker: Order,
    fills: list[Fill],
    member: Member,
    amount: int,
    held: int,
    client_key: str | None,
    now: int,
    first_trade: int,
) -> tuple[settle.Placement, list[Request]]:
    """The placement's entries — the member's hold, then the trades — and what it does to every order."""
    order_id, side, token = taker.id, taker.side, "BTL" if taker.side == BUY else "BNM"
    live = settle.makers(book, fills)
    live[order_id] = settle.Live(member.id, side, taker.kind, taker.price, amount, amount, held, 0, id=order_id)
    body = {"amount": amount, "hold": held, "kind": taker.kind, "order": order_id, "price": taker.price, "side": side}
    hold = Transfer(hold_id(order_id), members.wallet(member.id, token), ESCROW[token], held, token, type="pending")
    requests = [Request(actor=member.key_label, kind=PLACE_KIND, body=body, transfers=[hold])]
    trades, entry_of = settle.trade_requests(
        fills, first_trade, live, market_taker=taker.kind == MARKET, first_entry=len(requests)
    )
    requests += trades
    trade_ids = [first_trade + i for i in range(len(fills))]
    next_ids = {"o": order_id + 1, "t": first_trade + len(fills), "v": new_version()}
    return settle.Placement(order_id, client_key, now, fills, trade_ids, entry_of, live, next_ids), requests


# ------------------------------------------------------------------------------------------ cancelling


async def cancel(market: Services, uow: UnitOfWork, member_id: int, order_id: int) -> MarketOrder:
    """The member takes their open order off the book; whatever it still holds goes back to them."""
    member = await members.get(uow, member_id)
    state = await uow.fetch(MARKET_STATE.sql + uow.for_update)
    order = await get_order(uow, order_id)
    if order.member_id != member.id:
        raise NotYourOrder("only the member who placed an order can cancel it", order=order.id)
    if order.status != "open":
        raise OrderClosed(f"order {order.id} is already {order.status}", order=order.id, status=order.status)
    now, version = market.clock(), new_version()
    request = Request(
        actor=member.key_label,
        kind=CANCEL_KIND,
        body={"order": order.id, "returned": order.still_held, "token": order.token},
        transfers=[_release(order)],
        countersign=order.filled > 0,
    )
    prepared = await market.ledger.prepare(uow, [request])
    await uow.batch(
        [
            *prepared.ops,
            write(
                "UPDATE market_orders SET status = 'cancelled', closed_seq = :seq, updated_ms = :now WHERE id = :id",
                {"seq": prepared.recorded[0].seq, "now": now, "id": order.id},
            ),
            write("UPDATE market_state SET book_version = :v WHERE id = 1", {"v": version}),
        ]
    )
    uow.on_rollback(lambda: resting.forget(market))
    book = resting.copy_of(market)
    if book is not None and book.version == int(MARKET_STATE.named(state[0])["book_version"]):
        book.cancelled(order.id, version)
    else:
        resting.forget(market)
    return await get_order(uow, order.id)


def _release(order: MarketOrder) -> Transfer:
    """What a cancel gives back: never filled, the pending hold on the wallet is voided; filled in part,
    the rest comes out of the escrow, with the operator's consent (the escrow is unowned)."""
    token, wallet = order.token, members.wallet(order.member_id, order.token)
    if order.filled == 0:
        return Transfer(
            f"mkt-{order.id}-void", wallet, ESCROW[token], order.held, token, type="void", pending_id=hold_id(order.id)
        )
    return Transfer(f"mkt-{order.id}-rest", ESCROW[token], wallet, order.still_held, token)
