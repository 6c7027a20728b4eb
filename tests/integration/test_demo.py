"""`chestnut demo` builds a market through the services, and the ledger it writes verifies."""

from __future__ import annotations

from chestnut.bootstrap import App
from chestnut.demo import build_demo, is_empty
from commerce.orders.rows import STATES
from ledger.verify import verify_ledger


async def test_demo_market_verifies(app: App) -> None:
    assert await is_empty(app.db)
    report = await build_demo(app.services, app.db, shoppers=120)
    assert report.markets == 4 and report.shops >= 24 and report.products >= 50
    assert report.members >= 120 + report.shops
    # Orders in (nearly) every state; the rare ones may be missing in a small demo.
    assert len(report.orders_by_state) >= 6 and set(report.orders_by_state) <= set(STATES)
    assert report.reviews > 0 and report.claims == 2
    assert not await is_empty(app.db)
    verified = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert verified.ok, verified.problem
    async with app.db.snapshot() as snap:
        settled = await snap.fetch("SELECT COUNT(*) FROM orders WHERE state = 'settled'")
        fees = await app.ledger.account(snap, "fees:platform")
    assert int(settled[0][0]) == report.orders_by_state.get("settled", 0)
    assert (fees.balance > 0) == (int(settled[0][0]) > 0)
