"""A ``Screen`` → Bot API messages (a Telegram message carries exactly one ``reply_markup``):

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
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, Message, ReplyKeyboardMarkup

from bots.messages import Reply, Screen
from bots.texts import t

TEXT_MAX = 4096  # Bot API limit of a message text
CAPTION_MAX = 1024  # … and of a photo caption

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup


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
