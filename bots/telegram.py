"""The Telegram adapter: python-telegram-bot 22 inside our own asyncio process, translating only.

An update becomes one ``Incoming`` (text, a button's callback data, the sender's own contact, a
location, a photo as ``tg:<file_id>``; ``key`` = ``<bot id>:<update id>``, so the core drops a repeat);
the ``Screen`` that comes back becomes Bot API calls. No business rule lives here. PTB checks no types, so
an update it cannot read, or whose fields have the wrong types (``"date": 2**64``, ``"id": "x"``), is
logged and skipped: the webhook answers it 200 (Telegram would resend it for hours), polling confirms it
with the rest of its batch (``UpdatesRequest``); lone surrogates in texts and names become U+FFFD.

Why the key names the bot: update ids are only unique per bot and not forever — a new token is a new
bot with ids of its own, and after a week without updates Telegram picks the next id at random. A bare
update id seen before would drop a new message without a word (the core also forgets keys after two
days, ``scheduler.housekeeping``).

How a screen is drawn (a Telegram message carries exactly one ``reply_markup``):

- each ``Reply`` is one ``sendMessage`` (``sendPhoto`` with a caption when it has an http(s) image or
  a ``tg:`` file id) with its buttons as an inline keyboard: payload → callback data, url → url button;
  Telegram has no dial button, so a phone button becomes a "☎️ label: number" line in the text
  (Telegram makes the number tappable);
- ``Screen.menu`` is a persistent reply keyboard of big buttons (their labels come back as typed
  text, which the core maps to the menu's handler); when the screen waits for a phone, a
  ``request_contact`` button sits on top of it;
- the reply keyboard rides on the first bubble without inline buttons. When every bubble has inline
  buttons and the keyboard differs from the one this chat last got, a one-line hint carrying it is sent
  *before* the bubbles, so the choices stay the last thing on screen. A screen with no menu leaves the
  keyboard the chat has alone.

Callback queries are answered (``answerCallbackQuery``) after the screen is sent, always, even when
something failed: the button's spinner stops exactly when the answer is there.

Running it: polling (``getUpdates``) when no webhook URL is set; otherwise ``setWebhook`` with the
secret token and ``POST /telegram/webhook`` (``webhook_routes``) feeding the application's queue.
Updates are processed concurrently across chats and in order within one chat.

Kept up by ``run``: whatever stops the bot from starting (Telegram unreachable, a refused token, an
answer that is not what the Bot API promises) is logged and retried after a pause that doubles up to a
cap; polling that has not heard from Telegram for a while (it failed, or its task ended) is started
again the same way. ``state`` says where it is (``starting``, ``up``, ``retrying``) for ``/health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import math
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bots.dialogue import Dialogue
from bots.messages import Incoming, Reply, Screen
from bots.texts import t
from ledger.errors import ChestnutError
from ledger.jsonbody import bad_text, read_json, scrub

log = logging.getLogger("chestnut.telegram")

ALLOWED_UPDATES = ("message", "callback_query")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
TEXT_MAX = 4096  # Bot API limit of a message text
CAPTION_MAX = 1024  # … and of a photo caption
MAX_UPDATE_BYTES = 1024 * 1024  # an update is a few KB; the server's own body limit
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup
BotState = Literal["starting", "up", "retrying"]


class TelegramSettingsError(ChestnutError):
    code = "telegram_settings_invalid"


def use_timedelta_periods() -> None:
    """PTB 22 warns whenever a time period (``RetryAfter.retry_after``) is read as an int, and even
    while building a ``RetryAfter``; opting in to ``timedelta`` (``PTB_TIMEDELTA``) is the documented
    way to the future behaviour and keeps pytest's ``filterwarnings = error`` honest."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")


# ------------------------------------------------------------------------------------ update → Incoming


def lang_of(update: Update) -> str:
    user = update.effective_user
    code = user.language_code if user else None
    return "en" if isinstance(code, str) and code.lower().startswith("en") else "ko"


# PTB reads an update's JSON without checking types ("id": "x" stays a string, "date": 2**64 raises
# OverflowError), so what comes from Telegram is checked here, field by field, before anything uses it.


