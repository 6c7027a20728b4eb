"""Races that matter on PostgreSQL (READ COMMITTED, many connections): each order's transitions are
serialised by its row lock, and commerce rows are always locked before the ledger head."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from chestnut.bootstrap import App
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.wallet import queries as wallet_queries
from commerce.wallet import service as wallet
from ledger.errors import ChestnutError
from ledger.storage.unit_of_work import UnitOfWork
from ledger.verify import verify_ledger
from tests.support.identity import verify
from tests.support.market import cast


async def attempt(app: App, fn: Callable[[UnitOfWork], Awaitable[object]]) -> str:
    """Run one service call in its own transaction; the only acceptable failures are typed refusals."""
    try:
        async with app.db.unit_of_work() as uow:
            await fn(uow)
            await uow.commit()
        return "ok"
    except ChestnutError as exc:
        return exc.code


async def test_cancel_racing_pay_never_strands_money(app: App) -> None:
    c = await cast(app, stock=100)
    m = app.services
    placed = []
    for _ in range(8):
        async with app.db.unit_of_work() as uow:
            await orders.add_to_cart(m, uow, c.shopper, c.product, 1)
            placed.append(await orders.place_order(m, uow, c.shopper, c.shop, expected_total=9_000))
            await uow.commit()
    await asyncio.gather(
        *[
            call
            for o in placed
            for call in (
                attempt(app, lambda uow, o=o: orders.pay_order(m, uow, c.shopper, o.id, bnm_share=0)),
                attempt(app, lambda uow, o=o: orders.cancel_order(m, uow, c.shopper, o.id)),
            )
        ]
    )
    async with app.db.snapshot() as snap:
        final = [await order_queries.get(snap, o.id) for o in placed]
        money = await wallet_queries.balances(m, snap, c.shopper)
    held = sum(o.total for o in final if o.state == "paid")
    assert all(o.state in ("paid", "cancelled") for o in final)
    assert money.btl_available == 100_000 - held  # a cancelled order holds nothing, a paid one its total
    assert (await verify_ledger(app.db, app.ledger.origin, workers=0)).ok


async def test_simultaneous_wrong_codes_are_all_counted(app: App) -> None:
    c = await cast(app)
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 1)
        order = await orders.checkout(m, uow, c.shopper, c.shop, expected_total=9_000, bnm_share=0)
        await delivery.take_job(m, uow, c.courier, order.id)
        await delivery.confirm_pickup(m, uow, c.courier, order.id)
        code = await delivery_queries.delivery_code(uow, c.shopper, order.id)
        await uow.commit()
    wrong = "999999" if code != "999999" else "888888"
    results = await asyncio.gather(
        *[attempt(app, lambda uow: delivery.confirm_delivery(m, uow, c.courier, order.id, wrong)) for _ in range(30)]
    )
    async with app.db.snapshot() as snap:
        job = await delivery_queries.job(snap, order.id)
    assert job.status == "locked" and job.wrong_attempts == 3
    assert results.count("ok") == 3 and results.count("delivery_locked") == 27


async def test_checkouts_racing_cancellations_do_not_deadlock(app: App) -> None:
    c = await cast(app, stock=1000, topup=0)
    m = app.services
    buyers = []
    async with app.db.unit_of_work() as uow:
        for i in range(12):
            b = await verify(
                app, uow, (await members.register(m, uow, channel="web", external_id=f"dl-{i}", display_name="손님")).id
            )
            await wallet.topup_at_office(m, uow, c.operator, b.id, 100_000, receipt=f"dl-{i}")
            buyers.append(b.id)
        await uow.commit()
    first = []
    for b in buyers:
        async with app.db.unit_of_work() as uow:
            await orders.add_to_cart(m, uow, b, c.product, 2)
            first.append(await orders.checkout(m, uow, b, c.shop, expected_total=15_000, bnm_share=0))
            await orders.add_to_cart(m, uow, b, c.product, 1)
            await uow.commit()
    results = await asyncio.gather(
        *[attempt(app, lambda uow, o=o: orders.cancel_order(m, uow, o.buyer_id, o.id)) for o in first],
        *[
            attempt(app, lambda uow, b=b: orders.checkout(m, uow, b, c.shop, expected_total=9_000, bnm_share=0))
            for b in buyers
        ],
    )
    assert results == ["ok"] * len(results)  # no deadlock, no raw database error
    async with app.db.snapshot() as snap:
        stock = await snap.fetch("SELECT stock FROM products WHERE id = :p", {"p": c.product})
    assert stock[0][0] == 1000 - len(buyers)  # the cancelled 2s came back, the new 1s went out
    assert (await verify_ledger(app.db, app.ledger.origin, workers=0)).ok


async def test_a_double_tap_on_two_workers_pays_once_and_both_get_the_order(app: App) -> None:
    """The same pay button handled at once by two connections (two workers on PostgreSQL): the second
    waits for the first and answers with its order — never a unique-key error, never two orders."""
    c = await cast(app, stock=100)
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 1)
        await uow.commit()
    answers: list[int] = []

    async def tap(uow: UnitOfWork) -> None:
        order = await orders.checkout(
            m, uow, c.shopper, c.shop, expected_total=9_000, bnm_share=0, idempotency_key="chat:tap-twice"
        )
        answers.append(order.id)

    outcomes = await asyncio.gather(*[attempt(app, tap) for _ in range(4)])
    async with app.db.snapshot() as snap:
        placed = await order_queries.list_for_buyer(snap, c.shopper)
        money = await wallet_queries.balances(m, snap, c.shopper)
    assert outcomes == ["ok"] * 4 and len(placed) == 1 and set(answers) == {placed[0].id}
    assert money.btl_available == 100_000 - 9_000
