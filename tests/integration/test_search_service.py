"""Forgiving Korean search over products listed through the catalog, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import unicodedata
from typing import Any

import pytest

from chestnut.bootstrap import App
from commerce.errors import InvalidInput
from commerce.members import service as members
from commerce.orders import service as orders
from commerce.search import service as search
from commerce.shops import catalog
from commerce.shops import service as shops
from ledger.storage.ops import write_many
from tests.support.market import Cast, cast

NEAR, FAR = "수원시", "청주시"


async def second_shop(app: App, c: Cast, *, region: str = FAR) -> tuple[int, int]:
    """Another verified producer's shop, in another region: (producer, shop)."""
    m = app.services
    async with app.db.unit_of_work() as uow:
        producer = await members.register(m, uow, channel="telegram", external_id="102", display_name="박농부")
        shop = await shops.open_shop(m, uow, producer.id, name="박씨네 텃밭", kind="farm", region=region)
        await shops.verify_shop(m, uow, c.operator, shop.id)
        await uow.commit()
    return producer.id, shop.id


async def list_products(
    app: App, producer: int, shop: int, goods: list[tuple[str, str]], *, stock: int = 10
) -> dict[str, int]:
    """List (name, category) products through the catalog service; name → product id."""
    ids = {}
    async with app.db.unit_of_work() as uow:
        for name, category in goods:
            product = await catalog.add_product(
                app.services,
                uow,
                producer,
                shop,
                name=name,
                category=category,
                unit="1kg",
                price=5000,
                stock=stock,
                origin_region="경기 여주",
                origin_producer="텃밭",
            )
            ids[name] = product.id
        await uow.commit()
    return ids


async def find(app: App, index: search.SearchIndex, query: str, **kw: object) -> list[search.Hit]:
    async with app.db.snapshot() as snap:
        return await search.search(snap, index, query, **kw)  # type: ignore[arg-type]


async def names(app: App, index: search.SearchIndex, query: str, **kw: object) -> list[str]:
    return [h.name for h in await find(app, index, query, **kw)]


GOODS = [
    ("고구마", "채소"),
    ("호박고구마", "채소"),
    ("햇감자", "채소"),
    ("한치", "수산"),
    ("배", "과일"),
    ("청송 꿀사과 5kg", "과일"),
    ("대파", "채소"),
]


async def test_initials_typos_spacing_and_categories(app: App) -> None:
    c = await cast(app)  # lists 사과 (과일)
    await list_products(app, c.producer, c.shop, GOODS)
    index = search.SearchIndex()

    assert (await names(app, index, "ㅅㄱ"))[:2] == ["사과", "청송 꿀사과 5kg"]
    assert (await names(app, index, "ㄱㄱㅁ"))[:2] == ["고구마", "호박고구마"]
    assert (await names(app, index, "사ㄱ"))[0] == "사과"
    assert (await names(app, index, "사곽"))[0] == "사과"
    assert (await names(app, index, "고구모"))[0] == "고구마"
    assert (await names(app, index, "호박고그마"))[0] == "호박고구마"
    spaced = await names(app, index, "  호박   고구마 ")
    assert spaced == await names(app, index, "호박고구마")
    assert spaced[0] == "호박고구마"
    assert await names(app, index, unicodedata.normalize("NFD", "사과")) == await names(app, index, "사과")
    assert set(await names(app, index, "과일")) == {"사과", "배", "청송 꿀사과 5kg"}
    assert await names(app, index, "사과 청송") == ["청송 꿀사과 5kg"]

    hit = (await find(app, index, "사과"))[0]
    assert (hit.product_id, hit.shop_id, hit.price, hit.unit, hit.stock, hit.shop_region, hit.match) == (
        c.product,
        c.shop,
        6000,
        "1kg",
        20,
        NEAR,
        "name",
    )
    assert index.loads == 1  # one full load; nothing changed since


async def test_synonyms_are_data_and_work_both_ways(app: App) -> None:
    c = await cast(app)
    await list_products(app, c.producer, c.shop, [("오징어", "수산"), ("한치", "수산"), ("햇감자", "채소")])
    index = search.SearchIndex()
    assert "한치" not in await names(app, index, "오징어")
    async with app.db.unit_of_work() as uow:
        await search.add_synonym(uow, "오징어", "한치")
        await search.add_synonym(uow, "감자", "햇감자")
        await search.add_synonym(uow, "감자", "햇감자")  # again: no change, no error
        await uow.commit()
    assert await names(app, index, "오징어") == ["오징어", "한치"]
    assert await names(app, index, "한치") == ["한치", "오징어"]
    assert await names(app, index, "감자") == ["햇감자"]
    assert (await names(app, index, "오징오"))[:2] == ["오징어", "한치"]  # a typo in a synonym too
    related = (await find(app, index, "오징어"))[1]
    assert related.match == "related"


