"""The producer's, courier's and operator's chats, driven through the dialogue core on both databases.

Scripted people tap buttons by their labels (``tests/support/chat.py``); the shopper's side of an order
is placed through the services directly, so these journeys do not wait on the shopper's chat.
"""

from __future__ import annotations

import itertools
import string

import pytest

from bots import locales
from bots.dialogue import FloodGate
from bots.flows.answers import parse_amount
from bots.messages import Screen
from chestnut.bootstrap import App
from commerce.claims import queries as claim_queries
from commerce.claims import service as claims
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.orders import settlement
from commerce.orders.rows import Order
from commerce.provenance import service as provenance
from commerce.search import service as search
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.shops.rows import Shop
from commerce.wallet import queries as wallet_queries
from commerce.wallet import service as wallet
from ledger.verify import verify_ledger
from tests.support.chat import ChatUser
from tests.support.market import Cast, cast


def _at_human_pace(app: App) -> None:
    """People take a second or more per tap: the flood gate sees the journeys at that pace."""
    seconds = itertools.count()
    config = app.dialogue.config
    app.dialogue.flood = FloodGate(config.flood_burst, config.flood_window_s, clock=lambda: float(next(seconds)))


@pytest.fixture
def app(app: App) -> App:
    """The conftest's app (SQLite and PostgreSQL), with the journeys at human pace."""
    _at_human_pace(app)
    return app


class Person(ChatUser):
    """A ChatUser that also checks every screen it sees against the elderly-first rules."""

    def _check(self, screen: Screen) -> Screen:
        choices = [b for r in screen.replies for b in r.all_buttons]
        assert len(choices) <= 6, f"{len(choices)} choices on one screen: {[b.label for b in choices]}"
        assert 1 <= len(screen.replies) <= 3, self.transcript[-3:]
        labels = [b.label for b in screen.menu]
        assert any("처음으로" in x or "Home" in x for x in labels), labels
        return screen

    async def send(self, text: str | None = None, **kw: object) -> Screen:
        return self._check(await super().send(text, **kw))

    async def tap(self, label_part: str) -> Screen:
        return self._check(await super().tap(label_part))


async def _ledger_ok(app: App) -> None:
    report = await verify_ledger(app.db, app.settings.ledger_origin)
    assert report.ok, report


async def _paid_order(app: App, c: Cast, qty: int = 2) -> Order:
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(app.services, uow, c.shopper, c.product, qty)
        quote = await orders.quote(app.services, uow, c.shopper, c.shop)
        order = await orders.checkout(app.services, uow, c.shopper, c.shop, expected_total=quote.total, bnm_share=0)
        await uow.commit()
    assert order.state == "paid"
    return order


async def _delivered_order(app: App, c: Cast) -> Order:
    order = await _paid_order(app, c)
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.accept_order(m, uow, c.producer, order.id)
        await delivery.take_job(m, uow, c.courier, order.id)
        await delivery.confirm_pickup(m, uow, c.courier, order.id)
        code = await delivery_queries.delivery_code(uow, c.shopper, order.id)
        outcome = await delivery.confirm_delivery(m, uow, c.courier, order.id, code)
        await uow.commit()
    assert outcome.ok
    return outcome.order


@pytest.mark.parametrize("flow", ["work", "producer", "courier", "operator", "cashout"])
def test_work_catalogues_match(flow: str) -> None:
    ko = locales.modules("ko")[f"bots.locales.ko.{flow}"]
    en = locales.modules("en")[f"bots.locales.en.{flow}"]
    assert set(ko) == set(en)
    fields = string.Formatter()
    for key, text in ko.items():
        ko_fields = {name for _, name, _, _ in fields.parse(text) if name}
        en_fields = {name for _, name, _, _ in fields.parse(en[key]) if name}
        assert ko_fields == en_fields, key


@pytest.mark.parametrize(
    ("typed", "value"),
    [("12000", 12000), ("12,000원", 12000), ("1만2천", 12000), ("3만", 30000), ("10개", 10), ("abc", None), ("", None)],
)
def test_amounts_as_people_type_them(typed: str, value: int | None) -> None:
    assert parse_amount(typed) == value


