"""The whole order path once, on both databases: cart → checkout with the token mix → delivery → settle."""

from __future__ import annotations

from chestnut.bootstrap import App
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.orders import service as orders
from commerce.orders import settlement
from commerce.wallet import queries as wallet_queries
from ledger.verify import verify_ledger
from tests.support.market import cast


async def test_order_from_cart_to_settlement(app: App) -> None:
    c = await cast(app)
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 2)
        q = await orders.quote(m, uow, c.shopper, c.shop, bnm_share=0)
        assert (q.subtotal, q.delivery_fee, q.total) == (12_000, 3_000, 15_000)
        order = await orders.checkout(m, uow, c.shopper, c.shop, expected_total=q.total, bnm_share=0)
        assert order.state == "paid" and order.btl_amount == 15_000
        await orders.accept_order(m, uow, c.producer, order.id)
        await delivery.take_job(m, uow, c.courier, order.id)
        await delivery.confirm_pickup(m, uow, c.courier, order.id)
        code = await delivery_queries.delivery_code(uow, c.shopper, order.id)
        outcome = await delivery.confirm_delivery(m, uow, c.courier, order.id, code)
        assert outcome.ok and outcome.order.state == "delivered"
        await orders.confirm_receipt(m, uow, c.shopper, order.id)
        settled = await settlement.settle_order(m, uow, order.id)
        assert settled.state == "settled"
        await uow.commit()
    async with app.db.snapshot() as snap:
        shopper = await wallet_queries.balances(m, snap, c.shopper)
        producer = await wallet_queries.balances(m, snap, c.producer)
        courier = await wallet_queries.balances(m, snap, c.courier)
        fees = await app.ledger.account(snap, "fees:platform")
    fee = 12_000 * 150 // 10_000
    assert shopper.btl == 85_000
    assert courier.btl == 3_000
    assert fees.balance == fee
    assert producer.btl == 12_000 - fee
    report = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert report.ok, report.problem
