"""A campaign's dispatcher in a process of its own, for the SIGKILL test (``test_ads_dispatch.py``).

``python tests/e2e/ads_dispatcher.py HOME CAMPAIGN BOT_API_BASE_URL TOKEN RATE`` runs the real
``ads.dispatch.Dispatcher`` (journal in ``HOME/ads``) with the real ``TelegramNotifier`` against the Bot
API stand-in, prints ``done <sent> <recovered> <resumed> <settled>`` and exits. The test kills it mid-send.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from telegram import Bot

from ads.dispatch import Dispatcher
from bots.ad_outbox import AdOutbox
from bots.telegram.push import TelegramNotifier
from bots.telegram.transport import AiohttpRequest
from chestnut.bootstrap import build
from chestnut.settings import Settings


async def main(home: Path, campaign_id: int, base_url: str, token: str, rate: float) -> None:
    app = await build(Settings(home=home, environment="test"))
    try:
        async with Bot(token, base_url=base_url, request=AiohttpRequest()) as bot:
            notifier = TelegramNotifier(bot, per_chat_s=1.0, overall_per_s=rate, catch_up_s=0.01)
            outbox = AdOutbox({"telegram": notifier})
            dispatcher = Dispatcher(app.db, app.services, outbox, chunk=20, journal_dir=home / "ads")
            print("ready", flush=True)
            r = await dispatcher.run(campaign_id)
            print(f"done {r.sent} {r.recovered} {r.resumed} {r.settled}", flush=True)
    finally:
        await app.close()


if __name__ == "__main__":
    home, campaign, url, token, rate = sys.argv[1:6]
    asyncio.run(main(Path(home), int(campaign), url, token, float(rate)))
