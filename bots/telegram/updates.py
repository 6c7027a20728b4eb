"""A Telegram update → one ``Incoming`` (text, a button's callback data, the sender's own contact, a
location, a photo as ``tg:<file_id>``; ``key`` = ``<bot id>:<update id>``, so the core drops a repeat).

PTB checks no types, so an update it cannot read, or whose fields have the wrong types
(``"date": 2**64``, ``"id": "x"``), is logged and skipped: the webhook answers it 200 (Telegram would
resend it for hours), polling confirms it with the rest of its batch (``UpdatesRequest``); lone
surrogates in texts and names become U+FFFD.

Why the key names the bot: update ids are only unique per bot and not forever — a new token is a new
bot with ids of its own, and after a week without updates Telegram picks the next id at random. A bare
update id seen before would drop a new message without a word (the core also forgets keys after two
days, ``scheduler.housekeeping``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from telegram import Bot, Update
from telegram.request import HTTPXRequest

from bots.messages import Incoming
from bots.texts import t
from ledger.jsonbody import bad_text, scrub

log = logging.getLogger("chestnut.telegram")


def lang_of(update: Update) -> str:
    user = update.effective_user
    code = user.language_code if user else None
    return "en" if isinstance(code, str) and code.lower().startswith("en") else "ko"


# PTB reads an update's JSON without checking types ("id": "x" stays a string, "date": 2**64 raises
# OverflowError), so what comes from Telegram is checked here, field by field, before anything uses it.


class OddUpdate(ValueError):
    """An update whose fields do not have the types the Bot API documents."""


def as_int(value: object) -> int | None:
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
            as_int(update.update_id) is None
            or (user is not None and as_int(user.id) is None)
            or (chat is not None and as_int(chat.id) is None)
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
    user_id, update_id = as_int(user.id), as_int(update.update_id)
    if user_id is None or update_id is None or as_int(chat.id) is None:
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
        phone, owner = _text(message.contact.phone_number, "phone_number"), as_int(message.contact.user_id)
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
            if (width := as_int(getattr(size, "width", None))) is not None
            and (height := as_int(getattr(size, "height", None))) is not None
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
    if not isinstance(item, dict) or as_int(item.get("update_id")) is None:
        log.warning("telegram sent an update without an integer update_id; dropped")
        return None
    return item if read_update(item, None) is not None else {"update_id": item["update_id"]}
