"""Carts and orders: placed → paid → accepted → picked_up → delivered → confirmed → settled.

Branches: cancelled (before the producer accepts; holds are released) and refunded. Placing re-checks
price and stock against what the member confirmed — a changed total is never charged silently — and
reserves the stock; paying moves the whole amount into the order's escrow as *pending* transfers in
the same signed entry that marks the order paid (``order.pay``, countersigned by the operator, whose
consent opens the escrow accounts).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from commerce import events, validate
from commerce.delivery import addresses, fulfilment
from commerce.delivery.windows import Window
from commerce.errors import (
    AddressNeeded,
    BnmShareTooHigh,
    EmptyCart,
    InvalidInput,
    InvalidState,
    NoEarlierOrder,
    NotAllowed,
    OutOfStock,
    PriceChanged,
    UnknownAddress,
    UnknownOrder,
)
from commerce.members import identity
from commerce.members import service as members
from commerce.members.errors import UnknownMember
from commerce.members.rows import MEMBER_BY_ID, Member, member_of
from commerce.orders.payment import Split, split_payment
from commerce.schema import cart_lines
from commerce.schema import products as products_table
from commerce.services import Services
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.shops.errors import ShopNotVerified, UnknownShop
from commerce.shops.rows import PRODUCT_COLUMNS, SHOP_BY_ID, Product, Shop, product_of, shop_of
from commerce.statements import Statement
from ledger.db import Op, Row, UnitOfWork, read, write, write_many
from ledger.model import AccountSpec, Transfer
from ledger.service import Request

STATES = ("placed", "paid", "accepted", "picked_up", "delivered", "confirmed", "settled", "cancelled", "refunded")
COLUMN_NAMES = (
    "id",
    "buyer_id",
    "shop_id",
    "state",
    "subtotal",
    "delivery_fee",
    "total",
    "address_id",
    "bnm_share",
    "btl_amount",
    "bnm_units",
    "bnm_price",
    "courier_id",
    "refund_due",
    "referrer_id",
    "placed_seq",
    "paid_seq",
    "settled_seq",
    "created_ms",
    "paid_ms",
    "delivered_ms",
    "pickup_at",
    "window_start_ms",
    "window_end_ms",
)
_COLUMNS = ", ".join(COLUMN_NAMES)


@dataclass(frozen=True, slots=True)
class Line:
    product_id: int
    name: str
    unit: str
    price: int
    qty: int

    @property
    def amount(self) -> int:
        return self.price * self.qty


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    buyer_id: int
    shop_id: int
    state: str
    subtotal: int
    delivery_fee: int
    total: int
    address_id: int | None
    bnm_share: int | None
    btl_amount: int | None
    bnm_units: int | None
    bnm_price: int | None
    courier_id: int | None
    refund_due: int
    referrer_id: int | None
    placed_seq: int
    paid_seq: int | None
    settled_seq: int | None
    created_ms: int
    paid_ms: int | None
    delivered_ms: int | None
    pickup_at: str | None  # shop | office: collected there; None: delivered to the order's address
    window_start_ms: int | None  # the delivery window the buyer chose
    window_end_ms: int | None
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Quote:
    """What the confirmation screen shows: every won, before anything is charged."""

    shop_id: int
    lines: tuple[Line, ...]
    subtotal: int
    delivery_fee: int
    total: int
    split: Split
    max_share: int
    choice: fulfilment.Choice


def escrow(order_id: int, token: str) -> str:
    return f"escrow:order:{order_id}:{token.lower()}"


def hold_id(order_id: int, token: str) -> str:
    return f"order-{order_id}-{token.lower()}"


def _int(v: object) -> int:
    assert isinstance(v, int)
    return v


def _opt(v: object) -> int | None:
    return None if v is None else _int(v)


async def get(uow: UnitOfWork, order_id: int, *, lock: bool = False) -> Order:
    """The order with its lines; ``lock=True`` also locks its row until commit (see ``lock``)."""
    rows, lines = await uow.batch(
        [
            read(f"SELECT {_COLUMNS} FROM orders WHERE id = :id{uow.for_update if lock else ''}", {"id": order_id}),
            read(
                "SELECT product_id, name, unit, price, qty FROM order_lines WHERE order_id = :id ORDER BY product_id",
                {"id": order_id},
            ),
        ]
    )
    if not rows:
        raise UnknownOrder(f"no order {order_id}", order=order_id)
    return from_row(rows[0], tuple(Line(_int(p), str(n), str(u), _int(pr), _int(q)) for p, n, u, pr, q in lines))


def from_row(r: tuple[object, ...], lines: tuple[Line, ...] = ()) -> Order:
    """An order from a row of ``COLUMN_NAMES`` in that order (and its lines, when they were read)."""
    i, o = _int, _opt
    return Order(
        i(r[0]), i(r[1]), i(r[2]), str(r[3]), i(r[4]), i(r[5]), i(r[6]), o(r[7]), o(r[8]), o(r[9]), o(r[10]),
        o(r[11]), o(r[12]), i(r[13]), o(r[14]), i(r[15]), o(r[16]), o(r[17]), i(r[18]), o(r[19]), o(r[20]),
        None if r[21] is None else str(r[21]), o(r[22]), o(r[23]), lines,
    )  # fmt: skip


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
    rows = await uow.fetch("SELECT id FROM orders WHERE idempotency_key = :k", {"k": key})
    return await get(uow, _int(rows[0][0])) if rows else None


async def list_for_buyer(uow: UnitOfWork, member_id: int, *, limit: int = 10) -> list[Order]:
    rows = await uow.fetch(
        "SELECT id FROM orders WHERE buyer_id = :m ORDER BY id DESC LIMIT :limit", {"m": member_id, "limit": limit}
    )
    return [await get(uow, _int(r[0])) for r in rows]


async def list_for_shop(uow: UnitOfWork, shop_id: int, *, states: tuple[str, ...] = ("paid",)) -> list[Order]:
    from ledger.db import in_clause

    clause, params = in_clause("s", list(states))
    rows = await uow.fetch(
        f"SELECT id FROM orders WHERE shop_id = :shop AND state IN {clause} ORDER BY id", {"shop": shop_id, **params}
    )
    return [await get(uow, _int(r[0])) for r in rows]


# ------------------------------------------------------------------------------------------- cart


async def add_to_cart(market: Services, uow: UnitOfWork, member_id: int, product_id: int, qty: int = 1) -> None:
    """Add ``qty`` (or set it, when the product is already in the cart, by adding)."""
    member = await members.get(uow, member_id)
    validate.whole_number(qty, "quantity", low=1, high=market.rules.max_quantity)
    product = await catalog.get(uow, product_id)
    if not product.available:
        raise OutOfStock(f"{product.name} is sold out", product=product.id, available=0)
    rows = await uow.fetch(
        "SELECT qty FROM cart_lines WHERE member_id = :m AND product_id = :p", {"m": member.id, "p": product.id}
    )
    new_qty = qty + (_int(rows[0][0]) if rows else 0)
    await set_quantity(market, uow, member.id, product.id, new_qty)


async def set_quantity(market: Services, uow: UnitOfWork, member_id: int, product_id: int, qty: int) -> None:
    """Set a cart line's quantity; 0 removes it."""
    validate.whole_number(qty, "quantity", low=0, high=market.rules.max_quantity)
    if qty == 0:
        await uow.execute(
            "DELETE FROM cart_lines WHERE member_id = :m AND product_id = :p", {"m": member_id, "p": product_id}
        )
        return
    product = await catalog.get(uow, product_id)
    if qty > product.stock:
        raise OutOfStock(
            f"only {product.stock} {product.unit} of {product.name} left", product=product.id, available=product.stock
        )
    await uow.execute(
        "INSERT INTO cart_lines (member_id, product_id, shop_id, qty, price_seen, updated_ms) "
        "VALUES (:m, :p, :s, :q, :price, :now) ON CONFLICT (member_id, product_id) DO UPDATE SET "
        "qty = excluded.qty, price_seen = excluded.price_seen, updated_ms = excluded.updated_ms",
        {
            "m": member_id,
            "p": product.id,
            "s": product.shop_id,
            "q": qty,
            "price": product.price,
            "now": market.clock(),
        },
    )


