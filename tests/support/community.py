"""Helpers for the recommendation, comment and reward tests: orders through the real services."""

from __future__ import annotations

from chestnut.bootstrap import App
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.orders.rows import Order
from commerce.wallet import queries as wallet_queries
from commerce.wallet import service as wallet
from community import referrals
from ledger.verify import verify_ledger
from tests.support.identity import verify
from tests.support.market import Cast

PRICE, FEE_DELIVERY = 6000, 3000
HOUR_MS = 3_600_000


def advance(app: App, ms: int) -> None:
    """Move the market's clock forward (accounts older than the fresh-account rule, windows passing)."""
    now = app.services.clock() + ms
    app.services.clock = lambda: now


async def member(app: App, name: str, *, topup: int = 0, operator: int | None = None, phone: bool = True) -> int:
    """A Telegram member, phone-verified unless ``phone=False`` (paying needs it)."""
    async with app.db.unit_of_work() as uow:
        m = await members.register(app.services, uow, channel="telegram", external_id=f"t-{name}", display_name=name)
        if phone:
            await verify(app, uow, m.id)
        if topup:
            assert operator is not None
            await wallet.topup_at_office(app.services, uow, operator, m.id, topup, receipt=f"R-{m.id}")
        await uow.commit()
    return m.id


async def recommender(
    app: App, c: Cast, *, commission_bp: int = 500, name: str = "최추천", age_ms: int = 2 * HOUR_MS
) -> int:
    """A member who joined ``age_ms`` ago and shared the cast's product; the shop pays ``commission_bp``."""
    r = await member(app, name)
    async with app.db.unit_of_work() as uow:
        await referrals.set_commission(app.services, uow, c.producer, c.shop, commission_bp)
        await uow.commit()
    advance(app, age_ms)
    async with app.db.unit_of_work() as uow:
        await referrals.share(app.services, uow, r, c.product, bot_username="chestnut_bot")
        await uow.commit()
    return r


async def buy(
    app: App,
    c: Cast,
    referrer: int | None = None,
    *,
    qty: int = 2,
    buyer: int | None = None,
    comment: int | None = None,
    raw_referrer: int | None = None,
) -> Order:
    """Checkout (BTL only) with an optional recommendation and credited comment, as the chat does: paying
    attributes the one and credits the other in its own transaction. ``raw_referrer`` is attributed by
    hand afterwards — a referrer the chat never passes (the buyer's own link)."""
    m = app.services
    who = c.shopper if buyer is None else buyer
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, who, c.product, qty)
        order = await orders.checkout(
            m,
            uow,
            who,
            c.shop,
            expected_total=PRICE * qty + FEE_DELIVERY,
            bnm_share=0,
            referrer_id=referrer,
            comment_id=comment,
        )
        if raw_referrer is not None:
            await referrals.attribute(m, uow, order.id, raw_referrer)
        await uow.commit()
    return order


async def deliver_and_confirm(app: App, c: Cast, order_id: int, *, buyer: int | None = None) -> None:
    m = app.services
    async with app.db.unit_of_work() as uow:
        order = await order_queries.get(uow, order_id)
        await orders.accept_order(m, uow, c.producer, order_id)
        await delivery.take_job(m, uow, c.courier, order_id)
        await delivery.confirm_pickup(m, uow, c.courier, order_id)
        code = await delivery_queries.delivery_code(uow, order.buyer_id if buyer is None else buyer, order_id)
        assert (await delivery.confirm_delivery(m, uow, c.courier, order_id, code)).ok
        await orders.confirm_receipt(m, uow, order.buyer_id, order_id)
        await uow.commit()


async def settle(app: App, order_id: int) -> Order:
    from commerce.orders import settlement

    async with app.db.unit_of_work() as uow:
        settled = await settlement.settle_order(app.services, uow, order_id)
        await uow.commit()
    return settled


async def btl(app: App, member_id: int) -> int:
    async with app.db.snapshot() as snap:
        return (await wallet_queries.balances(app.services, snap, member_id)).btl


async def verified(app: App) -> None:
    report = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert report.ok, report
