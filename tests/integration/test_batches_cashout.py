"""The cash-out batch on SQLite and PostgreSQL: the bank file, a bank API on loopback, result files
refused line by line, and nothing settled twice."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from typing import Any

import pytest

from chestnut.bootstrap import App, batch_context
from commerce.wallet import cashouts
from commerce.wallet import queries as wallet_queries
from commerce.wallet.errors import UnknownBankAccount
from commerce.wallet.rows import Cashout
from ledger.errors import NotFound
from scheduler import cashout_batch as cashout
from scheduler.notices import RecordingAnnouncer
from scheduler.payout import HttpBankPayout
from scheduler.wiring import BatchContext, run_batch
from tests.support.bank_standin import API_KEY, BankStandIn
from tests.support.market import Cast, cast

PERIOD = "2026-12-02"


@pytest.fixture
async def bank() -> AsyncIterator[tuple[BankStandIn, str]]:
    standin = BankStandIn()
    url = await standin.start()
    try:
        yield standin, url
    finally:
        await standin.stop()


async def request(app: App, member_id: int, account_no: str, amount: int) -> Cashout:
    async with app.db.unit_of_work() as uow:
        account = await cashouts.register_bank_account(app.services, uow, member_id, "011", account_no, "이할머니")
        out = await cashouts.request_cashout(app.services, uow, member_id, account.id, amount)
        await uow.commit()
    return out


async def money(app: App, c: Cast) -> dict[str, Any]:
    async with app.db.snapshot() as snap:
        b = await wallet_queries.balances(app.services, snap, c.shopper)
        reserve = await app.ledger.account(snap, "reserve:cash")
        rows = await snap.fetch("SELECT id, status, reason FROM cashouts ORDER BY id")
        return {
            "btl": b.btl,
            "available": b.btl_available,
            "burned": reserve.credits_posted,
            "cashouts": [tuple(r) for r in rows],
            "size": (await app.ledger.head(snap)).size,
        }


async def test_cashout_through_a_bank_api_burns_only_what_the_bank_paid(
    app: App, bank: tuple[BankStandIn, str]
) -> None:
    standin, url = bank
    c = await cast(app, topup=100_000)
    standin.open_account("011", "302-1234-5678-01")
    good = await request(app, c.shopper, "302-1234-5678-01", 30_000)
    unknown_at_bank = await request(app, c.shopper, "999-0000-0000-99", 20_000)
    before = await money(app, c)
    assert (before["btl"], before["available"]) == (100_000, 50_000)

    ctx: BatchContext = batch_context(app)
    ctx.payout = HttpBankPayout(url, API_KEY)
    ctx.announcer = told = RecordingAnnouncer()
    report = await run_batch(ctx, "cashout", PERIOD)
    (run,) = report.runs
    assert (run.status, run.items, run.amount) == ("done", 2, 50_000)
    with open(report.details["file"], encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["bank_code", "account", "holder", "amount", "reference"],
        ["011", "302-1234-5678-01", "이할머니", "30000", f"CO-{good.id}"],
        ["011", "999-0000-0000-99", "이할머니", "20000", f"CO-{unknown_at_bank.id}"],
    ]
    after = await money(app, c)
    assert (after["btl"], after["available"]) == (70_000, 70_000)  # 30,000 paid out; 20,000 back
    assert after["burned"] - before["burned"] == 30_000
    assert after["cashouts"] == [(good.id, "paid", None), (unknown_at_bank.id, "failed", "account not found")]
    assert standin.paid == [(f"CO-{good.id}", 30_000)]
    assert {(n.kind, n.member_id) for n in told.notices} == {("cashout.paid", c.shopper), ("cashout.failed", c.shopper)}

    # Rerun the day: done, nothing sent again, nothing settled twice.
    calls = len(standin.calls)
    await run_batch(ctx, "cashout", PERIOD)
    assert len(standin.calls) == calls and await money(app, c) == after


async def test_a_cashout_to_an_account_no_longer_registered_fails_with_the_btl_back(app: App) -> None:
    c = await cast(app, topup=100_000)
    gone = await request(app, c.shopper, "302-1234-5678-01", 10_000)
    async with app.db.unit_of_work() as uow:  # the member removed the account before the batch ran
        await uow.execute("DELETE FROM bank_accounts WHERE member_id = :m", {"m": c.shopper})
        await uow.commit()
    report = await run_batch(batch_context(app), "cashout", PERIOD)
    assert report.runs[0].items == 0
    after = await money(app, c)
    assert after["cashouts"] == [(gone.id, "failed", cashout.UNREGISTERED)]
    assert (after["btl"], after["available"], after["burned"]) == (100_000, 100_000, 0)


async def test_requesting_a_cashout_to_an_unregistered_account_is_refused(app: App) -> None:
    c = await cast(app, topup=100_000)
    before = await money(app, c)
    with pytest.raises(UnknownBankAccount):
        async with app.db.unit_of_work() as uow:
            await cashouts.request_cashout(app.services, uow, c.shopper, 424242, 10_000)
            await uow.commit()
    assert await money(app, c) == before


async def test_a_bank_result_file_is_checked_line_by_line(app: App) -> None:
    c = await cast(app, topup=100_000)
    a = await request(app, c.shopper, "302-1111-1111-01", 10_000)
    b = await request(app, c.shopper, "302-2222-2222-01", 20_000)
    d = await request(app, c.shopper, "302-3333-3333-01", 30_000)
    report = await run_batch(batch_context(app), "cashout", PERIOD)  # the file only: results come later
    assert report.details["results"] == []
    before = await money(app, c)
    assert before["available"] == 40_000

    text = "\n".join(
        [
            "reference,amount,status,reason",
            f"CO-{a.id},10000,paid,",
            f"CO-{b.id},20000,failed,계좌 해지",
            "CO-999999,5000,paid,",  # not ours
            f"CO-{d.id},31000,paid,",  # amount changed
            f"CO-{a.id},10000,paid,",  # duplicate
            f"CO-{d.id},lots,paid,",  # unreadable
            "",
        ]
    )
    results, unreadable = cashout.parse_result_file(text)
    outcomes, _ = await cashout.apply_results(app.services, app.db, results)
    by_line = {o.line: (o.outcome, o.reason) for o in [*outcomes, *unreadable]}
    assert by_line == {
        2: ("paid", None),
        3: ("failed", "계좌 해지"),
        4: ("refused", "unknown reference"),
        5: ("refused", "amount 31,000 differs from 30,000"),
        6: ("refused", "duplicate reference in this file"),
        7: ("refused", "amount 'lots' is not a whole number of won"),
    }
    after = await money(app, c)
    assert after["cashouts"] == [(a.id, "paid", None), (b.id, "failed", "계좌 해지"), (d.id, "pending", None)]
    assert after["burned"] - before["burned"] == 10_000
    assert (after["btl"], after["available"]) == (90_000, 60_000)

    # The same file again: the two settled lines are "already", nothing moves twice.
    outcomes, _ = await cashout.apply_results(app.services, app.db, results)
    assert [o.outcome for o in outcomes[:2]] == ["already", "already"]
    assert await money(app, c) == after
    # A contradicting result for a settled line is refused.
    contra, _ = cashout.parse_result_file(f"reference,amount,status,reason\nCO-{a.id},10000,failed,oops\n")
    (refused,) = (await cashout.apply_results(app.services, app.db, contra))[0]
    assert refused.outcome == "refused" and await money(app, c) == after


async def test_a_result_file_without_the_header_is_refused(app: App) -> None:
    with pytest.raises(cashout.ResultFileError):
        cashout.parse_result_file("CO-1,100,paid\n")
    with pytest.raises(NotFound):
        async with app.db.snapshot() as snap:
            await wallet_queries.get_cashout(snap, 1)
