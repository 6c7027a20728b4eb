"""Delivery: a courier takes or is given the job, confirms pickup, and confirms delivery with the code
the shopper has in their chat. Only the assigned courier confirms; three wrong codes lock the job
until an operator looks at it.

A wrong code is an outcome, not a crash: ``confirm_delivery`` records the attempt and returns
``DeliveryOutcome(ok=False, attempts_left=…)`` so the caller commits the count — an exception would
roll it back and let a courier guess forever.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from commerce import events
from commerce.delivery import districts
from commerce.errors import AlreadyTaken, DeliveryLocked, InvalidState, NotAllowed, UnknownOrder
from commerce.members import service as members
from commerce.members.rows import Member
from commerce.orders import service as orders
from commerce.services import Services
from commerce.shops import service as shops
from ledger.db import UnitOfWork, write
from ledger.service import Request


@dataclass(frozen=True, slots=True)
class Job:
    order_id: int
    region: str
    courier_id: int | None
    status: str
    wrong_attempts: int


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    ok: bool
    order: orders.Order
    attempts_left: int
    locked: bool


async def job(uow: UnitOfWork, order_id: int) -> Job:
    rows = await uow.fetch(
        "SELECT order_id, region, courier_id, status, wrong_attempts FROM deliveries WHERE order_id = :o",
        {"o": order_id},
    )
    if not rows:
        raise UnknownOrder(f"order {order_id} has no delivery", order=order_id)
    o, region, courier, status, wrong = rows[0]
    return Job(int(o), str(region), None if courier is None else int(courier), str(status), int(wrong))


async def open_jobs(uow: UnitOfWork, region: str | None = None, *, limit: int = 6) -> list[Job]:
    """Jobs nobody has taken, for couriers in a region (oldest first)."""
    sql = (
        "SELECT d.order_id, d.region, d.courier_id, d.status, d.wrong_attempts FROM deliveries d "
        "JOIN orders o ON o.id = d.order_id WHERE d.status = 'open' AND o.state IN ('paid', 'accepted')"
    )
    params: dict[str, object] = {"limit": limit}
    if region is not None:
        sql += " AND d.region = :region"
        params["region"] = region
    rows = await uow.fetch(sql + " ORDER BY d.order_id LIMIT :limit", params)
    return [Job(int(o), str(r), None if c is None else int(c), str(s), int(w)) for o, r, c, s, w in rows]


async def jobs_of(uow: UnitOfWork, courier_id: int, *, limit: int = 5) -> list[Job]:
    """The deliveries this courier has taken and not finished."""
    rows = await uow.fetch(
        "SELECT order_id, region, courier_id, status, wrong_attempts FROM deliveries "
        "WHERE courier_id = :c AND status IN ('assigned', 'picked_up', 'locked') ORDER BY order_id LIMIT :limit",
        {"c": courier_id, "limit": limit},
    )
    return [Job(int(o), str(r), int(c), str(s), int(w)) for o, r, c, s, w in rows]


async def delivery_code(uow: UnitOfWork, member_id: int, order_id: int) -> str:
    """The one-time code, for the buyer's own chat only."""
    order = await orders.get(uow, order_id)
    if order.buyer_id != member_id:
        raise NotAllowed("only the buyer sees the delivery code", order=order_id)
    rows = await uow.fetch("SELECT code FROM deliveries WHERE order_id = :o", {"o": order_id})
    if not rows:
        raise UnknownOrder(f"order {order_id} has no delivery", order=order_id)
    return str(rows[0][0])


async def _assign(market: Services, uow: UnitOfWork, order_id: int, courier_id: int, *, by: str, by_member: int) -> Job:
    # One statement decides the race: only the first courier finds the job still open.
    taken = await uow.fetch(
        "UPDATE deliveries SET courier_id = :c, status = 'assigned', updated_ms = :now "
        "WHERE order_id = :o AND status = 'open' AND courier_id IS NULL RETURNING order_id",
        {"c": courier_id, "now": market.clock(), "o": order_id},
    )
    if not taken:
        current = await job(uow, order_id)
        raise AlreadyTaken(f"order {order_id}'s delivery is already {current.status}", order=order_id)
    await uow.execute("UPDATE orders SET courier_id = :c WHERE id = :o", {"c": courier_id, "o": order_id})
    await market.ledger.record(
        uow,
        Request(actor=by, kind="delivery.assign", body={"order": order_id, "courier": courier_id, "by": by_member}),
    )
    return await job(uow, order_id)


