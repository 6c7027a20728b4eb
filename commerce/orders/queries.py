"""Reading orders and carts: one order with its lines, a buyer's or a shop's orders, a member's carts.

Every read of many orders takes their lines in the same batch (one round trip, never one per order).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from sqlalchemy import func, select

from commerce import schema
from commerce.errors import NotAllowed, UnknownOrder
from commerce.members import service as members
from commerce.orders.rows import CART_LINE_COLUMNS, LINE_COLUMNS, ORDER_COLUMNS, CartLine, Line, Order
from commerce.shops import service as shops
from commerce.shops.rows import Shop
from commerce.statements import Named, Query, param, params
from ledger.storage.ops import in_clause
from ledger.storage.unit_of_work import UnitOfWork

_orders, _lines, _cart = schema.orders, schema.order_lines, schema.cart_lines
_ORDER = select(*(_orders.c[name] for name in ORDER_COLUMNS))
_LINE = select(*(_lines.c[name] for name in LINE_COLUMNS), _lines.c.order_id).order_by(
    _lines.c.order_id, _lines.c.product_id
)

ONE = Query(_ORDER.where(_orders.c.id == param("id")))
ONE_LINES = Query(_LINE.where(_lines.c.order_id == param("id")))
_BUYER_IDS = select(_orders.c.id).where(_orders.c.buyer_id == param("m")).order_by(_orders.c.id.desc())
BUYER = Query(_ORDER.where(_orders.c.buyer_id == param("m")).order_by(_orders.c.id.desc()).limit(param("limit")))
BUYER_LINES = Query(_LINE.where(_lines.c.order_id.in_(_BUYER_IDS.limit(param("limit")).scalar_subquery())))
CART = Query(
    select(*(_cart.c[name] for name in CART_LINE_COLUMNS))
    .where(_cart.c.member_id == param("m"), _cart.c.shop_id == param("s"))
    .order_by(_cart.c.product_id)
)
CART_QTY = Query(select(_cart.c.qty).where(_cart.c.member_id == param("m"), _cart.c.product_id == param("p")))
CART_VERSION = Query(
    select(func.max(_cart.c.updated_ms).label("updated_ms")).where(
        _cart.c.member_id == param("m"), _cart.c.shop_id == param("s")
    )
)
CART_SHOPS = Query(select(_cart.c.shop_id).distinct().where(_cart.c.member_id == param("m")).order_by(_cart.c.shop_id))
TO_REPEAT = Query(
    select(_orders.c.id)
    .where(_orders.c.buyer_id == param("m"), _orders.c.state.not_in(("placed", "cancelled")))
    .order_by(_orders.c.id.desc())
    .limit(1)
)
BY_KEY = Query(select(_orders.c.id).where(_orders.c.idempotency_key == param("k")))


@cache
def _shop_queries(states: int) -> tuple[Query, Query]:
    """A shop's orders in any of ``states`` states (``:s0`` …), and their lines."""
    where = (_orders.c.shop_id == param("shop"), _orders.c.state.in_(params("s", states)))
    ids = select(_orders.c.id).where(*where)
    return Query(_ORDER.where(*where).order_by(_orders.c.id)), Query(
        _LINE.where(_lines.c.order_id.in_(ids.scalar_subquery()))
    )


def with_lines(order_rows: Sequence[Named], line_rows: Sequence[Named]) -> list[Order]:
    """Orders with their lines, from one read of each (lines ordered by order, then product)."""
    lines: dict[int, list[Line]] = {}
    for row in line_rows:
        lines.setdefault(row["order_id"], []).append(Line.from_row(row))
    return [Order.from_row(row, tuple(lines.get(row["id"], ()))) for row in order_rows]


async def get(uow: UnitOfWork, order_id: int, *, lock: bool = False) -> Order:
    """The order with its lines; ``lock=True`` also locks its row until commit (see ``lock``)."""
    rows, lines = await uow.batch(
        [ONE.read({"id": order_id}, lock=uow.for_update if lock else ""), ONE_LINES.read({"id": order_id})]
    )
    if not rows:
        raise UnknownOrder(f"no order {order_id}", order=order_id)
    return with_lines(ONE.named(rows), ONE_LINES.named(lines))[0]