async def test_add_synonym_refuses_bad_words(app: App) -> None:
    async with app.db.unit_of_work() as uow:
        for term, canonical in [
            ("", "한치"),
            ("오징어", "   "),
            ("오징어", "?!"),
            ("오" * 41, "한치"),
            ("오징\x07어", "한치"),
            ("한치", "한 치"),
            (None, "한치"),
        ]:
            with pytest.raises(InvalidInput):
                await search.add_synonym(uow, term, canonical)  # type: ignore[arg-type]
        await search.add_synonym(uow, "호박 고구마", "고구마")
        rows = await uow.fetch("SELECT term, canonical FROM synonyms")
    assert rows == [("호박고구마", "고구마")]


async def test_in_stock_first_then_nearby(app: App) -> None:
    c = await cast(app)
    far_producer, far_shop = await second_shop(app, c)
    near = await list_products(app, c.producer, c.shop, [("꿀고구마", "채소"), ("고구머", "채소")])
    far = await list_products(app, far_producer, far_shop, [("밤고구마", "채소")])
    sold_out = await list_products(app, far_producer, far_shop, [("고구마", "채소")], stock=0)
    index = search.SearchIndex()

    hits = await find(app, index, "고구마", region=NEAR)
    # 고구마 is the closest name, but sold out: behind the ones in stock, nearby before far among those;
    # and match quality comes before stock: the sold-out name still beats "고구머", a typo in stock.
    assert [h.product_id for h in hits] == [near["꿀고구마"], far["밤고구마"], sold_out["고구마"], near["고구머"]]
    assert [(h.nearby, h.in_stock, h.match) for h in hits] == [
        (True, True, "name"),
        (False, True, "name"),
        (False, False, "name"),
        (True, True, "typo"),
    ]
    hits = await find(app, index, "고구마", region=FAR)
    assert [h.product_id for h in hits][:3] == [far["밤고구마"], near["꿀고구마"], sold_out["고구마"]]
    assert await names(app, index, "고구마") == ["꿀고구마", "밤고구마", "고구마", "고구머"]
    assert await names(app, index, "ㄱㄱㅁ", region=FAR) == ["밤고구마", "고구머", "꿀고구마", "고구마"]


async def test_paging(app: App) -> None:
    c = await cast(app)
    await list_products(app, c.producer, c.shop, [(f"고구마 {i}호", "채소") for i in range(9)])
    index = search.SearchIndex()
    every = await names(app, index, "고구마", limit=20)
    assert len(every) == 9
    assert await names(app, index, "고구마", limit=4) + await names(app, index, "고구마", limit=5, offset=4) == every
    assert await names(app, index, "고구마", offset=9) == []


async def test_inactive_products_and_suspended_shops_are_hidden(app: App) -> None:
    c = await cast(app)
    far_producer, far_shop = await second_shop(app, c)
    far = await list_products(app, far_producer, far_shop, [("사과즙", "가공식품")])
    index = search.SearchIndex()
    assert await names(app, index, "사과") == ["사과", "사과즙"]
    m = app.services
    async with app.db.unit_of_work() as uow:
        await catalog.set_active(m, uow, c.producer, c.product, active=False)
        await uow.commit()
    assert await names(app, index, "사과") == ["사과즙"]
    assert await names(app, index, "ㅅㄱ") == ["사과즙"]
    async with app.db.unit_of_work() as uow:
        await shops.verify_shop(m, uow, c.operator, far_shop, approve=False)
        await catalog.set_active(m, uow, c.producer, c.product, active=True)
        await uow.commit()
    assert await names(app, index, "사과") == ["사과"]
    async with app.db.unit_of_work() as uow:
        await shops.verify_shop(m, uow, c.operator, far_shop)
        await uow.commit()
    assert [h.product_id for h in await find(app, index, "사과즙")] == [far["사과즙"]]


