"""Carts and orders: placed → paid → accepted → picked_up → delivered → confirmed → settled.

Branches: cancelled (before the producer accepts; holds are released) and refunded (``settlement``).
Placing re-checks price and stock against what the member confirmed (``placing``); paying moves the
whole amount into the order's escrow (``payment``) and emits ``OrderPaid`` in the same transaction, whose
handlers (registered by bootstrap) attribute the order's recommendation and credit its comment.
Reads are in ``queries``, the rows in ``rows``.
"""

from __future__ import annotations

from dataclasses import dataclass

from commerce import events, validate
from commerce.delivery import addresses, fulfilment
from commerce.delivery.errors import UnknownAddress
from commerce.delivery.rows import Address
from commerce.delivery.windows import Window
from commerce.errors import InvalidState, NotAllowed
from commerce.members import identity
from commerce.members import service as members
from commerce.orders import payment, placing, queries
from commerce.orders.errors import EmptyCart, NoEarlierOrder, OutOfStock
from commerce.orders.events import OrderAccepted, OrderPaid
from commerce.orders.payment import Split, escrow, hold_id, split_payment
from commerce.orders.rows import Line, Order
from commerce.services import Services
from commerce.shops import catalog
from commerce.shops import service as shops
from ledger.model import Transfer
from ledger.requests import Request
from ledger.storage.ops import Op, write
from ledger.storage.unit_of_work import UnitOfWork

# ------------------------------------------------------------------------------------------- cart


async def add_to_cart(market: Services, uow: UnitOfWork, member_id: int, product_id: int, qty: int = 1) -> None:
    """Add ``qty`` (or set it, when the product is already in the cart, by adding)."""
    member = await members.get(uow, member_id)
    validate.whole_number(qty, "quantity", low=1, high=market.rules.max_quantity)
    product = await catalog.get(uow, product_id)
    if not product.available:
        raise OutOfStock(f"{product.name} is sold out", product=product.id, available=0)
    new_qty = qty + await queries.cart_qty(uow, member.id, product.id)
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


async def quote(market: Services, uow: UnitOfWork, member_id: int, shop_id: int, bnm_share: int | None = None) -> Quote:
    """What paying for the cart at ``shop_id`` would cost, with where it goes (``fulfilment.current``, which
    forgets a stored choice that no longer holds): a pickup has no delivery fee."""
    member = await members.get(uow, member_id)
    shop = await shops.get(uow, shop_id)
    items = await queries.cart(uow, member.id, shop.id)
    if not items:
        raise EmptyCart("the cart for this shop is empty", shop=shop.id)
    products = await catalog.get_many(uow, [item.product_id for item in items])
    lines = tuple(
        Line(p.id, p.name, p.unit, p.price, item.qty) for item in items if (p := products.get(item.product_id))
    )
    choice = await fulfilment.current(market, uow, member.id, shop)
    subtotal, fee = sum(line.amount for line in lines), choice.fee(shop)
    price = await market.prices.reference_price(uow)
    allowed = payment.max_share(market, shop, subtotal, fee, price)
    share = min(member.bnm_share_pref if bnm_share is None else bnm_share, allowed)
    total = subtotal + fee
    return Quote(shop.id, lines, subtotal, fee, total, split_payment(total, share, price), allowed, choice)


# ------------------------------------------------------------------------------------ placing, paying


def _key(idempotency_key: str | None) -> str | None:
    return validate.text(idempotency_key, "idempotency_key", max_len=100) if idempotency_key is not None else None


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
    key = _key(idempotency_key)
    basket = await placing.load_basket(uow, member_id, shop_id, key)
    if basket.earlier_order is not None:
        return await queries.get(uow, basket.earlier_order)
    identity.require(basket.member, identity.PHONE, action="order")  # an order is a promise to pay
    choice = placing.choose(market, basket, address_id, pickup_at, window)
    plan = placing.plan_placement(basket, expected_total, choice)
    order_id = await placing.reserve_and_insert(market, uow, basket, plan, referrer_id=referrer_id, idempotency_key=key)
    prepared = await market.ledger.prepare(uow, [placing.place_request(basket.member, basket.shop, order_id, plan)])
    placed = prepared.recorded[0]
    await uow.batch(
        [
            *prepared.ops,
            *(
                []
                if placed.existing
                else placing.placement_writes(market, basket.member, basket.shop.id, order_id, plan, placed.seq)
            ),
        ]
    )
    return await queries.get(uow, order_id)


