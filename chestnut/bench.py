"""``chestnut bench ledger``: the ledger's speed on the configured database, against the machine's ceiling.

Measured in one run, on a ledger that must be empty (so a benchmark can never pollute a real one):

- ``batch_entries_per_s`` — payments appended through ``record_many``, 2,000 per transaction;
- ``single_commits_per_s`` — one unit of work (one transaction, one commit) per payment, as a chat
  order does;
- ``verify_entries_per_s`` — ``chestnut ledger verify`` over everything written;
- ``ceiling_entries_per_s`` — a bare loop of Ed25519 sign + verify + SHA-256 + SQLite batch insert on
  this machine: what any signed-ledger design could at most reach here.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.signing

from chestnut.bootstrap import App
from commerce.search.service import SearchIndex, search
from ledger.db import UnitOfWork
from ledger.model import AccountSpec, Transfer
from ledger.service import Request
from ledger.verify import verify_ledger

MEMBERS = 1000
BATCH = 2000
TOPUP = 10_000_000


def wallet(i: int) -> str:
    return f"wallet:m{i}:btl"


async def _setup(app: App) -> None:
    async with app.db.unit_of_work() as uow:
        await app.ledger.require_empty(uow)
        await app.ledger.initialize(uow)
        keys = await app.keys.create_many(uow, [f"member:m{i}" for i in range(MEMBERS)])
        requests = [
            Request(
                actor=f"member:m{i}",
                kind="member.join",
                accounts=[AccountSpec(wallet(i), "BTL", k.public_key)],
            )
            for i, k in enumerate(keys)
        ]
        requests += [
            Request(
                actor="system:operator",
                kind="cash.topup",
                body={"office": "bench"},
                transfers=[Transfer(f"topup-{i}", "reserve:cash", wallet(i), TOPUP, "BTL")],
            )
            for i in range(MEMBERS)
        ]
        await app.ledger.record_many(uow, requests)
        await uow.commit()


def _payment(rng: random.Random, n: int, prefix: str) -> Request:
    payer = rng.randrange(MEMBERS)
    payee = (payer + 1 + rng.randrange(MEMBERS - 1)) % MEMBERS
    return Request(
        actor=f"member:m{payer}",
        kind="bench.pay",
        body={"memo": "bench", "n": n},
        transfers=[Transfer(f"{prefix}{n}", wallet(payer), wallet(payee), 1 + rng.randrange(500), "BTL")],
    )


def ceiling(entries: int, batch: int = BATCH) -> float:
    """Entries/s of sign + verify + SHA-256 + batched SQLite insert with nothing else around it."""
    key = nacl.signing.SigningKey.generate()
    verify_key = key.verify_key
    body = os.urandom(150).hex().encode()
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "ceiling.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE e (seq INTEGER PRIMARY KEY, leaf BLOB, entry BLOB)")
        started = time.perf_counter()
        rows = []
        for seq in range(entries):
            message = body + str(seq).encode()
            signed = key.sign(message)
            verify_key.verify(signed)
            entry = bytes(signed)
            rows.append((seq, hashlib.sha256(b"\x00" + entry).digest(), entry))
            if len(rows) == batch:
                conn.execute("BEGIN")
                conn.executemany("INSERT INTO e VALUES (?, ?, ?)", rows)
                conn.execute("COMMIT")
                rows.clear()
        if rows:
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO e VALUES (?, ?, ?)", rows)
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    return entries / elapsed


async def run_ledger_bench(
    app: App, entries: int, *, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    rng = random.Random(20261124)  # noqa: S311 - benchmark traffic, not security
    await _setup(app)
    singles = max(500, min(5000, entries // 10))
    total = entries + singles
    done = 0

    started = time.perf_counter()
    for start in range(0, entries, BATCH):
        requests = [_payment(rng, n, "b") for n in range(start, min(entries, start + BATCH))]
        async with app.db.unit_of_work() as uow:
            await app.ledger.record_many(uow, requests)
            await uow.commit()
        done += len(requests)
        if progress:
            progress(done, total)
    batch_s = time.perf_counter() - started

    started = time.perf_counter()
    for n in range(singles):
        async with app.db.unit_of_work() as uow:
            await app.ledger.record(uow, _payment(rng, n, "s"))
            await uow.commit()
        done += 1
        if progress and n % 100 == 0:
            progress(done, total)
    single_s = time.perf_counter() - started

    async with app.db.unit_of_work() as uow:
        await app.ledger.publish_checkpoint(uow)
        await uow.commit()

    report = await verify_ledger(app.db, app.ledger.origin)
    top = ceiling(min(entries, 50_000))
    batch_rate = entries / batch_s
    single_rate = singles / single_s
    return {
        "database": app.db.dialect,
        "cores": os.cpu_count(),
        "entries": entries,
        "single_commits": singles,
        "batch_entries_per_s": round(batch_rate),
        "single_commits_per_s": round(single_rate),
        "verify_entries_per_s": round(report.entries_per_s),
        "verify_ok": report.ok,
        "verified_entries": report.size,
        "ceiling_entries_per_s": round(top),
        "ratio_batch_to_ceiling": round(batch_rate / top, 3),
        "ratio_single_to_ceiling": round(single_rate / top, 3),
        "ratio_verify_to_ceiling": round(report.entries_per_s / top, 3),
    }


# ----------------------------------------------------------------------------------------- commerce


async def _commerce_setup(app: App, members_n: int, products_n: int) -> tuple[list[int], list[tuple[int, list[int]]]]:
    """Members with money and shops with products, made through the services (not timed)."""
    from commerce.delivery import addresses
    from commerce.members import service as members
    from commerce.shops import catalog
    from commerce.shops import service as shops
    from commerce.wallet import service as wallet

    m = app.services
    async with app.db.unit_of_work() as uow:
        await app.ledger.require_empty_market(uow)
        office = await members.register(m, uow, channel="web", external_id="bench-office", display_name="사무실")
        await members.make_operator(m, uow, office.id)
        await uow.commit()
    shop_products: list[tuple[int, list[int]]] = []
    per_shop = 250
    names = ["사과", "배", "고구마", "감자", "대파", "시금치", "고등어", "갈치", "김치", "두부", "쌀", "참기름"]
    categories = [
        "과일",
        "과일",
        "채소",
        "채소",
        "채소",
        "채소",
        "수산",
        "수산",
        "반찬",
        "가공식품",
        "곡물",
        "가공식품",
    ]
    for s in range(0, products_n, per_shop):
        async with app.db.unit_of_work() as uow:
            owner = await members.register(
                m, uow, channel="web", external_id=f"bench-producer-{s}", display_name="생산자"
            )
            shop = await shops.open_shop(
                m, uow, owner.id, name=f"가게 {s // per_shop}", kind="market_stall", region="수원시"
            )
            await shops.verify_shop(m, uow, office.id, shop.id)
            ids = []
            for i in range(s, min(products_n, s + per_shop)):
                k = i % len(names)
                p = await catalog.add_product(
                    m,
                    uow,
                    owner.id,
                    shop.id,
                    name=f"{names[k]} {i}",
                    category=categories[k],
                    unit="1kg",
                    price=1_000 + (i % 50) * 100,
                    stock=1_000_000,
                    origin_region="경기",
                    origin_producer="농가",
                )
                ids.append(p.id)
            await uow.commit()
        shop_products.append((shop.id, ids))
    buyers = []
    for start in range(0, members_n, 250):
        async with app.db.unit_of_work() as uow:
            for i in range(start, min(members_n, start + 250)):
                member = await members.register(m, uow, channel="web", external_id=f"bench-{i}", display_name="손님")
                await members.verified_phone(m, uow, member.id, f"0106{i:07d}")  # paying needs a verified phone
                await addresses.add(m, uow, member.id, label="집", text=f"수원시 팔달구 매산로 {i}")  # and an address
                await wallet.topup_at_office(m, uow, office.id, member.id, 2_000_000, receipt=f"bench-{i}")
                buyers.append(member.id)
            await uow.commit()
    return buyers, shop_products


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

    def percentile(p: float) -> float:
        return samples[max(0, math.ceil(p / 100 * len(samples)) - 1)]

    return percentile(50), percentile(99)


async def run_commerce_bench(
    app: App,
    *,
    members_n: int = 1000,
    products_n: int = 10_000,
    orders_n: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Orders placed and paid per second (one transaction each) with search latency, against the ceiling."""
    from commerce.orders import service as orders

    rng = random.Random(20261124)  # noqa: S311 - benchmark traffic
    buyers, shop_products = await _commerce_setup(app, members_n, products_n)
    m = app.services
    cart_s = checkout_s = 0.0
    done = 0
    while done < orders_n:
        round_buyers = buyers[: min(len(buyers), orders_n - done)]
        plans = []
        started = time.perf_counter()
        for buyer in round_buyers:
            shop_id, ids = rng.choice(shop_products)
            async with app.db.unit_of_work() as uow:
                await orders.add_to_cart(m, uow, buyer, rng.choice(ids), 1 + rng.randrange(3))
                await uow.commit()
            plans.append((buyer, shop_id))
        cart_s += time.perf_counter() - started
        totals = []
        async with app.db.snapshot() as snap:
            for buyer, shop_id in plans:
                totals.append((await orders.quote(m, snap, buyer, shop_id, bnm_share=0)).total)
        started = time.perf_counter()
        for (buyer, shop_id), total in zip(plans, totals, strict=True):
            async with app.db.unit_of_work() as uow:
                await orders.checkout(m, uow, buyer, shop_id, expected_total=total, bnm_share=0)
                await uow.commit()
        checkout_s += time.perf_counter() - started
        done += len(round_buyers)
        if progress:
            progress(done, orders_n)
    queries = ["사과", "ㅅㄱ", "고구모", "호박 고구마", "대파 12", "ㄱㄷㅇ", "김치", "참기룸", "과일", "두부 7"]
    async with app.db.snapshot() as snap:
        search_p50, search_p99 = await search_latency(snap, app.search_index, queries, 50)
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
        "search_queries": len(queries) * 50,
        "ceiling_entries_per_s": round(top),
        "ratio_order_entries_to_ceiling": round(2 * orders_rate / top, 3),  # two entries per order
        "verify_ok": report.ok,
    }