class OddUpdate(ValueError):
    """An update whose fields do not have the types the Bot API documents."""


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: object, what: str) -> str | None:
    """An optional text field: ``None``, or a string with lone surrogates and U+0000 made U+FFFD (PTB's
    own JSON reading lets them through, and no database or answer can carry them)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise OddUpdate(f"{what} is not a string")
    return scrub(value)


def _coordinate(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def read_update(data: object, bot: Bot | None) -> Update | None:
    """PTB's ``Update`` for one update object with an integer ``update_id``, or ``None`` (logged) when PTB
    cannot read it or the ids everything keys on (user, chat, callback query) have the wrong types."""
    update_id = data.get("update_id") if isinstance(data, dict) else None
    try:
        update = Update.de_json(data, bot)  # type: ignore[arg-type]
        user, chat, query = update.effective_user, update.effective_chat, update.callback_query
        if (
            _int(update.update_id) is None
            or (user is not None and _int(user.id) is None)
            or (chat is not None and _int(chat.id) is None)
            or (query is not None and not isinstance(query.id, str))
        ):
            raise OddUpdate("an id of the wrong type")
    except Exception as exc:  # PTB raises whatever its field conversions raise
        log.warning("telegram update %r cannot be read (%s); skipped", update_id, type(exc).__name__)
        return None
    return update


def is_foreign_contact(update: Update) -> bool:
    """A contact card that is not the sender's own (forwarded, or picked from the address book)."""
    message, user = update.message, update.effective_user
    if message is None or message.contact is None or user is None:
        return False
    return message.contact.user_id != user.id


def contact_not_yours(lang: str) -> str:
    """Someone else's contact card refused, naming the contact button the chat shows (bots/flows/signup.py)."""
    return t(lang, "telegram.contact_not_yours", button=t(lang, "signup.share_button"))


def _hangul(part: str) -> bool:
    return bool(part) and all("가" <= ch <= "힣" for ch in part)


def display_name(first: str | None, last: str | None) -> str:
    """A Korean name is written family name first with no space (이 + 순자 → 이순자); others as
    Telegram gives them, first then last."""
    first, last = (first or "").strip(), (last or "").strip()
    if _hangul(first) and _hangul(last):
        return last + first
    return " ".join(part for part in (first, last) if part)


def bot_id_of(token: str) -> str:
    """The bot's user id, which a token starts with (``<bot id>:<secret>``) and getMe answers."""
    bot_id, colon, secret = token.partition(":")
    if not (colon and secret and bot_id.isdigit()):
        raise TelegramSettingsError("CHESTNUT_TELEGRAM_TOKEN is not a bot token (<bot id>:<secret>, from @BotFather)")
    return bot_id


def to_incoming(update: Update, bot_id: str) -> Incoming | None:
    """The one ``Incoming`` an update to bot ``bot_id`` means, or ``None`` for kinds the market does not
    use (edited messages, channel posts, polls, group chats, other bots…) and for fields of the wrong
    type (logged)."""
    try:
        return _incoming(update, bot_id)
    except OddUpdate as exc:
        log.warning("telegram update %r ignored: %s", update.update_id, exc)
        return None


def _incoming(update: Update, bot_id: str) -> Incoming | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or user.is_bot is not False or chat is None or chat.type != "private":
        return None
    user_id, update_id = _int(user.id), _int(update.update_id)
    if user_id is None or update_id is None or _int(chat.id) is None:
        raise OddUpdate("user, chat or update id is not an integer")
    names = (_text(user.first_name, "first_name"), _text(user.last_name, "last_name"))
    base: dict[str, Any] = {
        "channel": "telegram",
        "user_id": str(user_id),
        "display_name": display_name(*names),
        "key": f"{bot_id}:{update_id}",
        "lang_hint": _text(user.language_code, "language_code"),
    }
    query = update.callback_query
    if query is not None:
        data = _text(query.data, "callback data")
        return Incoming(**base, payload=data) if data else None
    message = update.message
    if message is None:
        return None
    if message.contact is not None:
        phone, owner = _text(message.contact.phone_number, "phone_number"), _int(message.contact.user_id)
        if phone is None:
            raise OddUpdate("the contact has no phone number")
        return Incoming(**base, phone=phone if owner == user_id else None)
    if message.location is not None:
        latitude, longitude = _coordinate(message.location.latitude), _coordinate(message.location.longitude)
        if latitude is None or longitude is None:
            raise OddUpdate("the location is not two numbers")
        return Incoming(**base, location=(latitude, longitude))
    if message.photo:
        sizes = [
            (width * height, file_id)
            for size in (message.photo if isinstance(message.photo, tuple | list) else ())
            if (width := _int(getattr(size, "width", None))) is not None
            and (height := _int(getattr(size, "height", None))) is not None
            and isinstance(file_id := getattr(size, "file_id", None), str)
            and file_id
            and bad_text(file_id) is None
        ]
        if not sizes:
            raise OddUpdate("the photo has no size with a file id")
        largest = max(sizes, key=lambda size: size[0])[1]
        return Incoming(**base, photo_url=f"tg:{largest}", text=_text(message.caption, "caption"))
    # Text — or a sticker, a voice note: nothing to read, so the core answers with the menu.
    return Incoming(**base, text=_text(message.text, "text"))