async def test_price_stock_and_name_changes_show_at_once(app: App) -> None:
    c = await cast(app, stock=2)
    await list_products(app, c.producer, c.shop, [("사과즙", "가공식품")])
    index = search.SearchIndex()
    assert [(h.name, h.price) for h in await find(app, index, "사과")] == [("사과", 6000), ("사과즙", 5000)]
    m = app.services
    async with app.db.unit_of_work() as uow:
        await catalog.update_price(m, uow, c.producer, c.product, 7000)
        await uow.commit()
    assert (await find(app, index, "사과"))[0].price == 7000
    assert (index.loads, index.delta_loads) == (1, 1)  # only the changed row was read again

    # An order reserves the last two apples without touching updated_ms: the page is re-read anyway.
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 2)
        quote = await orders.quote(m, uow, c.shopper, c.shop, bnm_share=0)
        await orders.checkout(m, uow, c.shopper, c.shop, expected_total=quote.total, bnm_share=0)
        await uow.commit()
    hits = await find(app, index, "사과")
    assert [(h.name, h.stock, h.in_stock) for h in hits] == [("사과즙", 10, True), ("사과", 0, False)]
    assert (index.loads, index.delta_loads) == (1, 1)

    async with app.db.unit_of_work() as uow:
        await catalog.update_stock(m, uow, c.producer, c.product, stock=5)
        await uow.commit()
    assert [(h.name, h.stock) for h in await find(app, index, "사과")] == [("사과", 5), ("사과즙", 10)]

    # The catalog has no rename service yet; this stands in for one (a write that bumps updated_ms).
    async with app.db.unit_of_work() as uow:
        await uow.execute(
            "UPDATE products SET name = :n, search_text = :s, updated_ms = :now WHERE id = :id",
            {"n": "부사 사과", "s": search.index_text("부사 사과", "과일"), "now": m.clock() + 1, "id": c.product},
        )
        await uow.commit()
    assert (await names(app, index, "부사"))[0] == "부사 사과"
    assert (await names(app, index, "ㅂㅅ"))[0] == "부사 사과"
    assert (index.loads, index.delta_loads) == (1, 3)


@pytest.mark.parametrize(
    "query",
    ["", "   ", "!?.", "…", "x" * 1000, "사과\x00", "사\n과", "사\u200b과", None, 42, b"apple"],
)
async def test_bad_queries_are_refused(app: App, query: object) -> None:
    await cast(app)
    with pytest.raises(InvalidInput):
        await find(app, search.SearchIndex(), query)  # type: ignore[arg-type]


async def test_bad_paging_and_region_are_refused(app: App) -> None:
    await cast(app)
    index = search.SearchIndex()
    bad: list[dict[str, Any]] = [{"limit": 0}, {"limit": 51}, {"offset": -1}, {"limit": "6"}, {"region": 3}]
    for kw in [*bad, {"region": "수원\x00"}]:
        with pytest.raises(InvalidInput):
            await find(app, index, "사과", **kw)


# --------------------------------------------------------------------------------------- at scale

PLACES = [
    "청송", "제주", "해남", "여주", "영광", "나주", "성주", "고창", "의성", "안동", "강화", "횡성", "완도", "통영",
]  # fmt: skip
ADJECTIVES = ["꿀", "햇", "유기농", "무농약", "못난이", "특품", "가정용", "선물용", "국산", "친환경", "", ""]
BASES = [
    ("사과", "과일"), ("배", "과일"), ("고구마", "채소"), ("호박고구마", "채소"), ("감자", "채소"),
    ("양파", "채소"), ("대파", "채소"), ("배추", "채소"), ("토마토", "채소"), ("딸기", "과일"),
    ("참외", "과일"), ("샤인머스캣", "과일"), ("한라봉", "과일"), ("오징어", "수산"), ("한치", "수산"),
    ("고등어", "수산"), ("갈치", "수산"), ("전복", "수산"), ("미역", "수산"), ("쌀", "곡물"),
    ("찹쌀", "곡물"), ("현미", "곡물"), ("들기름", "가공식품"), ("참기름", "가공식품"), ("된장", "가공식품"),
    ("고추장", "가공식품"), ("김치", "반찬"), ("깍두기", "반찬"), ("두부", "가공식품"), ("돼지고기", "정육"),
    ("소고기", "정육"), ("표고버섯", "채소"), ("마늘", "채소"), ("고춧가루", "가공식품"), ("대추", "과일"),
]  # fmt: skip
UNITS = ["1kg", "2kg", "3kg", "5kg", "10kg", "500g", "1박스", "10개입", ""]
REGIONS = ["수원시", "청주시", "전주시", "안동시", "제주시", "강릉시"]
QUERIES = [
    "사과", "ㅅㄱ", "고구마", "ㄱㄱㅁ", "사ㄱ", "사곽", "고구모", "호박고그마", "호박 고구마", "과일",
    "오징어", "한치", "청송 사과", "샤인머스켓", "햇감자 5kg", "들기름", "ㄷㄱㄹ", "김치", "소고기 국산", "된장",
]  # fmt: skip