# ----------------------------------------------------------------------------------------- chat

CHAT_MARKET = "못골시장"
CHAT_SHOPS = ("김씨네 과수원", "박씨네 채소", "바다 수산")
CHAT_PRODUCTS = (("사과", "과일"), ("배", "과일"), ("고구마", "채소"), ("대파", "채소"))


async def _chat_setup(app: App, shoppers: int) -> list[str]:
    """A small market and ``shoppers`` Kakao members with money, made through the services (not timed)."""
    from commerce.delivery import addresses
    from commerce.members import service as members
    from commerce.shops import catalog
    from commerce.shops import service as shops
    from commerce.wallet import service as wallet

    m = app.services
    async with app.db.unit_of_work() as uow:
        await app.ledger.require_empty_market(uow)
        office = await members.register(m, uow, channel="web", external_id="bench-office", display_name="사무실")
        await members.make_operator(m, uow, office.id)
        for s, shop_name in enumerate(CHAT_SHOPS):
            owner = await members.register(
                m, uow, channel="kakao", external_id=f"bench-producer-{s}", display_name="생산자"
            )
            shop = await shops.open_shop(
                m,
                uow,
                owner.id,
                name=shop_name,
                kind="market_stall",
                region="수원시",
                market_name=CHAT_MARKET,
                delivery_fee=3000,
            )
            await shops.verify_shop(m, uow, office.id, shop.id)
            for i, (name, category) in enumerate(CHAT_PRODUCTS):
                await catalog.add_product(
                    m,
                    uow,
                    owner.id,
                    shop.id,
                    name=name,
                    category=category,
                    unit="1kg",
                    price=3_000 + 500 * i,
                    stock=1_000_000,
                    origin_region="경기",
                    origin_producer=shop_name,
                )
        await uow.commit()
    users = []
    for start in range(0, shoppers, 250):
        async with app.db.unit_of_work() as uow:
            for i in range(start, min(shoppers, start + 250)):
                user = f"bench-kakao-{i}"
                member = await members.register(m, uow, channel="kakao", external_id=user, display_name="손님")
                await members.verified_phone(m, uow, member.id, f"0107{i:07d}")  # paying needs a verified phone
                await addresses.add(m, uow, member.id, label="집", text=f"수원시 팔달구 매산로 {i}")  # and an address
                await wallet.topup_at_office(m, uow, office.id, member.id, 1_000_000, receipt=f"chat-{i}")
                users.append(user)
            await uow.commit()
    return users


