"""Placing an order, as load → plan → write: the basket read in one batch, the order planned in Python,
the stock reserved with the order row in one round trip, and the rest carried by the ledger's append.

``service.place_order`` and ``service.checkout`` (placing and paying at once, the chat's "결제하기") share
these steps, so checkout costs one batch of reads, one batch of stock reservations and one ledger append.
Placing re-checks price and stock against what the member confirmed — a changed total is never charged
silently — and reserves the stock.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from commerce.delivery import fulfilment
from commerce.delivery.errors import AddressNeeded
from commerce.delivery.windows import Window
from commerce.errors import InvalidInput, NotAllowed
from commerce.members import service as members
from commerce.members.errors import UnknownMember
from commerce.members.rows import MEMBER_BY_ID, Member, member_of
from commerce.orders.errors import EmptyCart, OutOfStock, PriceChanged
from commerce.orders.rows import Line
from commerce.schema import cart_lines
from commerce.schema import products as products_table
from commerce.services import Services
from commerce.shops.errors import ShopNotVerified, UnknownShop
from commerce.shops.rows import PRODUCT_COLUMNS, SHOP_BY_ID, Product, Shop, product_of, shop_of
from commerce.statements import Statement
from ledger.requests import Request
from ledger.storage.ops import Op, Row, read, write, write_many
from ledger.storage.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Basket:
    member: Member
    shop: Shop
    items: list[tuple[Product | None, int, int]]  # product (None if gone), qty, product id
    earlier_order: int | None
    choice_rows: list[Row]  # the cart's delivery choice and the member's addresses (``fulfilment.resolve``)
    address_rows: list[Row]


# The products of the member's cart at one shop.
_BASKET_PRODUCTS = Statement.of(
    select(*PRODUCT_COLUMNS)
    .select_from(products_table.join(cart_lines, cart_lines.c.product_id == products_table.c.id))
    .where(cart_lines.c.member_id == bindparam("m"), cart_lines.c.shop_id == bindparam("s"))
)


def _basket_reads(member_id: int, shop_id: int, idempotency_key: str | None) -> list[Op]:
    return [
        MEMBER_BY_ID.read({"id": member_id}),
        SHOP_BY_ID.read({"id": shop_id}),
        read(
            "SELECT c.product_id, c.qty FROM cart_lines c WHERE c.member_id = :m AND c.shop_id = :s "
            "ORDER BY c.product_id",
            {"m": member_id, "s": shop_id},
        ),
        _BASKET_PRODUCTS.read({"m": member_id, "s": shop_id}),
        read("SELECT id, buyer_id, shop_id FROM orders WHERE idempotency_key = :k", {"k": idempotency_key or ""}),
        *fulfilment.reads(member_id, shop_id),
    ]


async def load_basket(uow: UnitOfWork, member_id: int, shop_id: int, idempotency_key: str | None) -> Basket:
    """The member, the shop, the cart with its products, an order this request key placed before, and
    where the order could go — in one batch."""
    ops = []
    if idempotency_key and uow.dialect == "postgresql":
        # Two taps of one button on two workers: the second waits here until the first commits, then
        # finds its order below and answers with it (without this, its INSERT hits the unique key).
        ops.append(read("SELECT pg_advisory_xact_lock(hashtext(:k))", {"k": f"order:{idempotency_key}"}))
    ops += _basket_reads(member_id, shop_id, idempotency_key)
    results = await uow.batch(ops)
    member_rows, shop_rows, cart_rows, product_rows, earlier, choice_rows, address_rows = results[-7:]
    if not member_rows:
        raise UnknownMember(f"no member {member_id}", member=member_id)
    member = member_of(MEMBER_BY_ID.named(member_rows[0]))
    if member.status == "merged":
        member = await members.get(uow, member.id)
    if not shop_rows:
        raise UnknownShop(f"no shop {shop_id}", shop=shop_id)
    products = {p.id: p for p in (product_of(_BASKET_PRODUCTS.named(r)) for r in product_rows)}
    earlier_id = None
    if earlier:
        order_id, buyer_id, earlier_shop = (int(v) for v in earlier[0])
        if buyer_id != member.id:
            raise NotAllowed("that request key belongs to another member")
        earlier_id = order_id
        if earlier_shop != shop_id:
            raise InvalidInput("that request key was used for an order at another shop", field="idempotency_key")
    return Basket(
        member,
        shop_of(SHOP_BY_ID.named(shop_rows[0])),
        [(products.get(int(pid)), int(qty), int(pid)) for pid, qty in cart_rows],
        earlier_id,
        choice_rows,
        address_rows,
    )


@dataclass(frozen=True, slots=True)
class Placement:
    lines: tuple[Line, ...]
    subtotal: int
    total: int
    choice: fulfilment.Choice

    @property
    def region(self) -> str:
        """Where the delivery goes (the job board's district), or the shop's region for a pickup."""
        address = self.choice.address
        return address.region if address is not None and address.region else ""


def plan_placement(basket: Basket, expected_total: int, choice: fulfilment.Choice) -> Placement:
    """The order's lines and totals, refused unless everything is sold, in stock, and the total the
    member confirmed."""
    shop = basket.shop
    if not shop.verified:
        raise ShopNotVerified("this shop is not open for orders yet", shop=shop.id)
    if not basket.items:
        raise EmptyCart("the cart for this shop is empty", shop=shop.id)
    lines: list[Line] = []
    for product, qty, product_id in basket.items:
        if product is None or not product.active:
            raise OutOfStock("a product in the cart is no longer sold", product=product_id, available=0)
        if qty > product.stock:
            raise OutOfStock(
                f"only {product.stock} {product.unit} of {product.name} left",
                product=product.id,
                available=product.stock,
            )
        lines.append(Line(product.id, product.name, product.unit, product.price, qty))
    if choice.needs_address:
        raise AddressNeeded("where should the order go? add an address or choose a pickup", shop=shop.id)
    subtotal = sum(line.amount for line in lines)
    total = subtotal + choice.fee(shop)
    if type(expected_total) is not int or expected_total != total:
        raise PriceChanged(
            f"the total is now {total:,}원, not {expected_total:,}원; please confirm again",
            expected=expected_total,
            total=total,
            prices={str(line.product_id): line.price for line in lines},
        )
    return Placement(tuple(lines), subtotal, total, choice)


def choose(
    market: Services,
    basket: Basket,
    address_id: int | None,
    pickup_at: str | None,
    window: Window | None,
) -> fulfilment.Choice:
    return fulfilment.resolve(
        basket.shop,
        basket.choice_rows,
        basket.address_rows,
        market.clock(),
        address_id=address_id,
        pickup_at=pickup_at,
        window=window,
    )


def counted_referrer(basket: Basket, referrer_id: int | None) -> int | None:
    """The recommender an order records: nobody recommends to themself."""
    return None if referrer_id == basket.member.id else referrer_id


async def reserve_and_insert(
    market: Services,
    uow: UnitOfWork,
    basket: Basket,
    plan: Placement,
    *,
    referrer_id: int | None,
    idempotency_key: str | None,
) -> int:
    """Reserve the stock and create the order row, in one round trip; returns the order id."""
    # The WHERE re-checks stock under the row lock, so racing buyers can never oversell.
    ops = [
        read(
            "UPDATE products SET stock = stock - :q WHERE id = :p AND stock >= :q RETURNING stock",
            {"q": line.qty, "p": line.product_id},
        )
        for line in plan.lines
    ]
    choice = plan.choice
    ops.append(
        read(
            "INSERT INTO orders (buyer_id, shop_id, state, subtotal, delivery_fee, total, address_id, refund_due, "
            "referrer_id, placed_seq, idempotency_key, created_ms, updated_ms, pickup_at, window_start_ms, "
            "window_end_ms) VALUES (:b, :s, 'placed', :sub, :fee, :total, :addr, 0, :ref, 0, :key, :now, :now, "
            ":pickup, :ws, :we) RETURNING id",
            {
                "b": basket.member.id,
                "s": basket.shop.id,
                "sub": plan.subtotal,
                "fee": choice.fee(basket.shop),
                "total": plan.total,
                "addr": choice.address.id if choice.address else None,
                "pickup": choice.pickup_at,
                "ws": choice.window.start_ms if choice.window else None,
                "we": choice.window.end_ms if choice.window else None,
                "ref": counted_referrer(basket, referrer_id),
                "key": idempotency_key,
                "now": market.clock(),
            },
        )
    )
    results = await uow.batch(ops)
    for line, rows in zip(plan.lines, results, strict=False):
        if not rows:
            raise OutOfStock(f"{line.name} sold out just now", product=line.product_id, available=0)
    return int(results[-1][0][0])


def place_request(member: Member, shop: Shop, order_id: int, plan: Placement) -> Request:
    return Request(
        actor=member.key_label,
        kind="order.place",
        body={
            "order": order_id,
            "shop": shop.id,
            "lines": [[line.product_id, line.qty, line.price] for line in plan.lines],
            "subtotal": plan.subtotal,
            "delivery_fee": plan.choice.fee(shop),
            "total": plan.total,
            "address": plan.choice.address.ref if plan.choice.address else None,  # a salted hash, never the text
            "pickup": plan.choice.pickup_at,
            "window": [plan.choice.window.start_ms, plan.choice.window.end_ms] if plan.choice.window else None,
        },
    )


def placement_writes(
    market: Services, member: Member, shop_id: int, order_id: int, plan: Placement, seq: int
) -> list[Op]:
    """The order's lines and destination, the cart emptied, and the ``order.place`` entry ``seq`` noted."""
    return [
        *fulfilment.placement_writes(market, order_id, member, shop_id, plan.choice),
        write_many(
            "INSERT INTO order_lines (order_id, product_id, name, unit, price, qty) "
            "VALUES (:o, :p, :n, :u, :price, :q)",
            [
                {
                    "o": order_id,
                    "p": line.product_id,
                    "n": line.name,
                    "u": line.unit,
                    "price": line.price,
                    "q": line.qty,
                }
                for line in plan.lines
            ],
        ),
        write("DELETE FROM cart_lines WHERE member_id = :m AND shop_id = :s", {"m": member.id, "s": shop_id}),
        write("UPDATE orders SET placed_seq = :seq WHERE id = :o", {"seq": seq, "o": order_id}),
    ]
