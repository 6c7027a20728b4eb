"""Where each message goes, and whether its handler writes.

Flows register their handlers here (``register(router)`` in each ``bots.flows`` module): a button's
payload verb (``router.on``), what is typed while the flow waits in a state (``router.waiting``), a menu
label typed as text (``router.label``), and the four fixed routes — free text with nothing waiting
(``on_text``: the search), a phone the channel vouched for (``on_phone``), ``/start`` and deep links
(``on_start``), and the home screen (``on_home``).

Every registration says whether the handler writes: ``writes=True`` (the default, the safe side: the
turn runs on a writing unit of work) or ``writes=False`` for a screen that only looks — it runs on a
read snapshot, off SQLite's one writer, and its unit of work refuses any write (``bots.look_only``),
so a handler that writes but says it does not fails loudly instead of losing what it wrote.

A verb is owned by exactly one module (``on`` refuses a second), so ``grep '"verb"'`` finds where a
button leads. Payload grammar: ``verb[:arg…]`` in ASCII, at most 64 bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bots.context import Ctx
from bots.messages import Incoming, Reply, Screen
from bots.texts import labels

Handler = Callable[[Ctx, list[str]], Awaitable[Screen]]

COMMANDS = {"help": "help", "home": "home", "menu": "home", "lang": "lang"}  # /help, /home, /menu, /lang


@dataclass(frozen=True, slots=True)
class Route:
    """A handler, what it is registered for (for messages about it), and whether it writes."""

    name: str
    handler: Handler
    writes: bool = True


@dataclass(frozen=True, slots=True)
class Routed:
    """A message's route and the arguments its handler gets."""

    route: Route
    args: list[str]


def fold(text: str) -> str:
    """A label as typed: "🛒 장바구니", "장바구니" and "장 바구니" are one (emoji, spaces and case off)."""
    return "".join(ch for ch in text if ch.isalnum()).lower()


@dataclass
class Router:
    """Where each payload, state and menu label goes. Flows add themselves in ``register``."""

    payloads: dict[str, Route] = field(default_factory=dict)
    states: dict[str, Route] = field(default_factory=dict)  # text (or photo) while waiting in a state
    menu_labels: dict[str, str] = field(default_factory=dict)  # typed label → payload
    text: Route | None = None  # free text with no state waiting: search
    phone: Route | None = None  # a phone the channel vouched for
    start: Route | None = None  # /start [payload]
    home: Route | None = None

    # -- registering

    def on(self, verb: str, handler: Handler, *, writes: bool = True) -> None:
        if verb in self.payloads:
            raise ValueError(f"two handlers for {verb!r}")
        self.payloads[verb] = Route(f"verb {verb!r}", handler, writes)

    def waiting(self, state: str, handler: Handler, *, writes: bool = True) -> None:
        self.states[state] = Route(f"state {state!r}", handler, writes)

    def label(self, key: str, payload: str) -> None:
        for text in labels(key):
            self.menu_labels[fold(text)] = payload

    def on_text(self, handler: Handler, *, writes: bool = True) -> None:
        self.text = Route("typed text", handler, writes)

    def on_phone(self, handler: Handler, *, writes: bool = True) -> None:
        self.phone = Route("a shared phone", handler, writes)

    def on_start(self, handler: Handler, *, writes: bool = True) -> None:
        self.start = Route("/start", handler, writes)

    def on_home(self, handler: Handler, *, writes: bool = True) -> None:
        self.home = Route("home", handler, writes)

    # -- routing

    def by_message(self, msg: Incoming) -> Routed | None:
        """The route the message itself names (a button, a phone, a command, a menu label), or None
        when what the conversation waits for decides (``by_state``)."""
        if msg.payload:
            verb, *args = msg.payload.split(":")
            route = self.payloads.get(verb)
            return Routed(route, args) if route is not None else Routed(self._stale_route(), [])
        if msg.phone and self.phone is not None:
            return Routed(self.phone, [msg.phone])
        text = (msg.text or "").strip()
        if text.startswith("/start") and self.start is not None:
            return Routed(self.start, text.split()[1:2])
        if text.startswith("/"):
            command = COMMANDS.get(text[1:].split()[0].lower() if len(text) > 1 else "")
            if command:
                return Routed(self.payloads[command], [])
        payload = self.menu_labels.get(fold(text)) if text else None
        if payload is not None:
            verb, *args = payload.split(":")
            return Routed(self.payloads[verb], args)
        return None

    def by_state(self, msg: Incoming, state: str) -> Routed:
        """Text, a photo or a location: to the state waiting for it, else a search, else home."""
        text = (msg.text or "").strip()
        waiting = self.states.get(state)
        if waiting is not None and (text or msg.photo_url or msg.location):
            return Routed(waiting, [text])
        if text and self.text is not None:
            return Routed(self.text, [text])
        assert self.home is not None
        return Routed(self.home, [])

    def _stale_route(self) -> Route:
        assert self.home is not None
        return Route("an unknown button", self._stale, self.home.writes)

    async def _stale(self, ctx: Ctx, _args: list[str]) -> Screen:
        """A button from an old message or an older version of the bot: say so kindly, then home."""
        assert self.home is not None
        home = await self.home.handler(ctx, [])
        return Screen((Reply(ctx.t("error.stale")), *home.replies), home.menu, home.expects, home.lang)