async def take_job(market: Services, uow: UnitOfWork, courier_id: int, order_id: int) -> Job:
    order = await orders.lock(uow, order_id)
    courier = await members.require_role(uow, courier_id, "courier")
    if order.state not in ("paid", "accepted"):
        raise InvalidState(f"order {order_id} is {order.state}", order=order_id, state=order.state)
    return await _assign(market, uow, order_id, courier.id, by=courier.key_label, by_member=courier.id)


async def assign_courier(market: Services, uow: UnitOfWork, producer_id: int, order_id: int, courier_id: int) -> Job:
    order = await orders.lock(uow, order_id)
    shop = await shops.require_owner(uow, producer_id, order.shop_id)
    courier = await members.require_role(uow, courier_id, "courier")
    if order.state not in ("paid", "accepted"):
        raise InvalidState(f"order {order_id} is {order.state}", order=order_id, state=order.state)
    producer = await members.get(uow, shop.owner_id)
    assigned = await _assign(market, uow, order_id, courier.id, by=producer.key_label, by_member=producer.id)
    uow.publish(events.CourierAssigned(order_id, courier.id))
    return assigned


async def _assigned(uow: UnitOfWork, courier_id: int, order_id: int) -> tuple[Member, Job, orders.Order]:
    order = await orders.lock(uow, order_id)
    courier = await members.get(uow, courier_id)
    current = await job(uow, order_id)
    if current.courier_id != courier.id:
        raise NotAllowed("this delivery is not yours", order=order_id)
    if current.status == "locked":
        raise DeliveryLocked("too many wrong codes: the market office will call you", order=order_id)
    return courier, current, order


async def confirm_pickup(market: Services, uow: UnitOfWork, courier_id: int, order_id: int) -> orders.Order:
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
    uow.publish(events.OrderPickedUp(order_id, order.buyer_id))
    return await orders.get(uow, order_id)


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
    return DeliveryOutcome(True, await orders.get(uow, order_id), limit_of(market) - current.wrong_attempts, False)


def limit_of(market: Services) -> int:
    return market.rules.delivery_code_attempts


async def _wrong_code(market: Services, uow: UnitOfWork, order: orders.Order, code: object) -> DeliveryOutcome | None:
    """``None`` when ``code`` is the order's one-time code; else the attempt counted (and the job locked
    at the last one) — an outcome the caller commits, so guesses cannot be retried for free."""
    rows = await uow.fetch("SELECT code FROM deliveries WHERE order_id = :o", {"o": order.id})
    if isinstance(code, str) and hmac.compare_digest(code.strip().encode(), str(rows[0][0]).encode()):
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


async def _delivered(market: Services, uow: UnitOfWork, order: orders.Order, actor_id: int, seq: int) -> None:
    """The goods are with the buyer: the order and its delivery say so, and each product's provenance."""
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
                    "VALUES (:p, :o, 'delivered', :a, '', :seq, :now)",
                    {"p": line.product_id, "o": order_id, "a": actor_id, "seq": seq, "now": now},
                )
                for line in order.lines
            ],
        ]
    )
    uow.publish(events.OrderDelivered(order_id, order.buyer_id))


async def unlock(market: Services, uow: UnitOfWork, operator_id: int, order_id: int) -> Job:
    """An operator has talked to courier and buyer: the job may be confirmed again."""
    await orders.lock(uow, order_id)
    operator = await members.require_role(uow, operator_id, "operator")
    current = await job(uow, order_id)
    if current.status != "locked":
        raise InvalidState(f"delivery of order {order_id} is not locked", order=order_id)
    await uow.execute(
        "UPDATE deliveries SET status = 'picked_up', wrong_attempts = 0, updated_ms = :now WHERE order_id = :o",
        {"now": market.clock(), "o": order_id},
    )
    await market.ledger.record(
        uow, Request(actor="system:operator", kind="delivery.unlock", body={"order": order_id, "by": operator.id})
    )
    return await job(uow, order_id)