async def lock(uow: UnitOfWork, order_id: int) -> Order:
    """The order, its row locked until commit (PostgreSQL). Every service that changes an order starts
    here, so one order's transitions are serialised and each reads the state it changes.

    Lock order, everywhere: order row → claim row → product and delivery rows → ledger head (taken by
    ``ledger.record``). Commerce rows are always touched before the ledger head, so no two services can
    wait for each other in a cycle.
    """
    return await get(uow, order_id, lock=True)


async def for_party(uow: UnitOfWork, member_id: int, order_id: int) -> Order:
    """The order, if the member is its buyer, its shop's owner, its courier or an operator."""
    order = await get(uow, order_id)
    if member_id in (order.buyer_id, order.courier_id):
        return order
    shop = await shops.get(uow, order.shop_id)
    if shop.owner_id == member_id or (await members.get(uow, member_id)).has("operator"):
        return order
    raise NotAllowed("only the parties of an order can see it", order=order_id)


async def by_idempotency_key(uow: UnitOfWork, key: str) -> Order | None:
    """The order a request key placed, if one did (a repeated "결제하기" answers with it)."""
    rows = await BY_KEY.fetch(uow, {"k": key})
    return await get(uow, rows[0]["id"]) if rows else None


async def list_for_buyer(uow: UnitOfWork, member_id: int, *, limit: int = 10) -> list[Order]:
    """The member's latest orders, newest first."""
    values = {"m": member_id, "limit": limit}
    rows, lines = await uow.batch([BUYER.read(values), BUYER_LINES.read(values)])
    return with_lines(BUYER.named(rows), BUYER_LINES.named(lines))


async def list_for_shop(uow: UnitOfWork, shop_id: int, *, states: tuple[str, ...] = ("paid",)) -> list[Order]:
    """The shop's orders in ``states``, oldest first."""
    orders, lines = _shop_queries(len(states))
    _clause, values = in_clause("s", list(states))
    order_rows, line_rows = await uow.batch(
        [orders.read({"shop": shop_id, **values}), lines.read({"shop": shop_id, **values})]
    )
    return with_lines(orders.named(order_rows), lines.named(line_rows))


async def order_to_repeat(uow: UnitOfWork, member_id: int) -> int | None:
    """The order "지난번처럼" repeats: the member's latest one that was paid and not cancelled."""
    rows = await TO_REPEAT.fetch(uow, {"m": member_id})
    return int(rows[0]["id"]) if rows else None


async def delivery_region(uow: UnitOfWork, order: Order, shop: Shop) -> str:
    """The district of the order's address (the couriers' board), or the shop's region for a pickup."""
    if order.address_id is not None and order.pickup_at is None:
        rows = await uow.fetch("SELECT region FROM addresses WHERE id = :a", {"a": order.address_id})
        if rows and rows[0][0]:
            return str(rows[0][0])
    return shop.region


# ------------------------------------------------------------------------------------------- carts


async def cart(uow: UnitOfWork, member_id: int, shop_id: int) -> list[CartLine]:
    """The member's cart at one shop, by product."""
    return [CartLine.from_row(row) for row in await CART.fetch(uow, {"m": member_id, "s": shop_id})]


async def cart_qty(uow: UnitOfWork, member_id: int, product_id: int) -> int:
    """How many of a product the member has in their cart (0: none)."""
    rows = await CART_QTY.fetch(uow, {"m": member_id, "p": product_id})
    return int(rows[0]["qty"]) if rows else 0


async def cart_version(uow: UnitOfWork, member_id: int, shop_id: int) -> int:
    """When the member's cart at a shop last changed (ms): a new cart, even of the same goods, differs."""
    rows = await CART_VERSION.fetch(uow, {"m": member_id, "s": shop_id})
    return int(rows[0]["updated_ms"] or 0)


async def cart_shops(uow: UnitOfWork, member_id: int) -> list[int]:
    return [int(row["shop_id"]) for row in await CART_SHOPS.fetch(uow, {"m": member_id})]
