"""Comments on a product and the brokering reward (SQLite and PostgreSQL): validated text signed with its
hash, questions answered, a credited comment's author paid only when the order settles, never twice."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from chestnut.bootstrap import App
from commerce.errors import InvalidInput, InvalidState
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.shops import catalog
from community import comments, referrals
from tests.support.community import (
    FEE_DELIVERY,
    HOUR_MS,
    PRICE,
    advance,
    btl,
    buy,
    deliver_and_confirm,
    member,
    settle,
    verified,
)
from tests.support.market import cast


@pytest.fixture(autouse=True)
async def _ledger_verifies_after_each_test(app: App) -> AsyncIterator[None]:
    yield
    await verified(app)


async def test_comments_are_validated_signed_with_their_hash_and_listed(app: App) -> None:
    c = await cast(app)
    neighbour = await member(app, "옆집")
    m = app.services
    async with app.db.unit_of_work() as uow:
        for bad in ("", "   ", "a\x00b", "가" * 501):
            with pytest.raises(InvalidInput):
                await comments.post(m, uow, neighbour, c.product, kind="tip", text=bad)
        with pytest.raises(InvalidInput):
            await comments.post(m, uow, neighbour, c.product, kind="rant", text="좋아요")
        question = await comments.post(m, uow, c.shopper, c.product, kind="question", text="많이 단가요?")
        with pytest.raises(InvalidInput):  # an answer needs a question of this product
            await comments.post(m, uow, neighbour, c.product, kind="answer", text="네")
        answer = await comments.post(
            m, uow, neighbour, c.product, kind="answer", text="아주 달아요\n아삭해요", reply_to=question.id
        )
        entry = await app.ledger.entry(uow, answer.seq)
        await uow.commit()
    digest = hashlib.sha256("아주 달아요\n아삭해요".encode()).hexdigest()
    assert digest == answer.text_hash and digest.encode() in entry
    assert "아주".encode() not in entry  # the ledger has the hash, not the words
    async with app.db.snapshot() as snap:
        listed = await comments.for_product(snap, c.product)
        assert [x.id for x in listed] == [answer.id, question.id]
        assert listed[0].author == "옆집" and listed[0].reply_to == question.id
        assert await comments.count(snap, c.product) == 2


async def test_no_comment_on_a_product_no_longer_sold(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        await catalog.set_active(app.services, uow, c.producer, c.product, active=False)
        await uow.commit()
    async with app.db.unit_of_work() as uow:
        with pytest.raises(referrals.ProductNotShared):
            await comments.post(app.services, uow, c.shopper, c.product, kind="tip", text="좋아요")


async def test_a_credited_comment_earns_the_brokering_reward_at_settlement_only(app: App) -> None:
    c = await cast(app)
    author = await member(app, "단골")
    advance(app, 2 * HOUR_MS)
    async with app.db.unit_of_work() as uow:
        tip = await comments.post(app.services, uow, author, c.product, kind="tip", text="잼 만들기 좋아요")
        creditable = await comments.creditable(uow, c.shopper, [c.product])
        await uow.commit()
    assert [x.id for x in creditable] == [tip.id]
    order = await buy(app, c, comment=tip.id)
    cancelled = await buy(app, c, comment=tip.id, qty=1)
    async with app.db.unit_of_work() as uow:
        again = await comments.credit(app.services, uow, c.shopper, order.id, tip.id)  # a double tap: same answer
        assert again.status == "due"
        await orders.cancel_order(app.services, uow, c.shopper, cancelled.id)
        await uow.commit()
    assert await btl(app, author) == 0
    await deliver_and_confirm(app, c, order.id)
    settled = await settle(app, order.id)
    reward = 2 * PRICE * 200 // 10_000  # 2 % by default
    assert await btl(app, author) == reward
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT seq FROM ledger_transfers WHERE id LIKE :t", {"t": "order-%-broker"})
        earned = await referrals.earnings(snap, author)
    assert [int(r[0]) for r in rows] == [settled.settled_seq]  # the cancelled order paid nothing
    assert earned.broker_btl == reward


async def test_a_comment_credited_when_paying_without_the_chat_is_credited_in_that_transaction(app: App) -> None:
    """Paying with a comment credits it in the paying transaction, however the order is paid (here the
    services called directly: placed, then paid)."""
    c = await cast(app)
    author = await member(app, "단골")
    advance(app, 2 * HOUR_MS)
    async with app.db.unit_of_work() as uow:
        tip = await comments.post(app.services, uow, author, c.product, kind="tip", text="잼 만들기 좋아요")
        await orders.add_to_cart(app.services, uow, c.shopper, c.product, 2)
        placed = await orders.place_order(app.services, uow, c.shopper, c.shop, expected_total=2 * PRICE + FEE_DELIVERY)
        await orders.pay_order(app.services, uow, c.shopper, placed.id, bnm_share=0, comment_id=tip.id)
        await uow.commit()
    async with app.db.snapshot() as snap:
        rows = await snap.fetch(
            "SELECT role, member_id, status, source FROM order_payees WHERE order_id = :o", {"o": placed.id}
        )
    assert [tuple(r) for r in rows] == [("broker", author, "due", tip.id)]
    await deliver_and_confirm(app, c, placed.id)
    await settle(app, placed.id)
    assert await btl(app, author) == 2 * PRICE * 200 // 10_000


async def test_crediting_is_refused_for_other_products_twice_or_after_checkout(app: App) -> None:
    c = await cast(app)
    author = await member(app, "단골")
    async with app.db.unit_of_work() as uow:
        pear = await catalog.add_product(
            app.services, uow, c.producer, c.shop, name="배", category="과일", unit="1개", price=3000, stock=5,
            origin_region="나주", origin_producer="김씨네",
        )  # fmt: skip
        on_pear = await comments.post(app.services, uow, author, pear.id, kind="tip", text="시원해요")
        on_apple = await comments.post(app.services, uow, author, c.product, kind="tip", text="달아요")
        other = await comments.post(app.services, uow, author, c.product, kind="tip", text="아삭해요")
        await uow.commit()
    order = await buy(app, c)
    async with app.db.unit_of_work() as uow:
        with pytest.raises(InvalidInput):
            await comments.credit(app.services, uow, c.shopper, order.id, on_pear.id)
        with pytest.raises(comments.UnknownComment):
            await comments.credit(app.services, uow, c.shopper, order.id, 999_999)
        await comments.credit(app.services, uow, c.shopper, order.id, on_apple.id)
        with pytest.raises(InvalidState):
            await comments.credit(app.services, uow, c.shopper, order.id, other.id)
        await uow.commit()
    await deliver_and_confirm(app, c, order.id)
    late = await buy(app, c, qty=1)
    await deliver_and_confirm(app, c, late.id)
    async with app.db.unit_of_work() as uow:
        with pytest.raises(InvalidState):
            await comments.credit(app.services, uow, c.shopper, late.id, on_apple.id)


async def test_a_comment_by_chat_credited_at_the_confirmation_earns_at_settlement(app: App) -> None:
    from tests.support.chat import ChatUser

    c = await cast(app)
    neighbour = ChatUser(app.dialogue, "telegram", "888", "옆집")
    await neighbour.send("/start")
    advance(app, 2 * HOUR_MS)
    await neighbour.send(f"/start p{c.product}")
    await neighbour.tap("댓글·추천")
    assert "아직 댓글이 없어요" in neighbour.text
    await neighbour.tap("팁 남기기")
    await neighbour.send("껍질째 드시면 더 달아요")
    assert "댓글이 올라갔어요" in neighbour.text and "껍질째" in neighbour.text

    grandma = ChatUser(app.dialogue, "kakao", "s1", "이할머니")
    await grandma.send(f"/start p{c.product}")
    assert "댓글 1개" in grandma.text and "껍질째" in grandma.text  # shown on the product card
    await grandma.tap("2개 담기")
    await grandma.tap("이 댓글 덕분에 샀어요")
    await grandma.tap("껍질째")
    assert "옆집님의 댓글 덕분에" in grandma.text and "합계: 15,000원" in grandma.text
    await grandma.tap("15,000원 결제하기")
    assert "결제됐어요" in grandma.text
    async with app.db.snapshot() as snap:
        (order,) = await order_queries.list_for_buyer(snap, c.shopper)
        rows = await snap.fetch("SELECT role, status FROM order_payees WHERE order_id = :o", {"o": order.id})
    assert [tuple(r) for r in rows] == [("broker", "due")]
    await deliver_and_confirm(app, c, order.id)
    await settle(app, order.id)
    assert await btl(app, c.shopper) == 100_000 - 15_000  # the buyer paid the same
    neighbour_id = await _member(app, "telegram", "888")
    assert await btl(app, neighbour_id) == 2 * PRICE * 200 // 10_000


async def _member(app: App, channel: str, external_id: str) -> int:
    from commerce.members import service as members

    async with app.db.snapshot() as snap:
        found = await members.by_identity(snap, channel, external_id)
    assert found is not None
    return found.id
