"""``TelegramBot``: the application, its lifecycle (polling or webhook) and the update → screen →
messages loop.

Callback queries are answered (``answerCallbackQuery``) after the screen is sent, always, even when
something failed: the button's spinner stops exactly when the answer is there.

Running it: polling (``getUpdates``) when no webhook URL is set; otherwise ``setWebhook`` with the
secret token and ``POST /telegram/webhook`` (``bots.telegram.webhook``) feeding the application's
queue. Updates are processed concurrently across chats and in order within one chat.

Kept up by ``run``: whatever stops the bot from starting (Telegram unreachable, a refused token, an
answer that is not what the Bot API promises) is logged and retried after a pause that doubles up to a
cap; polling that has not heard from Telegram for a while (it failed, or its task ended) is started
again the same way. ``state`` says where it is (``starting``, ``up``, ``retrying``) for ``/health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from aiohttp import web
from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bots.dialogue import Dialogue
from bots.messages import Screen
from bots.telegram.render import KeyboardMemory, Outgoing, render, send_one
from bots.telegram.updates import (
    UpdatesRequest,
    as_int,
    contact_not_yours,
    is_foreign_contact,
    lang_of,
    read_update,
    to_incoming,
)
from ledger.errors import ChestnutError

log = logging.getLogger("chestnut.telegram")

ALLOWED_UPDATES = ("message", "callback_query")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")

BotState = Literal["starting", "up", "retrying"]


class TelegramSettingsError(ChestnutError):
    code = "telegram_settings_invalid"


def use_timedelta_periods() -> None:
    """PTB 22 warns whenever a time period (``RetryAfter.retry_after``) is read as an int, and even
    while building a ``RetryAfter``; opting in to ``timedelta`` (``PTB_TIMEDELTA``) is the documented
    way to the future behaviour and keeps pytest's ``filterwarnings = error`` honest."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")


def bot_id_of(token: str) -> str:
    """The bot's user id, which a token starts with (``<bot id>:<secret>``) and getMe answers."""
    bot_id, colon, secret = token.partition(":")
    if not (colon and secret and bot_id.isdigit()):
        raise TelegramSettingsError("CHESTNUT_TELEGRAM_TOKEN is not a bot token (<bot id>:<secret>, from @BotFather)")
    return bot_id