async def test_shop_registered_approved_and_product_listed_with_photo(app: App) -> None:
    c = await cast(app)
    fisher = Person(app.dialogue, "telegram", "202", name="최어부")
    await fisher.send("/home")
    await fisher.tap("더보기")
    await fisher.tap("가게 열기")
    assert "아직 가게가 없어요" in fisher.text
    await fisher.tap("가게 등록하기")
    await fisher.send("바다호 수산")
    await fisher.send("배요")  # a button is wanted: the same question again, with a hint
    assert "버튼에서 골라" in fisher.text
    await fisher.tap("어선")
    await fisher.tap("못골시장")
    await fisher.send("통영시")
    await fisher.send("전화 없어요")
    assert "전화번호 모양이 아니에요" in fisher.text
    await fisher.send("010-2222-3333")
    await fisher.tap("30%")
    await fisher.send("삼천원")
    assert "숫자로 써 주세요" in fisher.text
    await fisher.tap("3,000원")
    assert "바다호 수산" in fisher.text and "못골시장" in fisher.text and "3,000원" in fisher.text
    await fisher.tap("등록 신청")
    assert "등록 신청을 받았어요" in fisher.text
    await fisher.tap("처음으로")
    await fisher.tap("더보기")
    await fisher.tap("가게 열기")
    assert "확인을 기다리고" in fisher.text

    office = Person(app.dialogue, "web", "op", name="사무장")
    await office.send("/home")
    await office.tap("운영")
    await office.tap("가게 승인 (1)")
    await office.tap("바다호 수산")
    assert "최어부" in office.text and "통영시" in office.text
    await office.tap("✅ 승인")
    assert "승인했어요" in office.text and "승인을 기다리는 가게가 없어요" in office.text

    await fisher.send("/home")
    await fisher.tap("내 가게")
    assert "바다호 수산" in fisher.text
    await fisher.tap("물건 올리기")
    await fisher.send("고등어")
    await fisher.tap("수산")
    await fisher.send("2마리")
    await fisher.send("비싸요")
    assert "숫자로 써 주세요" in fisher.text
    await fisher.send("1만2천원")
    await fisher.send("10")
    await fisher.send("사진은 나중에")
    assert "사진을 보내 주시거나" in fisher.text
    await fisher.send(photo_url="https://photos.example/mackerel.jpg")
    await fisher.tap("가게 지역으로")
    await fisher.send("바다호")
    card = fisher.last
    assert card is not None and card.replies[0].image_url == "https://photos.example/mackerel.jpg"
    assert "고등어" in fisher.text and "12,000원" in fisher.text and "통영시 · 바다호" in fisher.text
    await fisher.tap("올리기")
    assert "올렸어요" in fisher.text

    async with app.db.unit_of_work() as uow:
        hits = await search.search(uow, app.search_index, "고등어")
        assert [h.name for h in hits][:1] == ["고등어"]
        product = await catalog.get(uow, hits[0].product_id)
    assert product.price == 12000 and product.stock == 10 and product.unit == "2마리"
    assert product.photos == ("https://photos.example/mackerel.jpg",)
    assert (product.origin_region, product.origin_producer) == ("통영시", "바다호")
    shop = await _shop_of(app, product.shop_id)
    assert shop.verified and shop.bnm_max_share == 30 and shop.delivery_fee == 3000 and shop.phone == "01022223333"
    assert c.shop != shop.id
    await _ledger_ok(app)


async def _shop_of(app: App, shop_id: int) -> Shop:
    async with app.db.unit_of_work() as uow:
        return await shops.get(uow, shop_id)


