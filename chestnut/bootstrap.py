"""The composition root: builds the database, key store and services and passes them in.

Nothing in Chestnut is created at import time; every entry point (CLI, server, tests) calls ``build``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from ads.config import AdsRules, AdsServices
from bots.context import ChatConfig
from bots.dialogue import Dialogue
from bots.flows import build_router
from bots.kakao_events import KakaoEventNotifier
from bots.pushes import Pushes
from chestnut.logs import keep_out_of_logs
from chestnut.migrate import upgrade
from chestnut.settings import Settings
from commerce.events import Handlers
from commerce.exchange.price import MarketPrice
from commerce.members.pepper import load_pepper
from commerce.members.sms import HttpSms
from commerce.orders.events import OrderPaid
from commerce.search.service import SearchIndex
from commerce.services import Services
from commerce.setup import OPERATOR_DEBIT_KINDS, ensure_market_ready
from commerce.wallet.gateway import HttpGateway, PaymentGateway
from community import comments, referrals
from ledger.errors import KeyStoreError
from ledger.keys import (
    KeyStore,
    MasterKey,
    finish_interrupted_rotation,
    holds_sealed_keys,
    load_or_create_master_key,
    read_master_key,
)
from ledger.service import Ledger
from ledger.storage.backends import open_database
from ledger.storage.unit_of_work import Database

if TYPE_CHECKING:
    from scheduler.wiring import BatchContext

# A new SQLite database of the platform gets 1 KiB pages (see ``create_sqlite_file``). bench market,
# 2026-12-03, one order per transaction: 4 KiB pages 1,440 orders/s (31 pages, 127 KB to the WAL per
# COMMIT), 2 KiB 1,610, 1 KiB 1,734 (43 pages, 43 KB). bench ledger's single commits gain too
# (3,333 → 3,761/s); its 500-entry batches lose ~10 % (15,701 → 14,108/s), the rare case here.
SQLITE_PAGE_SIZE = 1024


@dataclass
class App:
    settings: Settings
    db: Database
    keys: KeyStore
    ledger: Ledger
    services: Services
    search_index: SearchIndex
    dialogue: Dialogue
    pushes: Pushes
    gateway: PaymentGateway | None = None
    http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        await self.pushes.close()
        if self.http is not None:
            await self.http.close()
        await self.db.close()


async def _master_key(db: Database, path: Path) -> MasterKey:
    await finish_interrupted_rotation(db, path)
    if path.exists():  # noqa: ASYNC240 - once, at start-up
        return read_master_key(path)
    async with db.snapshot() as snap:
        sealed = await holds_sealed_keys(snap)
    if sealed:
        raise KeyStoreError(
            f"the master key file {path} is missing but the database holds sealed keys; restore the file "
            "(or set CHESTNUT_MASTER_KEY_FILE) — a new key could not open them"
        )
    return load_or_create_master_key(path)


async def _open_ledger(db: Database, settings: Settings, initialize: bool) -> tuple[KeyStore, Ledger, bytes]:
    """The key store under the master key, the ledger (its first entries and the market's accounts made
    when ``initialize``) and the personal-data pepper: (keys, ledger, pepper)."""
    master = await _master_key(db, settings.resolved_master_key_file)
    secret = master._secret().hex()
    keep_out_of_logs(settings, secret, secret.upper())  # the key file's text, should a line ever hold it
    keys = KeyStore(master)
    async with db.snapshot() as snap:
        await keys.check_master(snap)
    pepper = await load_pepper(db, settings.resolved_pepper_file)
    ledger = Ledger(keys, settings.ledger_origin)
    if initialize:
        async with db.unit_of_work() as uow:
            created = await ledger.initialize(uow, operator_debit_kinds=OPERATOR_DEBIT_KINDS)
            if await ensure_market_ready(ledger, uow) or created:
                await ledger.publish_checkpoint(uow)
            await uow.commit()
    return keys, ledger, pepper


def in_transaction_handlers() -> Handlers:
    """What must commit with a domain event, however the change was asked for (``commerce.events``): a paid
    order's recommendation is attributed and its credited comment credited — in this order, which the
    ledger's entries follow."""
    return {OrderPaid: (referrals.attribute_paid, comments.credit_paid)}


