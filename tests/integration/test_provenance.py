"""Provenance: every step of a product's way, each proven by its ledger entry (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from chestnut.bootstrap import App
from commerce.claims import service as claims
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.errors import InvalidInput, InvalidState, NotAllowed, UnknownOrder
from commerce.members import service as members
from commerce.orders import service as orders
from commerce.orders import settlement
from commerce.orders.rows import Order
from commerce.provenance import service as provenance
from commerce.reviews import service as reviews
from commerce.shops import catalog
from commerce.shops.errors import UnknownProduct
from commerce.shops.rows import Product
from ledger.errors import ChestnutError
from ledger.model import split_entry
from ledger.storage.unit_of_work import UnitOfWork
from ledger.verify import verify_ledger
from tests.support.market import Cast, cast


async def state(app: App) -> dict[str, Any]:
    async with app.db.snapshot() as snap:
        head = await app.ledger.head(snap)
        events = await snap.fetch("SELECT * FROM provenance_events ORDER BY id")
        order_rows = await snap.fetch("SELECT id, state FROM orders ORDER BY id")
    return {"size": head.size, "events": events, "orders": order_rows}


async def refused(
    app: App, error: type[ChestnutError], code: str, action: Callable[[UnitOfWork], Awaitable[object]]
) -> ChestnutError:
    before = await state(app)
    with pytest.raises(error) as caught:
        async with app.db.unit_of_work() as uow:
            await action(uow)
            await uow.commit()
    assert caught.value.code == code
    assert await state(app) == before, "a refused action changed something"
    return caught.value


async def run(app: App, action: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
    async with app.db.unit_of_work() as uow:
        result = await action(uow)
        await uow.commit()
    return result


async def record(
    app: App, actor: int, product: int, stage: str, note: str = "", order: int | None = None
) -> provenance.Event:
    return await run(  # type: ignore[no-any-return]
        app,
        lambda uow: provenance.record_event(app.services, uow, actor, product, stage=stage, note=note, order_id=order),
    )


async def paid_order(app: App, c: Cast, qty: int = 1) -> Order:
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, qty)
        q = await orders.quote(m, uow, c.shopper, c.shop, bnm_share=0)
        order = await orders.checkout(m, uow, c.shopper, c.shop, expected_total=q.total, bnm_share=0)
        await uow.commit()
    return order


async def pick_up(app: App, c: Cast, order_id: int) -> None:
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.accept_order(m, uow, c.producer, order_id)
        await delivery.take_job(m, uow, c.courier, order_id)
        await delivery.confirm_pickup(m, uow, c.courier, order_id)
        await uow.commit()


async def deliver(app: App, c: Cast, order_id: int) -> None:
    m = app.services
    async with app.db.unit_of_work() as uow:
        code = await delivery_queries.delivery_code(uow, c.shopper, order_id)
        assert (await delivery.confirm_delivery(m, uow, c.courier, order_id, code)).ok
        await uow.commit()


async def signed(app: App, seq: int) -> dict[str, Any]:
    async with app.db.snapshot() as snap:
        entry = await app.ledger.entry(snap, seq)
    action: dict[str, Any] = json.loads(split_entry(entry).action_bytes)
    return action


async def public_key(app: App, member_id: int) -> bytes:
    async with app.db.snapshot() as snap:
        return (await app.keys.get(snap, members.key_label(member_id))).public_key


async def test_history_shows_every_step_with_the_entry_that_proves_it(app: App) -> None:
    c = await cast(app)
    m = app.services
    harvested = await record(app, c.producer, c.product, "harvested", "11월 20일 아침 수확")
    await record(app, c.producer, c.product, "processed", "세척·선별")
    order = await paid_order(app, c, qty=2)
    packed = await record(app, c.producer, c.product, "packed", "완충재 2겹", order=order.id)
    assert (packed.order_id, packed.role, packed.seq) == (order.id, "producer", packed.seq)
    await pick_up(app, c, order.id)
    note = await record(app, c.courier, c.product, "handed_over", "냉장 상태로 인수", order=order.id)
    assert note.role == "courier"
    await deliver(app, c, order.id)
    async with app.db.unit_of_work() as uow:
        await orders.confirm_receipt(m, uow, c.shopper, order.id)
        await reviews.post_review(m, uow, c.shopper, order.id, c.product, rating=5, text="맛있어요")
        await claims.open_claim(m, uow, c.shopper, order.id, kind="quality", text="한 개가 물러요")
        await uow.commit()

    async with app.db.snapshot() as snap:
        page = await provenance.history(snap, c.product)
    assert (page.product.name, page.product.origin_region, page.product.produced_on) == (
        "사과",
        "경북 청송",
        "2026-11-20",
    )
    assert page.product.certifications == ()
    assert (page.shop.id, page.shop.name) == (c.shop, "김씨네 과수원")
    assert [(e.stage, e.actor_id, e.role) for e in page.events] == [
        ("harvested", c.producer, "producer"),
        ("processed", c.producer, "producer"),
        ("packed", c.producer, "producer"),
        ("handed_over", c.courier, "courier"),  # written by delivery with ``delivery.pickup``
        ("handed_over", c.courier, "courier"),  # the courier's own note
        ("delivered", c.courier, "courier"),  # written by delivery with ``delivery.confirm``
    ]
    assert page.events[0] == harvested
    times = [(e.time_ms, e.seq) for e in page.events]
    assert times == sorted(times)
    assert (page.rating.count, page.rating.display, page.claims) == (1, "5.0", 1)

    # Each step's sequence number leads to a signed entry of the right kind, by the right member, saying the same.
    listing = await signed(app, page.product.listed_seq)
    assert (listing["kind"], listing["body"]["product"]) == ("product.list", c.product)
    assert listing["body"]["origin"] == {"region": "경북 청송", "producer": "김씨네 과수원"}
    for event in page.events:
        action = await signed(app, event.seq)
        assert base64.b64decode(action["actor"]) == await public_key(app, event.actor_id)
        if action["kind"].startswith("provenance."):
            assert action["kind"] == f"provenance.{event.stage}"
            expected: dict[str, Any] = {"product": c.product, "note": event.note}
            if event.order_id is not None:
                expected["order"] = event.order_id
            assert action["body"] == expected
        else:
            kind = {"handed_over": "delivery.pickup", "delivered": "delivery.confirm"}[event.stage]
            assert (action["kind"], action["body"], event.note) == (kind, {"order": order.id}, "")
    report = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert report.ok, report.problem


async def test_history_of_one_order_leaves_out_other_deliveries(app: App) -> None:
    c = await cast(app)
    await record(app, c.producer, c.product, "harvested")
    first = await paid_order(app, c)
    second = await paid_order(app, c)
    for order in (first, second):
        await pick_up(app, c, order.id)
    await deliver(app, c, first.id)
    async with app.db.snapshot() as snap:
        mine = await provenance.history(snap, c.product, order_id=first.id)
        everything = await provenance.history(snap, c.product)
    assert [(e.stage, e.order_id) for e in mine.events] == [
        ("harvested", None),
        ("handed_over", first.id),
        ("delivered", first.id),
    ]
    assert len(everything.events) == 4
    assert (everything.rating.count, everything.claims) == (0, 0)


async def test_history_of_an_unknown_product_is_not_found(app: App) -> None:
    await cast(app)
    async with app.db.snapshot() as snap:
        with pytest.raises(UnknownProduct) as caught:
            await provenance.history(snap, 404)
    assert caught.value.code == "unknown_product"


async def test_a_settled_order_keeps_its_timeline(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await paid_order(app, c)
    await pick_up(app, c, order.id)
    await deliver(app, c, order.id)
    async with app.db.unit_of_work() as uow:
        await orders.confirm_receipt(m, uow, c.shopper, order.id)
        await settlement.settle_order(m, uow, order.id)
        await uow.commit()
    delivered = await record(app, c.courier, c.product, "delivered", "문 앞 전달, 사진 남김", order=order.id)
    assert delivered.note == "문 앞 전달, 사진 남김"


@pytest.mark.parametrize("who", ["courier", "shopper", "operator"])
@pytest.mark.parametrize("stage", provenance.PRODUCER_STAGES)
async def test_producer_stage_by_someone_other_than_the_shop_owner_is_refused(app: App, stage: str, who: str) -> None:
    c = await cast(app)
    member = int(getattr(c, who))
    await refused(
        app,
        NotAllowed,
        "not_allowed",
        lambda uow: provenance.record_event(app.services, uow, member, c.product, stage=stage, note="수확"),
    )


@pytest.mark.parametrize("who", ["producer", "shopper", "other_courier", "operator"])
@pytest.mark.parametrize("stage", provenance.COURIER_STAGES)
async def test_courier_stage_by_anyone_but_the_assigned_courier_is_refused(app: App, stage: str, who: str) -> None:
    c = await cast(app)
    order = await paid_order(app, c)
    await pick_up(app, c, order.id)
    await deliver(app, c, order.id)

    async def other_courier(uow: UnitOfWork) -> int:
        other = await members.register(app.services, uow, channel="kakao", external_id="c2", display_name="최배달")
        await members.grant_role(app.services, uow, c.operator, other.id, "courier")
        return other.id

    member = await run(app, other_courier) if who == "other_courier" else int(getattr(c, who))
    await refused(
        app,
        NotAllowed,
        "not_allowed",
        lambda uow: provenance.record_event(app.services, uow, member, c.product, stage=stage, order_id=order.id),
    )


@pytest.mark.parametrize("stage", provenance.COURIER_STAGES)
async def test_courier_stage_without_an_order_is_refused(app: App, stage: str) -> None:
    c = await cast(app)
    err = await refused(
        app,
        InvalidInput,
        "invalid_input",
        lambda uow: provenance.record_event(app.services, uow, c.courier, c.product, stage=stage),
    )
    assert err.data["field"] == "order"


@pytest.mark.parametrize(("stage", "reached"), [("handed_over", "accepted"), ("delivered", "picked_up")])
async def test_courier_stage_before_delivery_reached_it_is_refused(app: App, stage: str, reached: str) -> None:
    c = await cast(app)
    m = app.services
    order = await paid_order(app, c)
    async with app.db.unit_of_work() as uow:
        await orders.accept_order(m, uow, c.producer, order.id)
        await delivery.take_job(m, uow, c.courier, order.id)
        if reached == "picked_up":
            await delivery.confirm_pickup(m, uow, c.courier, order.id)
        await uow.commit()
    err = await refused(
        app,
        InvalidState,
        "invalid_state",
        lambda uow: provenance.record_event(m, uow, c.courier, c.product, stage=stage, order_id=order.id),
    )
    assert err.data["state"] == reached


@pytest.mark.parametrize(
    ("stage", "note", "field"),
    [
        ("grown", "", "stage"),
        ("HARVESTED", "", "stage"),
        (None, "", "stage"),
        ("harvested", "가" * 201, "note"),
        ("harvested", "수확\x00", "note"),
        ("harvested", "수확\r\n선별", "note"),
        ("harvested", 7, "note"),
    ],
    ids=["unknown", "upper-case", "none", "note-too-long", "nul", "carriage-return", "not-text"],
)
async def test_bad_stage_or_note_is_refused(app: App, stage: Any, note: Any, field: str) -> None:
    c = await cast(app)
    err = await refused(
        app,
        InvalidInput,
        "invalid_input",
        lambda uow: provenance.record_event(app.services, uow, c.producer, c.product, stage=stage, note=note),
    )
    assert err.data["field"] == field


async def test_event_for_an_unknown_product_or_order_is_refused(app: App) -> None:
    c = await cast(app)
    await refused(
        app,
        UnknownProduct,
        "unknown_product",
        lambda uow: provenance.record_event(app.services, uow, c.producer, 404, stage="harvested"),
    )
    await refused(
        app,
        UnknownOrder,
        "unknown_order",
        lambda uow: provenance.record_event(app.services, uow, c.producer, c.product, stage="packed", order_id=404),
    )


async def test_event_for_a_product_not_in_the_order_is_refused(app: App) -> None:
    c = await cast(app)

    async def add_pear(uow: UnitOfWork) -> Product:
        return await catalog.add_product(
            app.services, uow, c.producer, c.shop, name="배", category="과일", unit="1개", price=3000, stock=9,
            origin_region="전남 나주", origin_producer="김씨네 과수원",
        )  # fmt: skip

    pear = await run(app, add_pear)
    order = await paid_order(app, c)
    err = await refused(
        app,
        InvalidInput,
        "invalid_input",
        lambda uow: provenance.record_event(app.services, uow, c.producer, pear.id, stage="packed", order_id=order.id),
    )
    assert err.data["field"] == "order"
