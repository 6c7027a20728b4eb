"""Orders, payment with the token mix, delivery: every flow and every bad input, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from chestnut.bootstrap import App
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.delivery.errors import AlreadyTaken, DeliveryLocked
from commerce.errors import InvalidInput, InvalidState, NotAllowed
from commerce.members import service as members
from commerce.members.errors import UnknownMember
from commerce.orders import service as orders
from commerce.orders import settlement
from commerce.orders.errors import BnmShareTooHigh, OutOfStock, PriceChanged
from commerce.orders.rows import Order
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.shops.errors import UnknownProduct, UnknownShop
from commerce.wallet import queries as wallet_queries
from commerce.wallet import service as wallet
from ledger.errors import ChestnutError, InsufficientBalance
from ledger.model import Transfer
from ledger.requests import Request
from ledger.storage.unit_of_work import UnitOfWork
from ledger.verify import verify_ledger
from tests.support.identity import verify
from tests.support.market import Cast, cast


async def state(app: App, c: Cast) -> dict[str, Any]:
    """What a user could check: ledger size, every balance involved, orders, stock, the cart."""
    async with app.db.snapshot() as snap:
        head = await app.ledger.head(snap)
        rows = await snap.fetch("SELECT id, state FROM orders ORDER BY id")
        stock = await snap.fetch("SELECT id, stock, price FROM products ORDER BY id")
        cart = await snap.fetch("SELECT member_id, product_id, qty FROM cart_lines ORDER BY member_id, product_id")
        money = {
            who: await wallet_queries.balances(app.services, snap, who) for who in (c.shopper, c.producer, c.courier)
        }
    return {"size": head.size, "orders": rows, "stock": stock, "cart": cart, "money": money}


async def refused(
    app: App, c: Cast, error: type[ChestnutError], action: Callable[[UnitOfWork], Awaitable[object]]
) -> ChestnutError:
    before = await state(app, c)
    with pytest.raises(error) as caught:
        async with app.db.unit_of_work() as uow:
            await action(uow)
            await uow.commit()
    assert await state(app, c) == before, "a refused action changed something"
    assert caught.value.code  # a stable code for the bots to phrase
    return caught.value


async def buy(app: App, c: Cast, qty: int = 2, share: int = 0) -> Order:
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(app.services, uow, c.shopper, c.product, qty)
        q = await orders.quote(app.services, uow, c.shopper, c.shop, bnm_share=share)
        order = await orders.checkout(app.services, uow, c.shopper, c.shop, expected_total=q.total, bnm_share=share)
        await uow.commit()
    return order


async def test_out_of_stock_is_refused_in_cart_and_at_checkout(app: App) -> None:
    c = await cast(app, stock=3)
    m = app.services
    err = await refused(app, c, OutOfStock, lambda uow: orders.add_to_cart(m, uow, c.shopper, c.product, 4))
    assert err.data["available"] == 3
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 3)
        await catalog.update_stock(m, uow, c.producer, c.product, stock=1)
        await uow.commit()
    await refused(
        app, c, OutOfStock, lambda uow: orders.place_order(m, uow, c.shopper, c.shop, expected_total=3 * 6000 + 3000)
    )


async def test_a_changed_price_is_never_charged_silently(app: App) -> None:
    c = await cast(app)
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 2)
        await catalog.update_price(m, uow, c.producer, c.product, 6500)
        await uow.commit()
    err = await refused(
        app, c, PriceChanged, lambda uow: orders.checkout(m, uow, c.shopper, c.shop, expected_total=15_000, bnm_share=0)
    )
    assert err.data["total"] == 16_000
    async with app.db.unit_of_work() as uow:  # re-confirmed at the new total: goes through
        order = await orders.checkout(m, uow, c.shopper, c.shop, expected_total=16_000, bnm_share=0)
        await uow.commit()
    assert order.total == 16_000 and order.state == "paid"


async def test_insufficient_balance_says_how_much_is_missing(app: App) -> None:
    c = await cast(app, topup=10_000)
    m = app.services

    async def go(uow: UnitOfWork) -> None:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 2)
        await orders.checkout(m, uow, c.shopper, c.shop, expected_total=15_000, bnm_share=0)

    err = await refused(app, c, InsufficientBalance, go)
    assert err.data["missing"] == 5_000 and err.data["needed"] == 15_000


async def test_bnm_share_above_the_shop_limit(app: App) -> None:
    c = await cast(app, bnm_max_share=20)
    m = app.services

    async def go(uow: UnitOfWork) -> None:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 2)
        await orders.checkout(m, uow, c.shopper, c.shop, expected_total=15_000, bnm_share=50)

    err = await refused(app, c, BnmShareTooHigh, go)
    assert err.data["max_share"] == 20


async def grant_bnm(app: App, member_id: int, units: int) -> None:
    async with app.db.unit_of_work() as uow:
        await app.ledger.record(
            uow,
            Request(
                actor="system:operator",
                kind="bnm.contribution",
                body={"member": member_id},
                transfers=[
                    Transfer(f"bnm-{member_id}", "treasury:bnm", members.wallet(member_id, "BNM"), units, "BNM")
                ],
            ),
        )
        await uow.commit()


async def test_token_mix_payment_and_settlement_to_the_won(app: App) -> None:
    c = await cast(app, bnm_max_share=50)
    await grant_bnm(app, c.shopper, 20_000)  # 20 BNM at the default 1,000원 each
    order = await buy(app, c, qty=2, share=40)  # 15,000원: 6,000원 in BNM = 6,000 units, 9,000원 in BTL
    assert (order.bnm_units, order.btl_amount, order.bnm_price) == (6_000, 9_000, 1_000)
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.accept_order(m, uow, c.producer, order.id)
        await delivery.assign_courier(m, uow, c.producer, order.id, c.courier)
        await delivery.confirm_pickup(m, uow, c.courier, order.id)
        await orders.confirm_receipt(m, uow, c.shopper, order.id)
        await settlement.settle_order(m, uow, order.id)
        await uow.commit()
    after = await state(app, c)
    fee = 12_000 * 150 // 10_000
    assert after["money"][c.shopper].btl == 100_000 - 9_000
    assert after["money"][c.shopper].bnm_units == 20_000 - 6_000
    assert after["money"][c.producer].bnm_units == 6_000
    assert after["money"][c.producer].btl == 9_000 - 3_000 - fee
    assert after["money"][c.courier].btl == 3_000
    assert (await verify_ledger(app.db, app.ledger.origin, workers=0)).ok


async def test_paying_twice_returns_the_first_result(app: App) -> None:
    c = await cast(app)
    order = await buy(app, c)
    before = await state(app, c)
    async with app.db.unit_of_work() as uow:
        again = await orders.pay_order(app.services, uow, c.shopper, order.id, bnm_share=0)
        await uow.commit()
    assert again == order
    assert await state(app, c) == before


async def test_the_same_request_key_places_one_order(app: App) -> None:
    c = await cast(app)
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 1)
        first = await orders.place_order(m, uow, c.shopper, c.shop, expected_total=9_000, idempotency_key="tg-77")
        await uow.commit()
    async with app.db.unit_of_work() as uow:
        second = await orders.place_order(m, uow, c.shopper, c.shop, expected_total=9_000, idempotency_key="tg-77")
        await uow.commit()
    assert first.id == second.id


async def test_only_the_assigned_courier_confirms_and_wrong_codes_lock(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await buy(app, c)
    async with app.db.unit_of_work() as uow:
        other = await members.register(m, uow, channel="kakao", external_id="c2", display_name="최배달")
        await members.grant_role(m, uow, c.operator, other.id, "courier")
        await delivery.take_job(m, uow, c.courier, order.id)
        await delivery.confirm_pickup(m, uow, c.courier, order.id)
        await uow.commit()
    await refused(app, c, NotAllowed, lambda uow: delivery.confirm_delivery(m, uow, other.id, order.id, "000000"))
    async with app.db.snapshot() as snap:
        code = await delivery_queries.delivery_code(snap, c.shopper, order.id)
    wrong = "111111" if code != "111111" else "222222"
    lefts = []
    for _ in range(3):
        async with app.db.unit_of_work() as uow:
            outcome = await delivery.confirm_delivery(m, uow, c.courier, order.id, wrong)
            await uow.commit()
        assert not outcome.ok
        lefts.append(outcome.attempts_left)
    assert lefts == [2, 1, 0] and outcome.locked
    await refused(app, c, DeliveryLocked, lambda uow: delivery.confirm_delivery(m, uow, c.courier, order.id, code))
    async with app.db.unit_of_work() as uow:
        await delivery.unlock(m, uow, c.operator, order.id)
        outcome = await delivery.confirm_delivery(m, uow, c.courier, order.id, code)
        await uow.commit()
    assert outcome.ok and outcome.order.state == "delivered"
    # The code is the buyer's alone.
    await refused(app, c, NotAllowed, lambda uow: delivery_queries.delivery_code(uow, c.courier, order.id))


async def test_cancel_releases_holds_and_stock_but_not_after_acceptance(app: App) -> None:
    c = await cast(app, stock=5)
    m = app.services
    order = await buy(app, c, qty=2)
    async with app.db.unit_of_work() as uow:
        await orders.cancel_order(m, uow, c.shopper, order.id)
        await uow.commit()
    after = await state(app, c)
    assert after["money"][c.shopper].btl_available == 100_000
    assert after["stock"][0][1] == 5
    second = await buy(app, c, qty=1)
    async with app.db.unit_of_work() as uow:
        await orders.accept_order(m, uow, c.producer, second.id)
        await uow.commit()
    await refused(app, c, InvalidState, lambda uow: orders.cancel_order(m, uow, c.shopper, second.id))
    assert (await verify_ledger(app.db, app.ledger.origin, workers=0)).ok


async def test_reorder_repeats_the_previous_order_at_todays_prices(app: App) -> None:
    c = await cast(app)
    m = app.services
    first = await buy(app, c, qty=3)
    async with app.db.unit_of_work() as uow:
        await catalog.update_price(m, uow, c.producer, c.product, 5_000)
        q = await orders.reorder(m, uow, c.shopper)
        again = await orders.checkout(m, uow, c.shopper, c.shop, expected_total=q.total, bnm_share=0)
        await uow.commit()
    assert [(line.product_id, line.qty) for line in q.lines] == [(line.product_id, line.qty) for line in first.lines]
    assert again.total == 3 * 5_000 + 3_000


@pytest.mark.parametrize("qty", [0, -1, 1000, 2.5, "2", True])
async def test_absurd_quantities(app: App, qty: object) -> None:
    c = await cast(app)
    await refused(app, c, InvalidInput, lambda uow: orders.add_to_cart(app.services, uow, c.shopper, c.product, qty))  # type: ignore[arg-type]


@pytest.mark.parametrize("price", [0, -5, 10**12, 99.5])
async def test_prices_must_be_positive_whole_won(app: App, price: object) -> None:
    c = await cast(app)
    await refused(
        app,
        c,
        InvalidInput,
        lambda uow: catalog.update_price(app.services, uow, c.producer, c.product, price),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("name", ["", "   ", "사과" * 40, "사과\x00", "사과\u202e"])
async def test_bad_text_is_refused(app: App, name: str) -> None:
    c = await cast(app)
    await refused(
        app,
        c,
        InvalidInput,
        lambda uow: catalog.add_product(
            app.services,
            uow,
            c.producer,
            c.shop,
            name=name,
            category="과일",
            unit="1kg",
            price=1000,
            stock=1,
            origin_region="청송",
            origin_producer="김씨",
        ),
    )


async def test_unknown_things(app: App) -> None:
    c = await cast(app)
    m = app.services
    await refused(app, c, UnknownProduct, lambda uow: orders.add_to_cart(m, uow, c.shopper, 999_999, 1))
    await refused(app, c, UnknownShop, lambda uow: orders.quote(m, uow, c.shopper, 999_999))
    await refused(app, c, UnknownMember, lambda uow: orders.add_to_cart(m, uow, 999_999, c.product, 1))


async def test_operator_actions_need_an_operator(app: App) -> None:
    c = await cast(app)
    m = app.services
    await refused(app, c, NotAllowed, lambda uow: shops.verify_shop(m, uow, c.shopper, c.shop))
    await refused(
        app, c, NotAllowed, lambda uow: wallet.topup_at_office(m, uow, c.shopper, c.shopper, 5_000, receipt="X")
    )
    await refused(app, c, NotAllowed, lambda uow: members.grant_role(m, uow, c.shopper, c.shopper, "operator"))
    await refused(app, c, NotAllowed, lambda uow: catalog.update_price(m, uow, c.shopper, c.product, 100))


async def test_two_couriers_race_for_one_job(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await buy(app, c)
    async with app.db.unit_of_work() as uow:
        other = await members.register(m, uow, channel="kakao", external_id="c2", display_name="최배달")
        await members.grant_role(m, uow, c.operator, other.id, "courier")
        await uow.commit()

    async def take(courier: int) -> str:
        try:
            async with app.db.unit_of_work() as uow:
                await delivery.take_job(m, uow, courier, order.id)
                await uow.commit()
            return "won"
        except AlreadyTaken:
            return "lost"

    results = await asyncio.gather(take(c.courier), take(other.id))
    assert sorted(results) == ["lost", "won"]


async def test_hundred_shoppers_race_for_the_last_ten(app: App) -> None:
    c = await cast(app, stock=10, topup=0)
    m = app.services
    async with app.db.unit_of_work() as uow:
        shoppers = []
        for i in range(100):
            s = await members.register(m, uow, channel="web", external_id=f"racer-{i}", display_name=f"손님{i}")
            await verify(app, uow, s.id)
            await wallet.topup_at_office(m, uow, c.operator, s.id, 20_000, receipt=f"race-{i}")
            await orders.add_to_cart(m, uow, s.id, c.product, 1)
            shoppers.append(s.id)
        await uow.commit()

    async def attempt(member_id: int) -> bool:
        try:
            async with app.db.unit_of_work() as uow:
                await orders.checkout(m, uow, member_id, c.shop, expected_total=9_000, bnm_share=0)
                await uow.commit()
            return True
        except OutOfStock:
            return False

    won = await asyncio.gather(*(attempt(s) for s in shoppers))
    assert sum(won) == 10
    async with app.db.snapshot() as snap:
        stock = await snap.fetch("SELECT stock FROM products WHERE id = :p", {"p": c.product})
        paid = await snap.fetch("SELECT COUNT(*) FROM orders WHERE state = 'paid'")
        held = [await wallet_queries.balances(m, snap, s) for s in shoppers]
    assert stock[0][0] == 0 and paid[0][0] == 10
    assert sum(20_000 - b.btl_available for b in held) == 10 * 9_000  # no lost or doubled won
    assert (await verify_ledger(app.db, app.ledger.origin, workers=0)).ok


async def test_one_person_on_two_messengers_is_one_member(app: App) -> None:
    m = app.services
    async with app.db.unit_of_work() as uow:
        on_telegram = await members.register(m, uow, channel="telegram", external_id="555", display_name="할머니")
        await members.verified_phone(m, uow, on_telegram.id, "010-1234-5678")
        on_kakao = await members.register(m, uow, channel="kakao", external_id="kk-9", display_name="할머니")
        assert on_kakao.id != on_telegram.id
        code = await members.request_phone_code(m, uow, on_kakao.id, "+82 10 1234 5678")
        check = await members.confirm_phone_code(m, uow, on_kakao.id, code)
        await uow.commit()
    assert check.ok and check.member is not None
    linked = check.member
    assert linked.id == on_telegram.id
    async with app.db.snapshot() as snap:
        via_kakao = await members.by_identity(snap, "kakao", "kk-9")
        entries = await app.ledger.entries(snap, 0, 10_000)
    assert via_kakao is not None and via_kakao.id == on_telegram.id
    # The phone number never reached the ledger in plain form.
    assert not any(b"01012345678" in raw or b"1234-5678" in raw for _seq, raw in entries)


async def test_refund_after_pickup_does_not_restock_but_before_it_does(app: App) -> None:
    c = await cast(app, stock=10)
    m = app.services
    early = await buy(app, c, qty=2)
    late = await buy(app, c, qty=3)
    async with app.db.unit_of_work() as uow:
        await orders.accept_order(m, uow, c.producer, late.id)
        await delivery.take_job(m, uow, c.courier, late.id)
        await delivery.confirm_pickup(m, uow, c.courier, late.id)
        await settlement.refund_order(m, uow, c.operator, early.id, reason="가게 사정")
        await settlement.refund_order(m, uow, c.operator, late.id, reason="배송 중 파손")
        await uow.commit()
    after = await state(app, c)
    assert after["stock"][0][1] == 10 - 3  # the early order's 2 came back; the damaged 3 did not
    assert after["money"][c.shopper].btl_available == 100_000  # every won back either way


async def test_phone_codes_cannot_be_guessed(app: App) -> None:
    """Each wrong try is counted and committed; after five the code is dead, even the right one."""
    from commerce.members.errors import CodeExpired, CodeRequestedRecently

    m = app.services
    async with app.db.unit_of_work() as uow:
        member = await members.register(m, uow, channel="kakao", external_id="guesser", display_name="손님")
        code = await members.request_phone_code(m, uow, member.id, "010-9999-0000")
        await uow.commit()
    wrong = "000000" if code != "000000" else "111111"
    lefts = []
    for _ in range(5):
        async with app.db.unit_of_work() as uow:
            check = await members.confirm_phone_code(m, uow, member.id, wrong)
            await uow.commit()
        assert not check.ok
        lefts.append(check.attempts_left)
    assert lefts == [4, 3, 2, 1, 0]
    with pytest.raises(CodeExpired):
        async with app.db.unit_of_work() as uow:
            await members.confirm_phone_code(m, uow, member.id, code)
    with pytest.raises(CodeRequestedRecently):  # and no fresh code straight away
        async with app.db.unit_of_work() as uow:
            await members.request_phone_code(m, uow, member.id, "010-9999-0000")
    async with app.db.snapshot() as snap:
        assert (await members.get(snap, member.id)).phone is None


async def test_a_different_action_with_the_same_transfers_is_not_a_retry(app: App) -> None:
    """A cancel after an operator refund builds the same void; it must be refused, not answered as done."""
    c = await cast(app, stock=20)
    m = app.services
    order = await buy(app, c, qty=2)
    async with app.db.unit_of_work() as uow:
        await settlement.refund_order(m, uow, c.operator, order.id, reason="품절")
        await uow.commit()
    before = await state(app, c)
    await refused(app, c, InvalidState, lambda uow: orders.cancel_order(m, uow, c.shopper, order.id))
    assert (await state(app, c))["stock"] == before["stock"]  # restocked once, not twice
    # And at the ledger level: same transfer, other kind or other signer → refused, not "existing".
    from ledger.errors import TransferExists

    void = Transfer(
        f"order-{order.id}-btl-void",
        members.wallet(c.shopper),
        f"escrow:order:{order.id}:btl",
        15_000,
        "BTL",
        type="void",
        pending_id=f"order-{order.id}-btl",
    )
    for actor, kind in (("system:operator", "order.cancel"), (members.key_label(c.shopper), "order.refund")):
        with pytest.raises(TransferExists):
            async with app.db.unit_of_work() as uow:
                await app.ledger.record(uow, Request(actor, kind, body={"order": order.id}, transfers=[void]))


@pytest.mark.parametrize("bnm_price", [1_000, 3_000, 5_000, 12_345])
async def test_every_allowed_share_leaves_enough_btl_to_settle(app: App, bnm_price: int) -> None:
    """BNM is rounded up to whole units; at any price the largest allowed share must still settle."""
    c = await cast(app, bnm_max_share=100, price=1_022)
    await grant_bnm(app, c.shopper, 1_000_000)
    m = app.services
    async with app.db.unit_of_work() as uow:
        await uow.execute(
            "INSERT INTO market_settings (key, value) VALUES ('bnm_reference_price', :v)", {"v": str(bnm_price)}
        )
        await orders.add_to_cart(m, uow, c.shopper, c.product, 1)
        q = await orders.quote(m, uow, c.shopper, c.shop, bnm_share=100)
        order = await orders.checkout(m, uow, c.shopper, c.shop, expected_total=q.total, bnm_share=q.max_share)
        await orders.accept_order(m, uow, c.producer, order.id)
        await delivery.take_job(m, uow, c.courier, order.id)
        await delivery.confirm_pickup(m, uow, c.courier, order.id)
        await orders.confirm_receipt(m, uow, c.shopper, order.id)
        settled = await settlement.settle_order(m, uow, order.id)
        await uow.commit()
    assert settled.state == "settled" and order.bnm_share == q.max_share > 0
    with pytest.raises(BnmShareTooHigh):
        async with app.db.unit_of_work() as uow:
            await orders.add_to_cart(m, uow, c.shopper, c.product, 1)
            await orders.checkout(m, uow, c.shopper, c.shop, expected_total=q.total, bnm_share=q.max_share + 1)


async def test_refunds_after_settlement_never_exceed_the_goods(app: App) -> None:
    """Manual pay-backs and claim refunds share one cap: the goods' value, whatever the path."""
    from commerce.claims import service as claims

    c = await cast(app, topup=100_000)
    m = app.services
    order = await buy(app, c, qty=2)  # 12,000원 of goods + 3,000원 delivery
    async with app.db.unit_of_work() as uow:
        await orders.accept_order(m, uow, c.producer, order.id)
        await delivery.take_job(m, uow, c.courier, order.id)
        await delivery.confirm_pickup(m, uow, c.courier, order.id)
        await orders.confirm_receipt(m, uow, c.shopper, order.id)
        await settlement.settle_order(m, uow, order.id)
        await wallet.topup_at_office(m, uow, c.operator, c.producer, 50_000, receipt="P-1")
        await settlement.refund_after_settlement(m, uow, c.operator, order.id, 5_000, reference="A1")
        await uow.commit()
    await refused(
        app,
        c,
        InvalidInput,
        lambda uow: settlement.refund_after_settlement(m, uow, c.operator, order.id, 7_001, reference="A2"),
    )
    async with app.db.unit_of_work() as uow:
        claim = await claims.open_claim(m, uow, c.shopper, order.id, kind="after_sales", text="고장")
        claim = await claims.answer_claim(m, uow, c.producer, claim.id, resolution="refund_full", text="환불")
        await claims.accept_answer(m, uow, c.shopper, claim.id)
        await uow.commit()
    await refused(
        app,
        c,
        InvalidInput,
        lambda uow: settlement.refund_after_settlement(m, uow, c.operator, order.id, 1, reference="A3"),
    )
    after = await state(app, c)
    assert after["money"][c.shopper].btl == 100_000 - 15_000 + 12_000  # the goods back, not the delivery
    assert (await verify_ledger(app.db, app.ledger.origin, workers=0)).ok


async def test_personal_data_hashes_survive_a_rollback_and_a_restart(app: App) -> None:
    """The secret behind the hashes is made at start-up, in its file: no transaction can lose it."""
    from commerce.members.pepper import load_pepper
    from commerce.services import Services

    m = app.services
    async with app.db.unit_of_work() as uow:
        first = await m.personal_ref(uow, "phone", "01012345678")  # then rolled back
    async with app.db.unit_of_work() as uow:
        kept = await m.personal_ref(uow, "phone", "01012345678")
        await uow.commit()
    pepper = await load_pepper(app.db, app.settings.resolved_pepper_file)  # what a new process reads
    restarted = Services(app.ledger, app.keys, pepper_secret=pepper)
    async with app.db.snapshot() as snap:
        assert await restarted.personal_ref(snap, "phone", "01012345678") == kept == first


@pytest.mark.parametrize("receipt", ["영수증1", "R 1", "R/1"])
async def test_office_receipts_are_plain_numbers(app: App, receipt: str) -> None:
    c = await cast(app)
    await refused(
        app,
        c,
        InvalidInput,
        lambda uow: wallet.topup_at_office(app.services, uow, c.operator, c.shopper, 1_000, receipt=receipt),
    )