def _skill_payload(user: str, utterance: str, extra: dict[str, Any] | None) -> dict[str, Any]:
    """What Open Builder's fallback block posts for one message (kakao.md §2)."""
    return {
        "intent": {"id": "fallback", "name": "폴백 블록"},
        "userRequest": {
            "timezone": "Asia/Seoul",
            "utterance": utterance,
            "lang": "ko",
            "params": {"surface": "Kakaotalk.plusfriend"},
            "user": {"id": user, "type": "botUserKey", "properties": {"botUserKey": user, "isFriend": True}},
        },
        "bot": {"id": "bench", "name": "밤나무 장터"},
        "action": {"id": "chestnut", "name": "chestnut", "params": {}, "detailParams": {}, "clientExtra": extra or {}},
    }


def _tap(response: dict[str, Any], label_part: str) -> dict[str, Any] | None:
    """The first card button or quick reply of ``response`` whose label contains ``label_part``."""
    template = response.get("template") or {}
    found = [b for out in template.get("outputs", []) for b in next(iter(out.values())).get("buttons", [])]
    for b in [*found, *template.get("quickReplies", [])]:
        if b.get("action") == "message" and label_part in b.get("label", ""):
            return dict(b)
    return None


def _said(response: dict[str, Any]) -> str:
    outputs = (response.get("template") or {}).get("outputs", [])
    return "\n".join(
        str(v) for out in outputs for k, v in next(iter(out.values())).items() if k in ("text", "description")
    )


class _Pace:
    """Message slots at ``rate`` per second across all shoppers (0: as fast as answers come back)."""

    def __init__(self, rate: float) -> None:
        self.rate, self.sent, self.start = rate, 0, time.perf_counter()

    async def wait(self) -> None:
        import asyncio

        if self.rate <= 0:
            return
        slot = self.start + self.sent / self.rate
        self.sent += 1
        delay = slot - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)


async def _shopper(
    http: Any, url: str, headers: dict[str, str], user: str, n: int, latencies: list[float], pace: _Pace
) -> tuple[int, bool]:
    """One shopper's order, tapping the buttons of each answer: (messages sent, completed)."""
    from bots.texts import t

    shop, (product, _) = CHAT_SHOPS[n % len(CHAT_SHOPS)], CHAT_PRODUCTS[n % len(CHAT_PRODUCTS)]
    plan = [t("ko", "home.shop"), CHAT_MARKET, shop, product, "1개 담기", "결제하기"]
    utterance = "시작하기"  # the channel's welcome block: its quick reply carries {"p": "home"}
    extra: dict[str, Any] | None = {"p": "home"}
    sent = 0
    for step in [*plan, None]:
        await pace.wait()
        started = time.perf_counter()
        async with http.post(url, json=_skill_payload(user, utterance, extra), headers=headers) as r:
            ok = r.status == 200
            response = await r.json() if ok else {}
        latencies.append(time.perf_counter() - started)
        sent += 1
        outputs = (response.get("template") or {}).get("outputs", [])
        if not ok or response.get("version") != "2.0" or not 1 <= len(outputs) <= 3:
            return sent, False
        if step is None:
            return sent, "결제됐어요" in _said(response)
        button = _tap(response, step)
        if button is None:
            return sent, False
        utterance, extra = button["messageText"], button.get("extra")
    return sent, False


async def _drive(url: str, headers: dict[str, str], users: list[str], rate: float) -> dict[str, Any]:
    import asyncio

    import aiohttp

    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        pace = _Pace(rate)

        async def one(n: int, user: str) -> tuple[int, bool]:
            try:
                return await _shopper(http, url, headers, user, n, latencies, pace)
            except (aiohttp.ClientError, TimeoutError, ValueError):
                return 1, False

        started = time.perf_counter()
        results = await asyncio.gather(*(one(n, user) for n, user in enumerate(users)))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "results": results, "elapsed": elapsed}


def drive_shoppers(url: str, headers: dict[str, str], users: list[str], rate: float) -> dict[str, Any]:
    """The simulated shoppers, in their own process: Kakao's side of the wire is another machine, and
    sharing the server's event loop would bill the client's HTTP work to the server."""
    import asyncio

    return asyncio.run(_drive(url, headers, users, rate))


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


