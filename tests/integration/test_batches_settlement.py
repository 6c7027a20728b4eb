"""The settlement batch on SQLite and PostgreSQL: auto-confirm, settle, claims wait, reruns change nothing.

Orders are made through the real services (checkout, accept, courier pickup and delivery with the
code, the buyer's confirmation); the expected balances are computed by hand from the prices.
"""

from __future__ import annotations

import pytest

from chestnut.bootstrap import App, batch_context
from commerce.claims import service as claims
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.orders import settlement
from commerce.wallet import queries as wallet_queries
from ledger.verify import verify_ledger
from scheduler import runs
from scheduler.runs import BatchError
from scheduler.settlement_batch import SettlementBatch
from scheduler.wiring import UnknownBatchKind, run_batch
from tests.support.market import Cast, cast

PRICE = 6000
DELIVERY_FEE = 3000
FEE = PRICE * 150 // 10_000  # 1.5 % of the goods: 90


async def delivered_order(app: App, c: Cast, *, confirm: bool) -> int:
    """One apple, paid in BTL, delivered by the courier with the buyer's code (and confirmed if asked)."""
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 1)
        order = await orders.checkout(m, uow, c.shopper, c.shop, expected_total=PRICE + DELIVERY_FEE, bnm_share=0)
        await orders.accept_order(m, uow, c.producer, order.id)
        await delivery.take_job(m, uow, c.courier, order.id)
        await delivery.confirm_pickup(m, uow, c.courier, order.id)
        code = await delivery_queries.delivery_code(uow, c.shopper, order.id)
        outcome = await delivery.confirm_delivery(m, uow, c.courier, order.id, code)
        assert outcome.ok
        if confirm:
            await orders.confirm_receipt(m, uow, c.shopper, order.id)
        await uow.commit()
    return order.id


async def balances(app: App, c: Cast) -> dict[str, int]:
    async with app.db.snapshot() as snap:
        out = {
            name: (await wallet_queries.balances(app.services, snap, who)).btl
            for name, who in (("shopper", c.shopper), ("producer", c.producer), ("courier", c.courier))
        }
        out["fees"] = (await app.ledger.account(snap, settlement.PLATFORM_FEES)).balance
        out["size"] = (await app.ledger.head(snap)).size
    return out


async def state_of(app: App, order_id: int) -> str:
    async with app.db.snapshot() as snap:
        return (await order_queries.get(snap, order_id)).state


async def test_settlement_batch_settles_auto_confirms_and_waits_for_claims(app: App) -> None:
    c = await cast(app)
    confirmed = await delivered_order(app, c, confirm=True)
    forgotten = await delivered_order(app, c, confirm=False)  # delivered, the buyer never confirmed
    disputed = await delivered_order(app, c, confirm=False)
    async with app.db.unit_of_work() as uow:
        await claims.open_claim(app.services, uow, c.shopper, disputed, kind="damaged", text="멍이 들었어요")
        await uow.commit()
    fresh = await delivered_order(app, c, confirm=False)
    before = await balances(app, c)

    # Four days later the forgotten order is past the 3 days; "fresh" counts as delivered just now.
    later = app.services.clock() + 4 * claims.DAY_MS
    async with app.db.unit_of_work() as uow:
        await uow.execute("UPDATE orders SET delivered_ms = :t WHERE id = :o", {"t": later - 1000, "o": fresh})
        await uow.commit()
    app.services.clock = lambda: later
    report = await run_batch(batch_context(app), "settlement", "2026-12-02T10")
    (run,) = report.runs
    assert (run.status, run.phase, run.items, run.amount) == ("done", "settle", 2, 2 * (PRICE + DELIVERY_FEE))

    assert await state_of(app, confirmed) == "settled"
    assert await state_of(app, forgotten) == "settled"  # auto-confirmed, then settled in the same run
    assert await state_of(app, disputed) == "delivered"  # the claim is open: it waits
    assert await state_of(app, fresh) == "delivered"  # delivered a moment ago: the buyer has days left
    after = await balances(app, c)
    assert after["producer"] - before["producer"] == 2 * (PRICE - FEE)
    assert after["courier"] - before["courier"] == 2 * DELIVERY_FEE
    assert after["fees"] - before["fees"] == 2 * FEE
    assert before["shopper"] - after["shopper"] == 2 * (PRICE + DELIVERY_FEE)  # the holds are posted now
    assert after["size"] - before["size"] == 3  # one auto-confirm, two settlements

    # The same period again: done, nothing written. A new period finds nothing new to settle.
    again = await run_batch(batch_context(app), "settlement", "2026-12-02T10")
    assert again.runs[0].to_json() == run.to_json()
    assert await balances(app, c) == after
    nothing = await run_batch(batch_context(app), "settlement", "2026-12-02T11")
    assert (nothing.runs[0].status, nothing.runs[0].items) == ("done", 0)
    assert (await balances(app, c))["size"] == after["size"]
    assert (await verify_ledger(app.db, app.ledger.origin)).ok


async def test_a_run_resumes_from_its_cursor_chunk_by_chunk(app: App) -> None:
    c = await cast(app, topup=200_000)
    ids = [await delivered_order(app, c, confirm=True) for _ in range(5)]
    batch = SettlementBatch(app.services, chunk=2)
    first = await runs.drive(app.db, batch, "P", max_chunks=2)  # auto_confirm (nothing), then 2 orders
    assert (first.status, first.phase, first.items, first.cursor) == ("running", "settle", 2, ids[1])
    assert [await state_of(app, i) for i in ids] == ["settled"] * 2 + ["confirmed"] * 3
    done = await runs.drive(app.db, batch, "P")
    assert (done.status, done.items, done.amount) == ("done", 5, 5 * (PRICE + DELIVERY_FEE))
    assert [await state_of(app, i) for i in ids] == ["settled"] * 5
    async with app.db.snapshot() as snap:
        producer = (await wallet_queries.balances(app.services, snap, c.producer)).btl
        fees = (await app.ledger.account(snap, settlement.PLATFORM_FEES)).balance
    assert (producer, fees) == (5 * (PRICE - FEE), 5 * FEE)


async def test_unknown_kind_and_bad_period_are_refused(app: App) -> None:
    with pytest.raises(UnknownBatchKind):
        await run_batch(batch_context(app), "payday")
    with pytest.raises(BatchError):
        await run_batch(batch_context(app), "settlement", "no spaces allowed")
    async with app.db.snapshot() as snap:
        assert await runs.recent_runs(snap) == []