async def cart(uow: UnitOfWork, member_id: int, shop_id: int) -> list[tuple[int, int, int]]:
    """(product id, quantity, price seen) for the member's cart at one shop."""
    rows = await uow.fetch(
        "SELECT product_id, qty, price_seen FROM cart_lines WHERE member_id = :m AND shop_id = :s ORDER BY product_id",
        {"m": member_id, "s": shop_id},
    )
    return [(_int(p), _int(q), _int(pr)) for p, q, pr in rows]


async def cart_version(uow: UnitOfWork, member_id: int, shop_id: int) -> int:
    """When the member's cart at a shop last changed (ms): a new cart, even of the same goods, differs."""
    rows = await uow.fetch(
        "SELECT MAX(updated_ms) FROM cart_lines WHERE member_id = :m AND shop_id = :s", {"m": member_id, "s": shop_id}
    )
    return int(rows[0][0] or 0)


async def cart_shops(uow: UnitOfWork, member_id: int) -> list[int]:
    rows = await uow.fetch(
        "SELECT DISTINCT shop_id FROM cart_lines WHERE member_id = :m ORDER BY shop_id", {"m": member_id}
    )
    return [_int(r[0]) for r in rows]


# ---------------------------------------------------------------------------------------- quoting


def max_share(market: Services, shop: Shop, subtotal: int, delivery_fee: int, price: int | None = None) -> int:
    """The largest BNM share allowed: the shop's limit, and enough BTL left for the courier and the fee.

    BNM is rounded up to whole units, worth up to ``price``/1000 won each, so the bound from the totals
    alone can be a share too high; at a known price the exact largest share is found by trying downwards
    (a step or two at most). Without a price (an early check) the bound from the totals is returned.
    """
    total = subtotal + delivery_fee
    if total == 0:
        return 0
    needed = delivery_fee + subtotal * market.rules.platform_fee_bp // 10_000
    share = min(shop.bnm_max_share, max(0, (total - needed) * 100 // total))
    if price:
        while share > 0 and split_payment(total, share, price).btl < needed:
            share -= 1
    return share


async def quote(market: Services, uow: UnitOfWork, member_id: int, shop_id: int, bnm_share: int | None = None) -> Quote:
    """What paying for the cart at ``shop_id`` would cost, with where it goes (``fulfilment.current``):
    a pickup has no delivery fee."""
    member = await members.get(uow, member_id)
    shop = await shops.get(uow, shop_id)
    items = await cart(uow, member.id, shop.id)
    if not items:
        raise EmptyCart("the cart for this shop is empty", shop=shop.id)
    products = await catalog.get_many(uow, [p for p, _q, _pr in items])
    lines = tuple(
        Line(p.id, p.name, p.unit, p.price, qty) for pid, qty, _seen in items if (p := products.get(pid)) is not None
    )
    choice = await fulfilment.current(market, uow, member.id, shop)
    subtotal, fee = sum(line.amount for line in lines), choice.fee(shop)
    price = await market.prices.reference_price(uow)
    allowed = max_share(market, shop, subtotal, fee, price)
    share = min(member.bnm_share_pref if bnm_share is None else bnm_share, allowed)
    total = subtotal + fee
    return Quote(shop.id, lines, subtotal, fee, total, split_payment(total, share, price), allowed, choice)


# ---------------------------------------------------------------------------------------- placing
#
# Placing and paying are written as load → plan → write, so that ``checkout`` (both at once, the
# chat's "결제하기") costs one batch of reads, one batch of stock reservations, and one ledger append
# that carries the order's rows with it — and ``place_order``/``pay_order`` share the same plans.


@dataclass(frozen=True, slots=True)
class _Basket:
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


async def _load_basket(uow: UnitOfWork, member_id: int, shop_id: int, idempotency_key: str | None) -> _Basket:
    ops = []
    if idempotency_key and uow.dialect == "postgresql":
        # Two taps of one button on two workers: the second waits here until the first commits, then
        # finds its order below and answers with it (without this, its INSERT hits the unique key).
        ops.append(read("SELECT pg_advisory_xact_lock(hashtext(:k))", {"k": f"order:{idempotency_key}"}))
    ops += [
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
        if _int(earlier[0][1]) != member.id:
            raise NotAllowed("that request key belongs to another member")
        earlier_id = _int(earlier[0][0])
        if _int(earlier[0][2]) != shop_id:
            raise InvalidInput("that request key was used for an order at another shop", field="idempotency_key")
    return _Basket(
        member,
        shop_of(SHOP_BY_ID.named(shop_rows[0])),
        [(products.get(_int(pid)), _int(qty), _int(pid)) for pid, qty in cart_rows],
        earlier_id,
        choice_rows,
        address_rows,
    )


@dataclass(frozen=True, slots=True)
class _Placement:
    lines: tuple[Line, ...]
    subtotal: int
    total: int
    choice: fulfilment.Choice

    @property
    def region(self) -> str:
        """Where the delivery goes (the job board's district), or the shop's region for a pickup."""
        address = self.choice.address
        return address.region if address is not None and address.region else ""


def _plan_placement(basket: _Basket, expected_total: int, choice: fulfilment.Choice) -> _Placement:
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
    return _Placement(tuple(lines), subtotal, total, choice)


def _choose(
    market: Services,
    basket: _Basket,
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


async def _reserve_and_insert(
    market: Services,
    uow: UnitOfWork,
    basket: _Basket,
    plan: _Placement,
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
    now = market.clock()
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
                "fee": plan.choice.fee(basket.shop),
                "total": plan.total,
                "addr": plan.choice.address.id if plan.choice.address else None,
                "pickup": plan.choice.pickup_at,
                "ws": plan.choice.window.start_ms if plan.choice.window else None,
                "we": plan.choice.window.end_ms if plan.choice.window else None,
                "ref": None if referrer_id == basket.member.id else referrer_id,  # no recommending to oneself
                "key": idempotency_key,
                "now": now,
            },
        )
    )
    results = await uow.batch(ops)
    for line, rows in zip(plan.lines, results, strict=False):
        if not rows:
            raise OutOfStock(f"{line.name} sold out just now", product=line.product_id, available=0)
    return _int(results[-1][0][0])


def _place_request(member: Member, shop: Shop, order_id: int, plan: _Placement) -> Request:
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


def _placement_writes(
    market: Services, member: Member, shop_id: int, order_id: int, plan: _Placement, seq: int
) -> list[Op]:
    member_id = member.id
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
        write("DELETE FROM cart_lines WHERE member_id = :m AND shop_id = :s", {"m": member_id, "s": shop_id}),
        write("UPDATE orders SET placed_seq = :seq WHERE id = :o", {"seq": seq, "o": order_id}),
    ]


def _check_share(
    market: Services, member: Member, shop: Shop, subtotal: int, delivery_fee: int, bnm_share: int | None
) -> int:
    share = member.bnm_share_pref if bnm_share is None else bnm_share
    validate.whole_number(share, "bnm_share", low=0, high=100)
    allowed = max_share(market, shop, subtotal, delivery_fee)
    if share > allowed:
        raise BnmShareTooHigh(
            f"{shop.name} accepts at most {allowed}% in 밤나무 for this order", max_share=allowed, asked=share
        )
    return share


@dataclass(frozen=True, slots=True)
class _Payment:
    split: Split
    accounts: tuple[AccountSpec, ...]
    transfers: tuple[Transfer, ...]


async def _plan_payment(
    market: Services,
    uow: UnitOfWork,
    member: Member,
    shop: Shop,
    order_id: int,
    subtotal: int,
    delivery_fee: int,
    bnm_share: int | None,
) -> _Payment:
    share = _check_share(market, member, shop, subtotal, delivery_fee, bnm_share)
    # The price matters only when BNM is used; an all-BTL payment needs no price read.
    price = await market.prices.reference_price(uow) if share else 0
    if share and share > (exact := max_share(market, shop, subtotal, delivery_fee, price)):
        raise BnmShareTooHigh(
            f"{shop.name} accepts at most {exact}% in 밤나무 for this order", max_share=exact, asked=share
        )
    split = (
        split_payment(subtotal + delivery_fee, share, price)
        if share
        else Split(subtotal + delivery_fee, 0, 0, 0, subtotal + delivery_fee)
    )
    accounts = [AccountSpec(escrow(order_id, "BTL"), "BTL")]
    transfers = []
    if split.btl:
        transfers.append(
            Transfer(
                hold_id(order_id, "BTL"),
                members.wallet(member.id, "BTL"),
                escrow(order_id, "BTL"),
                split.btl,
                "BTL",
                type="pending",
            )
        )
    if split.bnm_units:
        accounts.append(AccountSpec(escrow(order_id, "BNM"), "BNM"))
        transfers.append(
            Transfer(
                hold_id(order_id, "BNM"),
                members.wallet(member.id, "BNM"),
                escrow(order_id, "BNM"),
                split.bnm_units,
                "BNM",
                type="pending",
            )
        )
    return _Payment(split, tuple(accounts), tuple(transfers))


def _pay_request(member: Member, order_id: int, payment: _Payment) -> Request:
    split = payment.split
    return Request(
        actor=member.key_label,
        kind="order.pay",
        body={
            "order": order_id,
            "total": split.total,
            "btl": split.btl,
            "bnm_units": split.bnm_units,
            "bnm_price": split.price or None,
            "share": split.share,
        },
        accounts=payment.accounts,
        transfers=payment.transfers,
        countersign=True,  # the operator's consent opens the order's escrow accounts
    )


def _payment_writes(
    market: Services, order_id: int, payment: _Payment, region: str, pickup: bool, seq: int
) -> list[Op]:
    now = market.clock()
    split = payment.split
    return [
        write(
            "UPDATE orders SET state = 'paid', bnm_share = :share, btl_amount = :btl, bnm_units = :units, "
            "bnm_price = :price, paid_seq = :seq, paid_ms = :now, updated_ms = :now WHERE id = :o",
            {
                "share": split.share,
                "btl": split.btl,
                "units": split.bnm_units,
                "price": split.price or None,
                "seq": seq,
                "now": now,
                "o": order_id,
            },
        ),
        write(
            # A pickup is never on the couriers' board: the shop hands it over with the same code.
            "INSERT INTO deliveries (order_id, region, courier_id, status, code, wrong_attempts, updated_ms) "
            "VALUES (:o, :region, NULL, :status, :code, 0, :now)",
            {
                "o": order_id,
                "region": region,
                "status": "pickup" if pickup else "open",
                "code": f"{secrets.randbelow(10**6):06d}",
                "now": now,
            },
        ),
    ]


async def place_order(
    market: Services,
    uow: UnitOfWork,
    member_id: int,
    shop_id: int,
    *,
    expected_total: int,
    address_id: int | None = None,
    pickup_at: str | None = None,
    window: Window | None = None,
    referrer_id: int | None = None,
    idempotency_key: str | None = None,
) -> Order:
    """Turn the member's cart at a shop into an order, if the total is still the one they confirmed.

    Where it goes: ``address_id`` (in ``window``) or ``pickup_at``, else the cart's choice or the
    preselection (``fulfilment.resolve``); with no address at all the order is refused (``address_needed``).
    """
    key = validate.text(idempotency_key, "idempotency_key", max_len=100) if idempotency_key is not None else None
    basket = await _load_basket(uow, member_id, shop_id, key)
    if basket.earlier_order is not None:
        return await get(uow, basket.earlier_order)
    identity.require(basket.member, identity.PHONE, action="order")  # an order is a promise to pay
    choice = _choose(market, basket, address_id, pickup_at, window)
    plan = _plan_placement(basket, expected_total, choice)
    order_id = await _reserve_and_insert(market, uow, basket, plan, referrer_id=referrer_id, idempotency_key=key)
    await market.ledger.record(
        uow,
        _place_request(basket.member, basket.shop, order_id, plan),
        then=lambda recs: (
            []
            if recs[0].existing
            else _placement_writes(market, basket.member, basket.shop.id, order_id, plan, recs[0].seq)
        ),
    )
    return await get(uow, order_id)


async def pay_order(
    market: Services, uow: UnitOfWork, member_id: int, order_id: int, *, bnm_share: int | None = None
) -> Order:
    """Move the total into escrow (pending). Paying an already-paid order answers with it, unchanged."""
    order = await lock(uow, order_id)
    member = await members.get(uow, member_id)
    if order.buyer_id != member.id:
        raise NotAllowed("only the buyer pays an order", order=order.id)
    if order.state != "placed":
        if order.paid_seq is not None:
            return order  # paid before: the same answer again, nothing charged twice
        raise InvalidState(f"order {order.id} is {order.state}", order=order.id, state=order.state)
    identity.require(member, identity.PHONE, action="pay")
    shop = await shops.get(uow, order.shop_id)
    payment = await _plan_payment(market, uow, member, shop, order.id, order.subtotal, order.delivery_fee, bnm_share)
    region = await _delivery_region(uow, order, shop)
    pickup = order.pickup_at is not None
    await market.ledger.record(
        uow,
        _pay_request(member, order.id, payment),
        then=lambda recs: (
            [] if recs[0].existing else _payment_writes(market, order.id, payment, region, pickup, recs[0].seq)
        ),
    )
    uow.publish(events.OrderPaid(order.id, shop.id))
    return await get(uow, order.id)


async def _delivery_region(uow: UnitOfWork, order: Order, shop: Shop) -> str:
    if order.address_id is not None and order.pickup_at is None:
        rows = await uow.fetch("SELECT region FROM addresses WHERE id = :a", {"a": order.address_id})
        if rows and rows[0][0]:
            return str(rows[0][0])
    return shop.region


async def checkout(
    market: Services,
    uow: UnitOfWork,
    member_id: int,
    shop_id: int,
    *,
    expected_total: int,
    bnm_share: int | None = None,
    address_id: int | None = None,
    pickup_at: str | None = None,
    window: Window | None = None,
    referrer_id: int | None = None,
    idempotency_key: str | None = None,
) -> Order:
    """Place and pay in one step — the chat's "결제하기" after the confirmation screen.

    The same plans as ``place_order`` then ``pay_order``, in three round trips: the reads, the stock
    reservation with the order row, and one ledger append of both entries carrying the order's rows.
    """
    key = validate.text(idempotency_key, "idempotency_key", max_len=100) if idempotency_key is not None else None
    basket = await _load_basket(uow, member_id, shop_id, key)
    if basket.earlier_order is not None:
        earlier = await get(uow, basket.earlier_order)
        return (
            earlier
            if earlier.state != "placed"
            else await pay_order(market, uow, member_id, earlier.id, bnm_share=bnm_share)
        )
    member, shop = identity.require(basket.member, identity.PHONE, action="pay"), basket.shop
    choice = _choose(market, basket, address_id, pickup_at, window)
    plan = _plan_placement(basket, expected_total, choice)
    fee = choice.fee(shop)
    _check_share(market, member, shop, plan.subtotal, fee, bnm_share)  # refuse before reserving
    order_id = await _reserve_and_insert(market, uow, basket, plan, referrer_id=referrer_id, idempotency_key=key)
    payment = await _plan_payment(market, uow, member, shop, order_id, plan.subtotal, fee, bnm_share)
    region = plan.region or shop.region
    await market.ledger.record_many(
        uow,
        [_place_request(member, shop, order_id, plan), _pay_request(member, order_id, payment)],
        then=lambda recs: [
            *_placement_writes(market, member, shop.id, order_id, plan, recs[0].seq),
            *_payment_writes(market, order_id, payment, region, choice.is_pickup, recs[1].seq),
        ],
    )
    uow.publish(events.OrderPaid(order_id, shop.id))
    return await get(uow, order_id)


async def order_to_repeat(uow: UnitOfWork, member_id: int) -> int | None:
    """The order "지난번처럼" repeats: the member's latest one that was paid and not cancelled."""
    rows = await uow.fetch(
        "SELECT id FROM orders WHERE buyer_id = :m AND state NOT IN ('placed', 'cancelled') ORDER BY id DESC LIMIT 1",
        {"m": member_id},
    )
    return _int(rows[0][0]) if rows else None


async def reorder(market: Services, uow: UnitOfWork, member_id: int) -> Quote:
    """ "지난번처럼": fill the cart with the member's previous order at today's prices, ready to confirm."""
    member = await members.get(uow, member_id)
    previous_id = await order_to_repeat(uow, member.id)
    if previous_id is None:
        raise NoEarlierOrder("there is no earlier order to repeat yet", member=member.id)
    previous = await get(uow, previous_id)
    await uow.execute(
        "DELETE FROM cart_lines WHERE member_id = :m AND shop_id = :s", {"m": member.id, "s": previous.shop_id}
    )
    products = await catalog.get_many(uow, [line.product_id for line in previous.lines])
    for line in previous.lines:
        product = products.get(line.product_id)
        if product is None or not product.available:
            continue
        await set_quantity(market, uow, member.id, product.id, min(line.qty, product.stock))
    went = fulfilment.Choice(
        address=await _own_address(uow, member.id, previous.address_id),
        window=Window(previous.window_start_ms, previous.window_end_ms)
        if previous.window_start_ms is not None and previous.window_end_ms is not None
        else None,
        pickup_at=previous.pickup_at,
    )
    await fulfilment.repeat(market, uow, member.id, await shops.get(uow, previous.shop_id), went)
    return await quote(market, uow, member.id, previous.shop_id)


async def _own_address(uow: UnitOfWork, member_id: int, address_id: int | None) -> addresses.Address | None:
    if address_id is None:
        return None
    try:
        return await addresses.get_own(uow, member_id, address_id)
    except UnknownAddress:
        return None  # removed since: the preselection stands in


# --------------------------------------------------------------------------------- state changes


async def release_holds(
    market: Services,
    uow: UnitOfWork,
    order: Order,
    *,
    actor: str,
    kind: str,
    countersign: bool,
    note: dict[str, object] | None = None,
) -> int:
    """Void the order's escrow holds and put the stock back; returns the entry's sequence number.

    The stock and delivery rows are written before the ledger entry: commerce rows before the ledger
    head, the lock order every service follows (see ``lock``)."""
    voids = []
    if order.paid_seq is not None:
        if order.btl_amount:
            voids.append(
                Transfer(
                    f"{hold_id(order.id, 'BTL')}-void",
                    members.wallet(order.buyer_id, "BTL"),
                    escrow(order.id, "BTL"),
                    order.btl_amount,
                    "BTL",
                    type="void",
                    pending_id=hold_id(order.id, "BTL"),
                )
            )
        if order.bnm_units:
            voids.append(
                Transfer(
                    f"{hold_id(order.id, 'BNM')}-void",
                    members.wallet(order.buyer_id, "BNM"),
                    escrow(order.id, "BNM"),
                    order.bnm_units,
                    "BNM",
                    type="void",
                    pending_id=hold_id(order.id, "BNM"),
                )
            )
    # Stock goes back only for goods that never left the shop; a refund after pickup (damaged, wrong
    # item) does not make the returned goods sellable again.
    restock = order.state in ("placed", "paid", "accepted")
    ops: list[Op] = [
        write("UPDATE products SET stock = stock + :q WHERE id = :p", {"q": line.qty, "p": line.product_id})
        for line in order.lines
        if restock
    ]
    ops.append(write("DELETE FROM deliveries WHERE order_id = :o", {"o": order.id}))
    await uow.batch(ops)
    recorded = await market.ledger.record(
        uow,
        Request(
            actor=actor, kind=kind, body={"order": order.id, **(note or {})}, transfers=voids, countersign=countersign
        ),
    )
    return recorded.seq


async def cancel_order(market: Services, uow: UnitOfWork, member_id: int, order_id: int) -> Order:
    """The buyer cancels before the producer accepts, or the producer declines a paid order."""
    order = await lock(uow, order_id)
    shop = await shops.get(uow, order.shop_id)
    member = await members.get(uow, member_id)
    if member.id == order.buyer_id:
        actor, countersign = member.key_label, False
    elif member.id == shop.owner_id:
        actor, countersign = member.key_label, True  # the producer declines; the operator consents to the void
    else:
        raise NotAllowed("only the buyer or the shop can cancel this order", order=order.id)
    if order.state not in ("placed", "paid"):
        raise InvalidState(
            f"order {order.id} is already {order.state}; ask the shop or open a claim",
            order=order.id,
            state=order.state,
        )
    await release_holds(market, uow, order, actor=actor, kind="order.cancel", countersign=countersign)
    await uow.execute(
        "UPDATE orders SET state = 'cancelled', updated_ms = :now WHERE id = :o", {"now": market.clock(), "o": order.id}
    )
    return await get(uow, order.id)


async def accept_order(market: Services, uow: UnitOfWork, producer_id: int, order_id: int) -> Order:
    order = await lock(uow, order_id)
    shop = await shops.require_owner(uow, producer_id, order.shop_id)
    if order.state != "paid":
        raise InvalidState(f"order {order.id} is {order.state}, not paid", order=order.id, state=order.state)
    producer = await members.get(uow, shop.owner_id)
    await market.ledger.record(uow, Request(actor=producer.key_label, kind="order.accept", body={"order": order.id}))
    await uow.execute(
        "UPDATE orders SET state = 'accepted', updated_ms = :now WHERE id = :o", {"now": market.clock(), "o": order.id}
    )
    uow.publish(events.OrderAccepted(order.id, order.buyer_id))
    return await get(uow, order.id)


async def confirm_receipt(market: Services, uow: UnitOfWork, member_id: int, order_id: int) -> Order:
    """The buyer says the goods arrived (after pickup or the courier's delivery)."""
    order = await lock(uow, order_id)
    if order.buyer_id != member_id:
        raise NotAllowed("only the buyer confirms receipt", order=order.id)
    if order.state not in ("picked_up", "delivered"):
        raise InvalidState(f"order {order.id} is {order.state}", order=order.id, state=order.state)
    buyer = await members.get(uow, member_id)
    await market.ledger.record(uow, Request(actor=buyer.key_label, kind="order.confirm", body={"order": order.id}))
    now = market.clock()
    await uow.batch(
        [
            write(
                "UPDATE orders SET state = 'confirmed', delivered_ms = COALESCE(delivered_ms, :now), updated_ms = :now "
                "WHERE id = :o",
                {"now": now, "o": order.id},
            ),
            write(
                "UPDATE deliveries SET status = 'delivered', updated_ms = :now WHERE order_id = :o",
                {"now": now, "o": order.id},
            ),
        ]
    )
    return await get(uow, order.id)
