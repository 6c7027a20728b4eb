"""``chestnut bench ads``: a campaign to many opted-in members through a Telegram stand-in, then opens.

On an empty ledger: ``members`` members (keys, ``member.join`` and one signed ``ad.consent`` entry each,
appended through ``record_many``), a producer with a shop and a product, a campaign started through the
real service. Dispatch runs through the real ``Dispatcher`` and ``TelegramNotifier`` (PTB over HTTP) to
the paced Bot API stand-in (``telegram_standin``), so ``http_429`` counts real pacing faults. Then
``opens`` opens arrive evenly within ``open_window_s`` seconds, each its own unit of work through
``rewards.open_ad``; latency is measured from the open's arrival to its commit. Ends with verify.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from typing import Any

from telegram import Bot

from ads import campaigns, dispatch, rewards
from ads.config import AdsServices
from bots.ad_outbox import AdOutbox
from bots.telegram.push import TelegramNotifier
from bots.telegram.transport import AiohttpRequest
from chestnut.bench.seed import seed_opted_in
from chestnut.bench.telegram_standin import StandInProcess
from chestnut.bootstrap import App
from ledger.verify import verify_ledger

TOKEN = "7000001:bench-token"  # noqa: S105 - the stand-in's token
DAY_MS = 86_400_000
KST_OFFSET_MS = 9 * 3_600_000
REWARD = 10


def _at_noon_in_seoul(app: App) -> None:
    """The services' clock runs from noon in Seoul, whenever the benchmark runs: members who did not
    agree to ads at night would otherwise wait for the morning, and the benchmark would measure nothing."""
    real = app.services.clock
    began = real()
    noon = began - (began + KST_OFFSET_MS) % DAY_MS + 12 * 3_600_000
    app.services.clock = lambda: noon + (real() - began)


async def _start_campaign(app: App, owner: int, product: int, opens: int) -> int:
    async with app.db.unit_of_work() as uow:
        camp = await campaigns.create(
            app.services, uow, owner, product_id=product, message="햇사과", reward=REWARD, budget=REWARD * opens
        )
        camp = await campaigns.start(app.services, uow, owner, camp.id)
        await uow.commit()
    return camp.id


async def _dispatch(app: App, campaign_id: int, rate: float) -> tuple[int, float, dict[str, Any]]:
    """The campaign sent to the stand-in at ``rate``: (messages sent, seconds, the stand-in's counts)."""
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
            report = await dispatcher.run(campaign_id)
            elapsed = time.monotonic() - started
        stats = await api.stats()
    finally:
        await api.stop()
    return report.sent, elapsed, stats


async def _opens(app: App, campaign_id: int, opens: int, open_window_s: float) -> tuple[int, int, list[float]]:
    """The first ``opens`` recipients open the ad, evenly within the window, each its own unit of work:
    (opens, opens paid, sorted latencies from arrival to commit)."""
    clock = app.services.clock
    app.services.clock = lambda: clock() + 60_000  # a minute after delivery: a person, not a bot
    async with app.db.snapshot() as snap:
        rows = await snap.fetch(
            "SELECT member_id, token FROM ad_recipients WHERE campaign_id = :c AND status = 'sent' "
            "ORDER BY member_id LIMIT :n",
            {"c": campaign_id, "n": opens},
        )
    latencies: list[float] = []
    paid = 0

    async def one(k: int, member_id: int, token: str, t0: float) -> None:
        nonlocal paid
        arrival = t0 + k * open_window_s / max(1, len(rows))
        await asyncio.sleep(max(0.0, arrival - time.monotonic()))
        async with app.db.unit_of_work() as uow:
            result = await rewards.open_ad(app.services, uow, member_id, campaign_id, token)
            await uow.commit()
        latencies.append(time.monotonic() - arrival)
        paid += result.outcome == "paid"

    t0 = time.monotonic() + 0.2
    await asyncio.gather(*(one(k, int(m), str(tok), t0) for k, (m, tok) in enumerate(rows)))
    app.services.clock = clock
    return len(rows), paid, sorted(latencies)


async def run_ads_bench(
    app: App,
    *,
    members_n: int = 100_000,
    rate: float = 1000.0,
    opens: int = 10_000,
    open_window_s: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    _at_noon_in_seoul(app)
    owner, product, first = await seed_opted_in(app, members_n, progress)
    campaign_id = await _start_campaign(app, owner, product, opens)
    sent, elapsed, stats = await _dispatch(app, campaign_id, rate)
    achieved = stats["sent"] / max(1e-9, stats["span_s"] or elapsed)
    opened, paid, latencies = await _opens(app, campaign_id, opens, open_window_s)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000 if latencies else 0.0
    verified = (await verify_ledger(app.db, app.ledger.origin)).ok
    return {
        "members": members_n,
        "configured_rate": rate,
        "achieved_rate": round(achieved, 1),
        "dispatch_rate_ratio": round(achieved / rate, 3),
        "dispatch_s": round(elapsed, 1),
        "sent": sent,
        "http_429": stats["http_429"],
        "http_429_per_chat": stats["per_chat_429"],
        "opens": opened,
        "opens_paid": paid,
        "open_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else 0.0,
        "open_p99_ms": round(p99, 1),
        "verified": verified,
        "first_member": first,
    }
