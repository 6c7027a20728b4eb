"""A stand-in for Telegram's Bot API on loopback, speaking the real protocol to python-telegram-bot.

Serves ``POST /bot<token>/<method>`` for the calls the adapter makes (getMe, deleteWebhook, long-poll
getUpdates with offset semantics and ``allowed_updates``, sendMessage, sendPhoto, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, setWebhook, sendChatAction) and records every call with
its form fields decoded (``reply_markup`` and the other JSON-valued fields parsed). Returned messages
carry only inline keyboards, as Telegram's do.

Tests play the people: ``standin.user(42, "이순자")`` gives a ``TgUser`` that types text, taps an inline
button by its label (a ``callback_query`` on the message the bot sent), shares a contact, sends a
photo. ``standin.fail("sendMessage", status=429, retry_after=1)`` makes the next such call fail;
``standin.garble("getMe", b'{"ok": tr')`` answers it with a body that is not what the Bot API sends
(until ``standin.mend("getMe")``, or ``times`` calls). The bot's id is the token's first part, as
Telegram's is.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bots.telegram.bot import TelegramBot

if TYPE_CHECKING:
    from chestnut.bootstrap import App

BOT_USER = {"id": 7000001, "is_bot": True, "first_name": "밤나무 장터", "username": "chestnut_test_bot"}
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "show_alert",
        "cache_time",
        "max_connections",
        "drop_pending_updates",
        "disable_notification",
        "entities",
        "caption_entities",
        "link_preview_options",
    }
)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when it arrived
    status: int = 200

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None


@dataclass
class Failure:
    method: str
    status: int
    description: str
    retry_after: int | None
    times: int


@dataclass
class BotApiStandIn:
    token: str = "7000001:TEST-token_for_the_standin"  # noqa: S105 - a stand-in's token
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)  # not yet confirmed by an offset
    webhook: dict[str, Any] | None = None
    allowed_updates: list[str] | None = None
    base_url: str = ""

    def __post_init__(self) -> None:
        self._next_update_id = 1000
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._new_call = asyncio.Event()
        self._failures: list[Failure] = []
        self._garbled: dict[str, tuple[bytes, int | None]] = {}  # method → (body, calls left or forever)
        self._runner: web.AppRunner | None = None
        self.sent: dict[int, list[dict[str, Any]]] = {}  # chat id → messages the bot sent there
        self.confirmed = 0  # highest offset the bot has confirmed
        self._closing = False

    # -- server

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/bot"
        return self.base_url

    async def close(self) -> None:
        self._closing = True  # release held long polls, or the server's shutdown waits them out
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        form = await request.post() if request.can_read_body else {}
        params = {k: (json.loads(v) if k in JSON_FIELDS else v) for k, v in form.items() if isinstance(v, str)}
        call = Call(method, params, time.monotonic())
        garbled = self._garbled_for(method)
        if garbled is not None:
            self._record(call)
            return web.Response(body=garbled, content_type="application/json")
        failure = self._failure_for(method)
        if failure is not None:
            call.status = failure.status
            self._record(call)
            body: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        if method != "getUpdates":
            self._record(call)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        result = await handler(params)
        if method == "getUpdates":
            self._record(call)
        return web.json_response({"ok": True, "result": result})

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._new_call.set()
        self._new_call = asyncio.Event()

    def _failure_for(self, method: str) -> Failure | None:
        for failure in self._failures:
            if failure.method == method:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _garbled_for(self, method: str) -> bytes | None:
        if method not in self._garbled:
            return None
        body, left = self._garbled[method]
        if left is not None:
            if left <= 1:
                del self._garbled[method]
            else:
                self._garbled[method] = (body, left - 1)
        return body

    def garble(self, method: str, body: bytes | dict[str, Any], *, times: int | None = None) -> None:
        """Answer ``method`` with 200 and ``body`` (raw bytes, or JSON of a shape the Bot API never sends)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self._garbled[method] = (raw, times)

    def mend(self, method: str) -> None:
        self._garbled.pop(method, None)

    @property
    def bot_user(self) -> dict[str, Any]:
        return {**BOT_USER, "id": int(self.token.split(":", 1)[0])}

    def fail(self, method: str, *, status: int, retry_after: int | None = None, times: int = 1) -> None:
        description = {
            429: f"Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: chat not found",
        }.get(status, "Internal Server Error")
        self._failures.append(Failure(method, status, description, retry_after, times))

    # -- the Bot API

    async def _api_getMe(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {**self.bot_user, "can_join_groups": False, "can_read_all_group_messages": False}

    async def _api_deleteWebhook(self, _p: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _api_setWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook = p
        return True

    async def _api_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(p.get("offset") or 0)
        if offset:
            self.confirmed = max(self.confirmed, offset)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if "allowed_updates" in p:
            self.allowed_updates = p["allowed_updates"] or None
        deadline = time.monotonic() + float(p.get("timeout") or 0)
        while True:
            fresh = [u for u in self.updates if u["update_id"] >= offset and self._allowed(u)]
            ready = fresh[: int(p.get("limit") or 100)]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing:
                return ready
            waiter = self._new_update
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), remaining)

    def _allowed(self, update: dict[str, Any]) -> bool:
        kinds = set(update) - {"update_id"}
        return self.allowed_updates is None or bool(kinds & set(self.allowed_updates))

    def _message(self, p: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(p["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self.bot_user,
            **content,
        }
        markup = p.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        self.sent.setdefault(chat_id, []).append(message)
        return message

    async def _api_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._message(p, text=p["text"])

    async def _api_sendPhoto(self, p: dict[str, Any]) -> dict[str, Any]:
        photo = [
            {"file_id": str(p["photo"]), "file_unique_id": f"u{next(self._message_ids)}", "width": 800, "height": 600}
        ]
        content: dict[str, Any] = {"photo": photo}
        if p.get("caption"):
            content["caption"] = p["caption"]
        return self._message(p, **content)

    def _find(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id = int(p["chat_id"]), int(p["message_id"])
        return next(m for m in self.sent.get(chat_id, []) if m["message_id"] == message_id)

    async def _api_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self._find(p)
        message["text"] = p["text"]
        message.pop("reply_markup", None)
        if isinstance(p.get("reply_markup"), dict):
            message["reply_markup"] = p["reply_markup"]
        return message

    async def _api_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self._find(p)
        message.pop("reply_markup", None)
        if isinstance(p.get("reply_markup"), dict) and p["reply_markup"].get("inline_keyboard"):
            message["reply_markup"] = p["reply_markup"]
        return message

    async def _api_answerCallbackQuery(self, _p: dict[str, Any]) -> bool:
        return True

    async def _api_sendChatAction(self, _p: dict[str, Any]) -> bool:
        return True

    # -- what people do

    def inject(self, kind: str, body: dict[str, Any], update_id: int | None = None) -> int:
        """Queue one update of ``kind`` (message, callback_query, edited_message, …) for getUpdates."""
        update_id = self._next_update_id if update_id is None else update_id
        self._next_update_id = max(self._next_update_id, update_id + 1)  # ids only grow, as Telegram's do
        self.updates.append({"update_id": update_id, kind: body})
        self._new_update.set()
        self._new_update = asyncio.Event()
        return update_id

    def user(self, user_id: int, first_name: str, last_name: str | None = None, language_code: str = "ko") -> TgUser:
        return TgUser(self, user_id, first_name, last_name, language_code)

    async def wait_for(self, predicate: Any, timeout: float = 10.0, since: int = 0) -> Call:
        """The first call recorded after the first ``since`` (now or later) that ``predicate`` accepts."""
        deadline = time.monotonic() + timeout
        seen = since
        while True:
            for call in self.calls[seen:]:
                if predicate(call):
                    return call
            seen = len(self.calls)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no such call within {timeout}s; calls: {[c.method for c in self.calls[-20:]]}")
            waiter = self._new_call
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), remaining)

    def calls_to(self, chat_id: int, *methods: str) -> list[Call]:
        methods = methods or ("sendMessage", "sendPhoto")
        return [c for c in self.calls if c.method in methods and c.chat_id == chat_id]


@dataclass
class TgUser:
    """One person in a private chat with the bot. Each action returns the messages the bot answered with."""

    api: BotApiStandIn
    id: int
    first_name: str
    last_name: str | None = None
    language_code: str = "ko"
    last: list[Call] = field(default_factory=list)
    keyboard: list[list[dict[str, Any]]] = field(default_factory=list)  # the persistent reply keyboard
    transcript: list[str] = field(default_factory=list)
    taps: int = 0  # what a journey costs the person: buttons pressed (START, inline, keyboard, share) …
    typed: int = 0  # … and characters typed

    @property
    def sender(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            body["last_name"] = self.last_name
        body["language_code"] = self.language_code
        return body

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": 100000 + len(self.api.updates) + len(self.api.calls),
            "date": int(time.time()),
            "chat": {"id": self.id, "type": "private", "first_name": self.first_name},
            "from": self.sender,
            **content,
        }

    # -- actions

    async def say(self, text: str) -> list[Call]:
        self.typed += len(text)
        return await self._send_text(text)

    async def _send_text(self, text: str) -> list[Call]:
        self.transcript.append(f"> {text}")
        return await self._answered(self.api.inject("message", self._message(text=text)))

    async def start(self) -> list[Call]:
        """Telegram's START button under a new bot's chat: one tap that sends "/start"."""
        self.taps += 1
        return await self._send_text("/start")

    async def share_contact(self, phone: str, owner_id: int | None = None, first_name: str | None = None) -> list[Call]:
        self.taps += 1  # the reply keyboard's contact button (Telegram then asks to confirm the sharing)
        contact = {"phone_number": phone, "first_name": first_name or self.first_name, "user_id": owner_id or self.id}
        self.transcript.append(f"> [contact {phone}]")
        return await self._answered(self.api.inject("message", self._message(contact=contact)))

    async def send_photo(self, file_id: str, caption: str | None = None) -> list[Call]:
        sizes = [
            {"file_id": f"{file_id}-small", "file_unique_id": f"{file_id}-s", "width": 90, "height": 90},
            {"file_id": file_id, "file_unique_id": f"{file_id}-l", "width": 1280, "height": 960},
            {"file_id": f"{file_id}-mid", "file_unique_id": f"{file_id}-m", "width": 320, "height": 240},
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        self.transcript.append("> [photo]")
        return await self._answered(self.api.inject("message", self._message(**content)))

    async def send_location(self, latitude: float, longitude: float) -> list[Call]:
        self.taps += 1  # the reply keyboard's location button
        self.transcript.append(f"> [location {latitude}, {longitude}]")
        location = {"latitude": latitude, "longitude": longitude}
        return await self._answered(self.api.inject("message", self._message(location=location)))

    def find(self, label_part: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The newest message in this chat with an inline button whose label contains ``label_part``."""
        for message in reversed(self.api.sent.get(self.id, [])):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if label_part in button["text"]:
                        return message, button
        raise AssertionError(f"no inline button with {label_part!r}; the bot last said:\n{self.text}")

    async def tap(self, label_part: str, *, update_id: int | None = None) -> list[Call]:
        """Tap an inline button (a callback query on the message that carried it)."""
        message, button = self.find(label_part)
        assert "callback_data" in button, f"{button['text']!r} is a link, not a tap-back button"
        self.taps += 1
        query_id = f"cq{next(self.api._callback_ids)}"
        body = {
            "id": query_id,
            "from": self.sender,
            "chat_instance": f"ci{self.id}",
            "message": message,
            "data": button["callback_data"],
        }
        self.transcript.append(f"[{button['text']}]")
        start = len(self.api.calls)
        self.api.inject("callback_query", body, update_id)
        await self.api.wait_for(
            lambda c: c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == query_id
        )
        return self._since(start)

    async def press(self, label: str) -> list[Call]:
        """Press a big button of the persistent reply keyboard: Telegram sends its label as text."""
        labels = [b["text"] for row in self.keyboard for b in row]
        assert label in labels, f"no reply-keyboard button {label!r}; keyboard: {labels}"
        self.taps += 1
        return await self._send_text(label)

    async def _answered(self, _update_id: int, quiet_s: float = 0.3) -> list[Call]:
        """Wait for the bot's first message to this chat after the update, then until it goes quiet."""
        start = len(self.api.calls)
        await self.api.wait_for(
            lambda c: c.method in ("sendMessage", "sendPhoto") and c.chat_id == self.id, since=start
        )
        while True:
            count = len(self.api.calls)
            await asyncio.sleep(quiet_s)
            if len(self.api.calls) == count:
                return self._since(start)

    async def silence(self, update_id: int, quiet_s: float = 0.5) -> list[Call]:
        """Wait until the bot has fetched past ``update_id``, then a moment; return what it sent."""
        start = len(self.api.calls)
        await self.api.wait_for(lambda c: c.method == "getUpdates" and self.api.confirmed > update_id)
        await asyncio.sleep(quiet_s)
        return [c for c in self._since(start) if c.method in ("sendMessage", "sendPhoto")]

    def _since(self, start: int) -> list[Call]:
        calls = [c for c in self.api.calls[start:] if c.chat_id == self.id or c.method == "answerCallbackQuery"]
        self.last = [c for c in calls if c.method in ("sendMessage", "sendPhoto")]
        for call in self.last:
            markup = call.params.get("reply_markup")
            if isinstance(markup, dict) and "keyboard" in markup:
                self.keyboard = markup["keyboard"]
            self.transcript.append(f"< {call.params.get('text') or call.params.get('caption') or '[photo]'}")
        return calls

    @property
    def text(self) -> str:
        return "\n".join(str(c.params.get("text") or c.params.get("caption") or "") for c in self.last)

    def inline_labels(self) -> list[str]:
        return [
            b["text"]
            for c in self.last
            for row in (c.params.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]


@asynccontextmanager
async def polling(app: App, api: BotApiStandIn) -> AsyncIterator[TelegramBot]:
    """Our Telegram adapter polling the stand-in, as ``chestnut serve`` does without a webhook."""
    bot = TelegramBot(app.dialogue, api.token, base_url=api.base_url, poll_timeout_s=1)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()
