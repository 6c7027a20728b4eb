"""Ads in the server: the dispatch loop over the messengers' notifiers, built from the App and settings.

The outbox reuses what ``serve`` already brought up: the Telegram bot behind ``app.pushes``' notifier
(a notifier of its own, paced at the ads rate — ``CHESTNUT_ADS_TELEGRAM_RATE_PER_S``, 30/s unless the
bot pays for broadcasts — so ads never eat the pushes' budget of waits), the Kakao Event API notifier
(batches of ≤ 100 users), and the web chat (ads wait under "받은 광고"). Journals live in
``$CHESTNUT_HOME/ads``; the lease is the scheduler's lease table under the name ``ads-dispatch``.
"""

from __future__ import annotations

from ads.dispatch import Dispatcher
from ads.runner import DispatchLoop
from bots.ad_outbox import AdOutbox
from bots.notify import Notifier
from bots.telegram.push import TelegramNotifier
from chestnut.bootstrap import App
from scheduler.wiring import Lease

LEASE = "ads-dispatch"


def ad_notifiers(app: App) -> dict[str, Notifier]:
    s = app.settings
    notifiers: dict[str, Notifier] = {}
    pushed = app.pushes.notifiers
    telegram = pushed.get("telegram")
    if isinstance(telegram, TelegramNotifier):
        notifiers["telegram"] = TelegramNotifier(
            telegram.bot,
            per_chat_s=s.ads_telegram_per_chat_s,
            overall_per_s=s.ads_telegram_rate_per_s,
            keyboards=telegram.keyboards,
            catch_up_s=0.01,
        )
    if "kakao" in pushed:
        notifiers["kakao"] = pushed["kakao"]
    return notifiers


def dispatch_loop(app: App, *, interval_s: float = 2.0) -> DispatchLoop:
    """The loop ``serve`` runs in the background (roles ``all`` and ``web``)."""
    s = app.settings
    outbox = AdOutbox(ad_notifiers(app), office_phone=s.office_phone)
    dispatcher = Dispatcher(app.db, app.services, outbox, journal_dir=s.home / "ads")
    lease = Lease(app.db, s.scheduler_lease_ttl_s, name=LEASE)
    return DispatchLoop(
        dispatcher,
        acquire=lease.acquire,
        release=lease.release,
        lease_ttl_s=s.scheduler_lease_ttl_s,
        interval_s=interval_s,
    )
