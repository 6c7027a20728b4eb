"""``chestnut bench web``: the provenance pages (``GET /p/<code>``) read by concurrent clients over loopback.

On the demo market. The server is ``server_app`` (background upkeep included) on an ephemeral loopback
port; the readers run in a second process so their HTTP work is not billed to the server. The same
readers on ``GET /health`` (a constant answer) give what this machine's HTTP stack yields right now,
to read the page figures against (the machine is shared).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import aiohttp
from aiohttp import web

from chestnut.bench.measure import percentile
from chestnut.bootstrap import App
from chestnut.demo import build_demo
from chestnut.serve import server_app
from commerce.shops import product_code
from ledger.verify import verify_ledger


async def _page_client(
    url: str, paths: list[str], clients: int, per_client: int, expect: bytes = b"data-verify"
) -> dict[str, Any]:
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
    return asyncio.run(_page_client(url, paths, clients, per_client, expect))


async def _demo_pages(app: App, shoppers: int) -> list[str]:
    """The demo market built on an empty one: the path of every product's page."""
    async with app.db.snapshot() as snap:
        await app.ledger.require_empty_market(snap)
    await build_demo(app.services, app.db, shoppers=shoppers)
    async with app.db.snapshot() as snap:
        ids = [int(r[0]) for r in await snap.fetch("SELECT id FROM products ORDER BY id")]
    return [f"/p/{product_code.encode(i)}" for i in ids]


async def _serve_and_read(
    app: App, paths: list[str], clients: int, per_client: int, progress: Callable[[int, int], None] | None
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """The pages read, then ``/health`` read: (pages, health, the server's CPU seconds over the pages)."""
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
            floor = await loop.run_in_executor(pool, drive_pages, url, ["/health"], clients, per_client, b"ok")
            if progress:
                progress(clients, clients)
    finally:
        await runner.cleanup()
    return driven, floor, server_cpu


async def run_web_bench(
    app: App,
    *,
    clients: int = 200,
    per_client: int = 25,
    shoppers: int = 240,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """``clients`` concurrent readers of the provenance pages (``GET /p/<code>``) of the demo market.

    Each reads ``per_client`` pages one after another across every product. A request fails unless it
    is a 200 with the page's verify button. Ends with ``ledger verify``.
    """
    paths = await _demo_pages(app, shoppers)
    driven, floor, server_cpu = await _serve_and_read(app, paths, clients, per_client, progress)
    ordered = sorted(driven["latencies"])
    report = await verify_ledger(app.db, app.ledger.origin)
    return {
        "database": app.db.dialect,
        "cores": os.cpu_count(),
        "clients": clients,
        "products": len(paths),
        "requests": len(ordered),
        "requests_per_s": round(len(ordered) / driven["elapsed"]),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 1),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else 0.0,
        "failed": int(driven["failed"]),
        "seconds": round(driven["elapsed"], 2),
        # Each process's CPU over the timed run, in % of one core: near 100 the process is the limit
        # (the readers' aiohttp client costs more per request than the server does).
        "server_cpu_pct": round(100 * server_cpu / driven["elapsed"]),
        "client_cpu_pct": round(100 * driven["cpu_s"] / driven["elapsed"]),
        "health_requests_per_s": round(len(floor["latencies"]) / floor["elapsed"]),
        "health_p99_ms": round(percentile(sorted(floor["latencies"]), 0.99) * 1000, 1),
        "verify_ok": report.ok,
    }