async def run_chat_bench(
    app: App, *, shoppers: int = 200, rate: float = 0.0, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """``shoppers`` simulated Kakao users ordering at once through ``POST /kakao/skill`` over loopback HTTP.

    The server is the one ``chestnut serve`` runs (``make_web_app``, background upkeep included) on an
    ephemeral port; each shopper follows the buttons of the answers it gets, as KakaoTalk would. A message
    fails when it is not answered 200 with a SkillResponse, or its answer lacks the next button; the
    ledger is verified afterwards.
    """
    import asyncio
    import multiprocessing
    import secrets
    from concurrent.futures import ProcessPoolExecutor

    from aiohttp import web
    from pydantic import SecretStr

    from chestnut.serve import server_app

    users = await _chat_setup(app, shoppers)
    if app.settings.kakao_skill_secret is None:  # the skill answers only with its secret outside development
        app.settings = app.settings.model_copy(update={"kakao_skill_secret": SecretStr(secrets.token_hex(16))})
    secret = app.settings.kakao_skill_secret
    assert secret is not None
    headers = {app.settings.kakao_skill_header: secret.get_secret_value()}
    runner = web.AppRunner(server_app(app), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)  # 200 clients connect at once
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/kakao/skill"
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(pool, drive_shoppers, url, headers, [], 0.0)  # start-up, not timed
            if progress:
                progress(0, shoppers)
            driven = await loop.run_in_executor(pool, drive_shoppers, url, headers, users, rate)
            if progress:
                progress(shoppers, shoppers)
    finally:
        await runner.cleanup()
    latencies: list[float] = driven["latencies"]
    results: list[tuple[int, bool]] = [(int(r[0]), bool(r[1])) for r in driven["results"]]
    elapsed: float = driven["elapsed"]
    messages = sum(sent for sent, _ in results)
    failed = sum(1 for _, completed in results if not completed)  # each incomplete journey: its failing message
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT COUNT(*) FROM orders WHERE state = 'paid'")
        paid = int(rows[0][0])
    report = await verify_ledger(app.db, app.ledger.origin)
    ordered = sorted(latencies)
    return {
        "database": app.db.dialect,
        "cores": os.cpu_count(),
        "shoppers": shoppers,
        "offered_rate": rate or "unpaced",
        "messages": messages,
        "messages_per_s": round(messages / elapsed),
        "p50_ms": round(_percentile(ordered, 0.50) * 1000, 1),
        "p99_ms": round(_percentile(ordered, 0.99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else 0.0,
        "failed": failed,
        "orders_paid": paid,
        "seconds": round(elapsed, 2),
        "verify_ok": report.ok,
    }


# -------------------------------------------------------------------------------------------- batch


async def seed_confirmed_orders(
    app: App,
    orders_n: int,
    *,
    shops_n: int = 20,
    per_tx: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """``orders_n`` orders placed, paid into escrow and confirmed by their buyers, fast but honest.

    Members, shops, products and top-ups go through the services. Each order is then the three signed
    entries a chat order makes on its way to "confirmed" (``order.place`` and ``order.pay`` by the buyer,
    the latter countersigned and opening the escrow, ``order.confirm`` by the buyer), appended through
    ``ledger.record_many`` a thousand orders per transaction with their rows (explicit ids: SQLite only,
    on an empty market). Returns the expected settlement totals to the won.
    """
    from commerce.members import service as members
    from commerce.orders.service import escrow, hold_id
    from commerce.shops import catalog
    from commerce.shops import service as shops
    from commerce.wallet import service as wallets
    from ledger.db import write_many

    rng = random.Random(20261202)  # noqa: S311 - benchmark data
    m = app.services
    fee_bp = m.rules.platform_fee_bp
    async with app.db.unit_of_work() as uow:
        await app.ledger.require_empty_market(uow)
        office = await members.register(m, uow, channel="web", external_id="bench-office", display_name="사무실")
        await members.make_operator(m, uow, office.id)
        catalogue = []
        for s in range(shops_n):
            owner = await members.register(m, uow, channel="web", external_id=f"bench-p{s}", display_name="생산자")
            shop = await shops.open_shop(
                m, uow, owner.id, name=f"가게 {s}", kind="farm", region="수원시", delivery_fee=3000
            )
            await shops.verify_shop(m, uow, office.id, shop.id)
            price = 2000 + 100 * rng.randrange(80)
            product = await catalog.add_product(
                m,
                uow,
                owner.id,
                shop.id,
                name=f"사과 {s}",
                category="과일",
                unit="1kg",
                price=price,
                stock=1_000_000,
                origin_region="경북",
                origin_producer="농가",
            )
            catalogue.append((shop.id, owner.id, product.id, price))
        await uow.commit()
    buyers_n = max(10, -(-orders_n // 50))
    buyers = []
    for start in range(0, buyers_n, 250):
        async with app.db.unit_of_work() as uow:
            for i in range(start, min(buyers_n, start + 250)):
                member = await members.register(m, uow, channel="web", external_id=f"bench-b{i}", display_name="손님")
                await wallets.topup_at_office(m, uow, office.id, member.id, 1_500_000, receipt=f"bench-b{i}")
                buyers.append(member.id)
            await uow.commit()
    expected = {"orders": orders_n, "btl": 0, "fees": 0, "producers": 0}
    async with app.db.snapshot() as snap:
        next_id = int((await snap.fetch("SELECT COALESCE(MAX(id), 0) FROM orders"))[0][0]) + 1
    done = 0
    while done < orders_n:
        batch_n = min(per_tx, orders_n - done)
        now = m.clock()
        requests: list[Request] = []
        plans: list[tuple[int, ...]] = []
        for k in range(batch_n):
            oid = next_id + done + k
            buyer = buyers[(done + k) % len(buyers)]
            shop_id, _owner, product_id, price = catalogue[rng.randrange(len(catalogue))]
            qty = 1 + rng.randrange(2)
            subtotal = price * qty
            total = subtotal + 3000
            fee = subtotal * fee_bp // 10_000
            expected["btl"] += total
            expected["fees"] += fee
            expected["producers"] += total - fee
            label = members.key_label(buyer)
            requests += [
                Request(
                    actor=label,
                    kind="order.place",
                    body={
                        "order": oid,
                        "shop": shop_id,
                        "lines": [[product_id, qty, price]],
                        "subtotal": subtotal,
                        "delivery_fee": 3000,
                        "total": total,
                        "address": None,
                    },
                ),
                Request(
                    actor=label,
                    kind="order.pay",
                    body={"order": oid, "total": total, "btl": total, "bnm_units": 0, "bnm_price": None, "share": 0},
                    accounts=[AccountSpec(escrow(oid, "BTL"), "BTL")],
                    transfers=[
                        Transfer(
                            hold_id(oid, "BTL"),
                            members.wallet(buyer, "BTL"),
                            escrow(oid, "BTL"),
                            total,
                            "BTL",
                            type="pending",
                        )
                    ],
                    countersign=True,
                ),
                Request(actor=label, kind="order.confirm", body={"order": oid}),
            ]
            plans.append((oid, buyer, shop_id, product_id, price, qty, subtotal, total))

        def rows(recs: list[Any], plans: list[tuple[int, ...]] = plans, now: int = now) -> list[Any]:
            return [
                write_many(
                    "INSERT INTO orders (id, buyer_id, shop_id, state, subtotal, delivery_fee, total, bnm_share, "
                    "btl_amount, bnm_units, refund_due, placed_seq, paid_seq, created_ms, paid_ms, delivered_ms, "
                    "updated_ms) VALUES (:id, :b, :s, 'confirmed', :sub, 3000, :total, 0, :total, 0, 0, :pseq, "
                    ":payseq, :now, :now, :now, :now)",
                    [
                        {
                            "id": p[0],
                            "b": p[1],
                            "s": p[2],
                            "sub": p[6],
                            "total": p[7],
                            "pseq": recs[3 * i].seq,
                            "payseq": recs[3 * i + 1].seq,
                            "now": now,
                        }
                        for i, p in enumerate(plans)
                    ],
                ),
                write_many(
                    "INSERT INTO order_lines (order_id, product_id, name, unit, price, qty) "
                    "VALUES (:o, :p, '사과', '1kg', :price, :q)",
                    [{"o": p[0], "p": p[3], "price": p[4], "q": p[5]} for p in plans],
                ),
                write_many(
                    "UPDATE products SET stock = stock - :q WHERE id = :p", [{"q": p[5], "p": p[3]} for p in plans]
                ),
            ]

        async with app.db.unit_of_work() as uow:
            await app.ledger.record_many(uow, requests, then=rows)
            await uow.commit()
        done += batch_n
        if progress:
            progress(done, orders_n)
    return expected


async def seed_bnm_holders(
    app: App, holders_n: int, *, per_entry: int = 150, entries_per_tx: int = 20, first_id: int = 10_000_001
) -> int:
    """``holders_n`` BNM holders: wallets opened and BNM granted in operator-signed entries.

    The holders are self-custody members (``owner`` is their public key; no custodial key is made for
    a million benchmark holders), so their wallets are opened by the operator, whose rules allow it.
    Returns the BNM supply granted.
    """
    rng = random.Random(20261203)  # noqa: S311 - benchmark data
    supply = 0
    per_tx = per_entry * entries_per_tx
    for start in range(0, holders_n, per_tx):
        requests = []
        for first in range(start, min(holders_n, start + per_tx), per_entry):
            ids = range(first_id + first, first_id + min(holders_n, first + per_entry, start + per_tx))
            owners = {i: os.urandom(32) for i in ids}
            grants = {i: 1 + rng.randrange(5000) for i in ids}
            supply += sum(grants.values())
            requests.append(
                Request(
                    actor="system:operator",
                    kind="bench.holders",
                    body={"first": first},
                    accounts=[
                        spec
                        for i in ids
                        for spec in (
                            AccountSpec(f"wallet:{i}:btl", "BTL", owners[i]),
                            AccountSpec(f"wallet:{i}:bnm", "BNM", owners[i]),
                        )
                    ],
                    transfers=[
                        Transfer(f"bench-bnm-{i}", "treasury:bnm", f"wallet:{i}:bnm", grants[i], "BNM") for i in ids
                    ],
                )
            )
        async with app.db.unit_of_work() as uow:
            await app.ledger.record_many(uow, requests)
            await uow.commit()
    return supply


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


async def run_batch_bench(
    app: App, *, orders_n: int = 100_000, holders_n: int = 1_000_000, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Settlement of ``orders_n`` confirmed orders and a dividend to ``holders_n`` BNM holders, timed."""
    import subprocess
    import sys

    from chestnut.bootstrap import batch_context
    from commerce.members import service as members
    from scheduler import dividends
    from scheduler.wiring import run_batch

    started = time.perf_counter()
    expected = await seed_confirmed_orders(app, orders_n, progress=progress)
    seed_orders_s = time.perf_counter() - started
    ctx = batch_context(app)

    started = time.perf_counter()
    (settled,) = (await run_batch(ctx, "settlement", "bench")).runs
    settlement_s = time.perf_counter() - started
    async with app.db.snapshot() as snap:
        fees = (await app.ledger.account(snap, "fees:platform")).balance
        office = await members.by_identity(snap, "web", "bench-office")
    assert office is not None
    if settled.items != orders_n or settled.amount != expected["btl"] or fees != expected["fees"]:
        raise AssertionError(f"settlement totals {settled.items}/{settled.amount}/{fees} differ from {expected}")

    started = time.perf_counter()
    await seed_bnm_holders(app, holders_n)
    seed_holders_s = time.perf_counter() - started
    started = time.perf_counter()
    async with app.db.unit_of_work() as uow:
        declared = await dividends.declare(app.services, uow, office.id, fees, record_size=None)
        await uow.commit()
    (paid,) = (await run_batch(ctx, "dividend", declared.period)).runs
    dividend_s = time.perf_counter() - started
    if paid.amount != fees or paid.items != declared.holders:
        raise AssertionError(f"dividend paid {paid.amount} to {paid.items}, declared {fees} to {declared.holders}")
    peak = _peak_rss_mb()

    async with app.db.unit_of_work() as uow:
        await app.ledger.publish_checkpoint(uow)
        size = (await app.ledger.head(uow)).size
        await uow.commit()
    # Verify in its own process, so its memory (every account and transfer of the replay) is its own figure.
    started = time.perf_counter()
    proc = subprocess.run(  # noqa: ASYNC221 - once, at the end of a benchmark
        [sys.executable, "-m", "chestnut.cli", "ledger", "verify", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "CHESTNUT_HOME": str(app.settings.home),
            "CHESTNUT_DATABASE_URL": app.settings.resolved_database_url,
        },
    )
    verify_s = time.perf_counter() - started
    import resource

    verify_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    try:
        report = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        report = {"ok": False, "problem": proc.stderr[-500:]}
    return {
        "database": app.db.dialect,
        "cores": os.cpu_count(),
        "orders": orders_n,
        "holders": holders_n,
        "settlement_s": round(settlement_s, 2),
        "settlement_entries_per_s": round(settled.entries / settlement_s),
        "dividend_s": round(dividend_s, 2),
        "dividend_transfers_per_s": round(paid.items / dividend_s),
        "dividend_entries": paid.entries,
        "peak_rss_mb": round(peak, 1),
        "seed_orders_s": round(seed_orders_s, 1),
        "seed_holders_s": round(seed_holders_s, 1),
        "settled_btl": settled.amount,
        "fees_paid_as_dividend": paid.amount,
        "ledger_size": size,
        "verify_s": round(verify_s, 1),
        "verify_peak_rss_mb": round(verify_rss, 1),
        "verify_ok": bool(report.get("ok")),
        "verify_problem": report.get("problem") or report.get("message"),
        "ceiling_entries_per_s": round(ceiling(20_000)),
    }


# ----------------------------------------------------------------------------------------- replica


async def _replica_status(session: Any, url: str) -> dict[str, Any] | None:
    import aiohttp

    try:
        async with session.get(f"{url}/status", timeout=aiohttp.ClientTimeout(total=5)) as resp:
            return dict(await resp.json()) if resp.status == 200 else None
    except (aiohttp.ClientError, TimeoutError, OSError):
        return None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_replica_bench(
    app: App,
    *,
    entries: int = 200_000,
    rate: int = 500,
    seconds: float = 20.0,
    checkpoint_interval_s: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """A replica (its own process, ``chestnut replica``) syncing ``entries`` from nothing over loopback, then
    the lag from a primary commit to a witnessed checkpoint that covers it under a steady ``rate`` entries/s.

    The primary serves from this process (the real web app); it publishes a checkpoint every
    ``checkpoint_interval_s`` and has it witnessed right away (quorum 1 of 1), as ``serve`` does.
    """
    import asyncio
    import signal
    import subprocess
    import sys

    import aiohttp
    from aiohttp import web

    from ledger import readers
    from ledger.replica.node import cosigner_key, witness_signer
    from ledger.witnessing import Witnessing, parse_witnesses
    from web.app import make_web_app

    rng = random.Random(20261203)  # noqa: S311 - benchmark traffic
    await _setup(app)
    for start in range(0, entries, BATCH):
        async with app.db.unit_of_work() as uow:
            await app.ledger.record_many(
                uow, [_payment(rng, n, "b") for n in range(start, min(entries, start + BATCH))]
            )
            await uow.commit()
        if progress:
            progress(min(entries, start + BATCH), entries)
    async with app.db.unit_of_work() as uow:
        await app.ledger.publish_checkpoint(uow)
        await uow.commit()
    async with app.db.snapshot() as snap:
        size = (await app.ledger.head(snap)).size

    runner = web.AppRunner(make_web_app(app), access_log=None)
    await runner.setup()
    pport, rport = _free_port(), _free_port()
    await web.TCPSite(runner, "127.0.0.1", pport).start()
    home = Path(tempfile.mkdtemp(prefix="chestnut-bench-replica-"))
    rurl = f"http://127.0.0.1:{rport}"
    async with app.db.unit_of_work() as uow:  # the replica reads every entry, as an accredited one does
        token = await readers.issue(uow, "bench-replica")
        await uow.commit()
    env = {
        **os.environ,
        "CHESTNUT_DATABASE_URL": "",
        "CHESTNUT_REPLICA_DATABASE_URL": "",
        "CHESTNUT_REPLICA_POLL_INTERVAL_S": "0.2",
        "CHESTNUT_LOG_LEVEL": "WARNING",
        "CHESTNUT_REPLICA_TOKEN": token,
    }
    key = cosigner_key(witness_signer(home))
    args = [sys.executable, "-m", "chestnut.cli", "replica", "--primary", f"http://127.0.0.1:{pport}"]
    args += ["--home", str(home), "--port", str(rport)]
    proc = subprocess.Popen(  # noqa: S603, ASYNC220 - the replica is a separate process by design
        args,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    session = aiohttp.ClientSession()
    try:
        status = None
        while status is None:
            if proc.poll() is not None:
                raise RuntimeError("the replica process exited before it served")
            status = await _replica_status(session, rurl)
            await asyncio.sleep(0.02)
        started = time.perf_counter()
        while (status or {}).get("accepted_size", 0) < size:
            await asyncio.sleep(0.05)
            status = await _replica_status(session, rurl)
        sync_s = time.perf_counter() - started
        internal = (status or {}).get("synced_entries", 0) / max(1e-9, (status or {}).get("sync_seconds", 0.0))

        witnessing = Witnessing(app.db, app.ledger, parse_witnesses([f"{rurl} {key} bench"]), quorum=1, timeout_s=3.0)
        witnessing.session = session
        commits: list[tuple[float, int]] = []
        witnessed: list[tuple[float, int]] = []
        stop = asyncio.Event()

        async def publisher() -> None:
            while not stop.is_set():
                round_start = time.perf_counter()
                async with app.db.unit_of_work() as uow:
                    published = await app.ledger.publish_checkpoint(uow)
                    await uow.commit()
                if published:
                    note = await witnessing.witness_latest()
                    if note is not None:
                        witnessed.append((time.perf_counter(), int(note.split("\n")[1])))
                await asyncio.sleep(max(0.0, checkpoint_interval_s - (time.perf_counter() - round_start)))

        task = asyncio.create_task(publisher())
        tick = 0.1
        per_tick = max(1, round(rate * tick))
        n = 0
        t_start = time.perf_counter()
        while time.perf_counter() - t_start < seconds:
            async with app.db.unit_of_work() as uow:
                recorded = await app.ledger.record_many(uow, [_payment(rng, n + k, "w") for k in range(per_tick)])
                await uow.commit()
            n += per_tick
            commits.append((time.perf_counter(), recorded[-1].seq))
            next_at = t_start + len(commits) * tick
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        deadline = time.perf_counter() + 10
        while (not witnessed or witnessed[-1][1] <= commits[-1][1]) and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        stop.set()
        await task
        lags = []
        for t_commit, seq in commits:
            done = next((t for t, s in witnessed if s > seq), None)
            lags.append((done if done is not None else float("inf")) - t_commit)
        lags.sort()
        final = await _replica_status(session, rurl) or {}
    finally:
        await session.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        await runner.cleanup()
    report = await verify_ledger(app.db, app.ledger.origin)
    return {
        "database": app.db.dialect,
        "cores": os.cpu_count(),
        "entries": size,
        "sync_seconds": round(sync_s, 2),
        "sync_entries_per_s": round(size / sync_s),
        "sync_entries_per_s_inside_replica": round(internal),
        "witness_rate_entries_per_s": round(n / seconds),
        "checkpoint_interval_s": checkpoint_interval_s,
        "witnessed_checkpoints": len(witnessed),
        "witness_lag_p50_s": round(lags[len(lags) // 2], 3),
        "witness_lag_p99_s": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 3),
        "replica_alarm": bool(final.get("alarm")),
        "replica_refusals": len(final.get("refusals", [])),
        "verify_ok": report.ok,
    }


# ----------------------------------------------------------------------------------------- BNM market

MARKET_MEMBERS = 200
MARKET_CLIENTS = 16  # members placing orders at once in the concurrent phase
MARKET_GROUP = 50  # orders per transaction in the group-commit run


def match_engine_rate(orders_n: int, seed: int = 20261210) -> tuple[float, float, int]:
    """Orders/s through the matching engine alone, in memory: limit and market orders around one price,
    with one cancel for every ten orders. Returns (orders per wall-clock second, per CPU second, trades)
    — the second says what the engine does when a busy machine lends it only part of a core."""
    from commerce.exchange.book import BUY, LIMIT, MARKET, SELL, Book, Order
    from commerce.exchange.errors import NoLiquidity, SelfTrade

    rng = random.Random(seed)  # noqa: S311 - benchmark traffic
    # Orders are made before the clock starts (a client builds its order); the cancel picks too.
    plan = [
        (
            Order(
                oid,
                rng.randrange(1_000),
                BUY if rng.random() < 0.5 else SELL,
                1_000 + 10 * round(rng.gauss(0, 6)),
                100 * (1 + rng.randrange(30)),
                MARKET if rng.random() < 0.05 else LIMIT,
            ),
            rng.random() if rng.random() < 0.1 else -1.0,
        )
        for oid in range(orders_n)
    ]
    book = Book()
    resting: list[int] = []
    trades = 0
    started, cpu = time.perf_counter(), time.process_time()
    for order, cancel_pick in plan:
        try:
            placed = book.place(order)
        except (SelfTrade, NoLiquidity):
            continue
        trades += len(placed.fills)
        if placed.rested:
            resting.append(order.id)
        if cancel_pick >= 0 and resting:
            i = int(cancel_pick * len(resting))
            resting[i], resting[-1] = resting[-1], resting[i]
            book.cancel(resting.pop())
    return orders_n / (time.perf_counter() - started), orders_n / (time.process_time() - cpu), trades


async def _market_setup(app: App, members_n: int) -> list[int]:
    """Members with 밤톨 and 밤나무, made through the services (not timed)."""
    from commerce.exchange.accounts import ESCROW
    from commerce.members import service as members
    from commerce.wallet import service as wallet

    m = app.services
    async with app.db.unit_of_work() as uow:
        await app.ledger.require_empty_market(uow)
        for account in ESCROW.values():
            await app.ledger.account(uow, account)  # opened by bootstrap (commerce.setup)
        office = await members.register(m, uow, channel="web", external_id="bench-office", display_name="사무실")
        await members.make_operator(m, uow, office.id)
        traders = []
        for i in range(members_n):
            member = await members.register(m, uow, channel="web", external_id=f"bench-t{i}", display_name="조합원")
            await members.verified_phone(m, uow, member.id, f"0104{i:07d}")  # trading BNM needs a verified phone
            await wallet.topup_at_office(m, uow, office.id, member.id, 2_000_000, receipt=f"bench-t{i}")
            await app.ledger.record(
                uow,
                Request(
                    actor="system:operator",
                    kind="bnm.contribution",
                    body={"member": member.id},
                    transfers=[
                        Transfer(f"bench-bnm-{i}", "treasury:bnm", members.wallet(member.id, "BNM"), 1_000_000, "BNM")
                    ],
                ),
            )
            traders.append(member.id)
        await uow.commit()
    return traders


async def run_market_bench(
    app: App,
    *,
    engine_orders: int = 200_000,
    ledgered_orders: int = 3_000,
    members_n: int = MARKET_MEMBERS,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The matching engine alone, then orders placed through the ledger: one transaction each, one after
    another (as a chat order is; ``p50_ms``/``p99_ms`` are per order there), then ``MARKET_GROUP`` per
    transaction, then ``MARKET_CLIENTS`` members placing at once, each order its own transaction.

    Ledgered orders are limit orders around the reference price (buys up to 4 ticks above, sells down to
    4 below), so about half trade at once, against a few makers: each order is one unit of work with its
    placement entry and, if it trades, a ``market.trade`` entry for its fills, holds and settlement
    included. A refusal (self-trade, the open-order limit) counts as an order too — it is a full round
    trip that writes nothing.
    """
    import asyncio

    from commerce.exchange import service
    from commerce.exchange.errors import MarketError

    match_rate, match_cpu_rate, match_trades = match_engine_rate(engine_orders)
    traders = await _market_setup(app, members_n)
    rng = random.Random(20261211)  # noqa: S311 - benchmark traffic
    m = app.services
    latencies: list[float] = []
    refused = trades = 0
    started, cpu = time.perf_counter(), time.process_time()
    for n in range(ledgered_orders):
        member = rng.choice(traders)
        side = "buy" if rng.random() < 0.5 else "sell"
        price = 1_000 + (10 if side == "buy" else -10) * rng.randrange(-1, 5)
        t0 = time.perf_counter()
        try:
            async with app.db.unit_of_work() as uow:
                placed = await service.place(
                    m, uow, member, side=side, amount=100 * (1 + rng.randrange(20)), price=price
                )
                await uow.commit()
            trades += len(placed.trades)
        except MarketError:
            refused += 1
        latencies.append(time.perf_counter() - t0)
        if progress and n % 100 == 0:
            progress(n, ledgered_orders)
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    latencies.sort()
    # Group commit: the same traffic, GROUP orders per transaction (a matching loop committing what
    # arrived in the last few milliseconds). A refusal is raised before anything is written, so the
    # others in its transaction carry on.
    grouped = 0
    started = time.perf_counter()
    while grouped < ledgered_orders:
        async with app.db.unit_of_work() as uow:
            for _ in range(min(MARKET_GROUP, ledgered_orders - grouped)):
                side = "buy" if rng.random() < 0.5 else "sell"
                price = 1_000 + (10 if side == "buy" else -10) * rng.randrange(-1, 5)
                member, units = rng.choice(traders), 100 * (1 + rng.randrange(20))
                try:
                    placed = await service.place(m, uow, member, side=side, amount=units, price=price)
                    trades += len(placed.trades)
                except MarketError:
                    refused += 1
                grouped += 1
            await uow.commit()
    grouped_elapsed = time.perf_counter() - started
    # Members at once: MARKET_CLIENTS of them, each placing an order, waiting for it, placing the next
    # (each order its own unit of work, as chat orders are); the database commits together what is ready.
    concurrent_latencies: list[float] = []
    left = ledgered_orders

    async def member_placing() -> None:
        nonlocal left, trades, refused
        while left > 0:
            left -= 1
            side = "buy" if rng.random() < 0.5 else "sell"
            price = 1_000 + (10 if side == "buy" else -10) * rng.randrange(-1, 5)
            member, units = rng.choice(traders), 100 * (1 + rng.randrange(20))
            t0 = time.perf_counter()
            try:
                async with app.db.unit_of_work() as uow:
                    placed = await service.place(m, uow, member, side=side, amount=units, price=price)
                    await uow.commit()
                trades += len(placed.trades)
            except MarketError:
                refused += 1
            concurrent_latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(member_placing() for _ in range(MARKET_CLIENTS)))
    concurrent_elapsed = time.perf_counter() - started
    concurrent_latencies.sort()
    report = await verify_ledger(app.db, app.ledger.origin)
    return {
        "database": app.db.dialect,
        "cores": os.cpu_count(),
        "match_orders": engine_orders,
        "match_trades": match_trades,
        "match_orders_per_s": round(match_rate),
        "match_orders_per_cpu_s": round(match_cpu_rate),
        "ledgered_orders": ledgered_orders,
        "ledgered_trades": trades,
        "ledgered_refused": refused,
        "ledgered_orders_per_s": round(ledgered_orders / elapsed),
        "ledgered_orders_per_cpu_s": round(ledgered_orders / cpu_s),
        "ledgered_grouped_orders_per_s": round(ledgered_orders / grouped_elapsed),
        "ledgered_group": MARKET_GROUP,
        "ledgered_concurrent_orders_per_s": round(ledgered_orders / concurrent_elapsed),
        "ledgered_concurrent_members": MARKET_CLIENTS,
        "concurrent_p99_ms": round(_percentile(concurrent_latencies, 0.99) * 1000, 2),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "verify_ok": report.ok,
    }


# ------------------------------------------------------------------------------------- web (trust pages)


async def _page_client(
    url: str, paths: list[str], clients: int, per_client: int, expect: bytes = b"data-verify"
) -> dict[str, Any]:
    import asyncio

    import aiohttp

    latencies: list[float] = []
    failed = 0
    cpu = time.process_time()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(n: int) -> None:
            nonlocal failed
            for i in range(per_client):
                path = paths[(n * per_client + i) % len(paths)]
                started = time.perf_counter()
                try:
                    async with http.get(url + path) as r:
                        body = await r.read()
                        ok = r.status == 200 and expect in body
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                latencies.append(time.perf_counter() - started)
                failed += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "failed": failed, "elapsed": elapsed, "cpu_s": time.process_time() - cpu}


def drive_pages(
    url: str, paths: list[str], clients: int, per_client: int, expect: bytes = b"data-verify"
) -> dict[str, Any]:
    """The page readers, in their own process (their HTTP work is not billed to the server)."""
    import asyncio

    return asyncio.run(_page_client(url, paths, clients, per_client, expect))


async def run_web_bench(
    app: App,
    *,
    clients: int = 200,
    per_client: int = 25,
    shoppers: int = 240,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """``clients`` concurrent readers of the provenance pages (``GET /p/<code>``) of the demo market.

    The server is ``make_web_app`` (background upkeep included) on an ephemeral loopback port; the
    readers run in a second process, each reading ``per_client`` pages one after another across every
    product. A request fails unless it is a 200 with the page's verify button. Ends with ``ledger verify``.
    """
    import asyncio
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from aiohttp import web

    from chestnut.demo import build_demo
    from chestnut.serve import server_app
    from commerce.shops import product_code

    async with app.db.snapshot() as snap:
        await app.ledger.require_empty_market(snap)
    await build_demo(app.services, app.db, shoppers=shoppers)
    async with app.db.snapshot() as snap:
        ids = [int(r[0]) for r in await snap.fetch("SELECT id FROM products ORDER BY id")]
    paths = [f"/p/{product_code.encode(i)}" for i in ids]
    runner = web.AppRunner(server_app(app), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)  # 200 clients connect at once
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(pool, drive_pages, url, paths, 4, 5)  # start-up and warm-up, not timed
            if progress:
                progress(0, clients)
            server_cpu = time.process_time()
            driven = await loop.run_in_executor(pool, drive_pages, url, paths, clients, per_client)
            server_cpu = time.process_time() - server_cpu
            # The same readers on GET /health (a constant answer): what this machine's HTTP stack gives
            # right now, to read the page figures against (the machine is shared).
            floor = await loop.run_in_executor(pool, drive_pages, url, ["/health"], clients, per_client, b"ok")
            if progress:
                progress(clients, clients)
    finally:
        await runner.cleanup()
    ordered = sorted(driven["latencies"])
    report = await verify_ledger(app.db, app.ledger.origin)
    return {
        "database": app.db.dialect,
        "cores": os.cpu_count(),
        "clients": clients,
        "products": len(paths),
        "requests": len(ordered),
        "requests_per_s": round(len(ordered) / driven["elapsed"]),
        "p50_ms": round(_percentile(ordered, 0.50) * 1000, 1),
        "p99_ms": round(_percentile(ordered, 0.99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else 0.0,
        "failed": int(driven["failed"]),
        "seconds": round(driven["elapsed"], 2),
        # Each process's CPU over the timed run, in % of one core: near 100 the process is the limit
        # (the readers' aiohttp client costs more per request than the server does).
        "server_cpu_pct": round(100 * server_cpu / driven["elapsed"]),
        "client_cpu_pct": round(100 * driven["cpu_s"] / driven["elapsed"]),
        "health_requests_per_s": round(len(floor["latencies"]) / floor["elapsed"]),
        "health_p99_ms": round(_percentile(sorted(floor["latencies"]), 0.99) * 1000, 1),
        "verify_ok": report.ok,
    }
