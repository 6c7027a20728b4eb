"""What a handler sees: the services, this message, its member and the conversation; and what the chat
says about the cooperative itself (``ChatConfig``).

A handler reads and changes the conversation through ``Ctx.go`` (what to wait for next, with the flow's
notes) and answers with a ``Screen``, usually made by ``Ctx.say``. Its ``uow`` is the turn's one unit of
work — a look-only one for a handler registered with ``writes=False`` (``bots.router``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bots.messages import Button, Incoming, Reply, Screen
from bots.texts import t
from commerce.members.rows import Member
from commerce.search.service import SearchIndex
from commerce.services import Services
from ledger.storage.unit_of_work import UnitOfWork


def menu(lang: str) -> tuple[Button, ...]:
    """Home and help: on every screen, so nothing depends on remembering a command."""
    return (Button(t(lang, "menu.home"), payload="home"), Button(t(lang, "menu.help"), payload="help"))


@dataclass(frozen=True, slots=True)
class ChatConfig:
    """What the chat says about the cooperative itself, from settings."""

    office_phone: str = "031-000-0000"  # the market office: a person to call
    show_codes: bool = False  # development and test without an SMS sender: show the phone code in the chat
    topup_url: str | None = None  # the gateway's checkout page, when a gateway is configured
    trial_topup: int = 0  # development only: won a visitor of `make run` may take once to try paying
    flood_burst: int = 30  # messages …
    flood_window_s: float = 10.0  # … per this many seconds, per person
    bot_username: str | None = None  # the Telegram bot's username: recommendation links t.me/<bot>?start=…
    public_url: str = ""  # where people reach this server: the web chat's recommendation links
    strict: bool = False  # tests: a look-only handler that writes raises instead of being apologised for


STICKY = ("referrer",)


@dataclass
class Ctx:
    """What a handler sees: the services, this message, its member, and the conversation state."""

    services: Services
    uow: UnitOfWork
    index: SearchIndex
    config: ChatConfig
    member: Member
    msg: Incoming
    state: str
    data: dict[str, Any]

    @property
    def lang(self) -> str:
        return self.member.lang

    def t(self, key: str, **values: object) -> str:
        return t(self.lang, key, **values)

    def button(self, key: str, payload: str, **values: object) -> Button:
        return Button(self.t(key, **values), payload=payload)

    def go(self, state: str = "", **data: Any) -> None:
        """Wait for ``state`` next (``""``: nothing in particular), with the flow's notes.

        A recommendation (``referrer``, from a deep link) outlives the steps between the link and the
        payment, so the member who recommended is credited whichever way the shopper wanders.
        """
        sticky = {k: self.data[k] for k in STICKY if k in self.data and k not in data}
        self.state, self.data = state, {**sticky, **data}

    def menu(self) -> tuple[Button, ...]:
        return menu(self.lang)

    def screen(self, *replies: Reply, menu: tuple[Button, ...] | None = None, expects: str = "choice") -> Screen:
        return Screen(tuple(replies), self.menu() if menu is None else menu, expects, self.lang)  # type: ignore[arg-type]

    def say(self, text: str, *rows: tuple[Button, ...] | list[Button], **kw: Any) -> Screen:
        """One bubble of text with button rows under it — the commonest screen."""
        return self.screen(Reply(text, buttons=tuple(tuple(r) for r in rows if r)), **kw)
