"""Housekeeping and contribution rewards as the scheduler runs them (SQLite and PostgreSQL).

Housekeeping tidies stale carts, cancels orders placed and never paid (their stock goes back), and
reminds a producer of a paid order waiting to be accepted — once, however often or late it runs. The
contributions job pays the BNM rewards that are due, once each, however often it runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from bots.messages import Incoming
from chestnut.bootstrap import App, batch_context
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.shops import catalog
from commerce.wallet import queries as wallet_queries
from scheduler.notices import Notice
from scheduler.wiring import run_batch
from tests.support.community import advance, buy, deliver_and_confirm, settle, verified
from tests.support.market import cast

MINUTE_MS = 60_000


class Told:
    """The scheduler's announcer as the messengers see it: every notice it was asked to deliver."""

    def __init__(self) -> None:
        self.notices: list[tuple[int, str, dict[str, object]]] = []

    async def announce(self, notices: Sequence[Notice]) -> None:
        for n in notices:
            self.notices.append((n.member_id, n.kind, dict(n.data)))


async def stock_of(app: App, product_id: int) -> int:
    async with app.db.snapshot() as snap:
        return (await catalog.get(snap, product_id)).stock


async def test_unpaid_orders_expire_with_their_stock_and_stale_carts_are_tidied(app: App) -> None:
    c = await cast(app, stock=10)
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 3)
        product = await catalog.get(uow, c.product)
        placed = await orders.place_order(m, uow, c.shopper, c.shop, expected_total=product.price * 3 + 3000)
        await orders.add_to_cart(m, uow, c.shopper, c.product, 1)  # a new cart line, left behind
        await uow.commit()
    assert await stock_of(app, c.product) == 7
    ctx = batch_context(app)

    early = await run_batch(ctx, "housekeeping")
    assert early.details["housekeeping"] == {
        "carts_removed": 0,
        "orders_expired": 0,
        "reminders": 0,
        "code_sends_forgotten": 0,
        "addresses_erased": 0,
        "messages_forgotten": 0,
    }

    advance(app, 8 * 1440 * MINUTE_MS)  # past the hour for payment and the week for carts
    report = await run_batch(ctx, "housekeeping")
    assert report.details["housekeeping"] == {
        "carts_removed": 1,
        "orders_expired": 1,
        "reminders": 0,
        "code_sends_forgotten": 0,
        "addresses_erased": 1,  # the expired order's address, erased with it
        "messages_forgotten": 0,
    }
    async with app.db.snapshot() as snap:
        assert (await order_queries.get(snap, placed.id)).state == "cancelled"
    assert await stock_of(app, c.product) == 10
    again = await run_batch(ctx, "housekeeping")
    assert again.details["housekeeping"] == {
        "carts_removed": 0,
        "orders_expired": 0,
        "reminders": 0,
        "code_sends_forgotten": 0,
        "addresses_erased": 0,
        "messages_forgotten": 0,
    }
    await verified(app)


async def test_a_handled_message_key_is_forgotten_after_two_days_and_not_before(app: App) -> None:
    """A repeated delivery is still dropped a day later; two days on, the key is gone, so an update id
    Telegram picks anew (after a week of silence it chooses them at random) is answered, not dropped."""

    async def send(key: str) -> bool:
        screen = await app.dialogue.handle(Incoming("telegram", "5150", "순자", text="/help", key=key))
        return bool(screen.replies)

    ctx = batch_context(app)
    assert await send("7000001:5000")
    advance(app, 1440 * MINUTE_MS)
    assert await send("7000001:5001")
    assert not await send("7000001:5000"), "a repeat within a day is dropped"
    nothing = await run_batch(ctx, "housekeeping")
    assert nothing.details["housekeeping"]["messages_forgotten"] == 0

    advance(app, 1440 * MINUTE_MS + 60 * MINUTE_MS)  # the first is 2 days and an hour old, the second 25 hours
    report = await run_batch(ctx, "housekeeping")
    assert report.details["housekeeping"]["messages_forgotten"] == 1
    assert await send("7000001:5000"), "an old id seen again is a new message"
    assert not await send("7000001:5001"), "the younger key is kept: its repeat is still dropped"


async def test_a_producer_is_reminded_once_of_a_paid_order_not_yet_accepted(app: App) -> None:
    c = await cast(app)
    waiting = await buy(app, c, qty=1)
    told = Told()
    ctx = batch_context(app)
    ctx.announcer = told

    await run_batch(ctx, "housekeeping")
    assert told.notices == []  # paid just now: the producer still has time

    advance(app, 3 * 60 * MINUTE_MS)
    await run_batch(ctx, "housekeeping")
    await run_batch(ctx, "housekeeping")  # a second trigger in the same window
    advance(app, 60 * MINUTE_MS)
    await run_batch(ctx, "housekeeping")  # a later run: still reminded only once
    assert told.notices == [(c.producer, "order.reminder", {"order": waiting.id})]

    accepted = await buy(app, c, qty=1)
    async with app.db.unit_of_work() as uow:
        await orders.accept_order(app.services, uow, c.producer, accepted.id)
        await uow.commit()
    advance(app, 3 * 60 * MINUTE_MS)
    await run_batch(ctx, "housekeeping")
    assert len(told.notices) == 1  # an accepted order needs no reminder


async def test_the_contributions_job_pays_what_is_due_once(app: App) -> None:
    c = await cast(app)
    order = await buy(app, c, qty=1)
    await deliver_and_confirm(app, c, order.id)
    await settle(app, order.id)
    ctx = batch_context(app)

    async with app.db.snapshot() as snap:
        courier_before = (await wallet_queries.balances(app.services, snap, c.courier)).bnm_units
        shopper_before = (await wallet_queries.balances(app.services, snap, c.shopper)).bnm_units
    first = (await run_batch(ctx, "contributions")).details["contributions"]
    assert first["paid"] == 2 and first["over_budget"] is False  # the courier's delivery, the first order
    async with app.db.snapshot() as snap:
        courier_gain = (await wallet_queries.balances(app.services, snap, c.courier)).bnm_units - courier_before
        shopper_gain = (await wallet_queries.balances(app.services, snap, c.shopper)).bnm_units - shopper_before
    assert courier_gain > 0 and shopper_gain > 0
    assert courier_gain + shopper_gain == first["units"]

    second = (await run_batch(ctx, "contributions")).details["contributions"]
    assert second == {"paid": 0, "units": 0, "refused": 0, "over_budget": False}
    await verified(app)
