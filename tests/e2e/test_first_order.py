"""The first order, counted as a person would feel it: taps and typed characters from the first message
to a paid order that says where it goes, on each channel through its real protocol.

Targets: Telegram ≤ 10 taps and nothing typed (the phone by the contact button, the address by the
location button); KakaoTalk ≤ 10 taps plus typing the phone number, the code and the address once (the
web chat's count is in ``test_webchat_browser``); a repeat order (지난번처럼) ≤ 3 taps with the last address
and window preselected; a top-up started from a payment lands back on that order's confirmation.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bots.dialogue import FloodGate
from bots.texts import t
from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from commerce.delivery import fulfilment
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.orders.rows import Order
from commerce.wallet import service as wallet
from tests.support.chat import ChatUser
from tests.support.inbox import Inbox
from tests.support.kakao_standin import KakaoUser
from tests.support.market import Cast, cast
from tests.support.telegram_standin import BotApiStandIn, polling
from web.app import make_web_app

HOME = t("ko", "menu.home")
MOTGOL = (37.2790, 127.0203)  # by 못골시장, in 수원시 팔달구: inside the shop's area
TAP_TARGET = 10
REPEAT_TARGET = 3


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    api = BotApiStandIn()
    await api.start()
    try:
        yield api
    finally:
        await api.close()


async def _top_up(app: App, c: Cast, member_id: int, amount: int = 50_000) -> None:
    async with app.db.unit_of_work() as uow:
        await wallet.topup_at_office(app.services, uow, c.operator, member_id, amount, receipt=f"R-{member_id}")
        await uow.commit()


async def _only_order(app: App, member_id: int) -> Order:
    async with app.db.snapshot() as snap:
        (order,) = await order_queries.list_for_buyer(snap, member_id)
    return order


async def test_telegram_first_order_in_ten_taps_typing_nothing_and_a_repeat_in_three(
    app: App, standin: BotApiStandIn
) -> None:
    c = await cast(app, topup=0)
    async with polling(app, standin):
        grandma = standin.user(950, "순자", "이")
        await grandma.start()
        async with app.db.snapshot() as snap:
            me = await members.by_identity(snap, "telegram", "950")
        assert me is not None
        await _top_up(app, c, me.id)  # a member with money
        await app.pushes.drain()
        for label in ("장보기", "못골시장", "김씨네 과수원", "사과", "1개 담기"):
            await grandma.tap(label)
        assert "합계: 9,000원" in grandma.text and "전화번호 인증이 필요해요" in grandma.text
        await grandma.share_contact("010-2345-6789")
        assert "어디로 보내 드릴까요" in grandma.text
        await grandma.send_location(*MOTGOL)
        assert "받는 곳 (집): 공유한 위치 (경기 수원시 팔달구)" in grandma.text and "도착:" in grandma.text
        await grandma.tap("9,000원 결제하기")
        assert "결제됐어요" in grandma.text
        first_taps = grandma.taps
        assert first_taps <= TAP_TARGET and grandma.typed == 0, grandma.transcript
        first = await _only_order(app, me.id)

        # 지난번처럼: home, the repeat, pay — the same address and the same time of day, preselected.
        grandma.taps = 0
        await grandma.press(HOME)
        await grandma.tap("지난번처럼")
        assert "받는 곳 (집): 공유한 위치 (경기 수원시 팔달구)" in grandma.text
        await grandma.tap("결제하기")
        assert "결제됐어요" in grandma.text and grandma.taps <= REPEAT_TARGET and grandma.typed == 0
    async with app.db.snapshot() as snap:
        second, again = await order_queries.list_for_buyer(snap, me.id)
        where = await fulfilment.for_order(snap, me.id, second.id)
    assert again.id == first.id and second.address_id == first.address_id and where.location is not None
    assert second.window_start_ms is not None and first.window_start_ms is not None
    assert (second.window_start_ms - first.window_start_ms) % 86_400_000 == 0  # the same slot of a day


@pytest.fixture
async def kakao_client(
    tmp_path: Path, db_url: str
) -> AsyncIterator[tuple[App, TestClient[web.Request, web.Application]]]:
    secret = "kakao-skill-secret-for-tests-0f3a"  # noqa: S105 - a test value
    settings = Settings(
        home=tmp_path / "home", database_url=db_url, environment="test", kakao_skill_secret=SecretStr(secret)
    )
    app = await build(settings)
    try:
        async with TestClient(TestServer(make_web_app(app))) as http:
            yield app, http
    finally:
        await app.close()


@dataclass
class CountingKakaoUser(KakaoUser):
    """A KakaoTalk user whose taps and typed characters are counted."""

    taps: int = 0
    typed: int = 0
    typed_messages: list[str] = field(default_factory=list)

    async def start(self) -> dict[str, object]:
        self.taps += 1
        return await super().start()

    async def tap(self, label_part: str) -> dict[str, object]:
        self.taps += 1
        return await super().tap(label_part)

    async def say(self, text: str) -> dict[str, object]:
        self.typed += len(text)
        self.typed_messages.append(text)
        return await super().say(text)


async def test_kakao_first_order_in_ten_taps_typing_phone_code_and_address_once(
    kakao_client: tuple[App, TestClient[web.Request, web.Application]],
) -> None:
    app, http = kakao_client
    c = await cast(app, topup=0)
    user = CountingKakaoUser(http, "kakao-first", {"X-Chestnut-Skill-Secret": "kakao-skill-secret-for-tests-0f3a"})
    await user.start()
    async with app.db.snapshot() as snap:
        me = await members.by_identity(snap, "kakao", "kakao-first")
    assert me is not None
    await _top_up(app, c, me.id)
    for label in ("장보기", "못골시장", "김씨네 과수원", "사과", "1개 담기"):
        await user.tap(label)
    assert "전화번호 인증이 필요해요" in user.text and "휴대폰 번호를 적어 주세요" in user.text
    await user.say("010-3456-7890")
    found = re.search(r"인증번호: (\d{6})", user.text)  # test: shown in the chat (no SMS sender)
    assert found, user.text
    await user.say(found.group(1))
    assert "전화번호가 등록됐어요" in user.text and "받으실 주소를 적어 주세요" in user.text
    await user.say("수원시 팔달구 매산로 1, 101동 1203호")
    assert "이 주소가 맞나요?" in user.text and "경기 수원시 팔달구" in user.text
    await user.tap("맞아요, 집 주소로 저장")
    assert "받는 곳 (집): 수원시 팔달구 매산로 1, 101동 1203호" in user.text
    await user.tap("9,000원 결제하기")
    assert "결제됐어요" in user.text
    assert user.taps <= TAP_TARGET, user.transcript
    assert user.typed_messages == ["010-3456-7890", found.group(1), "수원시 팔달구 매산로 1, 101동 1203호"]
    order = await _only_order(app, me.id)
    assert order.state == "paid" and order.address_id is not None


# ------------------------------------------------------------------------- back to the order after a top-up


@pytest.fixture
def paced(app: App) -> App:
    seconds = itertools.count()
    config = app.dialogue.config
    app.dialogue.flood = FloodGate(config.flood_burst, config.flood_window_s, clock=lambda: float(next(seconds)))
    return app


async def test_cash_at_the_office_brings_the_member_back_to_the_same_confirmation(paced: App) -> None:
    app = paced
    c = await cast(app, topup=0)
    inbox = Inbox()
    app.pushes.add(inbox)
    grandma = ChatUser(app.dialogue, "kakao", "s1", "이할머니")  # the cast's shopper: phone and address, no money
    await grandma.send("/start")
    for label in ("장보기", "못골시장", "김씨네 과수원", "사과", "1개 담기"):
        await grandma.tap(label)
    await grandma.tap("9,000원 결제하기")
    assert "9,000원" in grandma.text and "모자라요" in grandma.text
    await grandma.tap("충전 방법")
    assert "시장 사무실에서 현금으로 충전" in grandma.text
    await _top_up(app, c, c.shopper, 10_000)  # she walks to the office with cash
    await app.pushes.drain()
    ((to, screen),) = inbox.got
    (button,) = screen.replies[0].all_buttons
    assert to == "s1" and "10,000원이 들어왔어요" in screen.replies[0].text
    assert button.label == t("ko", "push.back_to_order") and button.payload == f"pay:{c.shop}"
    await grandma.send(payload=button.payload)  # the tap on the message she got
    assert "김씨네 과수원 주문 확인" in grandma.text and "합계: 9,000원" in grandma.text
    await grandma.tap("9,000원 결제하기")
    assert "결제됐어요" in grandma.text


async def test_a_top_up_with_no_order_waiting_leads_to_the_wallet(paced: App) -> None:
    app = paced
    c = await cast(app, topup=0)
    inbox = Inbox()
    app.pushes.add(inbox)
    await _top_up(app, c, c.shopper, 10_000)
    await app.pushes.drain()
    ((_to, screen),) = inbox.got
    (button,) = screen.replies[0].all_buttons
    assert button.payload == "w"


async def test_play_money_lands_back_on_the_confirmation(tmp_path: Path, db_url: str) -> None:
    app = await build(Settings(home=tmp_path / "dev", database_url=db_url, environment="development"))
    try:
        await cast(app, topup=0)
        visitor = ChatUser(app.dialogue, "kakao", "s1", "이할머니")  # phone and address, no money
        await visitor.send("/start")
        for label in ("장보기", "못골시장", "김씨네 과수원", "사과", "1개 담기", "9,000원 결제하기", "충전 방법"):
            await visitor.tap(label)
        await visitor.tap("체험용 50,000원 받기")
        assert "체험용 밤톨 50,000원" in visitor.text and "김씨네 과수원 주문 확인" in visitor.text
        await visitor.tap("9,000원 결제하기")
        assert "결제됐어요" in visitor.text
    finally:
        await app.close()


# ------------------------------------------------------------------------ no address on a public page


async def test_no_address_or_recipient_phone_on_any_public_page_or_tile(
    kakao_client: tuple[App, TestClient[web.Request, web.Application]],
) -> None:
    from commerce.delivery import addresses
    from commerce.shops import product_code

    app, http = kakao_client
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        (home,) = await addresses.list_for(uow, c.shopper)
        await addresses.set_recipient(uow, c.shopper, home.id, name="김영자", phone="010-2222-3333")
        await orders.add_to_cart(app.services, uow, c.shopper, c.product, 1)
        order = await orders.checkout(app.services, uow, c.shopper, c.shop, expected_total=9_000, bnm_share=0)
        await app.ledger.publish_checkpoint(uow)
        await uow.commit()
        size = (await app.ledger.head(uow)).size
    pages = [
        f"/ledger/entries?start=0&end={size}",
        f"/ledger/tile/entries/000.p/{size}",
        "/ledger/",
        f"/p/{product_code.encode(c.product)}",
        *[f"/ledger/entry/{seq}" for seq in range(size)],
    ]
    secrets = ("매산로", "1203호", "김영자", "01022223333", "010-2222-3333", "2222-3333")
    for path in pages:
        async with http.get(path) as r:
            assert r.status == 200, path
            body = (await r.read()).decode("utf-8", "replace")
        for secret in secrets:
            assert secret not in body, (path, secret)
    async with app.db.snapshot() as snap:
        assert (await fulfilment.for_order(snap, c.producer, order.id)).recipient_phone == "01022223333"
