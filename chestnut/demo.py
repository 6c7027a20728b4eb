"""``chestnut demo``: a believable market, made through the same services a chat would call.

Four traditional markets, dozens of shops with their products and origins, hundreds of members with
cash top-ups, couriers, and orders in every state — so a new user has something to look at after
``make run``. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from commerce.claims import service as claims
from commerce.delivery import addresses
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.orders import settlement
from commerce.provenance import service as provenance
from commerce.reviews import service as reviews
from commerce.services import Services
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.wallet import service as wallet
from ledger.errors import ChestnutError
from ledger.storage.unit_of_work import Database, UnitOfWork

MARKETS = {
    "못골시장": "수원시",
    "망원시장": "서울 마포구",
    "통인시장": "서울 종로구",
    "자갈치시장": "부산 중구",
}

# A street near each market, for the demo shoppers' home addresses (made up, in the market's district).
STREETS = {
    "수원시": "경기 수원시 팔달구 정조로",
    "서울 마포구": "서울 마포구 망원로",
    "서울 종로구": "서울 종로구 자하문로",
    "부산 중구": "부산 중구 자갈치해안로",
}
# (shop name, kind, market, [(product, category, unit, price, origin region, origin producer, certifications)])
SHOPS: list[tuple[str, str, str, list[tuple[str, str, str, int, str, str, tuple[str, ...]]]]] = [
    (
        "청송사과농원",
        "farm",
        "못골시장",
        [
            ("부사 사과", "과일", "2kg", 18_000, "경북 청송", "청송사과농원", ("GAP",)),
            ("홍로 사과", "과일", "2kg", 16_000, "경북 청송", "청송사과농원", ("GAP",)),
            ("사과즙", "가공식품", "30포", 25_000, "경북 청송", "청송사과농원", ()),
        ],
    ),
    (
        "해남고구마밭",
        "farm",
        "망원시장",
        [
            ("호박고구마", "채소", "3kg", 15_000, "전남 해남", "해남고구마밭", ("무농약",)),
            ("밤고구마", "채소", "3kg", 14_000, "전남 해남", "해남고구마밭", ()),
        ],
    ),
    (
        "영희네 채소",
        "market_stall",
        "못골시장",
        [
            ("시금치", "채소", "한 단", 3_000, "경기 남양주", "영희네 밭", ()),
            ("대파", "채소", "한 단", 2_500, "경기 남양주", "영희네 밭", ()),
            ("애호박", "채소", "1개", 1_500, "경기 이천", "이천 하우스", ()),
            ("깐마늘", "채소", "500g", 7_000, "경북 의성", "의성 마늘농가", ()),
        ],
    ),
    (
        "자갈치 동해수산",
        "fishery",
        "자갈치시장",
        [
            ("고등어", "수산", "2마리", 9_000, "부산 앞바다", "동해호", ()),
            ("갈치", "수산", "1마리", 15_000, "제주 서귀포", "은갈치호", ()),
            ("오징어", "수산", "3마리", 12_000, "강원 주문진", "주문진 3호", ()),
            ("멸치", "수산", "500g", 11_000, "경남 통영", "통영 멸치선단", ()),
        ],
    ),
    (
        "통인 반찬가게",
        "market_stall",
        "통인시장",
        [
            ("배추김치", "반찬", "1kg", 12_000, "서울 종로구", "통인 반찬가게", ("HACCP",)),
            ("멸치볶음", "반찬", "200g", 5_000, "서울 종로구", "통인 반찬가게", ()),
            ("깻잎장아찌", "반찬", "300g", 6_000, "서울 종로구", "통인 반찬가게", ()),
        ],
    ),
    (
        "망원 정육점",
        "market_stall",
        "망원시장",
        [
            ("한우 불고기", "정육", "500g", 28_000, "전북 정읍", "정읍 한우농가", ("1++",)),
            ("돼지 앞다리", "정육", "1kg", 16_000, "충남 홍성", "홍성 양돈", ()),
        ],
    ),
    (
        "이천 쌀방앗간",
        "farm",
        "못골시장",
        [
            ("이천 쌀", "곡물", "10kg", 38_000, "경기 이천", "이천 쌀방앗간", ("GAP",)),
            ("현미", "곡물", "4kg", 17_000, "경기 이천", "이천 쌀방앗간", ()),
            ("찹쌀", "곡물", "4kg", 19_000, "경기 이천", "이천 쌀방앗간", ()),
        ],
    ),
    (
        "골목 철물점",
        "alley_shop",
        "망원시장",
        [
            ("고무장갑", "생활용품", "1켤레", 2_000, "경기 부천", "한성고무", ()),
            ("스테인리스 냄비", "생활용품", "20cm", 32_000, "경기 김포", "김포주방", ("KC",)),
        ],
    ),
    (
        "제주 귤밭",
        "farm",
        "통인시장",
        [
            ("노지 감귤", "과일", "5kg", 22_000, "제주 서귀포", "효돈 귤밭", ()),
            ("한라봉", "과일", "3kg", 35_000, "제주 서귀포", "효돈 귤밭", ("GAP",)),
        ],
    ),
    (
        "부산 어묵공방",
        "alley_shop",
        "자갈치시장",
        [
            ("수제 어묵", "가공식품", "1kg", 13_000, "부산 영도구", "영도 공방", ("HACCP",)),
            ("어묵탕 세트", "가공식품", "2인분", 9_000, "부산 영도구", "영도 공방", ()),
        ],
    ),
]

# More stalls, so every market has a row of them: (shop suffix, kind, goods) per market.
STALL_TEMPLATES: list[tuple[str, str, list[tuple[str, str, str, int, str, str, tuple[str, ...]]]]] = [
    (
        "네 과일가게",
        "market_stall",
        [
            ("배", "과일", "3kg", 24_000, "전남 나주", "나주 배농원", ()),
            ("단감", "과일", "2kg", 13_000, "경남 진영", "진영 단감농가", ()),
        ],
    ),
    (
        "네 건어물",
        "market_stall",
        [
            ("황태채", "수산", "300g", 12_000, "강원 인제", "용대리 덕장", ()),
            ("마른 오징어", "수산", "5마리", 25_000, "경북 울릉", "울릉 건조장", ()),
        ],
    ),
    (
        "네 떡집",
        "alley_shop",
        [
            ("가래떡", "가공식품", "1kg", 8_000, "경기 여주", "여주 쌀", ()),
            ("인절미", "가공식품", "500g", 7_000, "경기 여주", "여주 쌀", ()),
        ],
    ),
    (
        "네 두부집",
        "alley_shop",
        [
            ("손두부", "가공식품", "1모", 4_000, "강원 홍천", "홍천 콩농가", ("무농약",)),
            ("순두부", "가공식품", "400g", 3_000, "강원 홍천", "홍천 콩농가", ()),
        ],
    ),
    (
        "네 참기름집",
        "alley_shop",
        [
            ("참기름", "가공식품", "350ml", 18_000, "경북 안동", "안동 참깨농가", ()),
            ("들기름", "가공식품", "350ml", 16_000, "경북 안동", "안동 들깨농가", ()),
        ],
    ),
]

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ["영희", "철수", "순자", "영수", "말순", "정희", "민준", "서연", "옥자", "복순", "동수", "미경", "광수", "춘자"]


@dataclass
class DemoReport:
    markets: int = 0
    shops: int = 0
    products: int = 0
    members: int = 0
    couriers: int = 0
    orders_by_state: dict[str, int] = field(default_factory=dict)
    reviews: int = 0
    claims: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "markets": self.markets,
            "shops": self.shops,
            "products": self.products,
            "members": self.members,
            "couriers": self.couriers,
            "orders_by_state": self.orders_by_state,
            "reviews": self.reviews,
            "claims": self.claims,
        }


async def is_empty(db: Database) -> bool:
    async with db.snapshot() as snap:
        rows = await snap.fetch("SELECT COUNT(*) FROM members")
    return int(rows[0][0]) == 0


async def build_demo(
    market: Services,
    db: Database,
    *,
    shoppers: int = 240,
    seed: int = 2018,
    progress: Callable[[int, int], None] | None = None,
) -> DemoReport:
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    report = DemoReport(markets=len(MARKETS))
    steps = 4 + shoppers // 40
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, steps)

    async with db.unit_of_work() as uow:
        office = await members.register(
            market, uow, channel="web", external_id="demo-office", display_name="시장 사무실"
        )
        office = await members.make_operator(market, uow, office.id)
        shop_ids: list[tuple[int, int, list[int]]] = []
        stalls = list(SHOPS)
        for m_index, market_name in enumerate(MARKETS):
            for t_index, (suffix, kind, goods) in enumerate(STALL_TEMPLATES):
                if (m_index + t_index) % 5 < 4:  # most markets have most kinds of stall
                    stalls.append(
                        (SURNAMES[(m_index * 5 + t_index) % len(SURNAMES)] + "씨" + suffix, kind, market_name, goods)
                    )
        for i, (name, kind, market_name, goods) in enumerate(stalls):
            owner = await members.register(
                market, uow, channel="telegram", external_id=f"demo-producer-{i}", display_name=name + " 사장님"
            )
            region = MARKETS[market_name]
            shop = await shops.open_shop(
                market,
                uow,
                owner.id,
                name=name,
                kind=kind,
                region=region,
                market_name=market_name,
                phone=f"010{rng.randrange(10**7, 10**8)}",
                bnm_max_share=rng.choice([0, 10, 20, 30, 50]),
                delivery_fee=rng.choice([2_500, 3_000, 3_500]),
                referral_bp=rng.choice([0, 300, 500]),
            )
            await shops.verify_shop(market, uow, office.id, shop.id)
            product_ids = []
            for product, category, unit, price, origin_region, producer, certs in goods:
                p = await catalog.add_product(
                    market,
                    uow,
                    owner.id,
                    shop.id,
                    name=product,
                    category=category,
                    unit=unit,
                    price=price,
                    stock=rng.randrange(20, 200),
                    origin_region=origin_region,
                    origin_producer=producer,
                    certifications=certs,
                    produced_on=f"2026-11-{rng.randrange(1, 24):02d}",
                )
                product_ids.append(p.id)
                first_stage = "harvested" if kind in ("farm", "fishery") else "processed"
                await provenance.record_event(
                    market, uow, owner.id, p.id, stage=first_stage, note=f"{origin_region}에서"
                )
                await provenance.record_event(market, uow, owner.id, p.id, stage="packed", note="오늘 아침 포장")
            shop_ids.append((shop.id, owner.id, product_ids))
        report.shops = len(shop_ids)
        report.products = sum(len(p) for _s, _o, p in shop_ids)
        couriers = []
        for i in range(8):
            courier = await members.register(
                market, uow, channel="kakao", external_id=f"demo-courier-{i}", display_name=f"{SURNAMES[i]}기사"
            )
            await members.grant_role(market, uow, office.id, courier.id, "courier")
            couriers.append(courier.id)
        report.couriers = len(couriers)
        await uow.commit()
    tick()

    shopper_ids: list[int] = []
    for start in range(0, shoppers, 40):
        async with db.unit_of_work() as uow:
            for i in range(start, min(shoppers, start + 40)):
                name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                member = await members.register(
                    market,
                    uow,
                    channel=rng.choice(["kakao", "kakao", "telegram", "web"]),
                    external_id=f"demo-shopper-{i}",
                    display_name=name,
                )
                region = rng.choice(list(MARKETS.values()))
                await members.set_preferences(uow, member.id, region=region, bnm_share_pref=0)
                # Demo shoppers signed up with their phone (paying needs one): made-up numbers, one each.
                await members.verified_phone(market, uow, member.id, f"0108{i:07d}")
                await addresses.add(
                    market,
                    uow,
                    member.id,
                    label="집",
                    text=f"{STREETS[region]} {rng.randrange(1, 200)}",
                    detail=f"{rng.randrange(101, 110)}동 {rng.randrange(1, 15)}0{rng.randrange(1, 5)}호",
                )
                await wallet.topup_at_office(
                    market, uow, office.id, member.id, rng.choice([30_000, 50_000, 100_000]), receipt=f"demo-{i}"
                )
                shopper_ids.append(member.id)
            await uow.commit()
        tick()

    # Orders in every state: the lifecycle is walked as far as each order's chosen end state.
    ends = ["placed", "paid", "accepted", "picked_up", "delivered", "confirmed", "settled", "cancelled"]
    weights = [1, 2, 2, 2, 2, 2, 6, 1]
    for shopper in shopper_ids:
        if rng.random() < 0.25:
            continue
        shop_id, owner_id, product_ids = rng.choice(shop_ids)
        end = rng.choices(ends, weights)[0]
        async with db.unit_of_work() as uow:
            try:
                await _order_to(market, uow, rng, shopper, shop_id, owner_id, product_ids, couriers, end)
                await uow.commit()
            except ChestnutError:
                continue  # e.g. a shop that does not deliver to this shopper's region: they shop elsewhere
            report.orders_by_state[end] = report.orders_by_state.get(end, 0) + 1
    tick()
    await _reviews_and_claims(market, db, rng, report)
    async with db.unit_of_work() as uow:
        await market.ledger.publish_checkpoint(uow)
        await uow.commit()
    tick()
    async with db.snapshot() as snap:
        report.members = int((await snap.fetch("SELECT COUNT(*) FROM members"))[0][0])
    return report


async def _order_to(
    market: Services,
    uow: UnitOfWork,
    rng: random.Random,
    shopper: int,
    shop_id: int,
    owner_id: int,
    product_ids: list[int],
    couriers: list[int],
    end: str,
) -> None:
    for pid in rng.sample(product_ids, k=min(len(product_ids), rng.randrange(1, 3))):
        await orders.add_to_cart(market, uow, shopper, pid, rng.randrange(1, 3))
    q = await orders.quote(market, uow, shopper, shop_id, bnm_share=0)
    order = await orders.place_order(market, uow, shopper, shop_id, expected_total=q.total)
    if end == "placed":
        return
    order = await orders.pay_order(market, uow, shopper, order.id, bnm_share=0)
    if end == "cancelled":
        await orders.cancel_order(market, uow, shopper, order.id)
        return
    if end == "paid":
        return
    await orders.accept_order(market, uow, owner_id, order.id)
    if end == "accepted":
        return
    courier = rng.choice(couriers)
    await delivery.assign_courier(market, uow, owner_id, order.id, courier)
    await delivery.confirm_pickup(market, uow, courier, order.id)
    if end == "picked_up":
        return
    code = await delivery_queries.delivery_code(uow, shopper, order.id)
    await delivery.confirm_delivery(market, uow, courier, order.id, code)
    if end == "delivered":
        return
    await orders.confirm_receipt(market, uow, shopper, order.id)
    if end == "confirmed":
        return
    await settlement.settle_order(market, uow, order.id)


REVIEWS = [
    (5, "싱싱하고 맛있어요. 또 시킬게요."),
    (5, "할머니가 좋아하셨어요. 배달도 빨랐습니다."),
    (4, "양이 넉넉해요. 조금 작은 것도 섞여 있었어요."),
    (5, "시장에서 사는 것과 똑같이 좋네요."),
    (3, "괜찮았는데 포장이 조금 아쉬웠어요."),
]


async def _reviews_and_claims(market: Services, db: Database, rng: random.Random, report: DemoReport) -> None:
    """Buyers of delivered orders review some lines; a couple of claims, one answered with a refund."""
    async with db.snapshot() as snap:
        rows = await snap.fetch(
            "SELECT o.id, o.buyer_id, o.state, l.product_id FROM orders o JOIN order_lines l ON l.order_id = o.id "
            "WHERE o.state IN ('delivered', 'confirmed', 'settled') ORDER BY o.id, l.product_id"
        )
    claimed = 0
    claim_orders = list(dict.fromkeys(o for o, _b, st, _p in rows if st in ("delivered", "confirmed")))[:2]
    for order_id, buyer_id, _state, product_id in rows:
        roll = rng.random()
        async with db.unit_of_work() as uow:
            try:
                if order_id in claim_orders:
                    claim_orders.remove(order_id)
                    claim = await claims.open_claim(
                        market, uow, buyer_id, order_id, kind="damaged", text="상자가 젖어서 몇 개가 상했어요."
                    )
                    if claimed == 0:
                        order = await order_queries.get(uow, order_id)
                        shop = await shops.get(uow, order.shop_id)
                        claim = await claims.answer_claim(
                            market,
                            uow,
                            shop.owner_id,
                            claim.id,
                            resolution="refund_partial",
                            amount=max(1, order.subtotal // 5),
                            text="죄송합니다. 상한 만큼 돌려드릴게요.",
                        )
                        await claims.accept_answer(market, uow, buyer_id, claim.id)
                    claimed += 1
                    report.claims += 1
                elif roll < 0.45:
                    rating, text = rng.choice(REVIEWS)
                    await reviews.post_review(market, uow, buyer_id, order_id, product_id, rating=rating, text=text)
                    report.reviews += 1
                await uow.commit()
            except ChestnutError:
                continue  # e.g. a line already reviewed: the demo moves on
