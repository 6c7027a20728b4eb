"""``chestnut bench market``: the BNM matching engine in memory, then orders placed through the ledger.

Ledgered orders are limit orders around the reference price (buys up to 4 ticks above, sells down to
4 below), so about half trade at once, against a few makers: each order is one unit of work with its
placement entry and, if it trades, a ``market.trade`` entry for its fills, holds and settlement
included. A refusal (self-trade, the open-order limit) counts as an order too — it is a full round trip
that writes nothing. The same traffic runs three ways: one order per transaction one after another (as
a chat order is), ``MARKET_GROUP`` per transaction, and ``MARKET_CLIENTS`` members placing at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import time
from collections.abc import Callable
from typing import Any

from chestnut.bench.measure import percentile
from chestnut.bootstrap import App
from commerce.exchange import service
from commerce.exchange.accounts import ESCROW
from commerce.exchange.book import BUY, LIMIT, MARKET, SELL, Book, Order
from commerce.exchange.errors import MarketError, NoLiquidity, SelfTrade
from commerce.members import service as members
from commerce.wallet import service as wallet
from ledger.model import Transfer
from ledger.requests import Request
from ledger.storage.unit_of_work import UnitOfWork
from ledger.verify import verify_ledger

MARKET_MEMBERS = 200
MARKET_CLIENTS = 16  # members placing orders at once in the concurrent phase
MARKET_GROUP = 50  # orders per transaction in the group-commit run


def match_engine_rate(orders_n: int, seed: int = 20261210) -> tuple[float, float, int]:
    """Orders/s through the matching engine alone, in memory: limit and market orders around one price,
    with one cancel for every ten orders. Returns (orders per wall-clock second, per CPU second, trades)
    — the second says what the engine does when a busy machine lends it only part of a core."""
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


@dataclasses.dataclass
class _Traffic:
    """The ledgered orders' source (one seeded stream across the three runs) and what they came to."""

    rng: random.Random
    traders: list[int]
    trades: int = 0
    refused: int = 0

    def order(self) -> tuple[int, str, int, int]:
        """(member, side, units, price) of the next order."""
        side = "buy" if self.rng.random() < 0.5 else "sell"
        price = 1_000 + (10 if side == "buy" else -10) * self.rng.randrange(-1, 5)
        member, units = self.rng.choice(self.traders), 100 * (1 + self.rng.randrange(20))
        return member, side, units, price

    async def place(self, app: App, uow: UnitOfWork, order: tuple[int, str, int, int]) -> None:
        member, side, units, price = order
        try:
            placed = await service.place(app.services, uow, member, side=side, amount=units, price=price)
            self.trades += len(placed.trades)
        except MarketError:
            self.refused += 1


async def _one_by_one(
    app: App, traffic: _Traffic, orders_n: int, progress: Callable[[int, int], None] | None
) -> tuple[float, float, list[float]]:
    """Each order its own transaction, one after another: (seconds, CPU seconds, sorted latencies)."""
    rng = traffic.rng
    latencies: list[float] = []
    started, cpu = time.perf_counter(), time.process_time()
    for n in range(orders_n):
        member = rng.choice(traffic.traders)
        side = "buy" if rng.random() < 0.5 else "sell"
        price = 1_000 + (10 if side == "buy" else -10) * rng.randrange(-1, 5)
        t0 = time.perf_counter()
        try:
            async with app.db.unit_of_work() as uow:
                placed = await service.place(
                    app.services, uow, member, side=side, amount=100 * (1 + rng.randrange(20)), price=price
                )
                await uow.commit()
            traffic.trades += len(placed.trades)
        except MarketError:
            traffic.refused += 1
        latencies.append(time.perf_counter() - t0)
        if progress and n % 100 == 0:
            progress(n, orders_n)
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return elapsed, cpu_s, sorted(latencies)


async def _grouped(app: App, traffic: _Traffic, orders_n: int) -> float:
    """``MARKET_GROUP`` orders per transaction (a matching loop committing what arrived in the last few
    milliseconds): seconds. A refusal is raised before anything is written, so the others carry on."""
    grouped = 0
    started = time.perf_counter()
    while grouped < orders_n:
        async with app.db.unit_of_work() as uow:
            for _ in range(min(MARKET_GROUP, orders_n - grouped)):
                await traffic.place(app, uow, traffic.order())
                grouped += 1
            await uow.commit()
    return time.perf_counter() - started


async def _concurrent(app: App, traffic: _Traffic, orders_n: int) -> tuple[float, list[float]]:
    """``MARKET_CLIENTS`` members at once, each placing an order, waiting for it, placing the next (each
    its own unit of work, as chat orders are); the database commits together what is ready: (seconds,
    sorted latencies)."""
    latencies: list[float] = []
    left = orders_n

    async def member_placing() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            member, side, units, price = traffic.order()
            t0 = time.perf_counter()
            try:
                async with app.db.unit_of_work() as uow:
                    placed = await service.place(app.services, uow, member, side=side, amount=units, price=price)
                    await uow.commit()
                traffic.trades += len(placed.trades)
            except MarketError:
                traffic.refused += 1
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(member_placing() for _ in range(MARKET_CLIENTS)))
    return time.perf_counter() - started, sorted(latencies)


async def run_market_bench(
    app: App,
    *,
    engine_orders: int = 200_000,
    ledgered_orders: int = 3_000,
    members_n: int = MARKET_MEMBERS,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The matching engine alone, then the ledgered runs (``p50_ms``/``p99_ms`` are per order in the
    one-by-one run, ``concurrent_p99_ms`` in the concurrent one)."""
    match_rate, match_cpu_rate, match_trades = match_engine_rate(engine_orders)
    traffic = _Traffic(random.Random(20261211), await _market_setup(app, members_n))  # noqa: S311 - benchmark traffic
    elapsed, cpu_s, latencies = await _one_by_one(app, traffic, ledgered_orders, progress)
    grouped_elapsed = await _grouped(app, traffic, ledgered_orders)
    concurrent_elapsed, concurrent_latencies = await _concurrent(app, traffic, ledgered_orders)
    report = await verify_ledger(app.db, app.ledger.origin)
    return {
        "database": app.db.dialect,
        "cores": os.cpu_count(),
        "match_orders": engine_orders,
        "match_trades": match_trades,
        "match_orders_per_s": round(match_rate),
        "match_orders_per_cpu_s": round(match_cpu_rate),
        "ledgered_orders": ledgered_orders,
        "ledgered_trades": traffic.trades,
        "ledgered_refused": traffic.refused,
        "ledgered_orders_per_s": round(ledgered_orders / elapsed),
        "ledgered_orders_per_cpu_s": round(ledgered_orders / cpu_s),
        "ledgered_grouped_orders_per_s": round(ledgered_orders / grouped_elapsed),
        "ledgered_group": MARKET_GROUP,
        "ledgered_concurrent_orders_per_s": round(ledgered_orders / concurrent_elapsed),
        "ledgered_concurrent_members": MARKET_CLIENTS,
        "concurrent_p99_ms": round(percentile(concurrent_latencies, 0.99) * 1000, 2),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "verify_ok": report.ok,
    }
