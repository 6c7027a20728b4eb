"""A scripted chat user for the dialogue core: send text, tap buttons by their label, read the screen.

Journeys tap buttons by what a person sees (the label's text), never by payload, so a test reads like
what the user did and breaks when the screen would confuse them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bots.dialogue import Dialogue
from bots.messages import Button, Channel, Incoming, Screen

_keys = itertools.count(1)
MAX_CHOICES = 6  # elderly first: no screen offers more (the always-there menu aside)


def check_screen(screen: Screen) -> Screen:
    """What every screen must be, whatever the flow: few choices, and a way home."""
    for reply in screen.replies:
        choices = reply.all_buttons
        assert len(choices) <= MAX_CHOICES, f"{len(choices)} choices on one screen: {[b.label for b in choices]}"
    if screen.replies:
        assert screen.menu, "a screen without the home/help menu"
    return screen


@dataclass
class ChatUser:
    dialogue: Dialogue
    channel: Channel
    user_id: str
    name: str = "손님"
    last: Screen | None = None
    transcript: list[str] = field(default_factory=list)

    async def send(self, text: str | None = None, **kw: object) -> Screen:
        msg = Incoming(
            self.channel,
            self.user_id,
            self.name,
            text=text,
            key=f"k{next(_keys)}",
            **kw,  # type: ignore[arg-type]
        )
        self.transcript.append(f"> {text if text is not None else kw}")
        self.last = check_screen(await self.dialogue.handle(msg))
        self.transcript.extend(f"< {r.text}" for r in self.last.replies)
        return self.last

    def buttons(self) -> list[Button]:
        assert self.last is not None
        return [b for r in self.last.replies for b in r.all_buttons] + list(self.last.menu)

    def find(self, label_part: str) -> Button:
        matches = [b for b in self.buttons() if label_part in b.label]
        assert matches, f"no button with {label_part!r}; screen has {[b.label for b in self.buttons()]}"
        return matches[0]

    async def tap(self, label_part: str) -> Screen:
        button = self.find(label_part)
        assert button.payload is not None, f"{button.label!r} is not a tap-back button"
        self.transcript.append(f"[{button.label}]")
        self.last = check_screen(
            await self.dialogue.handle(
                Incoming(self.channel, self.user_id, self.name, payload=button.payload, key=f"k{next(_keys)}")
            )
        )
        self.transcript.extend(f"< {r.text}" for r in self.last.replies)
        return self.last

    @property
    def text(self) -> str:
        assert self.last is not None
        return "\n".join(r.text for r in self.last.replies)