async def fill_market(app: App, c: Cast, products_n: int) -> None:
    """FIXTURE DATA, not a service path: shops and products written straight into the tables (fast),
    with names like a real market's ("청송 꿀사과 5kg 17호"); every 7th sold out, every 50th inactive."""
    rng = random.Random(20261124)
    now = app.services.clock()
    async with app.db.unit_of_work() as uow:
        await uow.batch(
            [
                write_many(
                    "INSERT INTO shops (owner_id, name, kind, market, region, bnm_max_share, delivery_regions, "
                    "delivery_fee, status, referral_bp, created_ms) VALUES (:o, :n, 'farm', NULL, :r, 50, '', 3000, "
                    "'verified', 0, :now)",
                    [
                        {"o": c.producer, "n": f"농가 {i}", "r": REGIONS[i % len(REGIONS)], "now": now}
                        for i in range(40)
                    ],
                )
            ]
        )
        shop_ids = [int(r[0]) for r in await uow.fetch("SELECT id FROM shops WHERE name LIKE '농가 %'")]
        rows = []
        for i in range(products_n):
            base, category = rng.choice(BASES)
            words = [rng.choice(PLACES), rng.choice(ADJECTIVES) + base, rng.choice(UNITS)]
            if rng.random() < 0.3:
                words.append(f"{i % 97}호")
            name = " ".join(w for w in words if w)
            rows.append(
                {
                    "shop": shop_ids[i % len(shop_ids)],
                    "name": name,
                    "category": category,
                    "price": 1000 + rng.randrange(100) * 500,
                    "stock": 0 if i % 7 == 0 else rng.randrange(1, 200),
                    "active": 0 if i % 50 == 0 else 1,
                    "search": search.index_text(name, category),
                    "now": now - rng.randrange(10_000_000),
                }
            )
        await uow.batch(
            [
                write_many(
                    "INSERT INTO products (shop_id, name, category, unit, price, stock, photos, active, "
                    "origin_region, origin_producer, ingredients, certifications, produced_on, description, "
                    "search_text, listed_seq, updated_ms) VALUES (:shop, :name, :category, '1개', :price, :stock, "
                    "'[]', :active, '국내', '농가', '', '[]', NULL, '', :search, 0, :now)",
                    rows,
                )
            ]
        )
        for term, canonical in [("고구마", "호박고구마"), ("감자", "햇감자"), ("오징어", "한치")]:
            await search.add_synonym(uow, term, canonical)
        await uow.commit()


@pytest.mark.slow
async def test_ten_thousand_products_are_indexed_and_a_typo_still_finds_them(app: App) -> None:
    # Speed is measured by `chestnut bench commerce` (README, Performance), not asserted by a timed test.
    c = await cast(app)
    await fill_market(app, c, 10_000)
    index = search.SearchIndex()
    async with app.db.snapshot() as snap:
        hits = await search.search(snap, index, "고구모", region="수원시")
        assert hits and all("고구마" in h.name for h in hits)
        assert index.size == 10_001
        for query in QUERIES[:20]:
            await search.search(snap, index, query, region="수원시")  # every kind of query answers, none raises


async def test_concurrent_searches_load_once_and_late_stamps_force_a_full_reload(app: App) -> None:
    c = await cast(app)
    await list_products(app, c.producer, c.shop, GOODS)
    queries = ["사과", "ㄱㄱㅁ", "한치", "과일", "배", "대파"]
    for _ in range(3):  # a cold index, searched by several tasks at once: each must wait for the load
        index = search.SearchIndex()
        results = await asyncio.gather(*(names(app, index, q) for q in queries))
        assert [r[0] for r in results] == ["사과", "고구마", "한치", "배", "배", "대파"]
        assert (index.reloads, index.loads) == (1, 1)

    # A row written with a stamp older than the delta margin (a clock gone back): the sums catch it.
    async with app.db.unit_of_work() as uow:
        await uow.execute("UPDATE products SET name = '햇사과', updated_ms = 1 WHERE id = :id", {"id": c.product})
        await uow.commit()
    assert (await names(app, index, "햇사과"))[0] == "햇사과"
    assert (index.reloads, index.loads, index.delta_loads) == (2, 2, 0)
