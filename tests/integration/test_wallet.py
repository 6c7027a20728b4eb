"""Wallet: gateway top-ups, bank accounts, cash-outs and history — every flow and every bad input,
on SQLite and PostgreSQL, with the gateway played by a loopback stand-in (``tests/support/pg_standin``).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from chestnut.bootstrap import App
from commerce.errors import InvalidInput, InvalidState, NotAllowed
from commerce.members import service as members
from commerce.members.errors import UnknownMember
from commerce.wallet import cashouts
from commerce.wallet import queries as wallet_queries
from commerce.wallet import service as wallet
from commerce.wallet.errors import (
    GatewayError,
    GatewayUnavailable,
    PaymentRefused,
    TopupAmountMismatch,
    UnknownBankAccount,
    UnknownCashout,
    UnknownTopup,
)
from commerce.wallet.gateway import GatewayPayment, HttpGateway, PaymentEvent
from commerce.wallet.rows import Cashout, Topup
from ledger.errors import ChestnutError, InsufficientBalance
from ledger.model import Transfer, split_entry
from ledger.requests import Request
from ledger.storage.unit_of_work import UnitOfWork
from ledger.verify import verify_ledger
from tests.support.market import Cast, cast
from tests.support.pg_standin import SECRET_KEY, PgStandIn

# ------------------------------------------------------------------------------------- fixtures


@pytest.fixture
async def pg() -> AsyncIterator[PgStandIn]:
    async with PgStandIn() as standin:
        yield standin


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def gw(pg: PgStandIn, session: aiohttp.ClientSession) -> HttpGateway:
    return HttpGateway(session, pg.base_url, SECRET_KEY, timeout_s=2.0)


async def state(app: App, c: Cast) -> dict[str, Any]:
    """What could change: ledger size, balances, reserve, the wallet tables."""
    async with app.db.snapshot() as snap:
        head = await app.ledger.head(snap)
        reserve = await app.ledger.account(snap, "reserve:cash")
        money = {who: await wallet_queries.balances(app.services, snap, who) for who in (c.shopper, c.producer)}
        topups = await snap.fetch("SELECT id, member_id, amount, status, payment_key, seq FROM topups ORDER BY id")
        cashouts = await snap.fetch("SELECT id, member_id, amount, status, transfer_id, seq, reason FROM cashouts")
        banks = await snap.fetch("SELECT id, member_id, bank_code, account_no, holder FROM bank_accounts")
        idem = await snap.fetch("SELECT key, seq FROM ledger_idempotency ORDER BY key")
    return {
        "size": head.size,
        "reserve": (reserve.debits_posted, reserve.credits_posted, reserve.credits_pending),
        "money": money,
        "topups": topups,
        "cashouts": sorted(cashouts),
        "banks": sorted(banks),
        "idempotency": idem,
    }


async def refused(
    app: App, c: Cast, error: type[ChestnutError], action: Callable[[UnitOfWork], Awaitable[object]]
) -> ChestnutError:
    before = await state(app, c)
    with pytest.raises(error) as caught:
        async with app.db.unit_of_work() as uow:
            await action(uow)
            await uow.commit()
    assert await state(app, c) == before, "a refused action changed something"
    assert caught.value.code == error.code
    return caught.value


async def verified(app: App) -> None:
    report = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert report.ok, report.problem


async def intent(app: App, member_id: int, amount: int) -> wallet.TopupIntent:
    async with app.db.unit_of_work() as uow:
        made = await wallet.request_topup(app.services, uow, member_id, amount)
        await uow.commit()
    return made


async def confirm(app: App, gw: Any, *, payment_key: str, order_id: str, amount: int) -> Topup:
    async with app.db.unit_of_work() as uow:
        topup = await wallet.confirm_topup(
            app.services, uow, gw, payment_key=payment_key, order_id=order_id, amount=amount
        )
        await uow.commit()
    return topup


async def btl(app: App, member_id: int) -> wallet_queries.Balances:
    async with app.db.snapshot() as snap:
        return await wallet_queries.balances(app.services, snap, member_id)


@dataclass
class FakeGateway:
    """A gateway that says whatever the test wants (for answers the stand-in would never give)."""

    answer: GatewayPayment
    calls: int = 0

    async def confirm(self, *, payment_key: str, order_id: str, amount: int) -> GatewayPayment:
        self.calls += 1
        return self.answer

    async def get_payment(self, payment_key: str) -> GatewayPayment:
        self.calls += 1
        return self.answer


# ------------------------------------------------------------------------------------- gateway top-ups


async def test_gateway_topup_mints_once_and_records_no_personal_data(app: App, pg: PgStandIn, gw: HttpGateway) -> None:
    c = await cast(app)
    made = await intent(app, c.shopper, 50_000)
    assert made.order_id.startswith("topup-") and made.amount == 50_000 and made.order_name == "밤톨 충전 50,000원"
    async with app.db.snapshot() as snap:
        requested = await wallet_queries.get_topup(snap, made.order_id)
    assert (requested.status, requested.method, requested.seq) == ("requested", "gateway", None)
    key = pg.checkout(made.order_id, 50_000)

    first = await confirm(app, gw, payment_key=key, order_id=made.order_id, amount=50_000)
    assert (first.status, first.payment_key, first.amount) == ("confirmed", key, 50_000)
    assert (await btl(app, c.shopper)).btl == 150_000
    async with app.db.snapshot() as snap:
        entry = await app.ledger.entry(snap, first.seq or 0)
        idem = await snap.fetch("SELECT seq FROM ledger_idempotency WHERE key = :k", {"k": f"pg:{made.order_id}"})
    action = json.loads(split_entry(entry).action_bytes)
    assert action["kind"] == "cash.topup"
    assert action["body"] == {"member": c.shopper, "amount": 50_000, "method": "gateway", "order": made.order_id}
    assert action["transfers"] == [
        {
            "amount": 50_000,
            "credit": members.wallet(c.shopper, "BTL"),
            "debit": "reserve:cash",
            "id": f"pg-{made.order_id}",
            "token": "BTL",
            "type": "single",
        }
    ]
    assert b"\xec\x9d\xb4\xed\x95\xa0\xeb\xa8\xb8\xeb\x8b\x88" not in entry  # "이할머니": no names on the ledger
    assert idem == [(first.seq,)]

    # Confirming twice: the first result, nothing minted again, the gateway not asked again.
    before = await state(app, c)
    again = await confirm(app, gw, payment_key=key, order_id=made.order_id, amount=50_000)
    assert again == first
    assert await state(app, c) == before
    assert len(pg.confirms()) == 1
    assert pg.confirms()[0].body == {"paymentKey": key, "orderId": made.order_id, "amount": 50_000}
    await verified(app)


@pytest.mark.parametrize("amount", [0, -1_000, 999, 2_000_001, "10000", 10_000.0, None])
async def test_topup_amount_out_of_range_is_refused(app: App, amount: Any) -> None:
    c = await cast(app)
    err = await refused(app, c, InvalidInput, lambda uow: wallet.request_topup(app.services, uow, c.shopper, amount))
    assert err.data["field"] == "amount"


async def test_topup_for_an_unknown_member_is_refused(app: App) -> None:
    c = await cast(app)
    await refused(app, c, UnknownMember, lambda uow: wallet.request_topup(app.services, uow, 9_999, 10_000))


async def test_unknown_order_id_is_refused_without_asking_the_gateway(app: App, pg: PgStandIn, gw: HttpGateway) -> None:
    c = await cast(app)
    key = pg.checkout("topup-000000000000000000000000", 10_000)
    err = await refused(
        app,
        c,
        UnknownTopup,
        lambda uow: wallet.confirm_topup(
            app.services, uow, gw, payment_key=key, order_id="topup-000000000000000000000000", amount=10_000
        ),
    )
    assert err.http_status == 404
    # An office receipt is not a gateway order either.
    await refused(
        app,
        c,
        UnknownTopup,
        lambda uow: wallet.confirm_topup(app.services, uow, gw, payment_key=key, order_id="office-R-1", amount=100_000),
    )
    assert pg.calls == []


@pytest.mark.parametrize("order_id", ["", "abc", "topup-<script>", "x" * 65, 42])
async def test_malformed_order_id_is_invalid_input(app: App, gw: HttpGateway, order_id: Any) -> None:
    c = await cast(app)
    await refused(
        app,
        c,
        InvalidInput,
        lambda uow: wallet.confirm_topup(app.services, uow, gw, payment_key="tgen_1", order_id=order_id, amount=1_000),
    )


async def test_amount_mismatch_with_the_intent_is_refused(app: App, pg: PgStandIn, gw: HttpGateway) -> None:
    c = await cast(app)
    made = await intent(app, c.shopper, 10_000)
    key = pg.checkout(made.order_id, 1_000)  # the client changed the amount at checkout
    err = await refused(
        app,
        c,
        TopupAmountMismatch,
        lambda uow: wallet.confirm_topup(app.services, uow, gw, payment_key=key, order_id=made.order_id, amount=1_000),
    )
    assert (err.data["expected"], err.data["found"]) == (10_000, 1_000)
    assert pg.calls == []


async def test_gateway_reporting_another_amount_mints_nothing(app: App) -> None:
    c = await cast(app)
    made = await intent(app, c.shopper, 10_000)
    fake = FakeGateway(GatewayPayment("tgen_x", made.order_id, 9_000, "done"))
    err = await refused(
        app,
        c,
        TopupAmountMismatch,
        lambda uow: wallet.confirm_topup(
            app.services, uow, fake, payment_key="tgen_x", order_id=made.order_id, amount=10_000
        ),
    )
    assert err.data["found"] == 9_000


async def test_gateway_answering_for_another_order_mints_nothing(app: App) -> None:
    c = await cast(app)
    made = await intent(app, c.shopper, 10_000)
    fake = FakeGateway(GatewayPayment("tgen_x", "topup-someoneelse000", 10_000, "done"))
    await refused(
        app,
        c,
        GatewayError,
        lambda uow: wallet.confirm_topup(
            app.services, uow, fake, payment_key="tgen_x", order_id=made.order_id, amount=10_000
        ),
    )


async def test_gateway_not_reporting_done_mints_nothing(app: App) -> None:
    c = await cast(app)
    made = await intent(app, c.shopper, 10_000)
    fake = FakeGateway(GatewayPayment("tgen_x", made.order_id, 10_000, "pending"))
    err = await refused(
        app,
        c,
        PaymentRefused,
        lambda uow: wallet.confirm_topup(
            app.services, uow, fake, payment_key="tgen_x", order_id=made.order_id, amount=10_000
        ),
    )
    assert err.data["status"] == "pending"


async def test_gateway_refusal_is_typed_and_mints_nothing(app: App, pg: PgStandIn, gw: HttpGateway) -> None:
    c = await cast(app)
    made = await intent(app, c.shopper, 10_000)
    key = pg.checkout(made.order_id, 10_000)
    pg.fail_next_confirm("REJECT_CARD_PAYMENT", "한도초과 혹은 잔액부족으로 결제에 실패했습니다.")
    err = await refused(
        app,
        c,
        PaymentRefused,
        lambda uow: wallet.confirm_topup(app.services, uow, gw, payment_key=key, order_id=made.order_id, amount=10_000),
    )
    assert err.data["gateway_code"] == "REJECT_CARD_PAYMENT"
    assert err.data["gateway_message"].startswith("한도초과")
    assert err.http_status == 402
    assert (await btl(app, c.shopper)).btl == 100_000


async def test_gateway_server_error_is_a_gateway_error(app: App, pg: PgStandIn, gw: HttpGateway) -> None:
    c = await cast(app)
    made = await intent(app, c.shopper, 10_000)
    key = pg.checkout(made.order_id, 10_000)
    pg.fail_next_confirm("FAILED_INTERNAL_SYSTEM_PROCESSING", "내부 시스템 처리 작업이 실패했습니다.", status=500)
    err = await refused(
        app,
        c,
        GatewayError,
        lambda uow: wallet.confirm_topup(app.services, uow, gw, payment_key=key, order_id=made.order_id, amount=10_000),
    )
    assert err.code == "payment_gateway_error" and err.data["gateway_code"] == "FAILED_INTERNAL_SYSTEM_PROCESSING"
    # The gateway recovered: the same checkout confirms now.
    topup = await confirm(app, gw, payment_key=key, order_id=made.order_id, amount=10_000)
    assert topup.status == "confirmed" and (await btl(app, c.shopper)).btl == 110_000
    await verified(app)


async def test_wrong_secret_key_is_a_gateway_error_not_a_refusal(
    app: App, pg: PgStandIn, session: aiohttp.ClientSession
) -> None:
    c = await cast(app)
    made = await intent(app, c.shopper, 10_000)
    key = pg.checkout(made.order_id, 10_000)
    bad = HttpGateway(session, pg.base_url, "test_sk_wrong", timeout_s=2.0)
    err = await refused(
        app,
        c,
        GatewayError,
        lambda uow: wallet.confirm_topup(
            app.services, uow, bad, payment_key=key, order_id=made.order_id, amount=10_000
        ),
    )
    assert err.data["status"] == 401 and "test_sk_wrong" not in repr(bad)


async def test_gateway_timeout_is_unavailable_and_mints_nothing(
    app: App, pg: PgStandIn, session: aiohttp.ClientSession
) -> None:
    c = await cast(app)
    made = await intent(app, c.shopper, 10_000)
    key = pg.checkout(made.order_id, 10_000)
    pg.delay_s = 5.0
    impatient = HttpGateway(session, pg.base_url, SECRET_KEY, timeout_s=0.3)
    err = await refused(
        app,
        c,
        GatewayUnavailable,
        lambda uow: wallet.confirm_topup(
            app.services, uow, impatient, payment_key=key, order_id=made.order_id, amount=10_000
        ),
    )
    assert err.http_status == 503


async def test_gateway_unreachable_is_unavailable_and_mints_nothing(app: App, session: aiohttp.ClientSession) -> None:
    c = await cast(app)
    made = await intent(app, c.shopper, 10_000)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nowhere = HttpGateway(session, f"http://127.0.0.1:{port}", SECRET_KEY, timeout_s=2.0)
    await refused(
        app,
        c,
        GatewayUnavailable,
        lambda uow: wallet.confirm_topup(
            app.services, uow, nowhere, payment_key="tgen_1", order_id=made.order_id, amount=10_000
        ),
    )


async def test_a_lost_commit_is_recovered_by_the_next_confirm(app: App, pg: PgStandIn, gw: HttpGateway) -> None:
    """The gateway confirmed but our transaction never committed: the retry mints, once."""
    c = await cast(app)
    made = await intent(app, c.shopper, 20_000)
    key = pg.checkout(made.order_id, 20_000)
    async with app.db.unit_of_work() as uow:  # no commit: the process died here
        await wallet.confirm_topup(app.services, uow, gw, payment_key=key, order_id=made.order_id, amount=20_000)
    assert pg.payments[key].status == "DONE" and (await btl(app, c.shopper)).btl == 100_000
    topup = await confirm(app, gw, payment_key=key, order_id=made.order_id, amount=20_000)
    assert topup.status == "confirmed" and (await btl(app, c.shopper)).btl == 120_000
    assert [call.method for call in pg.calls] == ["POST", "POST", "GET"]  # ALREADY_PROCESSED → look it up
    await verified(app)


async def test_a_second_payment_for_a_confirmed_order_is_refused(app: App, pg: PgStandIn, gw: HttpGateway) -> None:
    c = await cast(app)
    made = await intent(app, c.shopper, 10_000)
    key = pg.checkout(made.order_id, 10_000)
    await confirm(app, gw, payment_key=key, order_id=made.order_id, amount=10_000)
    other = pg.checkout(made.order_id, 10_000)
    await refused(
        app,
        c,
        InvalidState,
        lambda uow: wallet.confirm_topup(
            app.services, uow, gw, payment_key=other, order_id=made.order_id, amount=10_000
        ),
    )
    assert (await btl(app, c.shopper)).btl == 110_000


async def test_racing_callbacks_mint_once(app: App, pg: PgStandIn, gw: HttpGateway) -> None:
    c = await cast(app)
    m = app.services
    # Two redirects (a double tap) in flight at the gateway at once.
    made = await intent(app, c.shopper, 30_000)
    key = pg.checkout(made.order_id, 30_000)
    pg.delay_s = 0.2
    twice = await asyncio.gather(
        *(
            wallet.confirm_topup_callback(m, app.db, gw, payment_key=key, order_id=made.order_id, amount=30_000)
            for _ in range(2)
        )
    )
    assert twice[0] == twice[1] and twice[0].status == "confirmed"
    # The gateway finished; its webhook and a late redirect arrive together.
    late = await intent(app, c.shopper, 40_000)
    key2 = pg.checkout(late.order_id, 40_000)
    pg.set_status(key2, "DONE")
    both = await asyncio.gather(
        wallet.confirm_topup_callback(m, app.db, gw, payment_key=key2, order_id=late.order_id, amount=40_000),
        wallet.payment_status_callback(m, app.db, gw, PaymentEvent(key2, late.order_id, "done")),
    )
    assert both[0] == both[1] and both[0].status == "confirmed"
    assert (await btl(app, c.shopper)).btl == 170_000
    async with app.db.snapshot() as snap:
        mints = await snap.fetch("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'cash.topup'")
    assert int(mints[0][0]) == 3  # the office top-up of the cast, and these two
    await verified(app)


async def test_racing_confirms_in_one_transaction_each_mint_once(app: App, pg: PgStandIn, gw: HttpGateway) -> None:
    c = await cast(app)
    made = await intent(app, c.shopper, 30_000)
    key = pg.checkout(made.order_id, 30_000)
    pg.delay_s = 0.2
    results = await asyncio.gather(
        *(confirm(app, gw, payment_key=key, order_id=made.order_id, amount=30_000) for _ in range(3))
    )
    assert len({r.seq for r in results}) == 1
    assert (await btl(app, c.shopper)).btl == 130_000
    await verified(app)


async def test_status_changes_from_the_gateway(app: App, pg: PgStandIn, gw: HttpGateway) -> None:
    c = await cast(app)
    m = app.services
    # CANCELED → failed, nothing minted.
    a = await intent(app, c.shopper, 10_000)
    key_a = pg.checkout(a.order_id, 10_000)
    topup = await wallet.payment_status_callback(m, app.db, gw, PaymentEvent(key_a, a.order_id, "canceled"))
    assert topup.status == "failed" and (await btl(app, c.shopper)).btl == 100_000
    # DONE is believed only from the gateway: here the gateway says the payment was aborted.
    b = await intent(app, c.shopper, 20_000)
    key_b = pg.checkout(b.order_id, 20_000)
    pg.set_status(key_b, "ABORTED")
    topup = await wallet.payment_status_callback(m, app.db, gw, PaymentEvent(key_b, b.order_id, "done"))
    assert topup.status == "failed" and (await btl(app, c.shopper)).btl == 100_000
    # DONE confirmed by the gateway → minted; a later CANCELED leaves it confirmed (for the office).
    d = await intent(app, c.shopper, 30_000)
    key_d = pg.checkout(d.order_id, 30_000)
    pg.set_status(key_d, "DONE")
    topup = await wallet.payment_status_callback(m, app.db, gw, PaymentEvent(key_d, d.order_id, "done"))
    assert topup.status == "confirmed" and (await btl(app, c.shopper)).btl == 130_000
    before = await state(app, c)
    topup = await wallet.payment_status_callback(m, app.db, gw, PaymentEvent(key_d, d.order_id, "canceled"))
    assert topup.status == "confirmed" and await state(app, c) == before
    # A failed top-up the gateway later reports done is minted after all (the member paid).
    pg.set_status(key_a, "DONE")
    topup = await wallet.payment_status_callback(m, app.db, gw, PaymentEvent(key_a, a.order_id, "done"))
    assert topup.status == "confirmed" and (await btl(app, c.shopper)).btl == 140_000
    await verified(app)


async def test_status_change_for_an_unknown_order_changes_nothing(app: App, gw: HttpGateway) -> None:
    c = await cast(app)
    before = await state(app, c)
    with pytest.raises(UnknownTopup):
        await wallet.payment_status_callback(
            app.services, app.db, gw, PaymentEvent("tgen_1", "topup-ffffffffffffffffffffffff", "done")
        )
    assert await state(app, c) == before


# ------------------------------------------------------------------------------------- bank accounts


async def test_bank_account_is_kept_off_the_ledger(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        account = await cashouts.register_bank_account(
            app.services, uow, c.shopper, "011", "302-1234-5678-91", "이순자"
        )
        await uow.commit()
    assert (account.bank_code, account.account_masked, account.holder) == ("011", "****-7891", "이순자")
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT seq, entry FROM ledger_entries WHERE kind = 'bank.register'")
        ref = await app.services.personal_ref(snap, "bank-account", "011:3021234567891")
    assert len(rows) == 1
    raw = bytes(rows[0][1])
    for secret in (b"3021234567891", b"302-1234", "이순자".encode()):
        assert secret not in raw
    body = json.loads(split_entry(raw).action_bytes)["body"]
    assert body == {"member": c.shopper, "bank_account": account.id, "ref": ref}

    # The same account again (typed without dashes): the one kept, no second entry.
    before = await state(app, c)
    async with app.db.unit_of_work() as uow:
        again = await cashouts.register_bank_account(app.services, uow, c.shopper, "011", "3021234567891", "이순자")
        listed = await wallet_queries.bank_accounts(uow, c.shopper)
        await uow.commit()
    assert again.id == account.id and listed == [account]
    assert await state(app, c) == before
    await verified(app)


@pytest.mark.parametrize(
    ("bank_code", "account_no", "holder", "field"),
    [
        ("11", "30212345678", "이순자", "bank_code"),
        ("0111", "30212345678", "이순자", "bank_code"),
        ("abc", "30212345678", "이순자", "bank_code"),
        ("011", "1234567", "이순자", "account_no"),
        ("011", "123456789012345678901", "이순자", "account_no"),
        ("011", "1234-abcd-5678", "이순자", "account_no"),
        ("011", "-12345678", "이순자", "account_no"),
        ("011", "1234--5678", "이순자", "account_no"),
        ("011", 30212345678, "이순자", "account_no"),
        ("011", "30212345678", "", "holder"),
        ("011", "30212345678", "이순\x00자", "holder"),
        ("011", "30212345678", "가" * 41, "holder"),
    ],
)
async def test_bad_bank_account_is_refused(app: App, bank_code: Any, account_no: Any, holder: Any, field: str) -> None:
    c = await cast(app)
    err = await refused(
        app,
        c,
        InvalidInput,
        lambda uow: cashouts.register_bank_account(app.services, uow, c.shopper, bank_code, account_no, holder),
    )
    assert err.data["field"] == field


# ------------------------------------------------------------------------------------- cash-outs


async def bank(app: App, member_id: int, number: str = "30212345678") -> int:
    async with app.db.unit_of_work() as uow:
        account = await cashouts.register_bank_account(app.services, uow, member_id, "011", number, "예금주")
        await uow.commit()
    return account.id


async def cash_out(app: App, member_id: int, account_id: int, amount: int) -> Cashout:
    async with app.db.unit_of_work() as uow:
        cashout = await cashouts.request_cashout(app.services, uow, member_id, account_id, amount)
        await uow.commit()
    return cashout


async def test_cashout_holds_then_burns_when_paid(app: App) -> None:
    c = await cast(app)
    account = await bank(app, c.shopper)
    async with app.db.snapshot() as snap:
        reserve_before = await app.ledger.account(snap, "reserve:cash")
    cashout = await cash_out(app, c.shopper, account, 30_000)
    assert (cashout.status, cashout.transfer_id, cashout.amount) == ("pending", f"cashout-{cashout.id}", 30_000)
    money = await btl(app, c.shopper)
    assert (money.btl, money.btl_available) == (100_000, 70_000)
    async with app.db.snapshot() as snap:
        got = await wallet_queries.get_cashout(snap, cashout.id)
        waiting = await wallet_queries.pending_cashouts(snap)
        entry = await app.ledger.entry(snap, cashout.seq)
    assert got == cashout and waiting == [cashout]
    action = json.loads(split_entry(entry).action_bytes)
    assert action["kind"] == "cash.cashout" and b"30212345678" not in entry
    assert action["transfers"][0]["type"] == "pending" and action["transfers"][0]["credit"] == "reserve:cash"

    async with app.db.unit_of_work() as uow:
        paid = await cashouts.cashout_paid(app.services, uow, cashout.id)
        await uow.commit()
    assert paid.status == "paid"
    money = await btl(app, c.shopper)
    assert (money.btl, money.btl_available) == (70_000, 70_000)
    async with app.db.snapshot() as snap:
        reserve = await app.ledger.account(snap, "reserve:cash")
        waiting = await wallet_queries.pending_cashouts(snap)
    assert reserve.credits_posted - reserve_before.credits_posted == 30_000  # burned
    assert reserve.credits_pending == 0 and waiting == []

    # Paid twice: the same answer, nothing changes; failing it now is refused.
    before = await state(app, c)
    async with app.db.unit_of_work() as uow:
        assert await cashouts.cashout_paid(app.services, uow, cashout.id) == paid
        await uow.commit()
    assert await state(app, c) == before
    await refused(
        app, c, InvalidState, lambda uow: cashouts.cashout_failed(app.services, uow, cashout.id, "bank said no")
    )
    await verified(app)


async def test_failed_cashout_gives_the_btl_back(app: App) -> None:
    c = await cast(app)
    account = await bank(app, c.shopper)
    cashout = await cash_out(app, c.shopper, account, 40_000)
    async with app.db.unit_of_work() as uow:
        failed = await cashouts.cashout_failed(app.services, uow, cashout.id, "예금주 불일치")
        await uow.commit()
    assert (failed.status, failed.reason) == ("failed", "예금주 불일치")
    money = await btl(app, c.shopper)
    assert (money.btl, money.btl_available) == (100_000, 100_000)

    before = await state(app, c)
    async with app.db.unit_of_work() as uow:
        assert await cashouts.cashout_failed(app.services, uow, cashout.id, "another reason") == failed
        await uow.commit()
    assert await state(app, c) == before
    await refused(app, c, InvalidState, lambda uow: cashouts.cashout_paid(app.services, uow, cashout.id))
    await verified(app)


async def test_cashout_to_an_unregistered_account_is_refused(app: App) -> None:
    c = await cast(app)
    err = await refused(
        app, c, UnknownBankAccount, lambda uow: cashouts.request_cashout(app.services, uow, c.shopper, 999, 1_000)
    )
    assert err.http_status == 404


async def test_cashout_to_someone_elses_account_is_refused(app: App) -> None:
    c = await cast(app)
    producers = await bank(app, c.producer)
    err = await refused(
        app, c, NotAllowed, lambda uow: cashouts.request_cashout(app.services, uow, c.shopper, producers, 1_000)
    )
    assert err.http_status == 403


async def test_cashout_over_the_available_balance_says_what_is_missing(app: App) -> None:
    c = await cast(app)
    account = await bank(app, c.shopper)
    err = await refused(
        app,
        c,
        InsufficientBalance,
        lambda uow: cashouts.request_cashout(app.services, uow, c.shopper, account, 100_001),
    )
    assert (err.data["missing"], err.data["needed"]) == (1, 100_001)
    await cash_out(app, c.shopper, account, 60_000)  # held: the rest is what is available
    err = await refused(
        app, c, InsufficientBalance, lambda uow: cashouts.request_cashout(app.services, uow, c.shopper, account, 50_000)
    )
    assert err.data["missing"] == 10_000
    await verified(app)


@pytest.mark.parametrize("amount", [0, -5_000, "1000", 1.5, None])
async def test_cashout_amount_must_be_positive_whole_won(app: App, amount: Any) -> None:
    c = await cast(app)
    account = await bank(app, c.shopper)
    err = await refused(
        app, c, InvalidInput, lambda uow: cashouts.request_cashout(app.services, uow, c.shopper, account, amount)
    )
    assert err.data["field"] == "amount"


async def test_unknown_cashout_cannot_be_paid_or_failed(app: App) -> None:
    c = await cast(app)
    await refused(app, c, UnknownCashout, lambda uow: cashouts.cashout_paid(app.services, uow, 12_345))
    await refused(app, c, UnknownCashout, lambda uow: cashouts.cashout_failed(app.services, uow, 12_345, "x"))
    await refused(app, c, InvalidInput, lambda uow: cashouts.cashout_paid(app.services, uow, "1"))  # type: ignore[arg-type]


async def test_cashout_failed_needs_a_reason(app: App) -> None:
    c = await cast(app)
    cashout = await cash_out(app, c.shopper, await bank(app, c.shopper), 1_000)
    await refused(app, c, InvalidInput, lambda uow: cashouts.cashout_failed(app.services, uow, cashout.id, " "))


# ------------------------------------------------------------------------------------- history


async def test_history_newest_first_in_both_tokens(app: App, pg: PgStandIn, gw: HttpGateway) -> None:
    c = await cast(app)  # office top-up 100,000
    made = await intent(app, c.shopper, 20_000)
    await confirm(app, gw, payment_key=pg.checkout(made.order_id, 20_000), order_id=made.order_id, amount=20_000)
    account = await bank(app, c.shopper)
    paid = await cash_out(app, c.shopper, account, 30_000)
    returned = await cash_out(app, c.shopper, account, 5_000)
    held = await cash_out(app, c.shopper, account, 7_000)
    async with app.db.unit_of_work() as uow:
        await cashouts.cashout_paid(app.services, uow, paid.id)
        await cashouts.cashout_failed(app.services, uow, returned.id, "계좌 오류")
        await app.ledger.record(
            uow,
            Request(
                actor="system:operator",
                kind="bnm.contribution",
                body={"member": c.shopper},
                transfers=[Transfer("bnm-gift", "treasury:bnm", members.wallet(c.shopper, "BNM"), 2_500, "BNM")],
            ),
        )
        await uow.commit()

    async with app.db.snapshot() as snap:
        items = await wallet_queries.history(app.services, snap, c.shopper)
    got = [(i.kind, i.token, i.amount, i.state, i.counterparty) for i in items]
    assert got == [
        ("bnm.contribution", "BNM", 2_500, "posted", "treasury:bnm"),
        ("cash.cashout", "BTL", -7_000, "pending", "reserve:cash"),
        ("cash.cashout", "BTL", -5_000, "voided", "reserve:cash"),
        ("cash.cashout", "BTL", -30_000, "posted", "reserve:cash"),
        ("cash.topup", "BTL", 20_000, "posted", "reserve:cash"),
        ("cash.topup", "BTL", 100_000, "posted", "reserve:cash"),
    ]
    assert [i.seq for i in items] == sorted((i.seq for i in items), reverse=True)
    assert items[3].resolved_kind == "cash.cashout_paid" and items[2].resolved_kind == "cash.cashout_failed"
    assert items[1].resolved_seq is None and items[1].transfer_id == held.transfer_id
    assert all(i.time_ms > 0 for i in items)
    money = await btl(app, c.shopper)
    btl_items = [i for i in items if i.token == "BTL"]  # noqa: S105 - a token name, not a password
    posted = sum(i.amount for i in btl_items if i.state == "posted")
    pending = sum(i.amount for i in btl_items if i.state == "pending")
    assert (posted, posted + pending) == (money.btl, money.btl_available) == (90_000, 83_000)

    # Pages: newest two, then on from the last seq seen.
    async with app.db.snapshot() as snap:
        page1 = await wallet_queries.history(app.services, snap, c.shopper, limit=2)
        page2 = await wallet_queries.history(app.services, snap, c.shopper, limit=2, before_seq=page1[-1].seq)
        rest = await wallet_queries.history(app.services, snap, c.shopper, limit=100, before_seq=page2[-1].seq)
        none = await wallet_queries.history(app.services, snap, c.shopper, before_seq=0)
        others = await wallet_queries.history(app.services, snap, c.courier)
    assert page1 + page2 + rest == items and none == [] and others == []
    await verified(app)


async def test_history_never_splits_an_entry_across_pages(app: App) -> None:
    c = await cast(app, topup=0)
    async with app.db.unit_of_work() as uow:
        await app.ledger.record(
            uow,
            Request(
                actor="system:operator",
                kind="cash.topup",
                body={"member": c.shopper},
                transfers=[
                    Transfer(f"t{i}", "reserve:cash", members.wallet(c.shopper, "BTL"), 100 * (i + 1), "BTL")
                    for i in range(3)
                ],
            ),
        )
        await uow.commit()
    async with app.db.snapshot() as snap:
        page = await wallet_queries.history(app.services, snap, c.shopper, limit=2)
    assert sorted(i.amount for i in page) == [100, 200, 300]


@pytest.mark.parametrize(("limit", "before_seq"), [(0, None), (101, None), (-1, None), (20, -1), ("5", None)])
async def test_history_paging_arguments_are_checked(app: App, limit: Any, before_seq: Any) -> None:
    c = await cast(app)
    with pytest.raises(InvalidInput):
        async with app.db.snapshot() as snap:
            await wallet_queries.history(app.services, snap, c.shopper, limit=limit, before_seq=before_seq)
