"""``chestnut bench ads``: a campaign to many opted-in members through a Telegram stand-in, then opens.

On an empty ledger: ``members`` members (keys, ``member.join`` and one signed ``ad.consent`` entry each,
appended through ``record_many``), a producer with a shop and a product, a campaign started through the
real service. Dispatch runs through the real ``Dispatcher`` and ``TelegramNotifier`` (PTB over HTTP) to a
loopback Bot API stand-in that answers 429 when a chat gets two messages within a second or more than
``rate`` messages arrive within one second (30, as Telegram's, for messages that do not ask for paid
broadcast) — so ``http_429`` counts real pacing faults. Then ``opens``
opens arrive evenly within ``open_window_s`` seconds, each its own unit of work through
``rewards.open_ad``; latency is measured from the open's arrival to its commit. Ends with verify.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import gc
import sys
import time
from typing import Any

import aiohttp
from aiohttp import web
from telegram import Bot

from ads import campaigns, consent, dispatch, rewards
from ads.config import AdsServices
from bots.flows.ads import AdOutbox
from bots.telegram_push import FREE_RATE_PER_S, TelegramNotifier
from bots.telegram_transport import AiohttpRequest
from chestnut.bootstrap import App
from commerce.members import service as members
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.wallet import service as wallet
from ledger.model import AccountSpec
from ledger.requests import Request
from ledger.storage.ops import write_many
from ledger.verify import verify_ledger

TOKEN = "7000001:bench-token"  # noqa: S105 - the stand-in's token


class StandInProcess:
    """The paced Bot API stand-in in a process of its own, as Telegram is not in ours: the benchmark
    measures our dispatch, not the stand-in competing with it for the event loop."""

    def __init__(self, proc: asyncio.subprocess.Process, base_url: str) -> None:
        self.proc, self.base_url = proc, base_url

    @classmethod
    async def start(cls, rate: float) -> StandInProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chestnut.bench_ads", str(rate), stdout=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        if not line.startswith("http://"):
            proc.kill()
            raise RuntimeError("the Bot API stand-in did not start")
        return cls(proc, line)

    async def stats(self) -> dict[str, Any]:
        async with aiohttp.ClientSession() as http, http.get(self.base_url.removesuffix("/bot") + "/stats") as r:
            stats: dict[str, Any] = await r.json()
            return stats

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


class PacedBotApi:
    """A Bot API stand-in that enforces Telegram's limits instead of trusting the client."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.sent = 0
        self.http_429 = 0
        self.per_chat_429 = 0
        self.first: float | None = None
        self.last = 0.0
        self._window: collections.deque[float] = collections.deque()
        self._per_chat: dict[str, float] = {}
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/bot"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _stats(self, _request: web.Request) -> web.Response:
        span = self.last - (self.first or self.last)
        return web.json_response(
            {"sent": self.sent, "http_429": self.http_429, "per_chat_429": self.per_chat_429, "span_s": span}
        )

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = await request.post()
        if method == "getMe":
            return web.json_response(
                {"ok": True, "result": {"id": 7000001, "is_bot": True, "first_name": "b", "username": "b_bot"}}
            )
        now = time.monotonic()
        chat = str(form.get("chat_id"))
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        # 2 % tolerance for timer jitter on a busy machine; Telegram's own limit is not exact either
        too_fast = now - self._per_chat.get(chat, -10.0) < 0.95
        # Above the free 30 a second only messages that ask for paid broadcast are let through.
        limit = self.rate if form.get("allow_paid_broadcast") == "true" else min(self.rate, FREE_RATE_PER_S)
        if len(self._window) >= limit * 1.02 or too_fast:
            self.http_429 += 1
            self.per_chat_429 += too_fast
            return web.json_response(
                {"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 1}},
                status=429,
            )
        self._window.append(now)
        self._per_chat[chat] = now
        self.sent += 1
        self.first = now if self.first is None else self.first
        self.last = now
        message = {"message_id": self.sent, "date": int(time.time()), "chat": {"id": int(chat), "type": "private"}}
        return web.json_response({"ok": True, "result": {**message, "text": str(form.get("text", ""))}})


DAY_MS = 86_400_000
KST_OFFSET_MS = 9 * 3_600_000


async def seed_opted_in(app: App, n: int, progress: Any) -> tuple[int, int, int]:
    m = app.services
    async with app.db.unit_of_work() as uow:
        await app.ledger.require_empty_market(uow)
        office = await members.register(m, uow, channel="web", external_id="bench-office", display_name="사무실")
        await members.make_operator(m, uow, office.id)
        owner = await members.register(m, uow, channel="web", external_id="bench-p", display_name="생산자")
        shop = await shops.open_shop(
            m, uow, owner.id, name="벤치 과수원", kind="farm", region="수원시", delivery_fee=3000
        )
        await shops.verify_shop(m, uow, office.id, shop.id)
        product = await catalog.add_product(
            m, uow, owner.id, shop.id, name="사과", category="과일", unit="1kg", price=6000, stock=1000,
            origin_region="경북", origin_producer="농가",
        )  # fmt: skip
        await wallet.topup_at_office(m, uow, office.id, owner.id, 2_000_000, receipt="bench")
        first = int((await uow.fetch("SELECT COALESCE(MAX(id), 0) FROM members"))[0][0]) + 1
        await uow.commit()
    now = m.clock()
    step = 5000
    for start in range(0, n, step):
        ids = list(range(first + start, first + min(n, start + step)))
        async with app.db.unit_of_work() as uow:
            keys = await app.keys.create_many(uow, [members.key_label(i) for i in ids])
            reqs: list[Request] = []
            for i, k in zip(ids, keys, strict=True):
                reqs.append(
                    Request(
                        actor=members.key_label(i),
                        kind="member.join",
                        body={"member": i},
                        accounts=[
                            AccountSpec(members.wallet(i, "BTL"), "BTL", k.public_key),
                            AccountSpec(members.wallet(i, "BNM"), "BNM", k.public_key),
                        ],
                    )
                )
                reqs.append(
                    Request(
                        actor=members.key_label(i),
                        kind="ad.consent",
                        body={"member": i, "scope": "category", "value": consent.ANY, "granted": True},
                    )
                )

            def rows(recs: list[Any], ids: list[int] = ids) -> list[Any]:
                return [
                    write_many(
                        "INSERT INTO members (id, display_name, roles, lang, bnm_share_pref, status, created_ms) "
                        "VALUES (:id, '손님', 'shopper', 'ko', 0, 'active', :now)",
                        [{"id": i, "now": now} for i in ids],
                    ),
                    write_many(
                        "INSERT INTO member_identities (channel, external_id, member_id, created_ms) "
                        "VALUES ('telegram', :e, :id, :now)",
                        [{"e": str(10_000_000 + i), "id": i, "now": now} for i in ids],
                    ),
                    write_many(
                        "INSERT INTO ad_consents (member_id, scope, value, status, confirmed_ms, updated_ms, seq) "
                        "VALUES (:id, :s, '*', 'granted', :now, :now, :seq)",
                        [
                            {"id": i, "s": s, "now": now, "seq": recs[2 * k + 1].seq}
                            for k, i in enumerate(ids)
                            for s in ("category", "region")
                        ],
                    ),
                ]

            prepared = await app.ledger.prepare(uow, reqs)
            await uow.batch([*prepared.ops, *rows(prepared.recorded)])
            await uow.commit()
        if progress:
            progress(min(n, start + step), n)
    return owner.id, product.id, first


async def run_ads_bench(
    app: App, *, members_n: int = 100_000, rate: float = 1000.0, opens: int = 10_000, open_window_s: float = 10.0,
    progress: Any = None,
) -> dict[str, Any]:  # fmt: skip
    # The campaign goes out at noon in Seoul, whenever the benchmark runs: members who did not agree to ads
    # at night would otherwise wait for the morning, and the benchmark would measure nothing.
    real = app.services.clock
    began = real()
    noon = began - (began + KST_OFFSET_MS) % DAY_MS + 12 * 3_600_000
    app.services.clock = lambda: noon + (real() - began)
    owner, product, first = await seed_opted_in(app, members_n, progress)
    reward = 10
    async with app.db.unit_of_work() as uow:
        camp = await campaigns.create(
            app.services, uow, owner, product_id=product, message="햇사과", reward=reward, budget=reward * opens
        )
        camp = await campaigns.start(app.services, uow, owner, camp.id)
        await uow.commit()
    api = await StandInProcess.start(rate)
    bot = Bot(TOKEN, base_url=api.base_url, request=AiohttpRequest(connections=128))
    try:
        async with bot:
            notifier = TelegramNotifier(bot, per_chat_s=1.0, overall_per_s=rate, catch_up_s=0.01)
            if isinstance(app.services, AdsServices):  # the configured rate, as CHESTNUT_ADS_TELEGRAM_RATE_PER_S
                app.services.ads = dataclasses.replace(app.services.ads, telegram_rate_per_s=rate)
            dispatcher = dispatch.Dispatcher(
                app.db, app.services, AdOutbox({"telegram": notifier}), journal_dir=app.settings.home / "ads"
            )
            started = time.monotonic()
            report = await dispatcher.run(camp.id)
            elapsed = time.monotonic() - started
        stats = await api.stats()
    finally:
        await api.stop()
    achieved = stats["sent"] / max(1e-9, stats["span_s"] or elapsed)
    # opens: the first ``opens`` recipients, evenly within the window, each its own unit of work
    clock = app.services.clock
    app.services.clock = lambda: clock() + 60_000  # a minute after delivery: a person, not a bot
    async with app.db.snapshot() as snap:
        rows = await snap.fetch(
            "SELECT member_id, token FROM ad_recipients WHERE campaign_id = :c AND status = 'sent' "
            "ORDER BY member_id LIMIT :n",
            {"c": camp.id, "n": opens},
        )
    latencies: list[float] = []
    paid = 0

    async def one(k: int, member_id: int, token: str, t0: float) -> None:
        nonlocal paid
        arrival = t0 + k * open_window_s / max(1, len(rows))
        await asyncio.sleep(max(0.0, arrival - time.monotonic()))
        async with app.db.unit_of_work() as uow:
            result = await rewards.open_ad(app.services, uow, member_id, camp.id, token)
            await uow.commit()
        latencies.append(time.monotonic() - arrival)
        paid += result.outcome == "paid"

    t0 = time.monotonic() + 0.2
    await asyncio.gather(*(one(k, int(m), str(tok), t0) for k, (m, tok) in enumerate(rows)))
    app.services.clock = clock
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000 if latencies else 0.0
    verified = (await verify_ledger(app.db, app.ledger.origin)).ok
    return {
        "members": members_n,
        "configured_rate": rate,
        "achieved_rate": round(achieved, 1),
        "dispatch_rate_ratio": round(achieved / rate, 3),
        "dispatch_s": round(elapsed, 1),
        "sent": report.sent,
        "http_429": stats["http_429"],
        "http_429_per_chat": stats["per_chat_429"],
        "opens": len(rows),
        "opens_paid": paid,
        "open_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else 0.0,
        "open_p99_ms": round(p99, 1),
        "verified": verified,
        "first_member": first,
    }


async def _serve_standin(rate: float) -> None:
    api = PacedBotApi(rate)
    await api.start()
    print(api.base_url, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":  # the stand-in's process (StandInProcess)
    # The instrument must not pause: a full collection of its 100,000-chat table stalls its loop for
    # ~100 ms, after which the requests queued in the socket all arrive at once and are counted as a
    # burst the client never sent. A two-minute run leaks next to nothing without the cycle collector.
    gc.disable()
    asyncio.run(_serve_standin(float(sys.argv[1])))
