"""Abuse rules on scripted abuse, and no false positive on the demo market's honest history (both databases)."""

from __future__ import annotations

import pytest

from chestnut.bootstrap import App
from chestnut.demo import build_demo
from commerce.claims import service as claims
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.members import service as members
from commerce.orders import service as orders
from commerce.reviews import queries as review_queries
from commerce.reviews import service as reviews
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.trust import abuse
from commerce.trust import queries as trust_queries
from commerce.trust.standing import load_facts, reputation
from commerce.wallet import service as wallet
from ledger.errors import ChestnutError
from ledger.model import decode_entry_json
from tests.support.identity import verify
from tests.support.market import Cast, cast


async def _deliver(app: App, c: Cast, buyer: int, owner: int, products: list[int]) -> int:
    """One order of ``products`` from their shop, paid, delivered by the cast's courier."""
    m = app.services
    async with app.db.unit_of_work() as uow:
        for pid in products:
            await orders.add_to_cart(m, uow, buyer, pid, 1)
        shop_id = (await catalog.get(uow, products[0])).shop_id
        q = await orders.quote(m, uow, buyer, shop_id, bnm_share=0)
        order = await orders.place_order(m, uow, buyer, shop_id, expected_total=q.total)
        await orders.pay_order(m, uow, buyer, order.id, bnm_share=0)
        await orders.accept_order(m, uow, owner, order.id)
        await delivery.assign_courier(m, uow, owner, order.id, c.courier)
        await delivery.confirm_pickup(m, uow, c.courier, order.id)
        code = await delivery_queries.delivery_code(uow, buyer, order.id)
        await delivery.confirm_delivery(m, uow, c.courier, order.id, code)
        await uow.commit()
    return order.id


async def _products(app: App, c: Cast, owner: int, shop: int, n: int) -> list[int]:
    async with app.db.unit_of_work() as uow:
        out = []
        for i in range(n):
            p = await catalog.add_product(
                app.services,
                uow,
                owner,
                shop,
                name=f"배{i}",
                category="과일",
                unit="1kg",
                price=5000,
                stock=100,
                origin_region="경기",
                origin_producer="과수원",
            )
            out.append(p.id)
        await uow.commit()
    return out


async def _shopper(app: App, c: Cast, name: str) -> int:
    async with app.db.unit_of_work() as uow:
        m = await verify(
            app,
            uow,
            (await members.register(app.services, uow, channel="kakao", external_id=name, display_name="손님")).id,
        )
        await wallet.topup_at_office(app.services, uow, c.operator, m.id, 200_000, receipt=f"R-{name}")
        await uow.commit()
    return m.id


async def test_the_demo_markets_honest_history_raises_no_case(app: App) -> None:
    await build_demo(app.services, app.db, shoppers=30)
    async with app.db.unit_of_work() as uow:
        facts = await load_facts(uow)
        assert facts.reviews and facts.claims  # there is history to judge
        assert abuse.findings(facts) == []
        assert await abuse.scan(app.services, uow) == []
        await uow.commit()
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT COUNT(*) FROM reviews WHERE status = 'held'")
        assert int(rows[0][0]) == 0


