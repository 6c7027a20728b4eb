"""Pushes after commit: the shop hears of a new order, the shopper of the trip — through the real
Telegram notifier against the Bot API stand-in; a member who blocked the bot is not pushed again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from telegram import Bot

from bots.notify import reachable_identities
from bots.telegram.bot import TelegramBot
from bots.telegram.push import TelegramNotifier
from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.delivery.events import OrderPickedUp
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.orders.rows import Order
from commerce.wallet import service as wallet
from tests.support.chat import ChatUser
from tests.support.identity import verify
from tests.support.kakao_standin import KakaoEventApi
from tests.support.market import cast
from tests.support.telegram_standin import BotApiStandIn


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    api = BotApiStandIn()
    await api.start()
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
async def market_app(tmp_path: Path, db_url: str) -> AsyncIterator[App]:
    built = await build(Settings(home=tmp_path / "home", database_url=db_url, environment="test"))
    try:
        yield built
    finally:
        await built.close()


async def test_the_shop_and_the_shopper_are_told_what_happened(market_app: App, standin: BotApiStandIn) -> None:
    app = market_app
    c = await cast(app)  # the producer's identity is telegram 101, the shopper's kakao s1
    async with app.db.unit_of_work() as uow:
        shopper_tg = await members.register(
            app.services, uow, channel="telegram", external_id="555", display_name="할매"
        )
        await verify(app, uow, shopper_tg.id)  # paying needs a verified phone
        await uow.commit()
    TelegramBot(app.dialogue, standin.token, base_url=standin.base_url)  # PTB's timedelta periods, as serve does
    async with Bot(standin.token, base_url=standin.base_url) as bot:
        app.pushes.add(TelegramNotifier(bot, per_chat_s=0.05))
        buyer = ChatUser(app.dialogue, "telegram", "555")
        async with app.db.unit_of_work() as uow:
            await wallet.topup_at_office(app.services, uow, c.operator, shopper_tg.id, 50_000, receipt="R-555")
            await uow.commit()
        await buyer.send("/start")
        await buyer.tap("장보기")
        await buyer.tap("못골시장")
        await buyer.tap("김씨네 과수원")
        await buyer.tap("사과")
        await buyer.tap("1개 담기")
        await buyer.tap("결제하기")
        await app.pushes.drain()
        (to_producer,) = [
            c.params["text"] for c in standin.calls_to(101, "sendMessage") if "새 주문" in c.params["text"]
        ]
        assert "사과 × 1" in to_producer and "9,000원" in to_producer

        (order,) = [o for o in await _orders(app, shopper_tg.id)]
        async with app.db.unit_of_work() as uow:
            await orders.accept_order(app.services, uow, c.producer, order.id)
            await delivery.assign_courier(app.services, uow, c.producer, order.id, c.courier)
            await uow.commit()
        async with app.db.unit_of_work() as uow:
            await delivery.confirm_pickup(app.services, uow, c.courier, order.id)
            await uow.commit()
        await app.pushes.drain()
        told = [call.params["text"] for call in standin.calls_to(555, "sendMessage")]
        assert any("접수했어요" in text for text in told)
        assert any("배달을 떠났어요" in text for text in told)

        # A rolled-back change tells nobody.
        before = len(standin.calls)
        async with app.db.unit_of_work() as uow:
            uow.publish(OrderPickedUp(order.id, shopper_tg.id))  # never committed
        await app.pushes.drain()
        assert len(standin.calls) == before

        standin.fail("sendMessage", status=403)  # the shopper blocked the bot
        async with app.db.unit_of_work() as uow:
            code = await delivery_queries.delivery_code(uow, shopper_tg.id, order.id)
            await delivery.confirm_delivery(app.services, uow, c.courier, order.id, code)
            await uow.commit()
        await app.pushes.drain()
        async with app.db.snapshot() as snap:
            assert ("telegram", "555") not in await reachable_identities(snap, shopper_tg.id)


async def _orders(app: App, member_id: int) -> list[Order]:
    async with app.db.snapshot() as snap:
        return await order_queries.list_for_buyer(snap, member_id)


async def test_a_kakao_shopper_hears_of_the_delivery_through_the_event_api(tmp_path: Path, sqlite_url: str) -> None:
    async with KakaoEventApi(pending_polls=0) as kakao:
        app = await build(
            Settings(
                home=tmp_path / "k",
                database_url=sqlite_url,
                environment="test",
                kakao_bot_id=kakao.bot_id,
                kakao_rest_key=SecretStr(kakao.rest_key),
                kakao_api_base=kakao.base_url,
            )
        )
        try:
            c = await cast(app)  # the shopper's identity is kakao s1
            async with app.db.unit_of_work() as uow:
                await orders.add_to_cart(app.services, uow, c.shopper, c.product, 1)
                order = await orders.checkout(app.services, uow, c.shopper, c.shop, expected_total=9_000)
                await orders.accept_order(app.services, uow, c.producer, order.id)
                await uow.commit()
            await app.pushes.drain()
            # The producer is on Telegram only: Kakao carries the shopper's top-up (the cast's office cash)
            # and the acceptance.
            topup, talk = kakao.talks
            assert talk["user"] == [{"type": "botUserKey", "id": "s1"}]
            assert "100,000원이 들어왔어요" in str(topup["event"]) and "접수했어요" in str(talk["event"])
        finally:
            await app.close()


async def test_members_hear_of_batch_payments_through_their_messenger(market_app: App, standin: BotApiStandIn) -> None:
    from chestnut.bootstrap import batch_context
    from scheduler.notices import Notice

    app = market_app
    c = await cast(app)
    assert batch_context(app).announcer is app.pushes  # the scheduler's batches announce through the bots
    TelegramBot(app.dialogue, standin.token, base_url=standin.base_url)
    async with Bot(standin.token, base_url=standin.base_url) as bot:
        app.pushes.add(TelegramNotifier(bot, per_chat_s=0.05))
        await app.pushes.announce(
            [
                Notice(c.producer, "dividend.paid", {"dividend": 1, "amount": 1_234}),
                Notice(c.producer, "no.such.kind", {}),
            ]
        )
        await app.pushes.drain()
    told = [call.params["text"] for call in standin.calls_to(101, "sendMessage")]
    assert any("배당금 1,234원" in text for text in told)
    assert len([text for text in told if "배당금" in text]) == 1


async def test_a_telegram_outage_is_retried_later_and_the_shopper_stays_reachable(
    market_app: App, standin: BotApiStandIn
) -> None:
    app = market_app
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        shopper = await members.register(app.services, uow, channel="telegram", external_id="556", display_name="할매")
        await verify(app, uow, shopper.id)
        await wallet.topup_at_office(app.services, uow, c.operator, shopper.id, 20_000, receipt="R-556")
        await uow.commit()
    now = [app.pushes.outbox.clock()]
    app.pushes.outbox.clock = lambda: now[0]
    TelegramBot(app.dialogue, standin.token, base_url=standin.base_url)
    async with Bot(standin.token, base_url=standin.base_url) as bot:
        app.pushes.add(TelegramNotifier(bot, per_chat_s=0.05))
        async with app.db.unit_of_work() as uow:
            await orders.add_to_cart(app.services, uow, shopper.id, c.product, 1)
            order = await orders.checkout(app.services, uow, shopper.id, c.shop, expected_total=9_000)
            await orders.accept_order(app.services, uow, c.producer, order.id)
            await uow.commit()
        standin.fail("sendMessage", status=502, times=2)  # Telegram's gateway, down for a moment
        await app.pushes.drain()
        assert [call.status for call in standin.calls if call.method == "sendMessage"] == [502, 502]
        async with app.db.snapshot() as snap:  # Telegram's trouble is not hers: she is still reachable there
            assert ("telegram", "556") in await reachable_identities(snap, shopper.id)
        await app.pushes.drain()
        assert len([call for call in standin.calls if call.method == "sendMessage"]) == 2  # backing off

        now[0] += 2_000
        await app.pushes.drain()
        told = [call.params["text"] for call in standin.calls_to(556, "sendMessage") if call.status == 200]
        assert [text for text in told if "접수" in text] == [
            f"가게에서 주문 {order.id}번을 접수했어요. 곧 준비해서 보내 드려요."
        ]
        to_shop = [call.params["text"] for call in standin.calls_to(101, "sendMessage") if call.status == 200]
        assert len([text for text in to_shop if f"주문 {order.id}번" in text]) == 1
        sent = len(standin.calls)
        now[0] += 60_000
        await app.pushes.drain()
        assert len(standin.calls) == sent  # sent once: nothing is due any more