# ------------------------------------------------------------------------------------- pickups


async def hand_over(market: Services, uow: UnitOfWork, member_id: int, order_id: int, code: str) -> DeliveryOutcome:
    """The buyer collected a pickup order: the shop's owner (or, at the market office, an operator)
    checks the same one-time code a courier would, with the same three tries."""
    order = await orders.lock(uow, order_id)
    if order.pickup_at is None:
        raise InvalidState(f"order {order_id} is delivered by a courier, not collected", order=order_id)
    member = await members.get(uow, member_id)
    shop = await shops.get(uow, order.shop_id)
    if member.id != shop.owner_id and not (order.pickup_at == "office" and member.has("operator")):
        raise NotAllowed("only the shop (or the market office, for office pickups) hands this order over")
    current = await job(uow, order_id)
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
    await _delivered(market, uow, order, member.id, recorded.seq)
    return DeliveryOutcome(True, await orders.get(uow, order_id), limit_of(market) - current.wrong_attempts, False)


# ------------------------------------------------------------------------------------ job board


@dataclass(frozen=True, slots=True)
class BoardJob:
    """An open job as every courier sees it: where from, which district, when — no address yet."""

    order_id: int
    market: str | None
    shop: str
    district: str
    fee: int
    window_start_ms: int | None
    window_end_ms: int | None


@dataclass(frozen=True, slots=True)
class BoardPage:
    jobs: tuple[BoardJob, ...]
    page: int
    has_next: bool


async def board(uow: UnitOfWork, *, area: str | None, page: int = 0, per_page: int = 5) -> BoardPage:
    """Open jobs, the nearest delivery window first (then the newest), in ``area`` (every word of it in
    the job's district: "수원시" finds "경기 수원시 팔달구") or everywhere."""
    page = max(0, page)
    params: dict[str, object] = {"n": per_page + 1, "skip": page * per_page}
    where = ""
    for i, word in enumerate(districts.words(area)):
        where += f" AND d.region LIKE :w{i}"
        params[f"w{i}"] = f"%{word}%"
    rows = await uow.fetch(
        "SELECT o.id, s.market, s.name, d.region, o.delivery_fee, o.window_start_ms, o.window_end_ms "
        "FROM deliveries d JOIN orders o ON o.id = d.order_id JOIN shops s ON s.id = o.shop_id "
        f"WHERE d.status = 'open' AND o.state IN ('paid', 'accepted'){where} "
        "ORDER BY CASE WHEN o.window_start_ms IS NULL THEN 1 ELSE 0 END, o.window_start_ms, o.id DESC "
        "LIMIT :n OFFSET :skip",
        params,
    )
    jobs = tuple(
        BoardJob(int(o), None if m is None else str(m), str(s), str(r), int(f), _opt(ws), _opt(we))
        for o, m, s, r, f, ws, we in rows[:per_page]
    )
    return BoardPage(jobs, page, len(rows) > per_page)


def _opt(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


async def route(uow: UnitOfWork, courier_id: int, *, limit: int = 5) -> list[tuple[Job, int | None]]:
    """The courier's unfinished deliveries in the order to drive them: by window, a district together."""
    rows = await uow.fetch(
        "SELECT d.order_id, d.region, d.courier_id, d.status, d.wrong_attempts, o.window_start_ms "
        "FROM deliveries d JOIN orders o ON o.id = d.order_id "
        "WHERE d.courier_id = :c AND d.status IN ('assigned', 'picked_up', 'locked') "
        "ORDER BY CASE WHEN o.window_start_ms IS NULL THEN 1 ELSE 0 END, o.window_start_ms, d.region, d.order_id "
        "LIMIT :limit",
        {"c": courier_id, "limit": limit},
    )
    return [(Job(int(o), str(r), int(c), str(s), int(w)), _opt(ws)) for o, r, c, s, w, ws in rows]