async def test_stock_price_and_provenance_by_tap(app: App) -> None:
    c = await cast(app, stock=20, price=6000)
    farmer = Person(app.dialogue, "telegram", "101", name="김농부")
    await farmer.send("/home")
    await farmer.tap("내 가게")
    await farmer.tap("내 물건")
    await farmer.tap("사과")
    await farmer.tap("➕ 10개")
    assert "재고: 30" in farmer.text
    await farmer.tap("➖ 1개")
    assert "재고: 29" in farmer.text
    await farmer.tap("재고 입력")
    await farmer.send("많이")
    assert "숫자로 써 주세요" in farmer.text
    await farmer.send("15개")
    assert "재고: 15" in farmer.text
    await farmer.tap("가격 바꾸기")
    await farmer.tap("+500원")
    assert "6,500원" in farmer.text
    await farmer.tap("가격 바꾸기")
    await farmer.send("7,000원")
    assert "가격: 7,000원" in farmer.text
    await farmer.tap("출처 기록")
    await farmer.tap("오늘 수확")
    assert "기록했어요" in farmer.text
    # An old button from the stock prompt, after the prompt has passed: said so, nothing changed.
    await farmer.send(payload=f"pcat:{0}")
    assert "지나갔어요" in farmer.text
    async with app.db.unit_of_work() as uow:
        product = await catalog.get(uow, c.product)
        page = await provenance.history(uow, c.product)
    assert (product.stock, product.price) == (15, 7000)
    assert [e.stage for e in page.events] == ["harvested"] and page.events[0].actor_id == c.producer
    await _ledger_ok(app)


async def test_order_accepted_taken_and_delivered_with_the_code(app: App) -> None:
    c = await cast(app)
    order = await _paid_order(app, c)
    farmer = Person(app.dialogue, "telegram", "101", name="김농부")
    await farmer.send("/home")
    await farmer.tap("내 가게")
    assert "새 주문 1건" in farmer.text
    await farmer.tap("주문 (1)")
    await farmer.tap(f"주문 #{order.id}")
    assert "사과 1kg × 2 = 12,000원" in farmer.text and "15,000원" in farmer.text
    await farmer.tap("주문 받기")
    assert "받았어요" in farmer.text
    await farmer.tap("그냥 두기")

    courier = Person(app.dialogue, "kakao", "c1", name="박배달")
    await courier.send("/home")
    await courier.tap("배달 일감")
    assert f"#{order.id} 못골시장 김씨네 과수원" in courier.text and "3,000원" in courier.text
    await courier.tap(f"#{order.id} 맡기")
    assert "맡았어요" in courier.text
    await courier.tap("물건 받았어요")
    assert "6자리" in courier.text

    async with app.db.unit_of_work() as uow:
        code = await delivery_queries.delivery_code(uow, c.shopper, order.id)
    wrong = "000000" if code != "000000" else "111111"
    await courier.send("12")  # not a code at all: asked again, no attempt spent
    assert "숫자 6자리" in courier.text
    await courier.send(wrong)
    assert "맞지 않아요" in courier.text and "2번 더" in courier.text
    async with app.db.unit_of_work() as uow:
        assert (await order_queries.get(uow, order.id)).state == "picked_up"
        assert (await delivery_queries.job(uow, order.id)).wrong_attempts == 1
    await courier.send(code)
    assert "배달 완료" in courier.text

    async with app.db.unit_of_work() as uow:
        assert (await order_queries.get(uow, order.id)).state == "delivered"
        await orders.confirm_receipt(app.services, uow, c.shopper, order.id)
        await settlement.settle_order(app.services, uow, order.id)
        await uow.commit()
    await courier.tap("배달 수입")
    assert f"주문 #{order.id} +3,000원" in courier.text
    await _ledger_ok(app)


async def test_producer_assigns_a_courier_by_tap(app: App) -> None:
    c = await cast(app)
    order = await _paid_order(app, c, qty=1)
    farmer = Person(app.dialogue, "telegram", "101", name="김농부")
    await farmer.send(payload=f"pod:{order.id}")
    await farmer.tap("주문 받기")
    await farmer.tap("배달원 정하기")
    await farmer.tap("박배달")
    assert "박배달님에게" in farmer.text
    courier = Person(app.dialogue, "kakao", "c1", name="박배달")
    await courier.send(payload="cm")
    assert f"#{order.id}" in courier.text
    async with app.db.unit_of_work() as uow:
        assert (await delivery_queries.job(uow, order.id)).courier_id == c.courier
    await _ledger_ok(app)


