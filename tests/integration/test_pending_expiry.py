"""Pending transfers with a timeout are voided by an operator-signed entry once it has passed."""

from __future__ import annotations

from chestnut.bootstrap import App
from ledger.model import AccountSpec, Transfer
from ledger.requests import Request
from ledger.verify import verify_ledger


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


async def test_expired_holds_are_released_once(app: App) -> None:
    clock = Clock(1_764_000_000_000)
    app.ledger._clock = clock  # the ledger's time source is injectable precisely for this
    async with app.db.unit_of_work() as uow:
        key = await app.keys.create(uow, "member:1")
        await app.ledger.record(
            uow,
            Request(
                "system:operator",
                "escrow.open",
                accounts=[AccountSpec("escrow:order:1", "BTL"), AccountSpec("escrow:order:2", "BTL")],
            ),
        )
        await app.ledger.record(
            uow, Request("member:1", "member.join", accounts=[AccountSpec("wallet:1:btl", "BTL", key.public_key)])
        )
        await app.ledger.record(
            uow,
            Request(
                "system:operator", "cash.topup", transfers=[Transfer("top", "reserve:cash", "wallet:1:btl", 900, "BTL")]
            ),
        )
        await app.ledger.record(
            uow,
            Request(
                "member:1",
                "order.pay",
                transfers=[
                    Transfer("hold-1", "wallet:1:btl", "escrow:order:1", 300, "BTL", type="pending", timeout_s=60),
                    Transfer("hold-2", "wallet:1:btl", "escrow:order:2", 200, "BTL", type="pending", timeout_s=3600),
                ],
            ),
        )
        await uow.commit()

    async with app.db.unit_of_work() as uow:
        assert await app.ledger.void_expired(uow) is None  # nothing has expired yet
    clock.now += 61_000
    async with app.db.unit_of_work() as uow:
        recorded = await app.ledger.void_expired(uow)
        assert recorded is not None and recorded.kind == "ledger.expire"
        assert await app.ledger.void_expired(uow) is None  # the same hold is not voided twice
        await uow.commit()

    async with app.db.snapshot() as snap:
        wallet = await app.ledger.account(snap, "wallet:1:btl")
        escrow1 = await app.ledger.account(snap, "escrow:order:1")
        escrow2 = await app.ledger.account(snap, "escrow:order:2")
    assert (wallet.balance, wallet.available) == (900, 700)  # hold-1 released, hold-2 still held
    assert escrow1.credits_pending == 0 and escrow2.credits_pending == 200
    report = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert report.ok, report.problem
