"""``chestnut bench chat``: shoppers ordering at once through the Kakao skill endpoint over loopback HTTP.

The server is the one ``chestnut serve`` runs (``server_app``, background upkeep included) on an
ephemeral port; the shoppers run in a second process, as Kakao's side of the wire is another machine.
Each follows the buttons of the answers it gets, as KakaoTalk would: home, the market, a shop, a
product, "1개 담기", "결제하기".
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bots.texts import t
from chestnut.bench.measure import percentile
from chestnut.bootstrap import App
from chestnut.serve import server_app
from commerce.delivery import addresses
from commerce.members import service as members
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.wallet import service as wallet
from ledger.verify import verify_ledger

CHAT_MARKET = "못골시장"
CHAT_SHOPS = ("김씨네 과수원", "박씨네 채소", "바다 수산")
CHAT_PRODUCTS = (("사과", "과일"), ("배", "과일"), ("고구마", "채소"), ("대파", "채소"))


async def _open_market(app: App) -> int:
    """The office and ``CHAT_SHOPS`` in ``CHAT_MARKET``, each selling ``CHAT_PRODUCTS``: the office's id."""
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
    return office.id


async def _chat_setup(app: App, shoppers: int) -> list[str]:
    """A small market and ``shoppers`` Kakao members with money, made through the services (not timed)."""
    m = app.services
    office_id = await _open_market(app)
    users = []
    for start in range(0, shoppers, 250):
        async with app.db.unit_of_work() as uow:
            for i in range(start, min(shoppers, start + 250)):
                user = f"bench-kakao-{i}"
                member = await members.register(m, uow, channel="kakao", external_id=user, display_name="손님")
                await members.verified_phone(m, uow, member.id, f"0107{i:07d}")  # paying needs a verified phone
                await addresses.add(m, uow, member.id, label="집", text=f"수원시 팔달구 매산로 {i}")  # and an address
                await wallet.topup_at_office(m, uow, office_id, member.id, 1_000_000, receipt=f"chat-{i}")
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
    return asyncio.run(_drive(url, headers, users, rate))


def _skill_headers(app: App) -> dict[str, str]:
    """The header Kakao signs the skill's requests with, a fresh secret if none is configured."""
    if app.settings.kakao_skill_secret is None:  # the skill answers only with its secret outside development
        app.settings = app.settings.model_copy(update={"kakao_skill_secret": SecretStr(secrets.token_hex(16))})
    secret = app.settings.kakao_skill_secret
    assert secret is not None
    return {app.settings.kakao_skill_header: secret.get_secret_value()}


async def _serve_and_drive(
    app: App, users: list[str], rate: float, progress: Callable[[int, int], None] | None
) -> dict[str, Any]:
    """The server on a loopback port and the shoppers in a second process, until they are done."""
    headers = _skill_headers(app)
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
                progress(0, len(users))
            driven = await loop.run_in_executor(pool, drive_shoppers, url, headers, users, rate)
            if progress:
                progress(len(users), len(users))
    finally:
        await runner.cleanup()
    return driven


async def run_chat_bench(
    app: App, *, shoppers: int = 200, rate: float = 0.0, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """``shoppers`` simulated Kakao users ordering at once through ``POST /kakao/skill`` over loopback HTTP.

    A message fails when it is not answered 200 with a SkillResponse, or its answer lacks the next
    button; the ledger is verified afterwards.
    """
    users = await _chat_setup(app, shoppers)
    driven = await _serve_and_drive(app, users, rate, progress)
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
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 1),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else 0.0,
        "failed": failed,
        "orders_paid": paid,
        "seconds": round(elapsed, 2),
        "verify_ok": report.ok,
    }
