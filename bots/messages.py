"""What goes into the dialogue core and what comes out, whatever the messenger.

An adapter (Telegram, Kakao, web chat) turns its platform's update into one ``Incoming`` and renders
the ``Screen`` it gets back in its platform's own widgets. Nothing here knows any platform.

Button payloads are short ASCII strings (``"p:12"``, ``"add:12:2"``): Telegram allows 64 bytes of
callback data, Kakao carries them in a quick reply's ``extra``; ``check_payload`` enforces the bound
where buttons are made, so no adapter can be handed one that does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PAYLOAD_MAX_BYTES = 64
CHANNELS = ("telegram", "kakao", "web")
Channel = Literal["telegram", "kakao", "web"]


class PayloadTooLong(ValueError):
    """A flow built a button whose payload no messenger could carry (a programming error)."""


def check_payload(payload: str) -> str:
    if not payload or len(payload.encode()) > PAYLOAD_MAX_BYTES or not payload.isascii():
        raise PayloadTooLong(f"button payload {payload!r} must be 1–{PAYLOAD_MAX_BYTES} ASCII bytes")
    return payload


@dataclass(frozen=True, slots=True)
class Button:
    """One tap. Exactly one of ``payload`` (back to us), ``phone`` (dial), ``url`` (open a page),
    ``share_contact`` or ``share_location`` (Telegram's buttons that send the member's own number or
    where they are; other channels have no such button and leave it out — the text asks for typing)."""

    label: str
    payload: str | None = None
    phone: str | None = None
    url: str | None = None
    share_contact: bool = False
    share_location: bool = False

    def __post_init__(self) -> None:
        targets = [
            self.payload is not None,
            self.phone is not None,
            self.url is not None,
            self.share_contact,
            self.share_location,
        ]
        if sum(targets) != 1:
            raise ValueError(f"button {self.label!r} needs exactly one target")
        if self.payload is not None:
            check_payload(self.payload)


@dataclass(frozen=True, slots=True)
class Reply:
    """One message bubble: text, optionally a title and an image (a card), and button rows under it."""

    text: str
    title: str | None = None
    image_url: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()

    @property
    def all_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]


@dataclass(frozen=True, slots=True)
class Screen:
    """Everything one incoming message is answered with.

    ``replies`` are the bubbles, in order. ``menu`` is the always-reachable navigation (home, help, and
    the main choices on the home screen): Telegram shows it as the persistent reply keyboard, Kakao as
    quick replies, the web chat as chips under the input. ``expects`` says what the flow is waiting
    for, so an adapter can offer the right input (``"phone"`` → Telegram's contact button).
    """

    replies: tuple[Reply, ...]
    menu: tuple[Button, ...] = ()
    expects: Literal["choice", "text", "phone", "number", "photo", "code"] = "choice"

    @property
    def device_buttons(self) -> list[Button]:
        """The contact and location buttons of every bubble (a messenger's own keyboard shows them)."""
        return [b for r in self.replies for b in r.all_buttons if b.share_contact or b.share_location]

    lang: str = "ko"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message from a person, already stripped of its platform.

    ``user_id`` is the channel's own id for the person (Telegram user id, Kakao botUserKey, web session
    id). ``phone`` is set only when the platform itself vouches that it is the sender's own number
    (Telegram's contact button with the sender's own user id). ``key`` is the platform's id for this
    message (Telegram ``<bot id>:<update id>``, web message id): a repeat of a key already handled (in
    the last two days: they are forgotten then) changes nothing.
    """

    channel: Channel
    user_id: str
    display_name: str = ""
    text: str | None = None
    payload: str | None = None
    phone: str | None = None
    location: tuple[float, float] | None = None
    photo_url: str | None = None
    key: str | None = None
    lang_hint: str | None = None
    extra_ids: dict[str, str] = field(default_factory=dict)  # Kakao's plusfriendUserKey / appUserId
