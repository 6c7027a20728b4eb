"""A hypothesis state machine over the market's money paths, on the real services and a real SQLite file.

Random sequences of top-up, checkout (with a random BNM share), cancel, accept, courier pickup,
delivery (right and wrong codes), receipt, settlement, refund before and after settlement, claims and
cash-out requests. After every step the ledger verifies (chain, signatures, every money invariant) and
the cooperative's books balance to the won: what members hold (available), what escrows and cash-out
holds keep, and the fees, add up to the cash received less the cash paid out.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from commerce.claims import service as claims
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.errors import CommerceError
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.orders import settlement
from commerce.orders.rows import Order
from commerce.wallet import cashouts
from commerce.wallet import service as wallet
from ledger.errors import ChestnutError, InsufficientBalance
from ledger.model import Transfer
from ledger.requests import Request
from ledger.verify import verify_ledger
from tests.support.market import Cast, cast


class MarketMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.home = Path(tempfile.mkdtemp(prefix="chestnut-sm-"))
        self.app: App = self.run(build(Settings(home=self.home, environment="test")))
        self.c: Cast = self.run(cast(self.app, stock=40, price=4_000, bnm_max_share=50, topup=0))
        self.shoppers = [self.c.shopper]
        self.cash_in = 0
        self.cash_out = 0
        self.receipts = 0
        self.order_ids: list[int] = []
        self.banks: dict[int, int] = {}
        self.cashouts: list[tuple[int, int]] = []  # (cash-out id, amount) still pending
        self.run(self._grant_bnm())

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    async def _grant_bnm(self) -> None:
        async with self.app.db.unit_of_work() as uow:
            extra = await members.register(
                self.app.services, uow, channel="web", external_id="sm-2", display_name="둘째"
            )
            self.shoppers.append(extra.id)
            for s in self.shoppers:
                bank = await cashouts.register_bank_account(
                    self.app.services, uow, s, "004", f"123-45-{s:06d}", "홍길동"
                )
                await wallet.topup_at_office(
                    self.app.services, uow, self.c.operator, s, 60_000, receipt=f"sm-start-{s}"
                )
                self.cash_in += 60_000
                self.banks[s] = bank.id
                await self.app.ledger.record(
                    uow,
                    Request(
                        actor="system:operator",
                        kind="bnm.contribution",
                        body={"member": s},
                        transfers=[Transfer(f"sm-bnm-{s}", "treasury:bnm", members.wallet(s, "BNM"), 50_000, "BNM")],
                    ),
                )
            await uow.commit()

    async def _step(self, fn) -> bool:  # type: ignore[no-untyped-def]
        """Run one service call in its own transaction; a typed refusal must leave everything as it was."""
        before = await self._books()
        try:
            async with self.app.db.unit_of_work() as uow:
                await fn(uow)
                await uow.commit()
        except (CommerceError, ChestnutError):
            assert await self._books() == before, "a refused step changed the books"
            return False
        return True

    async def _books(self) -> dict[str, int]:
        async with self.app.db.snapshot() as snap:
            rows = await snap.fetch(
                "SELECT id, credits_posted, debits_posted, credits_pending, debits_pending FROM ledger_accounts "
                "WHERE token = 'BTL'"
            )
        books = {"members": 0, "escrow": 0, "fees": 0, "held": 0, "reserve": 0, "other": 0}
        for account, cp, dp, _cpe, dpe in rows:
            if account.startswith("wallet:"):
                books["members"] += cp - dp - dpe  # what members can still spend
                books["held"] += dpe  # reserved by escrow holds and cash-out requests
            elif account.startswith("escrow:"):
                books["escrow"] += cp - dp
            elif account == "fees:platform":
                books["fees"] += cp - dp
            elif account == "reserve:cash":
                books["reserve"] += cp - dp
            else:
                books["other"] += cp - dp
        return books

    @rule(who=st.integers(0, 1), amount=st.sampled_from([1_000, 5_000, 20_000, 50_000]))
    def top_up(self, who: int, amount: int) -> None:
        self.receipts += 1
        ok = self.run(
            self._step(
                lambda uow: wallet.topup_at_office(
                    self.app.services, uow, self.c.operator, self.shoppers[who], amount, receipt=f"sm-{self.receipts}"
                )
            )
        )
        if ok:
            self.cash_in += amount

    @rule(who=st.integers(0, 1), qty=st.integers(1, 4), share=st.sampled_from([0, 0, 10, 30, 50, 60]))
    def buy(self, who: int, qty: int, share: int) -> None:
        m = self.app.services
        shopper = self.shoppers[who]

        async def go(uow):  # type: ignore[no-untyped-def]
            await orders.add_to_cart(m, uow, shopper, self.c.product, qty)
            q = await orders.quote(m, uow, shopper, self.c.shop, bnm_share=share)
            order = await orders.checkout(m, uow, shopper, self.c.shop, expected_total=q.total, bnm_share=share)
            self.order_ids.append(order.id)

        try:
            self.run(self._step(go))
        except InsufficientBalance:  # pragma: no cover - _step catches every typed refusal
            raise

    def _pick(self, data: st.DataObject, *states: str) -> Order | None:
        async def load() -> list[Order]:
            async with self.app.db.snapshot() as snap:
                return [o for oid in self.order_ids if (o := await order_queries.get(snap, oid)).state in states]

        candidates = self.run(load())
        return data.draw(st.sampled_from(candidates)) if candidates else None

    @precondition(lambda self: self.order_ids)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order = self._pick(data, "placed", "paid", "accepted")
        if order is not None:
            self.run(self._step(lambda uow: orders.cancel_order(self.app.services, uow, order.buyer_id, order.id)))

    @precondition(lambda self: self.order_ids)
    @rule(data=st.data(), steps=st.integers(1, 5))
    def advance(self, data: st.DataObject, steps: int) -> None:
        """Walk one order up to ``steps`` steps along its path (accept, pickup, delivery, receipt, settle)."""
        order = self._pick(data, "paid", "accepted", "picked_up", "delivered", "confirmed")
        for _ in range(steps):
            if order is None or order.state not in ("paid", "accepted", "picked_up", "delivered", "confirmed"):
                return
            self._advance_once(data, order)
            order = self.run(self._reload(order.id))

    async def _reload(self, order_id: int) -> Order:
        async with self.app.db.snapshot() as snap:
            return await order_queries.get(snap, order_id)

    def _advance_once(self, data: st.DataObject, order: Order) -> None:
        m, c = self.app.services, self.c
        if order.state == "paid":
            self.run(self._step(lambda uow: orders.accept_order(m, uow, c.producer, order.id)))
        elif order.state == "accepted":

            async def pickup(uow):  # type: ignore[no-untyped-def]
                await delivery.take_job(m, uow, c.courier, order.id)
                await delivery.confirm_pickup(m, uow, c.courier, order.id)

            self.run(self._step(pickup))
        elif order.state == "picked_up":
            right = data.draw(st.booleans())

            async def deliver(uow):  # type: ignore[no-untyped-def]
                code = await delivery_queries.delivery_code(uow, order.buyer_id, order.id)
                await delivery.confirm_delivery(m, uow, c.courier, order.id, code if right else "x")

            self.run(self._step(deliver))
        elif order.state == "delivered":
            self.run(self._step(lambda uow: orders.confirm_receipt(m, uow, order.buyer_id, order.id)))
        else:
            self.run(self._step(lambda uow: settlement.settle_order(m, uow, order.id)))

    @precondition(lambda self: self.order_ids)
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        order = self._pick(data, "paid", "accepted", "picked_up", "delivered", "confirmed", "settled")
        if order is None:
            return
        m, c = self.app.services, self.c
        if order.state == "settled":
            amount = data.draw(st.integers(1, order.total))
            self.receipts += 1
            ref = f"sm-{self.receipts}"
            self.run(
                self._step(
                    lambda uow: settlement.refund_after_settlement(m, uow, c.operator, order.id, amount, reference=ref)
                )
            )
        else:
            self.run(self._step(lambda uow: settlement.refund_order(m, uow, c.operator, order.id, reason="test")))

    @precondition(lambda self: self.order_ids)
    @rule(
        data=st.data(),
        resolution=st.sampled_from(["refund_full", "refund_partial", "replacement", "reject"]),
        accept=st.booleans(),
    )
    def claim(self, data: st.DataObject, resolution: str, accept: bool) -> None:
        """A buyer claims, the shop answers, and the buyer accepts (or leaves it open, blocking settlement)."""
        order = self._pick(data, "delivered", "confirmed", "settled")
        if order is None:
            return
        m, c = self.app.services, self.c
        amount = data.draw(st.integers(1, order.subtotal)) if resolution == "refund_partial" else None

        async def go(uow):  # type: ignore[no-untyped-def]
            opened = await claims.open_claim(m, uow, order.buyer_id, order.id, kind="damaged", text="상했어요")
            answered = await claims.answer_claim(
                m, uow, c.producer, opened.id, resolution=resolution, amount=amount, text="확인했습니다"
            )
            if accept:
                await claims.accept_answer(m, uow, order.buyer_id, answered.id)

        self.run(self._step(go))

    @rule(who=st.integers(0, 1), amount=st.sampled_from([500, 3_000, 10_000, 80_000]))
    def request_cashout(self, who: int, amount: int) -> None:
        shopper = self.shoppers[who]

        async def go(uow):  # type: ignore[no-untyped-def]
            cashout = await cashouts.request_cashout(self.app.services, uow, shopper, self.banks[shopper], amount)
            self.cashouts.append((cashout.id, amount))

        self.run(self._step(go))

    @precondition(lambda self: self.cashouts)
    @rule(data=st.data(), paid=st.booleans())
    def bank_answers(self, data: st.DataObject, paid: bool) -> None:
        cashout_id, amount = data.draw(st.sampled_from(self.cashouts))
        m = self.app.services
        if paid:
            ok = self.run(self._step(lambda uow: cashouts.cashout_paid(m, uow, cashout_id)))
            if ok:
                self.cash_out += amount
        else:
            ok = self.run(self._step(lambda uow: cashouts.cashout_failed(m, uow, cashout_id, "계좌 오류")))
        if ok:
            self.cashouts.remove((cashout_id, amount))

    @invariant()
    def books_balance_to_the_won(self) -> None:
        books = self.run(self._books())
        owed = self.cash_in - self.cash_out
        # Wallets + escrows + fees + pending cash-outs (held) = cash received − cash paid out.
        assert books["members"] + books["held"] + books["escrow"] + books["fees"] + books["other"] == owed
        assert books["reserve"] == -owed
        assert books["members"] >= 0 and books["escrow"] >= 0 and books["fees"] >= 0

    @invariant()
    def ledger_verifies(self) -> None:
        report = self.run(verify_ledger(self.app.db, self.app.ledger.origin, workers=0))
        assert report.ok, f"entry {report.first_bad_seq}: {report.problem}"

    def teardown(self) -> None:
        self.run(self.app.close())
        self.loop.close()
        shutil.rmtree(self.home, ignore_errors=True)


MarketMachine.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_market_money_paths = MarketMachine.TestCase
