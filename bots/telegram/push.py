"""Pushes on Telegram, paced within the Bot API's limits (``bots.notify.Notifier``).

Telegram allows about one message a second to one chat and about thirty a second overall (Bot FAQ);
beyond that it answers 429 with ``retry_after``. PTB's own rate limiter does not space messages to one
private chat, so pacing is done here:

- one chat: at least ``per_chat_s`` between two messages (a screen of two bubbles takes a second);
- overall: at most ``overall_per_s`` messages a second, in the order they were asked for; above the
  free 30 a second every message asks for the paid broadcast rate (``allow_paid_broadcast``, up to 1,000);
- a 429 pauses every push for ``retry_after`` seconds, then the message is tried again
  (``max_retries`` times; still refused after that: ``PushFailed``);
- 403 (the person blocked the bot, or deleted their account) → ``"blocked"``: the caller records it
  with ``record_reach`` so the member is not pushed here again; 400 (no such chat, a chat that moved)
  → ``"unreachable"``;
- a failure that is not the person's — a timeout, no connection, Telegram's 5xx, a token it refuses —
  raises ``PushFailed``: the member stays reachable and the push outbox tries again later.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bots.messages import Screen
from bots.notify import PushFailed, PushOutcome
from bots.telegram.render import KeyboardMemory, render, send_one

log = logging.getLogger("chestnut.telegram.push")

FREE_RATE_PER_S = 30.0  # Telegram's overall limit for a bot's messages without paid broadcast
PACING_HEADROOM = 0.985


def retry_after_s(exc: RetryAfter) -> float:
    """Seconds to wait, whichever type this PTB hands out (``timedelta`` with ``PTB_TIMEDELTA``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramNotifier:
    channel = "telegram"

    def __init__(
        self,
        bot: Bot,
        *,
        per_chat_s: float = 1.0,
        overall_per_s: float = 30.0,
        max_retries: int = 3,
        keyboards: KeyboardMemory | None = None,
        clock: Callable[[], float] = time.monotonic,
        catch_up_s: float = 0.0,
    ) -> None:
        self.bot, self.per_chat_s, self.max_retries = bot, per_chat_s, max_retries
        # Paced 1.5 % under the limit: Telegram counts arrivals, and a few milliseconds of jitter on the
        # way (or a pause at either end) can fold slightly more than a second of sends into one second.
        # A 429 costs a whole second of silence; the headroom costs 15 messages a second at 1,000.
        self.spacing_s = 1.0 / (overall_per_s * PACING_HEADROOM)
        self.paid_broadcast = overall_per_s > FREE_RATE_PER_S
        # A broadcast at hundreds a second loses its rate to timer overshoot (a 1 ms sleep takes 1–2 ms):
        # slots may be taken up to ``catch_up_s`` late, so any second holds at most rate × (1 + catch_up_s).
        self.catch_up_s = catch_up_s
        self.keyboards = keyboards or KeyboardMemory()
        self.clock = clock
        self._next_any = 0.0  # the earliest moment the next message may go, for any chat
        self._last_to: dict[int, float] = {}
        self._chat_locks: dict[int, asyncio.Lock] = {}

    async def push(self, external_id: str, screen: Screen) -> PushOutcome:
        try:
            chat_id = int(external_id)
        except ValueError:
            return "unreachable"
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        try:
            async with lock:
                return await self._push(chat_id, screen)
        finally:
            if not lock.locked() and self._chat_locks.get(chat_id) is lock:
                del self._chat_locks[chat_id]

    async def _push(self, chat_id: int, screen: Screen) -> PushOutcome:
        for message in render(screen, self.keyboards.get(chat_id)):
            retries = 0
            while True:
                await self._turn(chat_id)
                try:
                    await send_one(self.bot, chat_id, message, paid_broadcast=self.paid_broadcast)
                    break
                except RetryAfter as exc:
                    wait = retry_after_s(exc)
                    self._next_any = max(self._next_any, self.clock() + wait)
                    retries += 1
                    if retries > self.max_retries:
                        raise PushFailed("Telegram kept asking to wait", retry_after_s=wait) from None
                    log.info("telegram asked to wait %.1fs before pushing again", wait)
                except Forbidden:
                    return "blocked"
                except (BadRequest, ChatMigrated) as exc:
                    log.info("telegram push refused: %s", type(exc).__name__)
                    return "unreachable"
                except TelegramError as exc:
                    log.info("telegram push failed: %s", type(exc).__name__)
                    raise PushFailed(f"Telegram did not take the push ({type(exc).__name__})") from None
            self.keyboards.sent(chat_id, message.markup)
        return "ok"

    async def _turn(self, chat_id: int) -> None:
        """Wait until this chat may get a message, then take the next overall slot."""
        last = self._last_to.get(chat_id)
        if last is not None:
            wait = last + self.per_chat_s - self.clock()
            if wait > 0:
                await asyncio.sleep(wait)
        now = self.clock()
        slot = max(now - self.catch_up_s, self._next_any)
        self._next_any = slot + self.spacing_s
        if slot > now:
            await asyncio.sleep(slot - now)
        self._last_to[chat_id] = self.clock()
        if len(self._last_to) > 100_000:
            horizon = self.clock() - self.per_chat_s
            self._last_to = {c: at for c, at in self._last_to.items() if at > horizon}