async def build(settings: Settings, *, migrate: bool = True, initialize: bool = True) -> App:
    settings.home.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    if migrate:
        await upgrade(url, page_size=SQLITE_PAGE_SIZE)
    db = await open_database(url, synchronous=settings.sqlite_synchronous)
    try:
        keys, ledger, pepper = await _open_ledger(db, settings, initialize)
    except BaseException:
        await db.close()
        raise
    http = gateway = None
    if settings.gateway_base_url and settings.gateway_secret_key:
        http = aiohttp.ClientSession()
        gateway = HttpGateway(
            http,
            settings.gateway_base_url,
            settings.gateway_secret_key.get_secret_value(),
            timeout_s=settings.gateway_timeout_s,
        )
    # The domain services with the ads' rules from settings (pacing, quiet hours, open limits).
    market = AdsServices(ledger, keys, ads=AdsRules.from_settings(settings), pepper_secret=pepper)
    market.handlers = in_transaction_handlers()
    index = SearchIndex()
    # Payments value BNM at the market's reference price (the operator's price until members trade),
    # on the market's clock, so a test or a replay that sets the clock moves the price window with it.
    market.prices = MarketPrice(fallback=market.prices, clock=lambda: market.clock())
    if settings.sms_url and settings.sms_key:  # sign-up codes by SMS (commerce.members.identity)
        http = http or aiohttp.ClientSession()
        market.sms = HttpSms(
            http, settings.sms_url, settings.sms_key.get_secret_value(), timeout_s=settings.sms_timeout_s
        )
    chat = ChatConfig(
        office_phone=settings.office_phone,
        show_codes=settings.environment != "production" and market.sms is None,
        topup_url=settings.topup_page_url,
        trial_topup=settings.trial_topup if settings.environment == "development" else 0,
        bot_username=settings.telegram_bot_username,
        public_url=settings.public_url,
        strict=settings.environment == "test",  # a chat handler that writes undeclared fails the test
    )
    dialogue = Dialogue(db, market, index, build_router(), chat)
    pushes = Pushes(db)
    # Domain events someone hears of go to the push outbox inside their own transaction; a commit wakes
    # the sender (the server's background work).
    db.before_commit, db.after_commit = pushes.before_commit, pushes
    if settings.telegram_token is not None:  # its notifier comes up with serve's bot
        pushes.expect("telegram")
    if settings.kakao_bot_id and settings.kakao_rest_key:  # KakaoTalk pushes through the Event API
        http = http or aiohttp.ClientSession()
        kakao = KakaoEventNotifier.configured(
            http, settings.kakao_bot_id, settings.kakao_rest_key.get_secret_value(), settings.kakao_api_base
        )
        if kakao is not None:
            pushes.add(kakao)
    return App(settings, db, keys, ledger, market, index, dialogue, pushes, gateway, http)


def batch_context(app: App) -> BatchContext:
    """What the scheduler's batches need, from the app and its settings (``serve`` and ``chestnut batch``).

    The announcer is the bots' push outbox (``bots.pushes.Pushes``): batches write their notices into it
    in the transaction that decided them, and the server's sender pushes each to the member.
    """
    from scheduler.payout import FilePayout, HttpBankPayout, Payout
    from scheduler.wiring import BatchContext, Schedules

    s = app.settings
    payout: Payout = FilePayout()
    if s.payout_bank_url and s.payout_bank_key:
        payout = HttpBankPayout(s.payout_bank_url, s.payout_bank_key.get_secret_value(), timeout_s=s.payout_timeout_s)
    schedules = Schedules(
        settlement=s.scheduler_settlement_cron,
        cashout=s.scheduler_cashout_cron,
        dividend=s.scheduler_dividend_cron,
        housekeeping=s.scheduler_housekeeping_cron,
        contributions=s.scheduler_contributions_cron,
        trust=s.scheduler_trust_cron,
        timezone=s.scheduler_timezone,
        misfire_grace_s=s.scheduler_misfire_grace_s,
        lease_ttl_s=s.scheduler_lease_ttl_s,
        heartbeat_s=max(0.2, s.scheduler_lease_ttl_s / 3),
    )
    return BatchContext(
        app.db,
        app.services,
        s.home,
        payout,
        schedules=schedules,
        auto_confirm_days=s.auto_confirm_days,
        announcer=app.pushes,  # members hear of dividends and cash-outs through their messengers
    )
