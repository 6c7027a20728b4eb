"""This process's copy of the open orders (the resting book), good for one version of the market.

Why: a placement used to read the best resting orders of the crossing side from the database and build
a matching book from them every time — the largest read of an order, and its rows' parsing, for orders
this process itself had put there. Now the whole open book stays in memory between placements, and the
database says whether it is still the book: every placement and cancel writes a fresh random
``market_state.book_version``, read under the market's lock first thing. A copy whose version is not the
one read — another process traded, or this one's transaction rolled back — is read anew in full.

The copy is changed only after the ledger accepted the placement's entries, and forgotten if that
transaction then ends without committing. A version is random rather than counted: a copy made by a
transaction that rolled back can never match a version that another writer committed later.
"""

from __future__ import annotations

import os
import random
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from commerce.exchange import book as engine
from commerce.exchange.book import Fill
from commerce.exchange.schema import market_orders
from commerce.services import Services
from commerce.statements import Statement
from ledger.storage.ops import Row
from ledger.storage.unit_of_work import UnitOfWork

# What the copy keeps of each open order, in the book index's order (side, price, id: the partial index
# of open orders, no scan of the history), which keeps time priority within each price.
OPEN_ORDERS = Statement.of(
    select(
        market_orders.c.id,
        market_orders.c.member_id,
        market_orders.c.side,
        market_orders.c.kind,
        market_orders.c.price,
        market_orders.c.amount,
        market_orders.c.remaining,
        market_orders.c.held,
        market_orders.c.traded_btl,
    )
    .where(market_orders.c.status == "open")
    .order_by(market_orders.c.side, market_orders.c.price, market_orders.c.id)
)


# Unique, not secret: nobody gains by guessing a version, so a seeded generator serves (secrets.randbits
# reads the OS's random source each time, ~2 % of a market order).
_versions = random.Random(secrets.randbits(128))  # noqa: S311 - versions need to be distinct, not unpredictable
os.register_at_fork(after_in_child=lambda: _versions.seed(secrets.randbits(128)))  # no two processes alike


def new_version() -> int:
    return _versions.getrandbits(62) + 1  # 0 is the version of a market made before there was one


@dataclass(slots=True)
class Resting:
    """An open order's figures, as its row in ``market_orders`` has them."""

    member: int
    side: str
    kind: str
    price: int
    amount: int
    remaining: int
    held: int
    traded: int


class RestingBook:
    """The open orders at ``version``: a matching book of them, their figures, and how many each member has."""

    def __init__(self, version: int, rows: Sequence[Row]) -> None:
        """The book at ``version`` from the rows of ``OPEN_ORDERS``."""
        self.version = version
        self.book = engine.Book()
        self.orders: dict[int, Resting] = {}
        self.open_by_member: Counter[int] = Counter()
        for row in map(OPEN_ORDERS.named, rows):
            resting = Resting(
                int(row["member_id"]),
                str(row["side"]),
                str(row["kind"]),
                int(row["price"]),
                int(row["amount"]),
                int(row["remaining"]),
                int(row["held"]),
                int(row["traded_btl"]),
            )
            self._rest(int(row["id"]), resting)

    def _rest(self, oid: int, resting: Resting) -> None:
        self.book.rest(engine.Order(oid, resting.member, resting.side, resting.price, resting.remaining))
        self.orders[oid] = resting
        self.open_by_member[resting.member] += 1

    def placed(
        self,
        taker: engine.Order,
        fills: list[Fill],
        makers: dict[int, tuple[int, int]],
        rests: Resting | None,
        version: int,
    ) -> None:
        """A placement was written: ``fills`` (as ``book.plan`` gave them) made, each maker's (remaining,
        traded) as its row now has them, the taker resting if it does; the copy is the book at ``version``."""
        self.book.apply(taker, fills)
        for oid, (remaining, traded) in makers.items():
            resting = self.orders[oid]
            if remaining:
                resting.remaining, resting.traded = remaining, traded
            else:
                del self.orders[oid]
                self.open_by_member[resting.member] -= 1
        if rests is not None:
            self.orders[taker.id] = rests
            self.open_by_member[rests.member] += 1
        self.version = version

    def cancelled(self, order_id: int, version: int) -> None:
        """An open order was cancelled; the copy is now the book at ``version``."""
        if self.book.cancel(order_id) is not None:
            resting = self.orders.pop(order_id)
            self.open_by_member[resting.member] -= 1
        self.version = version


def copy_of(market: Services) -> RestingBook | None:
    """This process's copy of the book, if it has one."""
    book = market.resting_book
    return book if isinstance(book, RestingBook) else None


async def book_at(market: Services, uow: UnitOfWork, version: int, rows: Sequence[Row] | None) -> RestingBook:
    """The process's copy of the open orders if it is the book at ``version`` (read under the market's
    lock); otherwise the book read anew (``rows``, if the decision's reads fetched it already)."""
    book = copy_of(market)
    if book is not None and book.version == version and version:
        return book
    if rows is None:
        rows = (await uow.batch([OPEN_ORDERS.read()]))[0]
    book = RestingBook(version, rows)
    # Version 0 is a market no placement of this code has written yet: not one to keep a copy for.
    market.resting_book = book if version else None
    return book


def forget(market: Services) -> None:
    """Drop the copy (its transaction did not commit): the next placement reads the book anew."""
    market.resting_book = None