async def test_three_wrong_codes_lock_the_delivery(app: App) -> None:
    c = await cast(app)
    order = await _paid_order(app, c, qty=1)
    async with app.db.unit_of_work() as uow:
        await delivery.take_job(app.services, uow, c.courier, order.id)
        await delivery.confirm_pickup(app.services, uow, c.courier, order.id)
        code = await delivery_queries.delivery_code(uow, c.shopper, order.id)
        await uow.commit()
    wrong = "000000" if code != "000000" else "111111"
    courier = Person(app.dialogue, "kakao", "c1", name="박배달")
    await courier.send(payload=f"cdl:{order.id}")
    for _ in range(2):
        await courier.send(wrong)
    assert "1번 더" in courier.text
    await courier.send(wrong)
    assert "잠겼어요" in courier.text
    async with app.db.unit_of_work() as uow:
        assert (await delivery_queries.job(uow, order.id)).status == "locked"
        assert (await order_queries.get(uow, order.id)).state == "picked_up"


async def test_office_tops_up_by_phone_and_by_member_number(app: App) -> None:
    c = await cast(app, topup=0)
    async with app.db.unit_of_work() as uow:
        await members.verified_phone(app.services, uow, c.shopper, "010-5555-6666")
        await uow.commit()
    office = Person(app.dialogue, "web", "op", name="사무장")
    await office.send("/home")
    await office.tap("운영")
    await office.tap("현금 충전")
    await office.send("010-9999-0000")
    assert "찾지 못했어요" in office.text
    await office.send("010-5555-6666")
    assert "이할머니" in office.text and "010-****-6666" in office.text
    await office.send("삼만원")
    assert "숫자로 써 주세요" in office.text
    await office.send("30,000")
    await office.send("영수증 없음")
    assert "영수증 번호는" in office.text
    await office.send("R-77")
    assert "30,000원" in office.text and "R-77" in office.text
    await office.send("네")  # typed, where a button is wanted: the confirmation again, nothing recorded
    assert "버튼에서 골라" in office.text
    async with app.db.unit_of_work() as uow:
        assert (await wallet_queries.balances(app.services, uow, c.shopper)).btl == 0
    await office.tap("충전 기록")
    assert "30,000원을 충전했어요" in office.text  # the particle chosen, not "을(를)"

    await office.tap("현금 충전")
    await office.send(str(c.shopper))
    await office.send("2만")
    await office.send("R-78")
    await office.tap("충전 기록")
    # The old confirmation tapped again records nothing more.
    await office.send(payload=f"optuy:{c.shopper}")
    assert "지나갔어요" in office.text
    async with app.db.unit_of_work() as uow:
        assert (await wallet_queries.balances(app.services, uow, c.shopper)).btl == 50_000
    await _ledger_ok(app)


async def test_office_makes_a_courier_by_phone(app: App) -> None:
    await cast(app)
    rider = Person(app.dialogue, "kakao", "c9", name="정라이더")
    await rider.send("/home")
    await rider.send(payload="cj")
    assert "배달원으로 등록한 뒤" in rider.text
    async with app.db.unit_of_work() as uow:
        found = await members.by_identity(uow, "kakao", "c9")
        assert found is not None
        await members.verified_phone(app.services, uow, found.id, "01077778888")
        await uow.commit()
    office = Person(app.dialogue, "web", "op", name="사무장")
    await office.send(payload="opc")
    await office.send("010 7777 8888")
    await office.tap("배달원 등록")
    assert "정라이더님이 이제 배달원이에요" in office.text
    await rider.send(payload="cj")
    assert "맡을 배달이 없어요" in rider.text
    await _ledger_ok(app)


