"""The read side the chat flows will call: an order only for its parties, lists for each role."""

from __future__ import annotations

import pytest

from chestnut.bootstrap import App
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.errors import NotAllowed
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.shops import service as shops
from tests.support.market import cast


async def test_an_order_is_shown_only_to_its_parties(app: App) -> None:
    c = await cast(app)
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 1)
        order = await orders.checkout(m, uow, c.shopper, c.shop, expected_total=9_000, bnm_share=0)
        stranger = await members.register(m, uow, channel="web", external_id="stranger", display_name="남")
        await uow.commit()
    async with app.db.snapshot() as snap:
        for party in (c.shopper, c.producer, c.operator):
            assert (await order_queries.for_party(snap, party, order.id)).id == order.id
        with pytest.raises(NotAllowed):
            await order_queries.for_party(snap, stranger.id, order.id)
        with pytest.raises(NotAllowed):
            await order_queries.for_party(snap, c.courier, order.id)  # not their job (yet)
    async with app.db.unit_of_work() as uow:
        await delivery.take_job(m, uow, c.courier, order.id)
        await uow.commit()
    async with app.db.snapshot() as snap:
        assert (await order_queries.for_party(snap, c.courier, order.id)).courier_id == c.courier


async def test_lists_for_buyer_shop_courier_and_browsing(app: App) -> None:
    c = await cast(app)
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 1)
        first = await orders.checkout(m, uow, c.shopper, c.shop, expected_total=9_000, bnm_share=0)
        await orders.add_to_cart(m, uow, c.shopper, c.product, 2)
        await uow.commit()
    async with app.db.snapshot() as snap:
        assert [o.id for o in await order_queries.list_for_buyer(snap, c.shopper)] == [first.id]
        assert [o.id for o in await order_queries.list_for_shop(snap, c.shop)] == [first.id]  # paid, waiting
        assert await order_queries.cart_shops(snap, c.shopper) == [c.shop]
        jobs = await delivery_queries.open_jobs(snap)
        assert [j.order_id for j in jobs] == [first.id] and jobs[0].courier_id is None
        assert await shops.list_markets(snap) == [("못골시장", 1)]
        assert [s.id for s in await shops.list_shops(snap, market="못골시장")] == [c.shop]
        assert await shops.list_shops(snap, market="망원시장") == []
    async with app.db.unit_of_work() as uow:
        await delivery.take_job(m, uow, c.courier, first.id)
        await uow.commit()
    async with app.db.snapshot() as snap:
        assert await delivery_queries.open_jobs(snap) == []