async def test_a_burst_of_copied_reviews_is_held_explained_appealed_and_released(app: App) -> None:
    c = await cast(app)
    spam = await _products(app, c, c.producer, c.shop, 5)
    order = await _deliver(app, c, c.shopper, c.producer, spam)
    m = app.services
    async with app.db.unit_of_work() as uow:
        for pid in spam:
            await reviews.post_review(m, uow, c.shopper, order, pid, rating=5, text="최고예요!! 무조건 사세요 ^^")
        await uow.commit()
    async with app.db.unit_of_work() as uow:
        opened = await abuse.scan(m, uow)
        await uow.commit()
    rules = {(x.rule, x.outcome) for x in opened}
    assert ("review_burst", "hold_review") in rules
    assert ("copy_paste", "hold_review") in rules
    assert ("review_spam", "withhold_reward") in rules
    async with app.db.unit_of_work() as uow:
        # Every piece of evidence is a review.post entry on the ledger, by this member.
        burst = next(x for x in opened if x.rule == "review_burst")
        me = await members.get(uow, c.shopper)
        key = await m.keys.get(uow, me.key_label)
        for seq in burst.evidence["reviews"]:
            signed = decode_entry_json(await m.ledger.entry(uow, seq))["signed"]
            assert signed["kind"] == "review.post"
            assert signed["actor"] == __import__("base64").b64encode(key.public_key).decode()
        hold_entry = decode_entry_json(await m.ledger.entry(uow, burst.seq))["signed"]
        assert hold_entry["kind"] == "abuse.hold" and hold_entry["body"]["rule"] == "review_burst"
        # Held reviews leave the product's page and the shop's stars, on our tables and on the ledger.
        assert await review_queries.reviews_for_product(uow, spam[0]) == []
        assert (await review_queries.rating_summary(uow, shop_id=c.shop)).count == 0
        assert reputation(await load_facts(uow), c.shop).rating.count == 0
        # The member is told why, and their rewards wait.
        told = await trust_queries.notices(uow, c.shopper)
        assert told and all(n.reason for n in told)
        assert "10분" in burst.reason
        assert await trust_queries.rewards_withheld(uow, c.shopper) is not None
        # Nobody else may appeal for them; the member may, once.
        with pytest.raises(ChestnutError) as refused:
            await abuse.appeal(m, uow, c.producer, burst.id, "제가 대신")
        assert refused.value.code == "not_allowed"
        appealed = await abuse.appeal(m, uow, c.shopper, burst.id, "정말 다 맛있어서 그랬어요")
        assert appealed.status == "appealed"
        released = await abuse.decide(m, uow, c.operator, burst.id, release=True)
        assert released.status == "released"
        await uow.commit()
    async with app.db.unit_of_work() as uow:
        review_id = int(burst.subject.split(":")[1])
        assert (await review_queries.get(uow, review_id)).status == "visible"
        # A second scan opens nothing new (one case per rule, member and subject).
        assert await abuse.scan(m, uow) == []
        await uow.commit()


async def test_a_review_of_a_shop_the_reviewer_delivers_for_is_held(app: App) -> None:
    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        await wallet.topup_at_office(app.services, uow, c.operator, c.courier, 50_000, receipt="R-c")
        await uow.commit()
    await _deliver(app, c, c.shopper, c.producer, [c.product])  # the courier now delivers for the shop
    order = await _deliver(app, c, c.courier, c.producer, [c.product])
    async with app.db.unit_of_work() as uow:
        await reviews.post_review(app.services, uow, c.courier, order, c.product, rating=5, text="좋아요")
        opened = await abuse.scan(app.services, uow)
        await uow.commit()
    tied = [x for x in opened if x.rule == "tied_reviewer"]
    assert len(tied) == 1 and tied[0].member_id == c.courier
    assert tied[0].evidence["tie"] == "courier" and tied[0].evidence["deliveries"]


async def test_habitual_returns_need_the_offices_approval_for_further_claims(app: App) -> None:
    c = await cast(app)
    m = app.services
    async with app.db.unit_of_work() as uow:
        owner2 = await members.register(m, uow, channel="kakao", external_id="p2", display_name="박농부")
        shop2 = await shops.open_shop(
            m, uow, owner2.id, name="박씨네", kind="farm", region="수원시", market_name="못골시장", delivery_fee=3000
        )
        await shops.verify_shop(m, uow, c.operator, shop2.id)
        await uow.commit()
    (other,) = await _products(app, c, owner2.id, shop2.id, 1)
    for i in range(9):  # the honest market: nine delivered orders, no claim
        await _deliver(app, c, await _shopper(app, c, f"h{i}"), c.producer, [c.product])
    taker = await _shopper(app, c, "taker")
    taken = [
        await _deliver(app, c, taker, c.producer, [c.product]),
        await _deliver(app, c, taker, owner2.id, [other]),
        await _deliver(app, c, taker, c.producer, [c.product]),
    ]
    spare = await _deliver(app, c, taker, owner2.id, [other])
    async with app.db.unit_of_work() as uow:
        for order in taken:
            await claims.open_claim(m, uow, taker, order, kind="quality", text="별로예요")
        opened = await abuse.scan(m, uow)
        await uow.commit()
    (case,) = [x for x in opened if x.rule == "habitual_returns"]
    assert case.member_id == taker and case.outcome == "claims_need_approval"
    assert len(case.evidence["claims"]) == 3 and case.evidence["market_rate_bp"] < case.evidence["claim_rate_bp"]
    async with app.db.unit_of_work() as uow:
        with pytest.raises(ChestnutError) as refused:
            await claims.open_claim(m, uow, taker, spare, kind="quality", text="또 별로예요")
        assert refused.value.code == "claims_need_approval"
        assert "사무실" in refused.value.message
    async with app.db.unit_of_work() as uow:
        await abuse.decide(m, uow, c.operator, case.id, release=True)
        await claims.open_claim(m, uow, taker, spare, kind="quality", text="이번엔 진짜예요")
        await uow.commit()
