"""Contribution rewards in BNM (SQLite and PostgreSQL): couriers per delivered order, reviewers per
verified review, new members for their first settled order, replica operators per cosigned checkpoint —
each from ``treasury:bnm``, once per (rule, subject), within the month's emission budget."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ads import contributions, reward_settings
from chestnut.bootstrap import App
from commerce.errors import InvalidInput, NotAllowed
from commerce.reviews import service as reviews
from commerce.wallet import queries as wallet_queries
from tests.support.community import advance, buy, deliver_and_confirm, member, settle, verified
from tests.support.market import cast

DAY_MS = 86_400_000


@pytest.fixture(autouse=True)
async def _ledger_verifies_after_each_test(app: App) -> AsyncIterator[None]:
    yield
    await verified(app)


async def bnm(app: App, member_id: int) -> int:
    async with app.db.snapshot() as snap:
        return (await wallet_queries.balances(app.services, snap, member_id)).bnm_units


async def run(app: App) -> contributions.BatchResult:
    async with app.db.unit_of_work() as uow:
        result = await contributions.run(app.services, uow)
        await uow.commit()
    return result


async def test_each_contribution_is_paid_once_from_the_treasury(app: App) -> None:
    c = await cast(app)
    order = await buy(app, c, qty=1)
    await deliver_and_confirm(app, c, order.id)
    async with app.db.unit_of_work() as uow:
        await reviews.post_review(app.services, uow, c.shopper, order.id, c.product, rating=5, text="맛있어요")
        await uow.commit()
    first = await run(app)
    assert (first.paid, first.units) == (2, 500 + 200)  # the courier and the review; not settled yet
    await settle(app, order.id)
    second = await run(app)
    assert (second.paid, second.units) == (1, 1000)  # the new member's first settled order
    assert await run(app) == contributions.BatchResult(0, 0, 0, False)  # nothing twice
    assert await bnm(app, c.courier) == 500
    assert await bnm(app, c.shopper) == 200 + 1000
    async with app.db.snapshot() as snap:
        treasury = (await app.ledger.account(snap, contributions.TREASURY)).balance
        rows = await snap.fetch("SELECT rule, subject, status FROM reward_payouts ORDER BY rule")
    assert treasury == -1700
    assert [tuple(r) for r in rows] == [
        ("courier_delivery", f"order:{order.id}", "paid"),
        ("first_order", f"member:{c.shopper}", "paid"),
        ("review", "review:1", "paid"),
    ]


async def test_the_emission_budget_caps_a_month_and_the_rest_waits(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        await reward_settings.change(app.services, uow, c.operator, "emission_budget_units", 600)
        await uow.commit()
    for _ in range(2):
        order = await buy(app, c, qty=1)
        await deliver_and_confirm(app, c, order.id)
    capped = await run(app)
    assert (capped.paid, capped.units, capped.over_budget) == (1, 500, True)
    assert await run(app) == contributions.BatchResult(0, 0, 0, True)
    advance(app, 32 * DAY_MS)  # next month: a new budget
    later = await run(app)
    assert (later.paid, later.units) == (1, 500)
    assert await bnm(app, c.courier) == 1000


async def test_cosignatures_are_paid_per_checkpoint_once_per_reference(app: App) -> None:
    c = await cast(app)
    node = await member(app, "노드운영")
    m = app.services
    async with app.db.unit_of_work() as uow:
        paid = await contributions.reward_cosignatures(m, uow, member_id=node, count=4, reference="replica-a.coop-120")
        again = await contributions.reward_cosignatures(m, uow, member_id=node, count=4, reference="replica-a.coop-120")
        with pytest.raises(InvalidInput):
            await contributions.reward_cosignatures(m, uow, member_id=node, count=0, reference="x")
        with pytest.raises(InvalidInput):
            await contributions.reward_cosignatures(m, uow, member_id=node, count=1, reference="a b")
        await uow.commit()
    assert (paid.status, paid.units) == ("paid", 4 * 50)
    assert again == paid
    assert await bnm(app, node) == 200
    del c


async def test_only_an_operator_changes_the_rules_and_only_known_ones(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        with pytest.raises(NotAllowed):
            await reward_settings.change(app.services, uow, c.shopper, "review_units", 10_000)
        with pytest.raises(InvalidInput):
            await reward_settings.change(app.services, uow, c.operator, "free_money", 1)
        with pytest.raises(InvalidInput):
            await reward_settings.change(app.services, uow, c.operator, "broker_bp", 9_000)  # over 20 %
        seq = await reward_settings.change(app.services, uow, c.operator, "review_units", 300)
        values = await reward_settings.current(uow)
        await uow.commit()
    assert values["review_units"] == 300 and values["courier_delivery_units"] == 500
    assert seq > 0
