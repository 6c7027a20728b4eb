"""Dividends on SQLite and PostgreSQL: exact shares at a record point, refusals that change nothing,
and a property test of the largest-remainder allocation."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chestnut.bootstrap import App, batch_context
from commerce.errors import InvalidInput, NotAllowed
from commerce.members import service as members
from commerce.orders import settlement
from commerce.wallet import queries as wallet_queries
from ledger.errors import ChestnutError
from ledger.model import Transfer
from ledger.requests import Request
from ledger.verify import verify_ledger
from scheduler import dividends, runs
from scheduler.notices import RecordingAnnouncer
from scheduler.wiring import run_batch
from tests.integration.test_batches_settlement import delivered_order
from tests.support.market import Cast, cast


async def grant_bnm(app: App, member_id: int, units: int, ref: str) -> None:
    """BNM issued by the operator (the rewards issue will do this for contributions)."""
    async with app.db.unit_of_work() as uow:
        await app.ledger.record(
            uow,
            Request(
                actor="system:operator",
                kind="bnm.grant",
                body={"member": member_id},
                transfers=[Transfer(f"grant-{ref}", "treasury:bnm", members.wallet(member_id, "BNM"), units, "BNM")],
            ),
        )
        await uow.commit()


async def earn_fees(app: App, c: Cast, orders_n: int) -> int:
    """Settle real orders so fees:platform holds something; returns its balance."""
    for _ in range(orders_n):
        order_id = await delivered_order(app, c, confirm=True)
        async with app.db.unit_of_work() as uow:
            await settlement.settle_order(app.services, uow, order_id)
            await uow.commit()
    async with app.db.snapshot() as snap:
        return (await app.ledger.account(snap, settlement.PLATFORM_FEES)).balance


async def snapshot(app: App, who: list[int]) -> dict[str, Any]:
    async with app.db.snapshot() as snap:
        return {
            "size": (await app.ledger.head(snap)).size,
            "btl": [(await wallet_queries.balances(app.services, snap, m)).btl for m in who],
            "fees": (await app.ledger.account(snap, settlement.PLATFORM_FEES)).balance,
            "dividends": await snap.fetch("SELECT * FROM dividends"),
        }


async def join(app: App, name: str) -> int:
    async with app.db.unit_of_work() as uow:
        member = await members.register(app.services, uow, channel="web", external_id=name, display_name=name)
        await uow.commit()
    return member.id


async def test_a_dividend_pays_exact_shares_at_its_record_point(app: App) -> None:
    c = await cast(app, topup=200_000)
    fees = await earn_fees(app, c, 2)  # 2 × 90 won
    holders = [await join(app, n) for n in ("h1", "h2", "h3")]
    for i, m in enumerate(holders):
        await grant_bnm(app, m, 1000, f"h{i}")  # 1 BNM each
    async with app.db.snapshot() as snap:
        record = (await app.ledger.head(snap)).size
    await grant_bnm(app, holders[0], 5000, "late")  # after the record point: does not count
    before = await snapshot(app, holders)

    async with app.db.unit_of_work() as uow:
        declared = await dividends.declare(app.services, uow, c.operator, 100, record_size=record)
        await uow.commit()
    assert (declared.supply, declared.holders, declared.record_size) == (3000, 3, record)
    ctx = batch_context(app)
    told = RecordingAnnouncer()
    ctx.announcer = told
    report = await run_batch(ctx, "dividend")
    (run,) = report.runs
    assert (run.status, run.items, run.amount, run.period) == ("done", 3, 100, f"dividend-{declared.id}")

    after = await snapshot(app, holders)
    # 100 / 3 = 33 each, 1 left over: equal remainders, so the smallest account id gets it.
    expected = {h: 33 for h in holders}
    expected[min(holders, key=lambda h: members.wallet(h, "BNM"))] += 1
    assert [x - y for x, y in zip(after["btl"], before["btl"], strict=True)] == [expected[h] for h in holders]
    assert before["fees"] - after["fees"] == 100 and fees == before["fees"]
    assert sorted((n.member_id, n.data["amount"]) for n in told.notices) == sorted(expected.items())

    # Anyone can recompute the holdings from the entries alone.
    async with app.db.snapshot() as snap:
        entries = [e for _, e in await app.ledger.entries(snap, 0, record)]
        assert dividends.holdings_by_replay(entries, record) == await dividends.holdings_at(snap, record)
        assert (await dividends.get(snap, declared.id)).status == "paid"
        pool = (await app.ledger.account(snap, dividends.POOL)).balance
    assert pool == 0
    again = await run_batch(ctx, "dividend", declared.period)
    assert again.runs[0].to_json() == run.to_json()
    assert (await snapshot(app, holders))["size"] == after["size"]
    assert (await verify_ledger(app.db, app.ledger.origin)).ok


async def test_a_dividend_payment_resumes_chunk_by_chunk(app: App) -> None:
    c = await cast(app, topup=200_000)
    await earn_fees(app, c, 1)
    holders = [await join(app, f"h{i}") for i in range(7)]
    for i, m in enumerate(holders):
        await grant_bnm(app, m, 1 + i, f"g{i}")
    async with app.db.unit_of_work() as uow:
        declared = await dividends.declare(app.services, uow, c.operator, 90)
        await uow.commit()
    batch = dividends.DividendBatch(app.services, declared.id, per_entry=2, entries_per_chunk=1)
    part = await runs.drive(app.db, batch, declared.period, max_chunks=2)
    assert (part.status, part.cursor, part.entries) == ("running", 4, 2)
    fresh = dividends.DividendBatch(app.services, declared.id, per_entry=2, entries_per_chunk=1)  # a new process
    done = await runs.drive(app.db, fresh, declared.period)
    assert (done.status, done.items, done.amount, done.entries) == ("done", 7, 90, 4)
    async with app.db.snapshot() as snap:
        got = [(await wallet_queries.balances(app.services, snap, m)).btl for m in holders]
    supply = sum(range(1, 8))
    assert sum(got) == 90 and all(90 * (i + 1) // supply <= g <= -(-90 * (i + 1) // supply) for i, g in enumerate(got))


@pytest.mark.parametrize("case", ["exceeds_fees", "no_supply", "future_record_point", "not_an_operator", "zero"])
async def test_bad_declarations_are_refused_and_change_nothing(app: App, case: str) -> None:
    c = await cast(app, topup=200_000)
    fees = await earn_fees(app, c, 1)
    if case != "no_supply":
        await grant_bnm(app, c.shopper, 1000, "s")
    before = await snapshot(app, [c.shopper, c.producer])
    async with app.db.snapshot() as snap:
        size = (await app.ledger.head(snap)).size
    operator, amount, record = c.operator, fees, None
    expected: type[ChestnutError] = dividends.DividendError
    code = {
        "exceeds_fees": "dividend_exceeds_fees",
        "no_supply": "no_bnm_supply",
        "future_record_point": "future_record_point",
        "not_an_operator": "not_allowed",
        "zero": "invalid_input",
    }[case]
    if case == "exceeds_fees":
        amount = fees + 1
    elif case == "future_record_point":
        record = size + 1
    elif case == "not_an_operator":
        operator, expected = c.shopper, NotAllowed
    elif case == "zero":
        amount, expected = 0, InvalidInput
    with pytest.raises(expected) as caught:
        async with app.db.unit_of_work() as uow:
            await dividends.declare(app.services, uow, operator, amount, record_size=record)
            await uow.commit()
    assert caught.value.code == code
    assert await snapshot(app, [c.shopper, c.producer]) == before


# ----------------------------------------------------------------------------------- property


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(min_value=0, max_value=10**12),
    holdings=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=60),
)
def test_allocation_sums_to_the_amount_and_nobody_gets_more_than_their_share_rounded_up(
    amount: int, holdings: list[int]
) -> None:
    listed = [(f"wallet:{i}:bnm", h) for i, h in enumerate(holdings)]
    listed.sort()
    shares = dividends.allocate(amount, listed)
    supply = sum(holdings)
    assert sum(s for _, s in shares) == amount
    for (account, holding), (same, share) in zip(listed, shares, strict=True):
        exact = Fraction(amount * holding, supply)
        assert account == same
        assert exact - 1 < share <= -(-amount * holding // supply)  # floor or floor + 1, never above the ceiling
    # Largest remainders got the extra won: no holder left at the floor has a larger remainder.
    extra = [amount * h % supply for (_, h), (_, s) in zip(listed, shares, strict=True) if s > amount * h // supply]
    floor = [amount * h % supply for (_, h), (_, s) in zip(listed, shares, strict=True) if s == amount * h // supply]
    if extra and floor:
        assert min(extra) >= max(floor)
