"""The 밤나무 market in the chat, end to end through the dialogue core on SQLite and PostgreSQL.

Two people trade by buttons only (tests/support/chat.py taps by label, and checks every screen for at
most six choices and a way home): a seller puts 밤나무 up from the wallet screen at a price suggested
from the reference, a shopper buys part of it "바로 사기" at the price the book offers, both see
exactly what they pay and get before confirming, the seller cancels the rest. A double tap places
once, a self-trade is refused with a way back, and the ledger verifies at the end.
"""

from __future__ import annotations

from bots.messages import Incoming
from chestnut.bootstrap import App
from commerce.exchange import queries
from commerce.members import service as members
from commerce.wallet import queries as wallet_queries
from ledger.model import Transfer
from ledger.requests import Request
from ledger.verify import verify_ledger
from tests.support.chat import ChatUser
from tests.support.identity import verify_user
from tests.support.market import cast

NOON_KST = 1_798_729_200_000 + 12 * 3_600_000


async def _give_bnm(app: App, member_id: int, units: int) -> None:
    async with app.db.unit_of_work() as uow:
        await app.ledger.record(
            uow,
            Request(
                actor="system:operator",
                kind="bnm.contribution",
                transfers=[
                    Transfer(f"bnm-{member_id}", "treasury:bnm", members.wallet(member_id, "BNM"), units, "BNM")
                ],
            ),
        )
        await uow.commit()


async def _open_market(user: ChatUser) -> None:
    await user.send("/start")
    await user.tap("내 지갑")
    await user.tap("밤나무 사고팔기")


async def test_members_trade_bamnamu_with_buttons_only(app: App) -> None:
    c = await cast(app)  # the shopper (kakao "s1") has 100,000원 of 밤톨
    app.services.clock = lambda: NOON_KST
    farmer = ChatUser(app.dialogue, "telegram", "777", "밤나무 농부")
    await farmer.send("/start")
    seller_id = (await verify_user(app, farmer)).id
    await _give_bnm(app, seller_id, 20_000)  # 20 BNM

    # The seller: wallet → market → sell 5 BNM a bit above the reference price.
    await _open_market(farmer)
    assert "기준가: 1,000원" in farmer.text and "내 밤나무 20.000 BNM" in farmer.text
    await farmer.tap("밤나무 팔기")
    await farmer.tap("5.000 BNM")
    assert "700원 ~ 1,300원" in farmer.text  # today's band, said before a price is chosen
    await farmer.tap("조금 비싸게 1,050원")
    assert "내실 것: 밤나무 5.000 BNM" in farmer.text
    assert "받으실 돈: 밤톨 최소 5,250원" in farmer.text
    assert "남는 5.000 BNM는 1,050원에" in farmer.text
    await farmer.tap("주문하기")
    assert "주문했어요" in farmer.text and "5.000 BNM는 1,050원에 기다리는 중" in farmer.text

    # The shopper: buy 1 BNM at once, at the price the book offers.
    grandma = ChatUser(app.dialogue, "kakao", "s1", "이할머니")
    await _open_market(grandma)
    await grandma.tap("밤나무 사기")
    await grandma.tap("1.000 BNM")
    await grandma.tap("바로 사기 1,050원")
    assert "내실 돈: 밤톨 최대 1,050원" in grandma.text
    assert "받으실 것: 밤나무 1.000 BNM" in grandma.text
    assert "지금 바로 거래: 1.000 BNM (1,050원)" in grandma.text
    confirm = grandma.find("주문하기")
    await grandma.tap("주문하기")
    assert "바로 거래됐어요: 1.000 BNM (1,050원)" in grandma.text

    # A second tap of the same confirmation places nothing more.
    assert confirm.payload is not None
    await app.dialogue.handle(Incoming("kakao", "s1", "이할머니", payload=confirm.payload, key="again-1"))
    async with app.db.snapshot() as snap:
        trades = await queries.trades_since(snap)
        mine = await wallet_queries.balances(app.services, snap, c.shopper)
        theirs = await wallet_queries.balances(app.services, snap, seller_id)
    assert [(t.price, t.units) for t in trades] == [(1_050, 1_000)]
    assert (mine.btl, mine.bnm_units) == (100_000 - 1_050, 1_000)
    assert (theirs.btl, theirs.bnm_units) == (1_050, 15_000)  # 4 BNM of the order still in the escrow

    # The price screen now shows today's trading.
    await grandma.tap("밤나무 시세")
    assert "오늘: 최고 1,050원 · 최저 1,050원 · 마지막 1,050원" in grandma.text

    # The seller cannot buy from himself: refused kindly, with the way back into the market.
    await farmer.tap("밤나무 시세")
    await farmer.tap("밤나무 사기")
    await farmer.tap("1.000 BNM")
    await farmer.tap("바로 사기 1,050원")
    await farmer.tap("주문하기")
    assert "내가 낸 주문과는 거래할 수 없어요" in farmer.text
    await farmer.tap("내 밤나무 주문")
    assert "#1 팔기 5.000 BNM · 1,050원 (남은 4.000 BNM)" in farmer.text
    await farmer.tap("#1 취소")
    assert "돌려받은 것: 4.000 BNM" in farmer.text
    async with app.db.snapshot() as snap:
        theirs = await wallet_queries.balances(app.services, snap, seller_id)
        assert await queries.open_orders(snap, seller_id) == []
    assert (theirs.bnm_units, theirs.bnm_available) == (19_000, 19_000)

    report = await verify_ledger(app.db, app.settings.ledger_origin, workers=0)
    assert report.ok, report.problem


async def test_english_and_nothing_to_sell(app: App) -> None:
    await cast(app)
    app.services.clock = lambda: NOON_KST
    visitor = ChatUser(app.dialogue, "web", "w-1", "Visitor")
    await visitor.send("/start", lang_hint="en")
    await verify_user(app, visitor)
    await visitor.send("🌰 Bamnamu price")  # the typed menu label leads to the market too
    assert "Reference price: 1,000 won" in visitor.text
    await visitor.tap("Sell Bamnamu")
    assert "no Bamnamu to sell" in visitor.text
    await visitor.tap("Buy Bamnamu")
    await visitor.tap("10.000 BNM")
    await visitor.tap("Reference 1,000 won")
    await visitor.tap("Place the order")
    assert "more than you have" in visitor.text  # 0 Bamtol: refused, with a top-up button
    await visitor.tap("How to top up")
    assert "cash at the market office" in visitor.text