class ChatLocks:
    """One lock per chat: updates of different chats run side by side, one chat's stay in order."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[chat_id] -= 1
            if not self._users[chat_id]:
                del self._users[chat_id], self._locks[chat_id]


class TelegramBot:
    """The application, its lifecycle (polling or webhook) and the update → screen → messages loop."""

    def __init__(
        self,
        dialogue: Dialogue,
        token: str,
        *,
        base_url: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        poll_timeout_s: float = 30.0,
        concurrency: int = 64,
        backoff_s: tuple[float, float] = (1.0, 300.0),
        poll_stale_s: float | None = None,
    ) -> None:
        """``backoff_s``: the first pause before a retry and the cap it doubles up to. ``poll_stale_s``:
        how long polling may go without an answer from Telegram before it is started again (a long poll
        answers at least every ``poll_timeout_s``; PTB's own retries wait up to 30 s)."""
        if webhook_url and not (webhook_secret and _SECRET_RE.fullmatch(webhook_secret)):
            raise TelegramSettingsError(
                "CHESTNUT_TELEGRAM_WEBHOOK_URL needs CHESTNUT_TELEGRAM_WEBHOOK_SECRET: "
                "1–256 characters of A-Z a-z 0-9 _ -"
            )
        use_timedelta_periods()
        self.bot_id = bot_id_of(token)
        self.dialogue = dialogue
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.poll_timeout_s = poll_timeout_s
        self.backoff_first_s, self.backoff_cap_s = backoff_s
        self.poll_stale_s = poll_timeout_s + 60.0 if poll_stale_s is None else poll_stale_s
        self.state: BotState = "starting"
        self._last_poll = time.monotonic()
        builder = ApplicationBuilder().token(token).concurrent_updates(concurrency)
        if base_url:
            builder = builder.base_url(base_url)
        if webhook_url:
            builder = builder.updater(None)
        else:
            # getUpdates through a transport that also notes each answer Telegram gives.
            builder = builder.get_updates_request(UpdatesRequest(self._polled, connection_pool_size=1))
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)
        self.keyboards = KeyboardMemory()
        self.locks = ChatLocks()
        self.running = False

    @classmethod
    def from_settings(cls, settings: Any, dialogue: Dialogue) -> TelegramBot:
        def secret(value: Any) -> str | None:
            return None if value is None else str(value.get_secret_value())

        token = secret(settings.telegram_token)
        if not token:
            raise TelegramSettingsError("CHESTNUT_TELEGRAM_TOKEN is not set")
        return cls(
            dialogue,
            token,
            base_url=settings.telegram_base_url,
            webhook_url=settings.telegram_webhook_url,
            webhook_secret=secret(settings.telegram_webhook_secret),
        )

    @property
    def bot(self) -> Bot:
        bot: Bot = self.application.bot
        return bot

    # -- lifecycle (PTB's run_polling/run_webhook would own the loop; these share ours)

    async def start(self) -> None:
        await self.application.initialize()
        await self.application.start()
        if self.webhook_url:
            assert self.webhook_secret is not None
            await self.bot.set_webhook(
                self.webhook_url, secret_token=self.webhook_secret, allowed_updates=list(ALLOWED_UPDATES)
            )
        else:
            assert self.application.updater is not None
            # No retries of its own (bootstrap_retries=0): a failing start is retried, and logged, by run().
            await self.application.updater.start_polling(
                timeout=int(self.poll_timeout_s),
                allowed_updates=list(ALLOWED_UPDATES),
                bootstrap_retries=0,
                error_callback=self._poll_failed,
            )
        self._last_poll = time.monotonic()
        self.running, self.state = True, "up"
        log.info("telegram bot @%s is up (%s)", self.bot.username, "webhook" if self.webhook_url else "polling")

    async def stop(self) -> None:
        try:
            await self._halt()
        finally:
            await self.bot.shutdown()  # its connections, also when getMe failed and nothing started

    async def _halt(self) -> None:
        """Stop polling and the application. The bot's connections stay open when it never got up: the
        pushes share this ``Bot`` and keep sending while it retries."""
        self.running = False
        updater = self.application.updater
        try:
            if updater is not None and updater.running:
                await updater.stop()  # raises what ended polling, if something did (a refused token)
        finally:
            if self.application.running:
                await self.application.stop()
            await self.application.shutdown()

    async def run(self) -> None:
        """Start, and keep the bot up: every failure is logged and retried after a pause that doubles up to
        ``backoff_cap_s``, so the rest of the server serves meanwhile."""
        pause = self.backoff_first_s
        while True:
            try:
                await self.start()
            except Exception as exc:
                self._start_failed(exc, pause)
            else:
                pause = self.backoff_first_s
                await self._until_polling_stalls()
                self.state = "retrying"
                log.error(
                    "telegram polling has had no answer for %.0fs; starting the bot again in %.0fs",
                    self.poll_stale_s,
                    pause,
                )
            try:
                await self._halt()
            except Exception:  # the failure just logged, raised again on the way down
                log.debug("telegram bot stopped with an error", exc_info=True)
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.backoff_cap_s)

    def _start_failed(self, exc: Exception, pause: float) -> None:
        self.state = "retrying"
        # Only the class name of Telegram's errors: InvalidToken's message carries the token itself.
        if isinstance(exc, InvalidToken):
            log.error("telegram refused the bot token (CHESTNUT_TELEGRAM_TOKEN); retrying in %.0fs", pause)
        elif isinstance(exc, TelegramError):
            log.warning("telegram is unreachable (%s); retrying in %.0fs", type(exc).__name__, pause)
        else:  # an answer the Bot API does not give, or a bug: the traceback says which
            log.error("the telegram bot failed to start; retrying in %.0fs", pause, exc_info=exc)

    async def _until_polling_stalls(self) -> None:
        """Return once polling has had no answer from Telegram for ``poll_stale_s`` (webhooks: never)."""
        if self.webhook_url:
            await asyncio.Event().wait()
        while True:
            quiet = time.monotonic() - self._last_poll
            if quiet >= self.poll_stale_s:
                return
            await asyncio.sleep(self.poll_stale_s - quiet)

    def _polled(self, status: int) -> None:
        """Every answer to getUpdates: a refusal (401 for a revoked token, which also ends PTB's polling
        for good) shows at once; a 200 brings the state back up."""
        if status != 200:
            if self.state == "up":
                self.state = "retrying"
                log.warning("telegram refused a poll (HTTP %d)", status)
            return
        self._last_poll = time.monotonic()
        if self.state == "retrying" and self.running:
            self.state = "up"
            log.info("telegram answers polling again")

    def _poll_failed(self, exc: TelegramError) -> None:
        """PTB retries a failed poll itself; this only tells /health and the log (once per outage)."""
        if self.state == "up":
            self.state = "retrying"
            log.warning("telegram polling failed (%s); retrying", type(exc).__name__)

    async def lifespan(self, _web_app: web.Application) -> AsyncIterator[None]:
        """An aiohttp ``cleanup_ctx``: the bot lives as long as the web server."""
        task = asyncio.create_task(self.run(), name="telegram-bot")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(TelegramError, RuntimeError):
            await self.stop()

    # -- one update

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query, chat = update.callback_query, update.effective_chat
        try:
            msg = to_incoming(update, self.bot_id)
            if msg is None or chat is None:
                return
            async with self.locks.hold(chat.id):
                if is_foreign_contact(update):
                    await self._send(chat.id, [Outgoing(contact_not_yours(lang_of(update)))])
                    return
                screen = await self.dialogue.handle(msg)
                await self.send_screen(chat.id, screen)
        finally:
            if query is not None:
                try:
                    await query.answer()
                except TelegramError as exc:  # too old, or already answered: nothing to do
                    log.info("callback query not answered: %s", type(exc).__name__)

    async def send_screen(self, chat_id: int, screen: Screen) -> None:
        await self._send(chat_id, render(screen, self.keyboards.get(chat_id)))

    async def _send(self, chat_id: int, messages: Sequence[Outgoing]) -> None:
        for message in messages:
            try:
                await send_one(self.bot, chat_id, message)
            except TelegramError as exc:  # blocked, chat gone, flood: the person will write again
                log.info("telegram send to a chat failed: %s", type(exc).__name__)
                return
            self.keyboards.sent(chat_id, message.markup)

    async def _on_error(self, _update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed", exc_info=context.error)

    # -- webhook

    async def feed(self, data: object) -> str:
        """Queue one webhook body: ``"queued"``, ``"ignored"`` (an update PTB cannot read, logged: answered
        200 all the same, or Telegram would send it again and again), or ``"not_an_update"``."""
        if not isinstance(data, dict) or as_int(data.get("update_id")) is None:
            return "not_an_update"
        update = read_update(data, self.bot)
        if update is None:
            return "ignored"
        await self.application.update_queue.put(update)
        return "queued"