class UpdatesRequest(HTTPXRequest):
    """PTB's getUpdates transport, reading the answer one update at a time.

    PTB parses a getUpdates answer as one list: a single update it cannot read fails the whole batch,
    the offset never moves past it, and polling asks for the same batch forever. Here an unreadable
    update becomes a bare ``{"update_id": n}`` (confirmed with the others, answered by no one), so
    the batch goes through. ``parse_json_payload`` is PTB's documented hook for reading answers.

    ``answered`` hears the status of every answer Telegram gives: how the supervisor knows polling is alive.
    """

    def __init__(self, answered: Callable[[int], None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._answered = answered

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, payload = await super().do_request(*args, **kwargs)
        if self._answered is not None:
            self._answered(status)
        return status, payload

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        answer = HTTPXRequest.parse_json_payload(payload)
        result = answer.get("result") if isinstance(answer, dict) else None
        if isinstance(result, list):
            answer["result"] = [item for item in map(_readable_or_bare, result) if item is not None]
        return answer


def _readable_or_bare(item: object) -> object | None:
    if not isinstance(item, dict) or _int(item.get("update_id")) is None:
        log.warning("telegram sent an update without an integer update_id; dropped")
        return None
    return item if read_update(item, None) is not None else {"update_id": item["update_id"]}


# ------------------------------------------------------------------------------------ Screen → Bot API


@dataclass
class Outgoing:
    """One Bot API message: a text, or a photo (URL or file id) with the text as its caption."""

    text: str
    photo: str | None = None
    markup: Markup | None = None


def _photo_ref(image_url: str | None) -> str | None:
    if not image_url:
        return None
    if image_url.startswith("tg:") and len(image_url) > 3:
        return image_url[3:]
    if image_url.startswith(("http://", "https://")):
        return image_url
    return None  # a path only our own web pages can serve: text only


def _call_line(label: str, phone: str) -> str:
    return f"{label}: {phone}" if label.startswith("☎") else f"☎️ {label}: {phone}"


def inline_keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    rows = []
    for row in reply.buttons:
        keys = [
            InlineKeyboardButton(b.label, callback_data=b.payload)
            if b.payload is not None
            else InlineKeyboardButton(b.label, url=b.url)
            for b in row
            if b.payload is not None or b.url is not None
        ]
        if keys:
            rows.append(keys)
    return InlineKeyboardMarkup(rows) if rows else None


def reply_keyboard(screen: Screen) -> ReplyKeyboardMarkup | None:
    """The persistent big-button menu, with the contact button on top when a phone is wanted."""
    rows: list[list[KeyboardButton]] = []
    device = screen.device_buttons
    contact = [b for b in device if b.share_contact]
    if screen.expects == "phone" or contact:
        label = contact[0].label if contact else t(screen.lang, "signup.share_button")
        rows.append([KeyboardButton(label, request_contact=True)])
    rows.extend([KeyboardButton(b.label, request_location=True)] for b in device if b.share_location)
    menu = [KeyboardButton(b.label) for b in screen.menu if b.payload is not None]
    rows.extend(menu[i : i + 2] for i in range(0, len(menu), 2))
    if not rows:
        return None
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, is_persistent=True)


def keyboard_signature(markup: ReplyKeyboardMarkup | None) -> tuple[tuple[str, bool], ...]:
    if markup is None:
        return ()
    return tuple((b.text, bool(b.request_contact) or bool(b.request_location)) for row in markup.keyboard for b in row)


def _chunks(text: str, size: int) -> list[str]:
    """Split a long text at line breaks where possible, never losing a character."""
    parts: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = size if cut <= 0 else cut
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    parts.append(text)
    return parts


def bubble(reply: Reply) -> list[Outgoing]:
    lines = [reply.title, reply.text] if reply.title else [reply.text]
    lines += [_call_line(b.label, b.phone) for b in reply.all_buttons if b.phone]
    text = "\n".join(line for line in lines if line)
    markup = inline_keyboard(reply)
    photo = _photo_ref(reply.image_url)
    if photo is not None and len(text) <= CAPTION_MAX:
        return [Outgoing(text, photo, markup)]
    out = [Outgoing("", photo)] if photo is not None else []
    if not text and markup is None:
        return out
    texts = _chunks(text or "👇", TEXT_MAX)
    out += [Outgoing(part) for part in texts[:-1]]
    out.append(Outgoing(texts[-1], markup=markup))
    return out


def render(screen: Screen, last_keyboard: tuple[tuple[str, bool], ...] | None) -> list[Outgoing]:
    """The messages a screen becomes; ``last_keyboard`` is what this chat last got (``None``: unknown)."""
    out = [message for reply in screen.replies for message in bubble(reply)]
    keyboard = reply_keyboard(screen)
    if keyboard is None or not out:
        return out
    free = next((m for m in out if m.markup is None), None)
    if free is not None:
        free.markup = keyboard
    elif keyboard_signature(keyboard) != last_keyboard:
        top = keyboard.keyboard[0][0]
        hint = t(screen.lang, "telegram.contact_hint", button=top.text) if top.request_contact else None
        out.insert(0, Outgoing(hint or t(screen.lang, "telegram.menu_hint"), markup=keyboard))
    return out


class KeyboardMemory:
    """Which reply keyboard each chat last got, in this process (only saves a hint message; a restart
    or a second worker merely sends one hint more)."""

    def __init__(self, limit: int = 100_000) -> None:
        self._last: dict[int, tuple[tuple[str, bool], ...]] = {}
        self.limit = limit

    def get(self, chat_id: int) -> tuple[tuple[str, bool], ...] | None:
        return self._last.get(chat_id)

    def sent(self, chat_id: int, markup: Markup | None) -> None:
        if isinstance(markup, ReplyKeyboardMarkup):
            if len(self._last) >= self.limit:
                self._last.clear()
            self._last[chat_id] = keyboard_signature(markup)


async def send_one(bot: Bot, chat_id: int, message: Outgoing, *, paid_broadcast: bool = False) -> Message:
    """One message; ``paid_broadcast`` asks for Telegram's paid rate (up to 1,000/s overall, 0.1 Star each)."""
    paid = True if paid_broadcast else None
    if message.photo is not None:
        return await bot.send_photo(
            chat_id, message.photo, caption=message.text or None, reply_markup=message.markup, allow_paid_broadcast=paid
        )
    return await bot.send_message(chat_id, message.text, reply_markup=message.markup, allow_paid_broadcast=paid)


# ------------------------------------------------------------------------------------ the bot


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
        if not isinstance(data, dict) or _int(data.get("update_id")) is None:
            return "not_an_update"
        update = read_update(data, self.bot)
        if update is None:
            return "ignored"
        await self.application.update_queue.put(update)
        return "queued"


class NotJson(ChestnutError):
    code = "not_json"


def webhook_routes(bot: TelegramBot) -> list[web.RouteDef]:
    """``POST /telegram/webhook``: Telegram's secret-token header (checked in constant time), JSON only."""
    secret = (bot.webhook_secret or "").encode()

    def refuse(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"error": code, "message": message}, status=status)

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not hmac.compare_digest(given, secret):
            return refuse(403, "forbidden", "missing or wrong secret token")
        try:
            data = await read_json(request, max_bytes=MAX_UPDATE_BYTES, error=NotJson)
        except NotJson as exc:
            return refuse(400, exc.code, exc.message)
        if not bot.running:
            return refuse(503, "starting", "the bot is starting; Telegram will retry")
        fed = await bot.feed(data)
        if fed == "not_an_update":
            return refuse(400, "not_an_update", "the body is not a Telegram update")
        return web.json_response({"ok": True, "ignored": True} if fed == "ignored" else {"ok": True})

    return [web.post("/telegram/webhook", webhook)]
