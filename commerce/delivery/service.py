"""Delivery: a courier takes or is given the job, confirms pickup, and confirms delivery with the code
the shopper has in their chat. Only the assigned courier confirms; three wrong codes lock the job
until an operator looks at it. Reads (jobs, the board, a courier's route) are in ``queries``.

A wrong code is an outcome, not a crash: ``confirm_delivery`` records the attempt and returns
``DeliveryOutcome(ok=False, attempts_left=…)`` so the caller commits the count — an exception would
roll it back and let a courier guess forever.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from commerce import events
from commerce.delivery import queries
from commerce.delivery.errors import AlreadyTaken, DeliveryLocked
from commerce.delivery.events import CourierAssigned, OrderDelivered, OrderPickedUp
from commerce.delivery.rows import Job
from commerce.errors import InvalidState, NotAllowed
from commerce.members import service as members
from commerce.members.rows import Member
from commerce.orders import queries as order_queries
from commerce.orders.rows import Order
from commerce.provenance.service import COLLECTED
from commerce.services import Services
from commerce.shops import service as shops
from ledger.requests import Request
from ledger.storage.ops import write
from ledger.storage.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    ok: bool
    order: Order
    attempts_left: int
    locked: bool


async def _assign(market: Services, uow: UnitOfWork, order_id: int, courier_id: int, *, by: str, by_member: int) -> Job:
    # One statement decides the race: only the first courier finds the job still open.
    taken = await uow.fetch(
        "UPDATE deliveries SET courier_id = :c, status = 'assigned', updated_ms = :now "
        "WHERE order_id = :o AND status = 'open' AND courier_id IS NULL RETURNING order_id",
        {"c": courier_id, "now": market.clock(), "o": order_id},
    )
    if not taken:
        current = await queries.job(uow, order_id)
        raise AlreadyTaken(f"order {order_id}'s delivery is already {current.status}", order=order_id)
    await uow.execute("UPDATE orders SET courier_id = :c WHERE id = :o", {"c": courier_id, "o": order_id})
    await market.ledger.record(
        uow,
        Request(actor=by, kind="delivery.assign", body={"order": order_id, "courier": courier_id, "by": by_member}),
    )
    return await queries.job(uow, order_id)


async def take_job(market: Services, uow: UnitOfWork, courier_id: int, order_id: int) -> Job:
    order = await order_queries.lock(uow, order_id)
    courier = await members.require_role(uow, courier_id, "courier")
    if order.state not in ("paid", "accepted"):
        raise InvalidState(f"order {order_id} is {order.state}", order=order_id, state=order.state)
    return await _assign(market, uow, order_id, courier.id, by=courier.key_label, by_member=courier.id)


async def assign_courier(market: Services, uow: UnitOfWork, producer_id: int, order_id: int, courier_id: int) -> Job:
    order = await order_queries.lock(uow, order_id)
    shop = await shops.require_owner(uow, producer_id, order.shop_id)
    courier = await members.require_role(uow, courier_id, "courier")
    if order.state not in ("paid", "accepted"):
        raise InvalidState(f"order {order_id} is {order.state}", order=order_id, state=order.state)
    producer = await members.get(uow, shop.owner_id)
    assigned = await _assign(market, uow, order_id, courier.id, by=producer.key_label, by_member=producer.id)
    await events.emit(market, uow, CourierAssigned(order_id, courier.id))
    return assigned


async def _assigned(uow: UnitOfWork, courier_id: int, order_id: int) -> tuple[Member, Job, Order]:
    order = await order_queries.lock(uow, order_id)
    courier = await members.get(uow, courier_id)
    current = await queries.job(uow, order_id)
    if current.courier_id != courier.id:
        raise NotAllowed("this delivery is not yours", order=order_id)
    if current.status == "locked":
        raise DeliveryLocked("too many wrong codes: the market office will call you", order=order_id)
    return courier, current, order


async def confirm_pickup(market: Services, uow: UnitOfWork, courier_id: int, order_id: int) -> Order:
    courier, current, order = await _assigned(uow, courier_id, order_id)
    if current.status != "assigned" or order.state not in ("paid", "accepted"):
        raise InvalidState(f"order {order_id} is {order.state}", order=order_id, state=order.state)
    recorded = await market.ledger.record(
        uow, Request(actor=courier.key_label, kind="delivery.pickup", body={"order": order_id})
    )
    now = market.clock()
    await uow.batch(
        [
            write(
                "UPDATE deliveries SET status = 'picked_up', updated_ms = :now WHERE order_id = :o",
                {"now": now, "o": order_id},
            ),
            write(
                "UPDATE orders SET state = 'picked_up', updated_ms = :now WHERE id = :o", {"now": now, "o": order_id}
            ),
            *[
                write(
                    "INSERT INTO provenance_events (product_id, order_id, stage, actor_id, note, seq, time_ms) "
                    "VALUES (:p, :o, 'handed_over', :a, '', :seq, :now)",
                    {"p": line.product_id, "o": order_id, "a": courier.id, "seq": recorded.seq, "now": now},
                )
                for line in order.lines
            ],
        ]
    )
    await events.emit(market, uow, OrderPickedUp(order_id, order.buyer_id))
    return await order_queries.get(uow, order_id)


async def confirm_delivery(
    market: Services, uow: UnitOfWork, courier_id: int, order_id: int, code: str
) -> DeliveryOutcome:
    courier, current, order = await _assigned(uow, courier_id, order_id)
    if current.status != "picked_up":
        raise InvalidState(f"confirm pickup of order {order_id} first", order=order_id, state=current.status)
    wrong = await _wrong_code(market, uow, order, code)
    if wrong is not None:
        return wrong
    recorded = await market.ledger.record(
        uow, Request(actor=courier.key_label, kind="delivery.confirm", body={"order": order_id})
    )
    await _delivered(market, uow, order, courier.id, recorded.seq)
    return DeliveryOutcome(
        True, await order_queries.get(uow, order_id), limit_of(market) - current.wrong_attempts, False
    )


def limit_of(market: Services) -> int:
    return market.rules.delivery_code_attempts


async def _wrong_code(market: Services, uow: UnitOfWork, order: Order, code: object) -> DeliveryOutcome | None:
    """``None`` when ``code`` is the order's one-time code; else the attempt counted (and the job locked
    at the last one) — an outcome the caller commits, so guesses cannot be retried for free."""
    expected = await queries.code_of(uow, order.id)
    if isinstance(code, str) and hmac.compare_digest(code.strip().encode(), expected.encode()):
        return None
    limit = limit_of(market)
    # Counted in the statement itself, so concurrent guesses can never share an attempt.
    counted = await uow.fetch(
        "UPDATE deliveries SET wrong_attempts = wrong_attempts + 1, updated_ms = :now WHERE order_id = :o "
        "RETURNING wrong_attempts",
        {"now": market.clock(), "o": order.id},
    )
    wrong = int(counted[0][0])
    locked = wrong >= limit
    if locked:
        await uow.execute("UPDATE deliveries SET status = 'locked' WHERE order_id = :o", {"o": order.id})
    return DeliveryOutcome(False, order, max(0, limit - wrong), locked)


async def _delivered(
    market: Services, uow: UnitOfWork, order: Order, actor_id: int, seq: int, *, stage: str = "delivered"
) -> None:
    """The goods are with the buyer: the order and its delivery say so, and each product's provenance
    (``delivered`` by a courier, ``collected`` when the buyer picked it up)."""
    now, order_id = market.clock(), order.id
    await uow.batch(
        [
            write(
                "UPDATE deliveries SET status = 'delivered', updated_ms = :now WHERE order_id = :o",
                {"now": now, "o": order_id},
            ),
            write(
                "UPDATE orders SET state = 'delivered', delivered_ms = :now, updated_ms = :now WHERE id = :o",
                {"now": now, "o": order_id},
            ),
            *[
                write(
                    "INSERT INTO provenance_events (product_id, order_id, stage, actor_id, note, seq, time_ms) "
                    "VALUES (:p, :o, :stage, :a, '', :seq, :now)",
                    {"p": line.product_id, "o": order_id, "stage": stage, "a": actor_id, "seq": seq, "now": now},
                )
                for line in order.lines
            ],
        ]
    )
    await events.emit(market, uow, OrderDelivered(order_id, order.buyer_id))


async def unlock(market: Services, uow: UnitOfWork, operator_id: int, order_id: int) -> Job:
    """An operator has talked to courier and buyer: the job may be confirmed again."""
    await order_queries.lock(uow, order_id)
    operator = await members.require_role(uow, operator_id, "operator")
    current = await queries.job(uow, order_id)
    if current.status != "locked":
        raise InvalidState(f"delivery of order {order_id} is not locked", order=order_id)
    await uow.execute(
        "UPDATE deliveries SET status = 'picked_up', wrong_attempts = 0, updated_ms = :now WHERE order_id = :o",
        {"now": market.clock(), "o": order_id},
    )
    await market.ledger.record(
        uow, Request(actor="system:operator", kind="delivery.unlock", body={"order": order_id, "by": operator.id})
    )
    return await queries.job(uow, order_id)


# ------------------------------------------------------------------------------------- pickups


async def hand_over(market: Services, uow: UnitOfWork, member_id: int, order_id: int, code: str) -> DeliveryOutcome:
    """The buyer collected a pickup order: the shop's owner (or, at the market office, an operator)
    checks the same one-time code a courier would, with the same three tries."""
    order = await order_queries.lock(uow, order_id)
    if order.pickup_at is None:
        raise InvalidState(f"order {order_id} is delivered by a courier, not collected", order=order_id)
    member = await members.get(uow, member_id)
    shop = await shops.get(uow, order.shop_id)
    if member.id != shop.owner_id and not (order.pickup_at == "office" and member.has("operator")):
        raise NotAllowed("only the shop (or the market office, for office pickups) hands this order over")
    current = await queries.job(uow, order_id)
    if current.status == "locked":
        raise DeliveryLocked("too many wrong codes: the market office will call", order=order_id)
    if current.status != "pickup" or order.state not in ("paid", "accepted"):
        raise InvalidState(f"order {order_id} is {order.state}", order=order_id, state=order.state)
    wrong = await _wrong_code(market, uow, order, code)
    if wrong is not None:
        return wrong
    recorded = await market.ledger.record(
        uow,
        Request(actor=member.key_label, kind="delivery.handover", body={"order": order_id, "at": order.pickup_at}),
    )
    await _delivered(market, uow, order, member.id, recorded.seq, stage=COLLECTED)
    return DeliveryOutcome(
        True, await order_queries.get(uow, order_id), limit_of(market) - current.wrong_attempts, False
    )
