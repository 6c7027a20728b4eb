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
    from commerce import catalog, members, shops, wallet

    m = app.market
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
                await wallet.topup_at_office(m, uow, office.id, member.id, 2_000_000, receipt=f"bench-{i}")
                buyers.append(member.id)
            await uow.commit()
    return buyers, shop_products


async def run_commerce_bench(
    app: App,
    *,
    members_n: int = 1000,
    products_n: int = 10_000,
    orders_n: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Orders placed and paid per second (one transaction each) with search latency, against the ceiling."""
    from commerce import orders

    rng = random.Random(20261124)  # noqa: S311 - benchmark traffic
    buyers, shop_products = await _commerce_setup(app, members_n, products_n)
    m = app.market
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
    from commerce.search import measure_latency

    queries = ["사과", "ㅅㄱ", "고구모", "호박 고구마", "대파 12", "ㄱㄷㅇ", "김치", "참기룸", "과일", "두부 7"]
    async with app.db.snapshot() as snap:
        search_p50, search_p99 = await measure_latency(snap, app.search_index, queries, 50)
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