async def test_producer_answers_a_claim_and_the_office_decides(app: App) -> None:
    c = await cast(app)
    order = await _delivered_order(app, c)
    async with app.db.unit_of_work() as uow:
        claim = await claims.open_claim(
            app.services, uow, c.shopper, order.id, kind="damaged", text="사과가 멍들었어요"
        )
        await uow.commit()
    farmer = Person(app.dialogue, "telegram", "101", name="김농부")
    await farmer.send("/home")
    await farmer.tap("내 가게")
    await farmer.tap("문의 (1)")
    await farmer.tap(f"문의 #{claim.id}")
    assert "사과가 멍들었어요" in farmer.text and "상했거나" in farmer.text
    await farmer.tap("일부 환불")
    await farmer.send("조금")
    assert "숫자로 써 주세요" in farmer.text
    await farmer.send("3000")
    assert "3,000원 환불" in farmer.text
    await farmer.tap("답 보내기")
    assert "답을 보냈어요" in farmer.text
    async with app.db.unit_of_work() as uow:
        answered = await claim_queries.get(uow, claim.id)
        assert (answered.status, answered.resolution, answered.refund_amount) == ("answered", "refund_partial", 3000)
        await claims.escalate(app.services, uow, c.shopper, claim.id, text="전부 멍들었어요")
        await uow.commit()

    office = Person(app.dialogue, "web", "op", name="사무장")
    await office.send(payload="op")
    await office.tap("분쟁 (1)")
    await office.tap(f"분쟁 #{claim.id}")
    assert "전부 멍들었어요" in office.text
    await office.tap("전액 환불")
    await office.send("가게와 통화했어요")
    assert "전액 환불" in office.text and "가게와 통화했어요" in office.text
    await office.tap("결정하기")
    assert "결정했어요" in office.text
    async with app.db.unit_of_work() as uow:
        decided = await claim_queries.get(uow, claim.id)
        assert (decided.status, decided.resolution) == ("resolved", "refund_full")
        assert (await wallet_queries.balances(app.services, uow, c.shopper)).btl_available == 100_000
    await _ledger_ok(app)


async def test_producer_rejects_a_claim_with_a_reason(app: App) -> None:
    c = await cast(app)
    order = await _delivered_order(app, c)
    async with app.db.unit_of_work() as uow:
        claim = await claims.open_claim(app.services, uow, c.shopper, order.id, kind="quality", text="맛이 없어요")
        await uow.commit()
    farmer = Person(app.dialogue, "telegram", "101", name="김농부")
    await farmer.send(payload=f"pclv:{claim.id}")
    await farmer.tap("거절")
    await farmer.send("당도 검사를 통과한 사과예요")
    assert "당도 검사" in farmer.text
    await farmer.tap("답 보내기")
    async with app.db.unit_of_work() as uow:
        answered = await claim_queries.get(uow, claim.id)
    assert (answered.status, answered.resolution) == ("answered", "reject")
    assert answered.answer == "당도 검사를 통과한 사과예요"


