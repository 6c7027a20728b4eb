"""What a placement's fills do: the transfers that settle them, the ``market.trade`` entries that carry
those, and the rows the placement writes with its entries.

Each trade settles both its sides in one entry: the buyer's and the seller's holds are posted to the
escrow at each order's first fill (in full), then ``escrow:bnm → buyer`` (units) and ``escrow:btl →
seller`` (won); an order that closes gets back what it still holds (a buy filled below its limit, a
market order's unfilled rest). Only plain figures here: ``commerce.exchange.service`` reads, decides
and hands the ledger what this module makes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from commerce.exchange.accounts import ESCROW, OPERATOR, TRADE_KIND, hold_id
from commerce.exchange.book import BUY, Fill
from commerce.exchange.resting import Resting, RestingBook
from commerce.exchange.rows import MarketOrder, MarketTrade
from commerce.exchange.rules import worth
from commerce.members import service as members
from ledger.model import Transfer
from ledger.requests import Recorded, Request
from ledger.storage.ops import Op, write, write_many

# The fills of one placement are settled together: one operator-signed entry for up to this many of them
# (an entry's 64 KiB limit holds ~140), not one each. Each trade still settles both its sides in that one
# entry; what a placement matched at once is on the ledger at once. Most placements that trade meet
# several makers (3.4 on average in bench market), and an entry (signature, hashes, rows) cost as much
# as the rest of the order.
TRADES_PER_ENTRY = 32


@dataclass(slots=True)
class Live(Resting):
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


def _post(o: Live) -> Transfer:
    return Transfer(
        f"mkt-{o.id}-post",
        members.wallet(o.member, o.token),
        ESCROW[o.token],
        o.held,
        o.token,
        type="post",
        pending_id=hold_id(o.id),
    )


def _give_back(o: Live) -> Transfer | None:
    """What a closing order gets back from the escrow: a buy's unspent won, a sell's unsold units."""
    rest = o.held - o.traded if o.side == BUY else o.remaining
    if rest <= 0:
        return None
    return Transfer(f"mkt-{o.id}-rest", ESCROW[o.token], members.wallet(o.member, o.token), rest, o.token)


def _settle(trade_id: int, fill: Fill, buy: Live, sell: Live, last_for_market_taker: bool) -> list[Transfer]:
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


def trade_requests(
    fills: Sequence[Fill], first_trade: int, live: dict[int, Live], *, market_taker: bool, first_entry: int
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


def makers(book: RestingBook, fills: Sequence[Fill]) -> dict[int, Live]:
    """The live figures of each maker ``fills`` trade with, by order id."""
    live: dict[int, Live] = {}
    for fill in fills:
        if fill.maker not in live:
            r = book.orders[fill.maker]
            posted = r.amount > r.remaining  # filled in part before: its hold went to the escrow then
            live[fill.maker] = Live(
                r.member, r.side, r.kind, r.price, r.amount, r.remaining, r.held, r.traded, id=fill.maker, posted=posted
            )
    return live


@dataclass(frozen=True, slots=True)
class Placement:
    """One placement as planned: the taker (``live[order_id]``) and every maker its fills touch, the
    trades' ids and, for each fill, which of the placement's entries records it (the placement's own
    entry is the first)."""

    order_id: int
    client_key: str | None
    now: int
    fills: Sequence[Fill]
    trade_ids: Sequence[int]
    entry_of: Sequence[int]
    live: dict[int, Live]
    next_ids: dict[str, int]  # the market's next order and trade ids, and the book's new version

    @property
    def taker(self) -> Live:
        return self.live[self.order_id]

    def touched_makers(self) -> list[Live]:
        return [o for oid, o in self.live.items() if oid != self.order_id and o.touched]


def _closed(o: Live, seq: Sequence[int]) -> int | None:
    return None if o.closed_at is None else seq[o.closed_at]


def writes(p: Placement, recs: Sequence[Recorded]) -> list[Op]:
    """The rows a placement writes with its entries (``seq`` of each known only then): the order, the
    market's next ids and book version, the makers it traded with, its trades."""
    seq = [r.seq for r in recs]
    me = p.taker
    ops: list[Op] = [
        write(
            "INSERT INTO market_orders (id, member_id, side, kind, price, amount, remaining, held, traded_btl, "
            "status, client_key, placed_seq, closed_seq, created_ms, updated_ms) VALUES (:id, :m, :side, :kind, "
            ":price, :amount, :remaining, :held, :traded, :status, :key, :placed, :closed, :now, :now)",
            {
                "id": p.order_id,
                "m": me.member,
                "side": me.side,
                "kind": me.kind,
                "price": me.price,
                "amount": me.amount,
                "remaining": me.remaining,
                "held": me.held,
                "traded": me.traded,
                "status": me.status,
                "key": p.client_key,
                "placed": seq[0],
                "closed": _closed(me, seq),
                "now": p.now,
            },
        ),
        write("UPDATE market_state SET next_order = :o, next_trade = :t, book_version = :v WHERE id = 1", p.next_ids),
    ]
    touched = p.touched_makers()
    if touched:
        ops.append(
            write_many(
                "UPDATE market_orders SET remaining = :remaining, traded_btl = :traded, status = :status, "
                "closed_seq = :closed, updated_ms = :now WHERE id = :id",
                [
                    {
                        "remaining": o.remaining,
                        "traded": o.traded,
                        "status": o.status,
                        "closed": _closed(o, seq),
                        "now": p.now,
                        "id": o.id,
                    }
                    for o in touched
                ],
            )
        )
    if p.fills:
        ops.append(_trade_rows(p, seq))
    return ops


def _trade_rows(p: Placement, seq: Sequence[int]) -> Op:
    return write_many(
        "INSERT INTO market_trades (id, buy_order, sell_order, buyer_id, seller_id, taker_side, price, "
        "units, value, seq, time_ms) VALUES (:id, :b, :s, :bm, :sm, :ts, :p, :u, :v, :seq, :now)",
        [
            {
                "id": t.id,
                "b": t.buy_order,
                "s": t.sell_order,
                "bm": t.buyer_id,
                "sm": t.seller_id,
                "ts": t.taker_side,
                "p": t.price,
                "u": t.units,
                "v": t.value,
                "seq": t.seq,
                "now": t.time_ms,
            }
            for t in trades(p, seq)
        ],
    )


def trades(p: Placement, seq: Sequence[int]) -> tuple[MarketTrade, ...]:
    """The placement's trades, each with the sequence number of the entry that records it."""
    return tuple(
        MarketTrade(
            p.trade_ids[i],
            f.buy_order,
            f.sell_order,
            f.taker_member if f.taker_side == BUY else f.maker_member,
            f.maker_member if f.taker_side == BUY else f.taker_member,
            f.taker_side,
            f.price,
            f.units,
            worth(f.price, f.units),
            seq[p.entry_of[i]],
            p.now,
        )
        for i, f in enumerate(p.fills)
    )


def order(p: Placement, seq: Sequence[int]) -> MarketOrder:
    """The taker's row as the placement wrote it."""
    me = p.taker
    return MarketOrder(
        p.order_id,
        me.member,
        me.side,
        me.kind,
        me.price,
        me.amount,
        me.remaining,
        me.held,
        me.traded,
        me.status,
        seq[0],
        _closed(me, seq),
        p.now,
    )
