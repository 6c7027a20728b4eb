"""The Telegram adapter: python-telegram-bot 22 inside our own asyncio process, translating only.

An update becomes one ``Incoming`` (text, a button's callback data, the sender's own contact, a
location, a photo as ``tg:<file_id>``; ``key`` = the update id, so the core drops a repeat); the
``Screen`` that comes back becomes Bot API calls. No business rule lives here.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

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

from bots.dialogue import Dialogue
from bots.messages import Incoming, Reply, Screen
from bots.texts import t
from ledger.errors import ChestnutError

log = logging.getLogger("chestnut.telegram")

ALLOWED_UPDATES = ("message", "callback_query")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
TEXT_MAX = 4096  # Bot API limit of a message text
CAPTION_MAX = 1024  # … and of a photo caption
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup


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
    code = (user.language_code or "") if user else ""
    return "en" if code.lower().startswith("en") else "ko"


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


def to_incoming(update: Update) -> Incoming | None:
    """The one ``Incoming`` an update means, or ``None`` for kinds the market does not use (edited
    messages, channel posts, polls, group chats, other bots…)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or user.is_bot or chat is None or chat.type != "private":
        return None
    name = display_name(user.first_name, user.last_name)
    base: dict[str, Any] = {
        "channel": "telegram",
        "user_id": str(user.id),
        "display_name": name,
        "key": str(update.update_id),
        "lang_hint": user.language_code,
    }
    query = update.callback_query
    if query is not None:
        return Incoming(**base, payload=query.data) if query.data else None
    message = update.message
    if message is None:
        return None
    if message.contact is not None:
        own = message.contact.user_id == user.id
        return Incoming(**base, phone=message.contact.phone_number if own else None)
    if message.location is not None:
        return Incoming(**base, location=(message.location.latitude, message.location.longitude))
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return Incoming(**base, photo_url=f"tg:{largest.file_id}", text=message.caption)
    # Text — or a sticker, a voice note: nothing to read, so the core answers with the menu.
    return Incoming(**base, text=message.text)


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
    ) -> None:
        if webhook_url and not (webhook_secret and _SECRET_RE.fullmatch(webhook_secret)):
            raise TelegramSettingsError(
                "CHESTNUT_TELEGRAM_WEBHOOK_URL needs CHESTNUT_TELEGRAM_WEBHOOK_SECRET: "
                "1–256 characters of A-Z a-z 0-9 _ -"
            )
        use_timedelta_periods()
        self.dialogue = dialogue
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.poll_timeout_s = poll_timeout_s
        builder = ApplicationBuilder().token(token).concurrent_updates(concurrency)
        if base_url:
            builder = builder.base_url(base_url)
        if webhook_url:
            builder = builder.updater(None)
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
            await self.application.updater.start_polling(
                timeout=int(self.poll_timeout_s), allowed_updates=list(ALLOWED_UPDATES), bootstrap_retries=-1
            )
        self.running = True
        log.info("telegram bot @%s is up (%s)", self.bot.username, "webhook" if self.webhook_url else "polling")

    async def stop(self) -> None:
        self.running = False
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def run(self, retry_s: float = 10.0) -> None:
        """Start, retrying while Telegram cannot be reached, so the rest of the server serves meanwhile."""
        while True:
            try:
                await self.start()
                return
            except InvalidToken:
                log.error("telegram refused the bot token; the Telegram bot stays off")
                return
            except TelegramError as exc:
                log.warning("telegram is unreachable (%s); retrying in %.0fs", type(exc).__name__, retry_s)
                with contextlib.suppress(TelegramError, RuntimeError):
                    await self.application.shutdown()
                await asyncio.sleep(retry_s)

    async def lifespan(self, _web_app: web.Application) -> AsyncIterator[None]:
        """An aiohttp ``cleanup_ctx``: the bot lives as long as the web server."""
        task = asyncio.create_task(self.run())
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
            msg = to_incoming(update)
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

    async def feed(self, data: object) -> bool:
        """Queue one webhook body; ``False`` when it is not an update at all."""
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return False
        try:
            update = Update.de_json(data, self.bot)
        except (TypeError, ValueError, KeyError, AttributeError):
            return False
        await self.application.update_queue.put(update)
        return True


def webhook_routes(bot: TelegramBot) -> list[web.RouteDef]:
    """``POST /telegram/webhook``: Telegram's secret-token header (checked in constant time), JSON only."""
    secret = (bot.webhook_secret or "").encode()

    def refuse(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"error": code, "message": message}, status=status)

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not hmac.compare_digest(given, secret):
            return refuse(403, "forbidden", "missing or wrong secret token")
        if request.content_type != "application/json":
            return refuse(400, "not_json", "expected an application/json body")
        if not bot.running:
            return refuse(503, "starting", "the bot is starting; Telegram will retry")
        try:
            data = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return refuse(400, "not_json", "the body is not JSON")
        if not await bot.feed(data):
            return refuse(400, "not_an_update", "the body is not a Telegram update")
        return web.json_response({"ok": True})

    return [web.post("/telegram/webhook", webhook)]
