"""Recommendations on SQLite and PostgreSQL: the commission is paid only when the order settles, from the
shop's proceeds, inside the settlement entry; cancelled and refunded orders pay nothing; a commission over
50 % and a link to a product no longer sold are refused; a purchase outside the window earns nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from ads.signals import signals
from chestnut.bootstrap import App
from commerce.errors import InvalidInput
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.orders import settlement
from commerce.orders.payment import escrow
from commerce.shops import catalog
from community import referrals
from tests.support.community import (
    FEE_DELIVERY,
    HOUR_MS,
    PRICE,
    advance,
    btl,
    buy,
    deliver_and_confirm,
    recommender,
    settle,
    verified,
)
from tests.support.market import cast


@pytest.fixture(autouse=True)
async def _ledger_verifies_after_each_test(app: App) -> AsyncIterator[None]:
    yield
    await verified(app)


async def test_the_commission_is_paid_at_settlement_from_the_shops_proceeds(app: App) -> None:
    c = await cast(app)
    r = await recommender(app, c, commission_bp=500)
    order = await buy(app, c, r)
    assert await btl(app, r) == 0  # nothing before settlement
    await deliver_and_confirm(app, c, order.id)
    producer_before = await btl(app, c.producer)
    async with app.db.unit_of_work() as uow:
        settled = await settlement.settle_order(app.services, uow, order.id)
        await uow.commit()
    goods = 2 * PRICE
    commission = goods * 500 // 10_000  # 600
    fee = goods * 150 // 10_000
    assert await btl(app, r) == commission
    assert await btl(app, c.producer) - producer_before == goods - fee - commission
    async with app.db.snapshot() as snap:
        rows = await snap.fetch(
            "SELECT seq, debit, amount FROM ledger_transfers WHERE id = :t", {"t": f"order-{order.id}-referral"}
        )
        earned = await referrals.earnings(snap, r)
    assert rows and int(rows[0][0]) == settled.settled_seq  # inside the one settlement entry
    assert rows[0][1] == escrow(order.id, "BTL")
    assert earned.referral_btl == commission


async def test_cancelled_and_refunded_orders_pay_no_commission(app: App) -> None:
    c = await cast(app)
    r = await recommender(app, c, commission_bp=1000)
    cancelled = await buy(app, c, r, qty=1)
    refunded = await buy(app, c, r, qty=1)
    async with app.db.unit_of_work() as uow:
        await orders.cancel_order(app.services, uow, c.shopper, cancelled.id)
        await settlement.refund_order(app.services, uow, c.operator, refunded.id, reason="상했어요")
        await uow.commit()
    async with app.db.snapshot() as snap:
        due = await snap.fetch("SELECT COUNT(*) FROM order_payees WHERE member_id = :r AND status = 'due'", {"r": r})
        earned = await referrals.earnings(snap, r)
    assert int(due[0][0]) == 2  # both were attributed …
    assert await btl(app, r) == 0  # … and neither ever settles, so nothing is paid
    assert (earned.referral_btl, earned.pending_orders) == (0, 0)


async def test_a_commission_over_half_is_refused_and_changes_nothing(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        size = (await app.ledger.head(uow)).size
        with pytest.raises(referrals.CommissionTooHigh) as refused:
            await referrals.set_commission(app.services, uow, c.producer, c.shop, 5001)
        assert refused.value.code == "referral_commission_too_high"
        assert refused.value.data["max_bp"] == 5000
        with pytest.raises(InvalidInput):
            await referrals.set_commission(app.services, uow, c.producer, c.shop, -1)
        assert (await app.ledger.head(uow)).size == size
        shop = await referrals.set_commission(app.services, uow, c.producer, c.shop, 5000)
        assert shop.referral_bp == 5000
        await uow.commit()


async def test_a_link_to_a_product_no_longer_sold_is_refused(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        r = await members.register(app.services, uow, channel="kakao", external_id="r1", display_name="최추천")
        await catalog.set_active(app.services, uow, c.producer, c.product, active=False)
        await uow.commit()
    async with app.db.unit_of_work() as uow:
        with pytest.raises(referrals.ProductNotShared) as refused:
            await referrals.share(app.services, uow, r.id, c.product)
        assert refused.value.code == "referral_product_not_sold"
        rows = await uow.fetch("SELECT COUNT(*) FROM referral_links")
        assert int(rows[0][0]) == 0
    assert referrals.is_link("r7p12") and referrals.is_link("r" + "A" * 22)
    assert not referrals.is_link("r7x12") and not referrals.is_link("p12") and not referrals.is_link("r" + "A" * 21)


async def test_links_and_the_window(app: App) -> None:
    c = await cast(app)
    r = await recommender(app, c, commission_bp=300)
    async with app.db.unit_of_work() as uow:
        again = await referrals.share(
            app.services, uow, r, c.product, bot_username="@chestnut_bot", public_url="https://x.kr/"
        )
        await uow.commit()
    assert not again.first
    assert re.fullmatch(r"r[A-Za-z0-9_\-]{22}", again.payload)
    assert again.telegram == f"https://t.me/chestnut_bot?start={again.payload}"
    assert again.web == f"https://x.kr/chat?start={again.payload}"
    assert again.web in again.kakao_text and "사과" in again.kakao_text
    advance(app, 15 * 24 * HOUR_MS)  # the window is 14 days after the last share
    late = await buy(app, c, r, qty=1)
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT COUNT(*) FROM order_payees WHERE order_id = :o", {"o": late.id})
        raised = await signals(snap, member_id=r)
    assert int(rows[0][0]) == 0 and raised == []


async def test_the_settlement_batch_pays_the_commission_in_the_same_entry(app: App) -> None:
    from chestnut.bootstrap import batch_context
    from scheduler.wiring import run_batch

    c = await cast(app)
    r = await recommender(app, c, commission_bp=1000)
    order = await buy(app, c, r, qty=1)
    plain = await buy(app, c, None, qty=1)
    await deliver_and_confirm(app, c, order.id)
    await deliver_and_confirm(app, c, plain.id)
    await run_batch(batch_context(app), "settlement", "2026-12-03T10")
    async with app.db.snapshot() as snap:
        settled = await order_queries.get(snap, order.id)
        rows = await snap.fetch("SELECT seq, amount FROM ledger_transfers WHERE id LIKE :t", {"t": "order-%-referral"})
    assert settled.state == "settled"
    assert [(int(s), int(a)) for s, a in rows] == [(settled.settled_seq, PRICE * 1000 // 10_000)]
    assert await btl(app, r) == PRICE // 10


async def test_a_recommendation_by_chat_from_share_to_settled_commission(app: App) -> None:
    from dataclasses import replace

    from tests.support.chat import ChatUser

    c = await cast(app)
    farmer = ChatUser(app.dialogue, "telegram", "101", "김농부")  # the shop's owner sets the commission by chat
    await farmer.send(f"/start p{c.product}")
    await farmer.tap("댓글·추천")
    await farmer.tap("친구에게 추천")
    await farmer.tap("추천 수수료 정하기")
    await farmer.tap("5%")
    assert "5%로 정했어요" in farmer.text
    app.dialogue.config = replace(app.dialogue.config, bot_username="chestnut_bot", public_url="https://bam.coop")
    friend = ChatUser(app.dialogue, "telegram", "777", "최추천")
    await friend.send("/start")
    advance(app, 2 * HOUR_MS)
    async with app.db.snapshot() as snap:
        found = await members.by_identity(snap, "telegram", "777")
    assert found is not None
    await friend.send(f"/start p{c.product}")
    await friend.tap("댓글·추천")
    await friend.tap("친구에게 추천")
    shown = re.search(r"https://bam\.coop/chat\?start=(r[A-Za-z0-9_\-]{22})", friend.text)
    assert shown is not None
    link = shown.group(1)
    # The link names neither the member nor their number (a random token may hold their digits by chance).
    assert not re.fullmatch(r"r\d+p\d+", link) and f"r{found.id}p" not in link
    assert "5%" in friend.text and "14일" in friend.text
    assert any(b.url and "t.me%2Fchestnut_bot%3Fstart%3D" + link in b.url for b in friend.buttons())

    grandma = ChatUser(app.dialogue, "kakao", "s1", "이할머니")
    await grandma.send(f"/start {link}")  # the link opens the product card
    await grandma.tap("1개 담기")
    await grandma.tap("9,000원 결제하기")
    assert "결제됐어요" in grandma.text
    async with app.db.snapshot() as snap:
        (order,) = await order_queries.list_for_buyer(snap, c.shopper)
    assert order.referrer_id == found.id
    await deliver_and_confirm(app, c, order.id)
    async with app.db.unit_of_work() as uow:
        await settlement.settle_order(app.services, uow, order.id)
        await uow.commit()
    await friend.tap("물건으로")
    await friend.tap("댓글·추천")
    await friend.tap("친구에게 추천")
    await friend.tap("추천으로 번 돈")
    assert "추천 수수료: 300원" in friend.text


async def test_an_order_paid_without_the_chat_credits_its_recommender_as_the_chat_does(app: App) -> None:
    """Paying attributes the recommendation in its own transaction, whoever asks for it: an order placed
    and paid by calling the services (as an HTTP client or a script would) credits the recommender
    exactly as the same order bought through the chat's link does."""
    from tests.support.chat import ChatUser

    c = await cast(app)
    r = await recommender(app, c, commission_bp=500)
    async with app.db.unit_of_work() as uow:
        link = (await referrals.share(app.services, uow, r, c.product)).payload
        await uow.commit()
    grandma = ChatUser(app.dialogue, "kakao", "s1", "이할머니")
    await grandma.send(f"/start {link}")
    await grandma.tap("1개 담기")
    await grandma.tap("9,000원 결제하기")
    assert "결제됐어요" in grandma.text
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(app.services, uow, c.shopper, c.product, 1)
        placed = await orders.place_order(
            app.services, uow, c.shopper, c.shop, expected_total=PRICE + FEE_DELIVERY, referrer_id=r
        )
        await orders.pay_order(app.services, uow, c.shopper, placed.id, bnm_share=0)
        await uow.commit()
    async with app.db.snapshot() as snap:
        by_chat, direct = sorted(await order_queries.list_for_buyer(snap, c.shopper), key=lambda o: o.id)
        payees = await snap.fetch(
            "SELECT order_id, role, member_id, bp, status, reason FROM order_payees ORDER BY order_id"
        )
    assert direct.id == placed.id and by_chat.referrer_id == direct.referrer_id == r
    assert [int(p[0]) for p in payees] == [by_chat.id, direct.id]
    assert payees[0][1:] == payees[1][1:] and payees[1][1:4] == ("referral", r, 500)
    assert payees[1][4] == "due"
    for order in (by_chat, direct):
        await deliver_and_confirm(app, c, order.id)
        await settle(app, order.id)
    async with app.db.snapshot() as snap:
        paid = await snap.fetch(
            "SELECT id, amount FROM ledger_transfers WHERE id LIKE :t ORDER BY id", {"t": "order-%-referral"}
        )
    assert sorted((str(i), int(a)) for i, a in paid) == sorted(
        (f"order-{o.id}-referral", PRICE * 500 // 10_000) for o in (by_chat, direct)
    )
    assert await btl(app, r) == 2 * PRICE * 500 // 10_000


async def test_a_link_to_a_product_no_longer_sold_by_chat(app: App) -> None:
    from tests.support.chat import ChatUser

    c = await cast(app)
    r = await recommender(app, c)
    async with app.db.unit_of_work() as uow:
        await catalog.set_active(app.services, uow, c.producer, c.product, active=False)
        await uow.commit()
    grandma = ChatUser(app.dialogue, "kakao", "s1", "이할머니")
    await grandma.send(f"/start r{r}p{c.product}")
    assert "품절" in grandma.text
    assert not [b for b in grandma.buttons() if "담기" in b.label]  # nothing to buy through it
    await grandma.tap("댓글·추천")
    assert not [b for b in grandma.buttons() if "추천" in b.label and "댓글" not in b.label]


async def test_a_link_names_no_member_and_old_links_credit_only_real_shares(app: App) -> None:
    """New links carry an unguessable token; an ``r<member>p<product>`` link shared before tokens still
    credits that member, and a made-up one opens the product crediting nobody."""
    c = await cast(app)
    r = await recommender(app, c)
    async with app.db.unit_of_work() as uow:
        share = await referrals.share(app.services, uow, r, c.product, public_url="https://x.kr")
        other = await members.register(app.services, uow, channel="kakao", external_id="r2", display_name="박추천")
        second = await referrals.share(app.services, uow, other.id, c.product, public_url="https://x.kr")
        await uow.commit()
    for made in (share, second):
        assert f"r{r}p" not in made.web and f"r{other.id}p" not in made.web
    assert share.payload != second.payload
    async with app.db.snapshot() as snap:
        assert await referrals.resolve(snap, share.payload) == referrals.Opened(c.product, r)
        assert await referrals.resolve(snap, second.payload) == referrals.Opened(c.product, other.id)
        assert await referrals.resolve(snap, "r" + "A" * 22) is None  # a guessed token finds nobody
        # Shared before links carried tokens: the old link keeps crediting its member.
    async with app.db.unit_of_work() as uow:
        await uow.execute("UPDATE referral_links SET legacy = 1 WHERE referrer_id = :m", {"m": r})
        await uow.commit()
    async with app.db.snapshot() as snap:
        assert await referrals.resolve(snap, f"r{r}p{c.product}") == referrals.Opened(c.product, r)
        # The same shape for a member who shared only by token, or never: the product, nobody credited.
        assert await referrals.resolve(snap, f"r{other.id}p{c.product}") == referrals.Opened(c.product, None)
        assert await referrals.resolve(snap, f"r999999p{c.product}") == referrals.Opened(c.product, None)
