"""Where orders go, by chat, on both databases: choosing and adding addresses, who receives, windows,
pickup, the shop's side (the order card, handing over, its hours), the courier's board and route, and
every bad answer refused kindly with nothing written."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from bots.dialogue import FloodGate
from chestnut.bootstrap import App
from commerce.delivery import addresses, fulfilment
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.wallet import service as wallet
from tests.support.chat import ChatUser
from tests.support.identity import verify
from tests.support.market import Cast, cast


@pytest.fixture
def app(app: App) -> App:
    seconds = itertools.count()  # people take a second or more per tap
    config = app.dialogue.config
    app.dialogue.flood = FloodGate(config.flood_burst, config.flood_window_s, clock=lambda: float(next(seconds)))
    return app


async def written(app: App) -> dict[str, Any]:
    """What a refused answer must leave as it was."""
    async with app.db.snapshot() as snap:
        return {
            "size": (await app.ledger.head(snap)).size,
            **{
                t: await snap.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")
                for t in ("orders", "addresses", "cart_choices", "order_addresses", "deliveries")
            },
        }


async def at_confirmation(app: App, c: Cast, user: ChatUser) -> None:
    await user.send("/start")
    for label in ("장보기", "못골시장", "김씨네 과수원", "사과", "1개 담기"):
        await user.tap(label)


async def test_a_second_address_for_a_parent_with_its_own_recipient(app: App) -> None:
    c = await cast(app)
    grandma = ChatUser(app.dialogue, "kakao", "s1", "이할머니")
    await at_confirmation(app, c, grandma)
    assert "받는 곳 (집): 경기 수원시 팔달구 매산로 1 101동 1203호" in grandma.text
    await grandma.tap("받는 곳·시간 바꾸기")
    await grandma.tap("다른 주소")
    await grandma.tap("새 주소 더하기")
    await grandma.send("수원시 권선구 세권로 7\n2층")  # the street, then the 동/호수 on a second line
    assert "수원시 권선구 세권로 7 2층" in grandma.text and "경기 수원시 권선구" in grandma.text
    await grandma.tap("딸네 집 주소로 저장")
    assert "받는 곳 (딸네 집): 수원시 권선구 세권로 7 2층" in grandma.text
    await grandma.tap("받는 곳·시간 바꾸기")
    await grandma.tap("받는 분 바꾸기")
    await grandma.send("이영자 010-5555-6666")
    assert "받는 분: 이영자 010-5555-6666" in grandma.text
    await grandma.tap("9,000원 결제하기")
    assert "결제됐어요" in grandma.text
    async with app.db.snapshot() as snap:
        (order,) = await order_queries.list_for_buyer(snap, c.shopper)
        seen = await fulfilment.for_order(snap, c.producer, order.id)
    assert (seen.label, seen.full(), seen.recipient_name, seen.recipient_phone) == (
        "딸네 집",
        "수원시 권선구 세권로 7 2층",
        "이영자",
        "01055556666",
    )


async def test_bad_addresses_windows_and_pickups_are_refused_kindly_and_change_nothing(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        other = await members.register(app.services, uow, channel="kakao", external_id="o1", display_name="남")
        await verify(app, uow, other.id)
        (theirs,) = await addresses.list_for(uow, other.id)
        await uow.commit()
    grandma = ChatUser(app.dialogue, "kakao", "s1", "이할머니")
    await at_confirmation(app, c, grandma)
    await grandma.tap("받는 곳·시간 바꾸기")
    await grandma.tap("다른 주소")
    await grandma.tap("새 주소 더하기")
    before = await written(app)
    for typed, said in (
        ("!!!???", "주소에 글자가 없어요"),
        ("망원동 12-3", "구·시·군을 넣어서"),
        ("가" * 201, "주소가 너무 길어요"),
        ("부산 중구 자갈치해안로 52", "배달하는 곳: 수원시"),
    ):
        await grandma.send(typed)
        assert said in grandma.text, grandma.text
        assert [b for b in grandma.last.replies[0].all_buttons], "a refusal offers the next step"  # type: ignore[union-attr]
        assert await written(app) == before
    # Buttons no screen offered (old or hand-made): another member's address, a window long gone,
    # a window at night, a pickup this shop does not offer.
    for payload, said in (
        (f"dsa:{c.shop}:{theirs.id}", "그 주소는 찾을 수 없어요"),
        (f"dw:{c.shop}:29000000:29000600", "그 시간은 고를 수 없어요"),
        (f"dpk:{c.shop}:s", "찾아가기를 받지 않아요"),
    ):
        await grandma.send(payload=payload)
        assert said in grandma.text, grandma.text
        assert await written(app) == before


async def test_collecting_at_the_shop_costs_no_delivery_and_the_shop_hands_it_over_by_code(app: App) -> None:
    c = await cast(app)
    farmer = ChatUser(app.dialogue, "telegram", "101", "김농부")
    await farmer.send("/start")
    await farmer.tap("더보기")
    await farmer.tap("영업·배달 시간")
    await farmer.tap("찾아가기 받기")
    assert "가게에서 찾아가기: 받아요" in farmer.text
    await farmer.tap("배달 시간대 바꾸기")
    await farmer.tap("오전 · 오후")
    assert "배달 시간대: 오전 · 오후" in farmer.text

    grandma = ChatUser(app.dialogue, "kakao", "s1", "이할머니")
    await at_confirmation(app, c, grandma)
    await grandma.tap("받는 곳·시간 바꾸기")
    await grandma.tap("가게에서 찾아갈게요")
    assert "가게에서 찾아가요: 김씨네 과수원" in grandma.text and "배달비: 0원" in grandma.text
    await grandma.tap("6,000원 결제하기")
    assert "찾으러 가실 때 이 번호를 보여 주세요" in grandma.text
    code = grandma.text.split("🔑 ")[1][:6]

    await farmer.send(payload="po")
    await farmer.tap("주문 #")
    assert "손님이 찾아가는 주문이에요" in farmer.text
    await farmer.tap("손님께 드렸어요")
    await farmer.send("123456" if code != "123456" else "654321")
    assert "2번 더" in farmer.text
    await farmer.send(code)
    assert "손님께 드렸어요" in farmer.text
    async with app.db.snapshot() as snap:
        (order,) = await order_queries.list_for_buyer(snap, c.shopper)
        board = await delivery_queries.board(snap, area=None)
    assert order.state == "delivered" and order.delivery_fee == 0 and board.jobs == ()


async def test_the_courier_board_pages_shows_districts_then_the_address_once_taken(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        await catalog.update_stock(app.services, uow, c.producer, c.product, stock=100)
        await members.set_preferences(uow, c.courier, region="수원시")
        await uow.commit()
    buyers = []
    for i in range(7):
        async with app.db.unit_of_work() as uow:
            buyer = await members.register(
                app.services, uow, channel="kakao", external_id=f"b{i}", display_name=f"손{i}"
            )
            await verify(app, uow, buyer.id)
            await wallet.topup_at_office(app.services, uow, c.operator, buyer.id, 20_000, receipt=f"B-{i}")
            await orders.add_to_cart(app.services, uow, buyer.id, c.product, 1)
            await orders.checkout(app.services, uow, buyer.id, c.shop, expected_total=9_000, bnm_share=0)
            await uow.commit()
        buyers.append(buyer.id)
    rider = ChatUser(app.dialogue, "kakao", "c1", "박배달")
    await rider.send("/start")
    await rider.tap("배달 일감")
    assert "배달 일감 (수원시) — 1쪽" in rider.text and "경기 수원시 팔달구" in rider.text
    assert "매산로" not in rider.text  # the street only once the job is taken
    assert len([b for b in rider.buttons() if "맡기" in b.label]) == 5
    await rider.tap("다음 ▶")
    assert "2쪽" in rider.text and len([b for b in rider.buttons() if "맡기" in b.label]) == 2
    await rider.tap("맡기")
    assert "매산로 1 101동 1203호" in rider.text and rider.find("님께 전화").phone
    await rider.tap("내 배달")
    assert "가는 순서" in rider.text and "매산로" in rider.text and rider.find("님께 전화").phone


async def test_a_job_taken_by_someone_else_meanwhile_is_explained_with_a_way_on(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(app.services, uow, c.shopper, c.product, 1)
        order = await orders.checkout(app.services, uow, c.shopper, c.shop, expected_total=9_000, bnm_share=0)
        rival = await members.register(app.services, uow, channel="kakao", external_id="c2", display_name="최")
        await members.grant_role(app.services, uow, c.operator, rival.id, "courier")
        await uow.commit()
    rider = ChatUser(app.dialogue, "kakao", "c1", "박배달")
    await rider.send("/start")
    await rider.tap("배달 일감")
    async with app.db.unit_of_work() as uow:
        await delivery.take_job(app.services, uow, rival.id, order.id)
        await uow.commit()
    await rider.tap("맡기")
    assert "이미 맡겨진 일이에요" in rider.text and rider.find("배달 일감")


async def test_a_shop_in_another_area_asks_where_and_names_its_areas(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        shop = await shops.get(uow, c.shop)
        await uow.execute("UPDATE shops SET delivery_regions = '서울 마포구' WHERE id = :s", {"s": shop.id})
        await uow.commit()
    grandma = ChatUser(app.dialogue, "kakao", "s1", "이할머니")
    await at_confirmation(app, c, grandma)
    assert "어디로 보내 드릴까요" in grandma.text  # her saved address is outside: no preselection
    assert not [b for b in grandma.buttons() if "결제하기" in b.label]


async def test_a_pay_button_from_before_a_cart_change_shows_the_new_confirmation_not_a_price_change(
    app: App,
) -> None:
    c = await cast(app)
    grandma = ChatUser(app.dialogue, "kakao", "s1", "이할머니")
    await at_confirmation(app, c, grandma)
    old_pay = grandma.find("9,000원 결제하기").payload
    await grandma.tap("더 담기")
    await grandma.tap("사과")
    await grandma.tap("1개 담기")  # the cart changed: two bags now, prices as they were
    assert grandma.find("15,000원 결제하기")
    before = await written(app)
    await grandma.send(payload=old_pay)
    assert "주문 내용이 바뀌어서 다시 보여 드려요" in grandma.text and "가격이 바뀌었어요" not in grandma.text
    assert "합계: 15,000원" in grandma.text and await written(app) == before
    await grandma.tap("15,000원 결제하기")
    assert "결제됐어요" in grandma.text


async def test_a_shared_location_outside_the_shops_area_or_any_district_is_refused(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        member = await members.register(app.services, uow, channel="telegram", external_id="t9", display_name="순자")
        await verify(app, uow, member.id, address=False)
        await wallet.topup_at_office(app.services, uow, c.operator, member.id, 20_000, receipt="T-9")
        await uow.commit()
    grandma = ChatUser(app.dialogue, "telegram", "t9", "순자")
    await at_confirmation(app, c, grandma)
    assert "지금 위치 보내기" in grandma.text  # the hint names the location button it means
    before = await written(app)
    await grandma.send(location=(35.0967, 129.0306))  # 자갈치시장, 부산: not where this shop delivers
    assert "배달하는 곳: 수원시" in grandma.text and await written(app) == before
    await grandma.send(location=(36.5, 127.9))  # the middle of the country: no district known near
    assert "어느 동네인지 알 수 없어요" in grandma.text and await written(app) == before
    await grandma.send(location=(37.2790, 127.0203))  # at home
    assert "받는 곳 (집): 공유한 위치 (경기 수원시 팔달구)" in grandma.text