async def test_producer_registers_a_bank_account_and_cashes_out(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        await wallet.topup_at_office(app.services, uow, c.operator, c.producer, 50_000, receipt="R-9")
        await uow.commit()
    farmer = Person(app.dialogue, "telegram", "101", name="김농부")
    await farmer.send("/home")
    await farmer.tap("내 가게")
    await farmer.tap("매출·잔액")
    assert "50,000원" in farmer.text
    await farmer.tap("출금하기")
    assert "계좌가 아직 없어요" in farmer.text
    await farmer.tap("농협")
    await farmer.send("계좌 몰라요")
    assert "8~20자" in farmer.text
    await farmer.send("123-4567-8901")
    await farmer.send("김농부")
    assert "계좌를 등록했어요" in farmer.text and "50,000원" in farmer.text
    await farmer.send("2만원")
    assert "20,000원" in farmer.text and "****-8901" in farmer.text
    await farmer.tap("출금 신청")
    assert "출금 신청을 받았어요" in farmer.text
    async with app.db.unit_of_work() as uow:
        b = await wallet_queries.balances(app.services, uow, c.producer)
        pending = await wallet_queries.pending_cashouts(uow)
    assert (b.btl, b.btl_available) == (50_000, 30_000)
    assert [(p.member_id, p.amount) for p in pending] == [(c.producer, 20_000)]
    await _ledger_ok(app)


async def test_a_shopper_cashes_out_from_the_wallet(app: App) -> None:
    """Not only producers and couriers: any member with a verified phone takes 밤톨 out to the bank."""
    c = await cast(app, topup=30_000)  # the shopper's phone is verified; 30,000원 in the wallet
    granny = Person(app.dialogue, "kakao", "s1", name="이할머니")
    await granny.send("/home")
    await granny.tap("내 지갑")
    await granny.tap("현금으로 찾기")
    assert "계좌가 아직 없어요" in granny.text
    await granny.tap("국민")
    await granny.send("940-21-0012-345")
    await granny.send("이할머니")
    assert "계좌를 등록했어요" in granny.text and "30,000원" in granny.text
    await granny.send("안 알려줄래")  # not an amount: asked again, nothing held
    assert "숫자" in granny.text
    await granny.tap("전부")
    assert "30,000원" in granny.text and "****-2345" in granny.text
    await granny.tap("출금 신청")
    assert "출금 신청을 받았어요" in granny.text
    async with app.db.unit_of_work() as uow:
        b = await wallet_queries.balances(app.services, uow, c.shopper)
        pending = await wallet_queries.pending_cashouts(uow)
    assert (b.btl, b.btl_available) == (30_000, 0)
    assert [(p.member_id, p.amount) for p in pending] == [(c.shopper, 30_000)]
    # The account is kept: the next cash-out starts from it.
    await granny.tap("내 지갑")
    await granny.tap("현금으로 찾기")
    assert "어느 계좌로" in granny.text and granny.find("****-2345")
    await _ledger_ok(app)


async def test_cash_out_waits_for_a_verified_phone(app: App) -> None:
    await cast(app)
    newcomer = Person(app.dialogue, "web", "w-new", name="새손님")
    await newcomer.send("/home")
    await newcomer.tap("내 지갑")
    assert "현금으로 찾기" not in [b.label for b in newcomer.buttons()]
    await newcomer.send(payload="pco")  # an old or hand-made button: the way to verify, nothing asked
    assert "전화번호 인증" in newcomer.text and newcomer.find("전화번호 인증하기")
    async with app.db.unit_of_work() as uow:
        assert await wallet_queries.pending_cashouts(uow) == []


async def test_stale_and_stray_input_gets_a_helpful_reply(app: App) -> None:
    c = await cast(app)
    farmer = Person(app.dialogue, "telegram", "101", name="김농부")
    shopper = Person(app.dialogue, "kakao", "s1", name="이할머니")
    # Buttons for steps that are not waiting, or for things that are not yours: said so, and a way on.
    for payload in ("psk:1", "pcat:3", "punit:0", "psame", "paok", "psok", "pcly:1", "pcoy:100", f"pst:{c.product}:x"):
        await farmer.send(payload=payload)
        assert "지나갔어요" in farmer.text, payload
    await shopper.send(payload=f"pst:{c.product}:5")  # not the shopper's product
    assert "지나갔어요" in shopper.text
    await shopper.send(payload="op")
    assert "운영자만" in shopper.text
    await shopper.send(payload="ct:1")  # not a courier, no such order: the core's kind refusal
    assert shopper.text
    courier = Person(app.dialogue, "kakao", "c1", name="박배달")
    await courier.send(payload="cpu:999")
    assert "지나갔어요" in courier.text
    async with app.db.unit_of_work() as uow:
        assert (await catalog.get(uow, c.product)).stock == 20
    # Typed text in every waiting state of the add-product flow is answered, never ignored.
    await farmer.send(payload="pa")
    for answer in ("배추", "아무거나"):
        await farmer.send(answer)
        assert farmer.text
    assert "버튼에서 골라" in farmer.text


async def test_a_refused_answer_keeps_the_step_waiting(app: App) -> None:
    await cast(app)
    farmer = Person(app.dialogue, "telegram", "101", name="김농부")
    await farmer.send(payload="pa")
    await farmer.send("배추")
    await farmer.tap("채소")
    await farmer.tap("1개")
    await farmer.send("0")  # a price the catalog refuses: the kind refusal, and the price is asked again
    assert "얼마인가요" not in farmer.text and farmer.text
    await farmer.send("3000")
    assert "몇 개" in farmer.text


async def test_work_screens_in_english(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        await members.set_preferences(uow, c.producer, lang="en")
        await uow.commit()
    farmer = Person(app.dialogue, "telegram", "101", name="김농부")
    await farmer.send(payload="ps")
    assert "new orders" in farmer.text
    await farmer.tap("My goods")
    await farmer.tap("사과")
    assert "Stock: 20" in farmer.text and "6,000 won" in farmer.text
