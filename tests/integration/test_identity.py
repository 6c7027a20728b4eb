"""Identity levels and the phone check, on SQLite and PostgreSQL: what each level allows, the codes'
bad inputs (expired, wrong, a flood to one number across members), the SMS sender, and the chat's
kind answers with the next step."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from bots.context import ChatConfig
from bots.dialogue import Dialogue
from bots.flows import build_router
from chestnut.bootstrap import App, batch_context
from commerce.errors import NotAllowed
from commerce.exchange import service as bnm_market
from commerce.members import identity
from commerce.members import service as members
from commerce.members.errors import (
    CodeExpired,
    CodeRequestedRecently,
    IdentityRequired,
    PhoneCodeLimit,
    SmsError,
    SmsNotConfigured,
)
from commerce.members.rows import Member
from commerce.members.sms import HttpSms, SmsRefused, SmsUnavailable
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.shops.errors import ShopNotVerified
from commerce.shops.rows import Product
from commerce.wallet import cashouts
from commerce.wallet import service as wallet
from ledger.storage.unit_of_work import UnitOfWork
from scheduler.wiring import run_batch
from tests.support.chat import ChatUser
from tests.support.community import advance
from tests.support.identity import verify_phone, verify_user
from tests.support.market import Cast, cast
from tests.support.sms_standin import API_KEY, SmsStandIn

MINUTE_MS, HOUR_MS = 60_000, 3_600_000


async def _fresh(app: App, name: str, *, topup: int = 0, operator: int | None = None) -> int:
    async with app.db.unit_of_work() as uow:
        m = await members.register(app.services, uow, channel="kakao", external_id=name, display_name="손님")
        if topup:
            assert operator is not None
            await wallet.topup_at_office(app.services, uow, operator, m.id, topup, receipt=f"R-{name}")
        await uow.commit()
    return m.id


async def _level(app: App, member_id: int) -> identity.Level:
    async with app.db.snapshot() as snap:
        return identity.level_of(await members.get(snap, member_id))


async def _size(app: App) -> int:
    async with app.db.snapshot() as snap:
        return int((await snap.fetch("SELECT size FROM ledger_head WHERE id = 1"))[0][0])


async def _count(app: App, table: str) -> int:
    async with app.db.snapshot() as snap:
        return int((await snap.fetch(f"SELECT COUNT(*) FROM {table}"))[0][0])


# ------------------------------------------------------------------------------------------- levels


async def test_levels_come_from_the_phone_and_the_roles_an_operator_gives(app: App) -> None:
    c = await cast(app)
    fresh = await _fresh(app, "new")
    assert await _level(app, fresh) == identity.UNVERIFIED
    await verify_phone(app, fresh, "010-2000-3000")
    assert await _level(app, fresh) == identity.PHONE
    assert await _level(app, c.shopper) == identity.PHONE  # the cast's shopper signed up by phone
    for operator_verified in (c.courier, c.producer, c.operator):  # grant_role, verify_shop, the first operator
        assert await _level(app, operator_verified) == identity.OPERATOR
    assert [level.code for level in identity.Level] == ["unverified", "phone", "operator"]


async def test_paying_needs_a_verified_phone_and_a_refusal_writes_nothing(app: App) -> None:
    c = await cast(app)
    m = app.services
    who = await _fresh(app, "unverified", topup=50_000, operator=c.operator)
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, who, c.product, 1)  # browsing and the cart need nothing
        await uow.commit()
    before = (await _size(app), await _count(app, "orders"))
    for attempt in ("checkout", "place"):
        with pytest.raises(IdentityRequired) as refused:
            async with app.db.unit_of_work() as uow:
                if attempt == "checkout":
                    await orders.checkout(m, uow, who, c.shop, expected_total=9_000, bnm_share=0)
                else:
                    await orders.place_order(m, uow, who, c.shop, expected_total=9_000)
        assert refused.value.code == "identity_required" and refused.value.http_status == 403
        assert refused.value.data == {
            "member": who,
            "needed": "phone",
            "have": "unverified",
            "action": "pay" if attempt == "checkout" else "order",
        }
    assert (await _size(app), await _count(app, "orders")) == before
    async with app.db.snapshot() as snap:
        assert (await catalog.get(snap, c.product)).stock == 20  # nothing was reserved

    await verify_phone(app, who, "010-2000-3001")
    async with app.db.unit_of_work() as uow:
        order = await orders.checkout(m, uow, who, c.shop, expected_total=9_000, bnm_share=0)
        await uow.commit()
    assert order.state == "paid"


async def test_cash_out_and_bnm_trades_need_a_verified_phone(app: App) -> None:
    c = await cast(app)
    m = app.services
    who = await _fresh(app, "saver", topup=30_000, operator=c.operator)
    async with app.db.unit_of_work() as uow:
        account = await cashouts.register_bank_account(m, uow, who, "004", "123-456-789012", "김손님")
        await uow.commit()
    calls = {
        "cashout": lambda uow: cashouts.request_cashout(m, uow, who, account.id, 10_000),
        "bnm_trade": lambda uow: bnm_market.place(m, uow, who, side="buy", amount=1_000, price=1_000),
    }
    for action, call in calls.items():
        with pytest.raises(IdentityRequired) as refused:
            async with app.db.unit_of_work() as uow:
                await call(uow)
        assert (refused.value.data["action"], refused.value.data["needed"]) == (action, "phone")
    await verify_phone(app, who, "010-2000-3002")
    async with app.db.unit_of_work() as uow:
        cashout = await cashouts.request_cashout(m, uow, who, account.id, 10_000)
        await uow.commit()
    assert cashout.status == "pending"


async def test_selling_needs_a_shop_the_office_approved(app: App) -> None:
    c = await cast(app)
    m = app.services
    owner = await _fresh(app, "stall")
    await verify_phone(app, owner, "010-2000-3003")  # a phone is not enough to sell

    async def add(uow: UnitOfWork, shop_id: int) -> Product:
        return await catalog.add_product(
            m, uow, owner, shop_id, name="배추", category="채소", unit="1포기", price=3000, stock=5,
            origin_region="강원 평창", origin_producer="박씨네",
        )  # fmt: skip

    async with app.db.unit_of_work() as uow:
        shop = await shops.open_shop(m, uow, owner, name="박씨네", kind="market_stall", region="수원시")
        await uow.commit()
    with pytest.raises(ShopNotVerified):
        async with app.db.unit_of_work() as uow:
            await add(uow, shop.id)
    assert await _level(app, owner) == identity.PHONE
    async with app.db.unit_of_work() as uow:
        await shops.verify_shop(m, uow, c.operator, shop.id)
        await add(uow, shop.id)
        await uow.commit()
    assert await _level(app, owner) == identity.OPERATOR  # the office saw the business: a producer now
    async with app.db.unit_of_work() as uow:
        await shops.verify_shop(m, uow, c.operator, shop.id, approve=False)  # suspended
        await uow.commit()
    with pytest.raises(ShopNotVerified):
        async with app.db.unit_of_work() as uow:
            await add(uow, shop.id)


# ------------------------------------------------------------------------------------ bad codes


async def test_an_expired_code_is_refused_and_a_new_one_works(app: App) -> None:
    m = app.services
    who = await _fresh(app, "slow")
    async with app.db.unit_of_work() as uow:
        code = await members.request_phone_code(m, uow, who, "010-3000-4000")
        await uow.commit()
    advance(app, m.rules.phone_code_ttl_s * 1000 + 1)
    with pytest.raises(CodeExpired):
        async with app.db.unit_of_work() as uow:
            await members.confirm_phone_code(m, uow, who, code)
    async with app.db.unit_of_work() as uow:
        fresh_code = await members.request_phone_code(m, uow, who, "010-3000-4000")
        wrong = "000000" if fresh_code != "000000" else "111111"
        assert (await members.confirm_phone_code(m, uow, who, wrong)).attempts_left == 4
        check = await members.confirm_phone_code(m, uow, who, fresh_code)
        await uow.commit()
    assert check.ok and check.member is not None and check.member.phone == "01030004000"


async def test_codes_to_one_number_are_limited_across_members(app: App) -> None:
    """At most five codes an hour to one number, whoever asks: nobody can text-bomb a stranger through us."""
    m = app.services
    askers = [await _fresh(app, f"asker-{i}") for i in range(7)]
    target = "010-4000-5000"
    for i, who in enumerate(askers[:5]):
        async with app.db.unit_of_work() as uow:
            await members.request_phone_code(m, uow, who, target)
            await uow.commit()
        if i == 0:
            advance(app, 10 * MINUTE_MS)
    with pytest.raises(PhoneCodeLimit) as refused:
        async with app.db.unit_of_work() as uow:
            await members.request_phone_code(m, uow, askers[5], "+82 10 4000 5000")  # however it is written
    assert refused.value.code == "verification_code_limit" and refused.value.http_status == 429
    assert refused.value.data["wait_s"] == 50 * 60  # when the first code of the hour ages out
    with pytest.raises(CodeRequestedRecently):  # one member again within the minute: the member's own limit
        async with app.db.unit_of_work() as uow:
            await members.request_phone_code(m, uow, askers[4], target)
    async with app.db.unit_of_work() as uow:  # another number is not affected
        await members.request_phone_code(m, uow, askers[5], "010-4000-5001")
        await uow.commit()
    advance(app, 50 * MINUTE_MS)
    async with app.db.unit_of_work() as uow:
        await members.request_phone_code(m, uow, askers[6], target)
        await uow.commit()
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT phone_hash FROM phone_code_sends")
    assert len(rows) == 6 and all(len(str(r[0])) == 64 for r in rows)  # hashes: no number kept here


async def test_housekeeping_forgets_code_sends_once_their_hour_is_over_and_the_limit_still_counts(app: App) -> None:
    m = app.services
    askers = [await _fresh(app, f"tidy-{i}") for i in range(6)]
    for who in askers[:4]:  # four codes to one number, then 40 minutes pass, then one more
        async with app.db.unit_of_work() as uow:
            await members.request_phone_code(m, uow, who, "010-4100-5100")
            await uow.commit()
    advance(app, 40 * MINUTE_MS)
    async with app.db.unit_of_work() as uow:
        await members.request_phone_code(m, uow, askers[4], "010-4100-5100")
        await uow.commit()
    advance(app, 25 * MINUTE_MS)  # the first four are more than an hour old; the fifth is 25 minutes old
    report = await run_batch(batch_context(app), "housekeeping")
    assert report.details["housekeeping"]["code_sends_forgotten"] == 4
    assert await _count(app, "phone_code_sends") == 1
    async with app.db.unit_of_work() as uow:  # the hour's limit still sees the one that is left: 2 of 5
        await members.request_phone_code(m, uow, askers[5], "010-4100-5100")
        await uow.commit()
    assert await _count(app, "phone_code_sends") == 2


async def test_askers_at_the_same_moment_cannot_pass_the_limit_together(app: App) -> None:
    m = app.services
    askers = [await _fresh(app, f"racer-{i}") for i in range(8)]

    async def ask(who: int) -> bool:
        try:
            async with app.db.unit_of_work() as uow:
                await members.request_phone_code(m, uow, who, "010-5000-6000")
                await uow.commit()
        except PhoneCodeLimit:
            return False
        return True

    results = await asyncio.gather(*(ask(who) for who in askers))
    assert sum(results) == m.rules.phone_codes_per_hour == 5


# ------------------------------------------------------------------------------------------- SMS


async def test_without_an_sms_sender_a_code_is_only_handed_back_for_development(app: App) -> None:
    who = await _fresh(app, "no-sms")
    with pytest.raises(SmsNotConfigured):
        async with app.db.unit_of_work() as uow:
            await identity.send_phone_code(app.services, uow, who, "010-6000-7000")
    assert await _count(app, "phone_code_sends") == 0
    async with app.db.unit_of_work() as uow:
        code = await identity.send_phone_code(app.services, uow, who, "010-6000-7000", reveal=True)
        await uow.commit()
    assert code is not None and len(code) == 6 and code.isdigit()


async def test_codes_go_out_by_sms_and_a_failed_send_uses_up_nothing(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    standin = SmsStandIn()
    await standin.start()
    caplog.set_level(logging.DEBUG)
    try:
        async with aiohttp.ClientSession() as session:
            app.services.sms = HttpSms(session, standin.url, API_KEY, timeout_s=5)
            who = await _fresh(app, "by-sms")
            for status, error in ((503, SmsUnavailable), (400, SmsRefused)):
                standin.fail_next(status)
                with pytest.raises(error):
                    async with app.db.unit_of_work() as uow:
                        await identity.send_phone_code(app.services, uow, who, "010-7000-8000")
            assert await _count(app, "phone_code_sends") == 0 and await _count(app, "phone_codes") == 0
            async with app.db.unit_of_work() as uow:
                assert await identity.send_phone_code(app.services, uow, who, "010-7000-8000", reveal=True) is None
                await uow.commit()
            code = standin.code_for("01070008000")
            async with app.db.unit_of_work() as uow:
                check = await members.confirm_phone_code(app.services, uow, who, code)
                await uow.commit()
            assert check.ok

            app.services.sms = HttpSms(session, standin.url, "a-wrong-key")
            other = await _fresh(app, "by-sms-2")
            with pytest.raises(SmsError) as refused:
                async with app.db.unit_of_work() as uow:
                    await identity.send_phone_code(app.services, uow, other, "010-7000-8001")
            assert refused.value.code == "sms_failed"
            assert "a-wrong-key" not in repr(app.services.sms)
    finally:
        app.services.sms = None
        await standin.stop()
    gone = standin.url
    async with aiohttp.ClientSession() as session:  # nobody listens there any more
        with pytest.raises(SmsUnavailable):
            await HttpSms(session, gone, API_KEY, timeout_s=2).send("01070008002", "hello")
    logged = caplog.text
    assert "01070008000" not in logged and "7000-8000" not in logged and code not in logged


# ------------------------------------------------------------------------------------------ chat


async def _to_confirmation(user: ChatUser) -> None:
    await user.send("/start")
    for label in ("장보기", "못골시장", "김씨네 과수원", "사과", "1개 담기"):
        await user.tap(label)


async def _kakao_user(app: App, c: Cast, user_id: str, *, topup: int = 50_000) -> ChatUser:
    user = ChatUser(app.dialogue, "kakao", user_id)
    await user.send("/start")
    if topup:
        async with app.db.unit_of_work() as uow:
            me = await members.by_identity(uow, "kakao", user_id)
            assert me is not None
            await wallet.topup_at_office(app.services, uow, c.operator, me.id, topup, receipt=f"R-{user_id}")
            await uow.commit()
    return user


async def test_an_unverified_shopper_verifies_at_the_confirmation_and_comes_back_to_it(app: App) -> None:
    c = await cast(app)
    user = await _kakao_user(app, c, "k-new")
    await _to_confirmation(user)
    assert "김씨네 과수원 주문 확인" in user.text and "합계: 9,000원" in user.text  # every won still shown
    assert "결제하려면 전화번호 인증이 필요해요" in user.text
    assert not [b for b in user.buttons() if "결제하기" in b.label]
    assert "휴대폰 번호를 적어 주세요" in user.text  # asked right on the confirmation
    await user.send("010-8000-9000")
    code = user.text.split("인증번호: ")[1][:6]  # test: shown in the chat (no SMS sender)
    await user.send(code)
    assert "전화번호가 등록됐어요" in user.text and "김씨네 과수원 주문 확인" in user.text
    await user.send("수원시 팔달구 매산로 1, 101동 1203호")  # the one thing still missing: where it goes
    await user.tap("맞아요, 집 주소로 저장")
    await user.tap("9,000원 결제하기")
    assert "결제됐어요" in user.text


async def test_a_payment_refused_for_want_of_a_phone_is_kind_and_leads_back(app: App) -> None:
    c = await cast(app)
    user = await _kakao_user(app, c, "k-stale")
    await _to_confirmation(user)
    before = await _size(app)
    # A pay button from before (an old screen): refused, nothing charged, the next step offered.
    await user.send(payload=f"ok:{c.shop}:0:9000:abcdef1234")
    assert "전화번호 인증을 한 뒤에 할 수 있어요" in user.text
    assert user.find("전화번호 인증하기").payload == f"phone:pay:{c.shop}"
    assert await _size(app) == before
    async with app.db.snapshot() as snap:
        me = await members.by_identity(snap, "kakao", "k-stale")
        assert me is not None and await order_queries.list_for_buyer(snap, me.id) == []


async def test_a_flood_to_one_number_and_a_second_request_in_a_minute_are_explained(app: App) -> None:
    c = await cast(app)
    others = [await _fresh(app, f"flooder-{i}") for i in range(5)]
    async with app.db.unit_of_work() as uow:
        for who in others:
            await members.request_phone_code(app.services, uow, who, "010-1212-3434")
        await uow.commit()
    user = await _kakao_user(app, c, "k-flood", topup=0)
    await user.tap("더보기")
    await user.tap("전화번호 등록")
    await user.send("010-1212-3434")
    assert "이 번호로 인증번호를 너무 여러 번 보냈어요. 60분 뒤에" in user.text
    assert user.find("사람과 이야기")
    await user.send("010-1212-5656")  # still waiting for a number: another one works
    assert "인증번호:" in user.text
    await user.tap("번호 다시 받기")
    await user.send("010-1212-5656")
    assert "방금 번호를 보냈어요. 60초 뒤에" in user.text


async def test_an_expired_code_in_the_chat_offers_a_new_one(app: App) -> None:
    c = await cast(app)
    user = await _kakao_user(app, c, "k-late", topup=0)
    await _to_confirmation(user)
    await user.send("010-2323-4545")
    code = user.text.split("인증번호: ")[1][:6]
    advance(app, 11 * MINUTE_MS)
    await user.send(code)
    assert "인증번호가 만료됐어요" in user.text
    await user.tap("전화번호 등록")  # a new code, and still back to the order afterwards
    await user.send("010-2323-4545")
    await user.send(user.text.split("인증번호: ")[1][:6])
    assert "전화번호가 등록됐어요" in user.text and "주문 확인" in user.text


async def test_production_without_sms_offers_telegram_or_the_office(app: App) -> None:
    await cast(app)
    production = Dialogue(
        app.db,
        app.services,
        app.search_index,
        build_router(),
        ChatConfig(office_phone="031-123-4567", bot_username="chestnut_bot"),
    )
    user = ChatUser(production, "kakao", "k-prod")
    await user.send("/start")
    await user.tap("더보기")
    await user.tap("전화번호 등록")
    assert "지금은 문자로 인증번호를 보낼 수 없어요" in user.text
    assert user.find("전화하기").phone == "031-123-4567"
    assert user.find("텔레그램에서 인증하기").url == "https://t.me/chestnut_bot"
    await user.send("010-3434-5656")  # typed anyway: no code is made, the same kind answer
    assert "인증번호" not in user.text or "보낼 수 없어요" in user.text
    assert await _count(app, "phone_codes") == 0
    telegram = ChatUser(production, "telegram", "7007")
    await telegram.send("/start")
    await telegram.tap("더보기")
    await telegram.tap("전화번호 등록")
    assert [b for b in telegram.buttons() if b.share_contact]  # Telegram's own button still works


async def test_the_wallet_shows_the_identity_level(app: App) -> None:
    c = await cast(app)
    levels = {"k-unverified": "인증 전", "s1": "전화번호 인증됨", "c1": "시장 사무실 확인됨"}
    for user_id, word in levels.items():
        user = ChatUser(app.dialogue, "kakao", user_id)
        await user.send("/start")
        await user.tap("내 지갑")
        assert f"🪪 인증 단계: {word}" in user.text
        assert bool([b for b in user.buttons() if "전화번호 인증하기" in b.label]) == (user_id == "k-unverified")
    del c


async def test_english_says_the_same_kindly(app: App) -> None:
    c = await cast(app)
    user = ChatUser(app.dialogue, "web", "w-en", "Visitor")
    await user.send("/start", lang_hint="en")
    for label in ("Shop", "못골시장", "김씨네 과수원", "사과", "Add 1"):
        await user.tap(label)
    assert "To pay, please verify your phone number first" in user.text
    await user.send(payload=f"ok:{c.shop}:0:9000:abcdef1234")
    assert "This needs a verified phone number first" in user.text
    await user.tap("Verify my phone")
    assert "Please type your mobile number" in user.text
    await user.send("010-4545-6767")
    assert "(test) Your code:" in user.text
    await user.tap("Home")  # the menu's way out works from the code step
    await verify_user(app, user)
    await user.tap("My wallet")
    assert "🪪 Verification: phone verified" in user.text


def test_levels_order_and_require() -> None:
    member = Member(1, "a", None, frozenset({"shopper"}), "ko", 0, "active", None, None)
    with pytest.raises(IdentityRequired):
        identity.require(member, identity.PHONE, action="pay")
    assert identity.require(member, identity.UNVERIFIED, action="browse") is member
    courier = Member(2, "b", None, frozenset({"shopper", "courier"}), "ko", 0, "active", None, None)
    assert identity.require(courier, identity.PHONE, action="pay") is courier  # the office saw them


async def test_the_market_office_checks_a_phone_at_the_counter(app: App) -> None:
    """Production without SMS: a Kakao member shows their handset at the office; the operator records it."""
    c = await cast(app)
    who = await _fresh(app, "k-counter")
    office = ChatUser(app.dialogue, "web", "op", "사무장")  # the cast's operator
    await office.send("/start")
    await office.send(payload="op")
    await office.tap("전화번호 확인")
    await office.send(str(who))
    assert f"(회원 {who})" in office.text
    await office.send("010-99")  # a wrong number: said kindly, the step still waits
    assert "다시 한 번" in office.text
    await office.send("010-5656-7878")
    assert "010-****-7878" in office.text
    await office.tap("번호 등록")
    assert "전화번호를 등록했어요" in office.text
    assert await _level(app, who) == identity.PHONE
    with pytest.raises(NotAllowed):  # only an operator records a phone for someone else
        async with app.db.unit_of_work() as uow:
            await identity.phone_checked_at_office(app.services, uow, c.shopper, who, "010-5656-7879")