async def pay_order(
    market: Services,
    uow: UnitOfWork,
    member_id: int,
    order_id: int,
    *,
    bnm_share: int | None = None,
    comment_id: int | None = None,
) -> Order:
    """Move the total into escrow (pending). Paying an already-paid order answers with it, unchanged.

    ``comment_id``: the comment the buyer says convinced them, credited with the payment (``OrderPaid``)."""
    order = await queries.lock(uow, order_id)
    member = await members.get(uow, member_id)
    if order.buyer_id != member.id:
        raise NotAllowed("only the buyer pays an order", order=order.id)
    if order.state != "placed":
        if order.paid_seq is not None:
            return order  # paid before: the same answer again, nothing charged twice
        raise InvalidState(f"order {order.id} is {order.state}", order=order.id, state=order.state)
    identity.require(member, identity.PHONE, action="pay")
    shop = await shops.get(uow, order.shop_id)
    paid = await payment.plan_payment(
        market, uow, member, shop, order.id, order.subtotal, order.delivery_fee, bnm_share
    )
    region = await queries.delivery_region(uow, order, shop)
    pickup = order.pickup_at is not None
    prepared = await market.ledger.prepare(uow, [payment.pay_request(member, order.id, paid)])
    recorded = prepared.recorded[0]
    await uow.batch(
        [
            *prepared.ops,
            *(
                []
                if recorded.existing
                else payment.payment_writes(market, order.id, paid, region, pickup, recorded.seq)
            ),
        ]
    )
    await events.emit(market, uow, OrderPaid(order.id, shop.id, order.referrer_id, comment_id))
    return await queries.get(uow, order.id)


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
    comment_id: int | None = None,
    idempotency_key: str | None = None,
) -> Order:
    """Place and pay in one step — the chat's "결제하기" after the confirmation screen.

    The same plans as ``place_order`` then ``pay_order``, in three round trips: the reads, the stock
    reservation with the order row, and one ledger append of both entries carrying the order's rows.
    """
    key = _key(idempotency_key)
    basket = await placing.load_basket(uow, member_id, shop_id, key)
    if basket.earlier_order is not None:
        earlier = await queries.get(uow, basket.earlier_order)
        if earlier.state != "placed":
            return earlier
        return await pay_order(market, uow, member_id, earlier.id, bnm_share=bnm_share, comment_id=comment_id)
    member, shop = identity.require(basket.member, identity.PHONE, action="pay"), basket.shop
    choice = placing.choose(market, basket, address_id, pickup_at, window)
    plan = placing.plan_placement(basket, expected_total, choice)
    fee = choice.fee(shop)
    payment.check_share(market, member, shop, plan.subtotal, fee, bnm_share)  # refuse before reserving
    referrer = placing.counted_referrer(basket, referrer_id)
    order_id = await placing.reserve_and_insert(market, uow, basket, plan, referrer_id=referrer, idempotency_key=key)
    paid = await payment.plan_payment(market, uow, member, shop, order_id, plan.subtotal, fee, bnm_share)
    region = plan.region or shop.region
    prepared = await market.ledger.prepare(
        uow, [placing.place_request(member, shop, order_id, plan), payment.pay_request(member, order_id, paid)]
    )
    placed, recorded = prepared.recorded
    await uow.batch(
        [
            *prepared.ops,
            *placing.placement_writes(market, member, shop.id, order_id, plan, placed.seq),
            *payment.payment_writes(market, order_id, paid, region, choice.is_pickup, recorded.seq),
        ]
    )
    await events.emit(market, uow, OrderPaid(order_id, shop.id, referrer, comment_id))
    return await queries.get(uow, order_id)


async def reorder(market: Services, uow: UnitOfWork, member_id: int) -> Quote:
    """ "지난번처럼": fill the cart with the member's previous order at today's prices, ready to confirm."""
    member = await members.get(uow, member_id)
    previous_id = await queries.order_to_repeat(uow, member.id)
    if previous_id is None:
        raise NoEarlierOrder("there is no earlier order to repeat yet", member=member.id)
    previous = await queries.get(uow, previous_id)
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


async def _own_address(uow: UnitOfWork, member_id: int, address_id: int | None) -> Address | None:
    if address_id is None:
        return None
    try:
        return await addresses.get_own(uow, member_id, address_id)
    except UnknownAddress:
        return None  # removed since: the preselection stands in


# --------------------------------------------------------------------------------- state changes


def _voids(order: Order) -> list[Transfer]:
    """The transfers that give the order's escrow holds back to its buyer (none before it was paid)."""
    if order.paid_seq is None:
        return []
    held = (("BTL", order.btl_amount), ("BNM", order.bnm_units))
    return [
        Transfer(
            f"{hold_id(order.id, token)}-void",
            members.wallet(order.buyer_id, token),
            escrow(order.id, token),
            amount,
            token,
            type="void",
            pending_id=hold_id(order.id, token),
        )
        for token, amount in held
        if amount
    ]


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
    head, the lock order every service follows (see ``queries.lock``)."""
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
    body = {"order": order.id, **(note or {})}
    request = Request(actor=actor, kind=kind, body=body, transfers=_voids(order), countersign=countersign)
    return (await market.ledger.record(uow, request)).seq


async def cancel_order(market: Services, uow: UnitOfWork, member_id: int, order_id: int) -> Order:
    """The buyer cancels before the producer accepts, or the producer declines a paid order."""
    order = await queries.lock(uow, order_id)
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
    return await queries.get(uow, order.id)


async def accept_order(market: Services, uow: UnitOfWork, producer_id: int, order_id: int) -> Order:
    order = await queries.lock(uow, order_id)
    shop = await shops.require_owner(uow, producer_id, order.shop_id)
    if order.state != "paid":
        raise InvalidState(f"order {order.id} is {order.state}, not paid", order=order.id, state=order.state)
    producer = await members.get(uow, shop.owner_id)
    await market.ledger.record(uow, Request(actor=producer.key_label, kind="order.accept", body={"order": order.id}))
    await uow.execute(
        "UPDATE orders SET state = 'accepted', updated_ms = :now WHERE id = :o", {"now": market.clock(), "o": order.id}
    )
    await events.emit(market, uow, OrderAccepted(order.id, order.buyer_id))
    return await queries.get(uow, order.id)


async def confirm_receipt(market: Services, uow: UnitOfWork, member_id: int, order_id: int) -> Order:
    """The buyer says the goods arrived (after pickup or the courier's delivery)."""
    order = await queries.lock(uow, order_id)
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
    return await queries.get(uow, order.id)
