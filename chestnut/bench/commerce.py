"""``chestnut bench commerce``: orders placed and paid per second, one transaction each, and search latency.

Producers with shops and products and buyers with money, a verified phone and an address are made
through the services first (not timed); then rounds of every buyer adding to a cart (``cart_adds_per_s``)
and checking out (``orders_per_s``, two ledger entries each, read against the machine's ceiling).
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable
from typing import Any

from chestnut.bench.measure import ceiling
from chestnut.bootstrap import App
from commerce.delivery import addresses
from commerce.members import service as members
from commerce.orders import service as orders
from commerce.search.service import SearchIndex, search
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.wallet import service as wallet
from ledger.storage.unit_of_work import UnitOfWork
from ledger.verify import verify_ledger

PER_SHOP = 250
NAMES = ["사과", "배", "고구마", "감자", "대파", "시금치", "고등어", "갈치", "김치", "두부", "쌀", "참기름"]
CATEGORIES = ["과일", "과일", "채소", "채소", "채소", "채소", "수산", "수산", "반찬", "가공식품", "곡물", "가공식품"]
QUERIES = ["사과", "ㅅㄱ", "고구모", "호박 고구마", "대파 12", "ㄱㄷㅇ", "김치", "참기룸", "과일", "두부 7"]
SEARCH_ROUNDS = 50


async def _open_office(app: App) -> int:
    async with app.db.unit_of_work() as uow:
        await app.ledger.require_empty_market(uow)
        office = await members.register(
            app.services, uow, channel="web", external_id="bench-office", display_name="사무실"
        )
        await members.make_operator(app.services, uow, office.id)
        await uow.commit()
    return office.id


async def _open_shop(app: App, office_id: int, first: int, products_n: int) -> tuple[int, list[int]]:
    """A verified shop with products ``first`` … up to ``PER_SHOP`` of them: (shop id, product ids)."""
    m = app.services
    async with app.db.unit_of_work() as uow:
        owner = await members.register(
            m, uow, channel="web", external_id=f"bench-producer-{first}", display_name="생산자"
        )
        shop = await shops.open_shop(
            m, uow, owner.id, name=f"가게 {first // PER_SHOP}", kind="market_stall", region="수원시"
        )
        await shops.verify_shop(m, uow, office_id, shop.id)
        ids = []
        for i in range(first, min(products_n, first + PER_SHOP)):
            k = i % len(NAMES)
            p = await catalog.add_product(
                m,
                uow,
                owner.id,
                shop.id,
                name=f"{NAMES[k]} {i}",
                category=CATEGORIES[k],
                unit="1kg",
                price=1_000 + (i % 50) * 100,
                stock=1_000_000,
                origin_region="경기",
                origin_producer="농가",
            )
            ids.append(p.id)
        await uow.commit()
    return shop.id, ids


async def _fund_buyers(app: App, office_id: int, members_n: int) -> list[int]:
    m = app.services
    buyers = []
    for start in range(0, members_n, 250):
        async with app.db.unit_of_work() as uow:
            for i in range(start, min(members_n, start + 250)):
                member = await members.register(m, uow, channel="web", external_id=f"bench-{i}", display_name="손님")
                await members.verified_phone(m, uow, member.id, f"0106{i:07d}")  # paying needs a verified phone
                await addresses.add(m, uow, member.id, label="집", text=f"수원시 팔달구 매산로 {i}")  # and an address
                await wallet.topup_at_office(m, uow, office_id, member.id, 2_000_000, receipt=f"bench-{i}")
                buyers.append(member.id)
            await uow.commit()
    return buyers


async def _commerce_setup(app: App, members_n: int, products_n: int) -> tuple[list[int], list[tuple[int, list[int]]]]:
    """Members with money and shops with products, made through the services (not timed)."""
    office_id = await _open_office(app)
    shop_products = [await _open_shop(app, office_id, s, products_n) for s in range(0, products_n, PER_SHOP)]
    return await _fund_buyers(app, office_id, members_n), shop_products


async def _order_round(
    app: App, rng: random.Random, buyers: list[int], shop_products: list[tuple[int, list[int]]]
) -> tuple[float, float]:
    """Each buyer adds to a cart, then each checks out: (seconds adding, seconds checking out)."""
    m = app.services
    plans = []
    started = time.perf_counter()
    for buyer in buyers:
        shop_id, ids = rng.choice(shop_products)
        async with app.db.unit_of_work() as uow:
            await orders.add_to_cart(m, uow, buyer, rng.choice(ids), 1 + rng.randrange(3))
            await uow.commit()
        plans.append((buyer, shop_id))
    cart_s = time.perf_counter() - started
    totals = []
    async with app.db.snapshot() as snap:
        for buyer, shop_id in plans:
            totals.append((await orders.quote(m, snap, buyer, shop_id, bnm_share=0)).total)
    started = time.perf_counter()
    for (buyer, shop_id), total in zip(plans, totals, strict=True):
        async with app.db.unit_of_work() as uow:
            await orders.checkout(m, uow, buyer, shop_id, expected_total=total, bnm_share=0)
            await uow.commit()
    return cart_s, time.perf_counter() - started


async def run_commerce_bench(
    app: App,
    *,
    members_n: int = 1000,
    products_n: int = 10_000,
    orders_n: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Orders placed and paid per second (one transaction each) with search latency, against the ceiling."""
    rng = random.Random(20261124)  # noqa: S311 - benchmark traffic
    buyers, shop_products = await _commerce_setup(app, members_n, products_n)
    cart_s = checkout_s = 0.0
    done = 0
    while done < orders_n:
        round_buyers = buyers[: min(len(buyers), orders_n - done)]
        adding, checking_out = await _order_round(app, rng, round_buyers, shop_products)
        cart_s, checkout_s = cart_s + adding, checkout_s + checking_out
        done += len(round_buyers)
        if progress:
            progress(done, orders_n)
    async with app.db.snapshot() as snap:
        search_p50, search_p99 = await search_latency(snap, app.search_index, QUERIES, SEARCH_ROUNDS)
    report = await verify_ledger(app.db, app.ledger.origin)
    top = ceiling(20_000)
    orders_rate = orders_n / checkout_s
    return {
        "database": app.db.dialect,
        "cores": os.cpu_count(),
        "members": members_n,
        "products": products_n,
        "orders": orders_n,
        "orders_per_s": round(orders_rate),
        "cart_adds_per_s": round(orders_n / cart_s),
        "search_p50_ms": round(search_p50, 2),
        "search_p99_ms": round(search_p99, 2),
        "search_queries": len(QUERIES) * SEARCH_ROUNDS,
        "ceiling_entries_per_s": round(top),
        "ratio_order_entries_to_ceiling": round(2 * orders_rate / top, 3),  # two entries per order
        "verify_ok": report.ok,
    }


async def search_latency(uow: UnitOfWork, index: SearchIndex, queries: list[str], rounds: int) -> tuple[float, float]:
    """(p50, p99) in milliseconds of ``search`` over ``queries`` × ``rounds`` (nearest rank), after one
    warm-up search that loads the index — time a cold start separately if it matters."""
    if not queries or rounds < 1:
        raise ValueError("search_latency needs queries and at least one round")
    await search(uow, index, queries[0])
    samples = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            await search(uow, index, query)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()

    def nearest_rank(p: float) -> float:
        return samples[max(0, math.ceil(p / 100 * len(samples)) - 1)]

    return nearest_rank(50), nearest_rank(99)
