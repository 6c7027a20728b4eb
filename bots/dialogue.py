"""The dialogue core: one ``Incoming`` in, one ``Screen`` out, for every messenger.

How a message is handled (one unit of work, committed once):

1. A flood from one person is slowed down before anything else (``FloodGate``).
2. The member behind the channel identity is found, or registered at first contact.
3. A message key already handled (a Telegram update delivered twice) is answered with nothing.
4. The conversation state is loaded; the message is routed:
   button payload → its handler; a shared phone → sign-up; a typed menu label → that menu's handler;
   ``/start <payload>`` → the deep link; text while a flow waits for text → that flow;
   any other text → the forgiving product search (typing "사과" anywhere finds apples).
5. The handler calls commerce services and returns a screen; state and screen are committed together.

A typed refusal from a service (not enough BTL, sold out, …) rolls the work back and becomes a kind
message with the next step (``bots.refusals``); anything unexpected is logged and answered with an
apology and the menu — never a traceback.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bots.messages import Button, Incoming, Reply, Screen
from bots.texts import labels, t
from commerce.members import service as members
from commerce.members.rows import Member
from commerce.search.service import SearchIndex
from commerce.services import Services
from ledger.db import Database, Op, Row, UnitOfWork, read
from ledger.errors import ChestnutError

log = logging.getLogger("chestnut.bots")


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


class FloodGate:
    """At most ``burst`` messages per ``window_s`` per person, in this process (a sliding window)."""

    def __init__(self, burst: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.window_s, self.clock = burst, window_s, clock
        self._seen: dict[tuple[str, str], deque[float]] = {}

    def allow(self, channel: str, user_id: str) -> bool:
        now = self.clock()
        seen = self._seen.setdefault((channel, user_id), deque())
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        if len(seen) >= self.burst:
            return False
        seen.append(now)
        if len(self._seen) > 100_000:  # forget idle people rather than grow without bound
            self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - self.window_s}
        return True


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


Handler = Callable[[Ctx, list[str]], Awaitable[Screen]]


@dataclass
class Router:
    """Where each payload, state and menu label goes. Flows add themselves in ``register``."""

    payloads: dict[str, Handler] = field(default_factory=dict)
    states: dict[str, Handler] = field(default_factory=dict)  # text (or photo) while waiting in a state
    menu_labels: dict[str, str] = field(default_factory=dict)  # typed label → payload
    fallback: Handler | None = None  # free text with no state waiting: search
    phone: Handler | None = None  # a phone the channel vouched for
    start: Handler | None = None  # /start [payload]
    home: Handler | None = None

    def on(self, verb: str, handler: Handler) -> None:
        if verb in self.payloads:
            raise ValueError(f"two handlers for {verb!r}")
        self.payloads[verb] = handler

    def waiting(self, state: str, handler: Handler) -> None:
        self.states[state] = handler

    def label(self, key: str, payload: str) -> None:
        for text in labels(key):
            self.menu_labels[_fold(text)] = payload


def _fold(text: str) -> str:
    """A label as typed: "🛒 장바구니", "장바구니" and "장 바구니" are one (emoji, spaces and case off)."""
    return "".join(ch for ch in text if ch.isalnum()).lower()


INBOX_SQL = (
    "INSERT INTO bot_inbox (channel, key, member_id, created_ms) VALUES (:c, :k, :m, :now) "
    "ON CONFLICT (channel, key) DO NOTHING RETURNING member_id"
)
LOAD_SQL = "SELECT state, data FROM bot_conversations WHERE member_id = :m"


def _state_of(rows: list[Row]) -> tuple[str, dict[str, Any]]:
    if not rows:
        return "", {}
    try:
        data = json.loads(str(rows[0][1]))
    except ValueError:
        data = {}
    return str(rows[0][0]), data if isinstance(data, dict) else {}


class _NeedsWrite(Exception):
    """A turn tried on a snapshot wanted to write: it is done again as a writing turn."""


_READ_PREFIXES = ("SELECT", "WITH")


class _ReadOnlyTurn(UnitOfWork):
    """A snapshot that refuses, by raising ``_NeedsWrite``, anything that would write or lock.

    Services take a unit of work and may write at any point; run on this, the first write (or a
    locking read, ``FOR UPDATE``, which only a writer needs) abandons the try before anything happened.
    """

    def __init__(self, snapshot: UnitOfWork) -> None:
        super().__init__(None)
        self.dialect = snapshot.dialect
        self._snapshot = snapshot

    @property
    def for_update(self) -> str:
        raise _NeedsWrite

    def publish(self, event: object) -> None:
        raise _NeedsWrite

    async def _open(self) -> None:
        pass

    async def _run(self, ops: Sequence[Op]) -> list[list[Row]]:
        if any(not op.fetch or not op.sql.lstrip().upper().startswith(_READ_PREFIXES) for op in ops):
            raise _NeedsWrite
        return await self._snapshot.batch(ops)

    async def _commit(self) -> None:
        raise _NeedsWrite

    async def _rollback(self) -> None:
        pass

    async def _close(self) -> None:
        pass


class Dialogue:
    def __init__(
        self,
        db: Database,
        services: Services,
        index: SearchIndex,
        router: Router,
        config: ChatConfig | None = None,
    ) -> None:
        self.db, self.services, self.index, self.router = db, services, index, router
        self.config = config or ChatConfig()
        self.flood = FloodGate(self.config.flood_burst, self.config.flood_window_s)

    async def handle(self, msg: Incoming) -> Screen:
        if not self.flood.allow(msg.channel, msg.user_id):
            lang = msg.lang_hint if msg.lang_hint in ("ko", "en") else "ko"
            return Screen((Reply(t(lang, "error.flood")),), menu(lang), lang=lang)
        try:
            return await self._handle(msg)
        except ChestnutError as exc:  # refused before a member could be found (junk ids and the like)
            log.info("refused %s message: %s", msg.channel, exc.code)
            return Screen((Reply(t("ko", "error.generic")),), menu("ko"))
        except Exception:
            log.exception("chat message from %s failed", msg.channel)
            return Screen((Reply(t("ko", "error.generic")),), menu("ko"))

    async def _handle(self, msg: Incoming) -> Screen:
        if msg.key is None:
            # Most turns only look (a market, a shop, a product card): try them on a read snapshot, off
            # SQLite's one writer; a turn that writes anything is done again below as a writing turn.
            # Only turns without a dedupe key: a key must be recorded, which is a write.
            try:
                screen = await self._read_only(msg)
            except _NeedsWrite:
                screen = None
            if screen is not None:
                return screen
        refused: ChestnutError | None = None
        async with self.db.unit_of_work() as uow:
            member = await self._member(uow, msg)
            fresh, (state, data) = await self._first_time_and_load(uow, msg, member.id)
            if not fresh:
                return Screen((), lang=member.lang)
            # A copy: handlers change their notes in place, and only a real change is saved.
            ctx = Ctx(self.services, uow, self.index, self.config, member, msg, state, copy.deepcopy(data))
            try:
                screen = await self._route(ctx)
            except ChestnutError as exc:
                refused = exc  # rolled back as the block ends; explained in a fresh unit of work below
            else:
                if (ctx.state, ctx.data) != (state, data):
                    await self._save(uow, ctx)
                await uow.commit()
                return screen
        # Not inside the block above: SQLite has one writer connection, a second unit of work would wait on it.
        return await self._refused(msg, member, refused)

    async def _read_only(self, msg: Incoming) -> Screen | None:
        """The turn on a snapshot, if it turns out to write nothing and leave the state as it was."""
        async with self.db.snapshot() as snap:
            member = await members.by_identity(snap, msg.channel, msg.user_id)
            if member is None:
                return None  # first contact registers the member
            state, data = await self._load(snap, member.id)
            ctx = Ctx(
                self.services, _ReadOnlyTurn(snap), self.index, self.config, member, msg, state, copy.deepcopy(data)
            )
            try:
                screen = await self._route(ctx)
            except ChestnutError:
                return None  # refusals are explained (and may count an attempt) on the writing path
            if (ctx.state, ctx.data) != (state, data):
                return None
            return screen

    async def _refused(self, msg: Incoming, member: Member, exc: ChestnutError) -> Screen:
        from bots import refusals

        async with self.db.unit_of_work() as uow:
            if msg.key is not None:
                await self._first_time(uow, msg, member.id)
            member = await members.get(uow, member.id)
            state, data = await self._load(uow, member.id)
            ctx = Ctx(self.services, uow, self.index, self.config, member, msg, state, data)
            screen = refusals.explain(ctx, exc)
            await uow.commit()
        return screen

    async def _member(self, uow: UnitOfWork, msg: Incoming) -> Member:
        found = await members.by_identity(uow, msg.channel, msg.user_id)
        if found is not None:
            return found
        name = " ".join((msg.display_name or "").split())[:64] or t("ko", "signup.default_name")
        lang = "en" if (msg.lang_hint or "").lower().startswith("en") else "ko"
        return await members.register(
            self.services, uow, channel=msg.channel, external_id=msg.user_id, display_name=name, lang=lang
        )

    async def _first_time_and_load(
        self, uow: UnitOfWork, msg: Incoming, member_id: int
    ) -> tuple[bool, tuple[str, dict[str, Any]]]:
        """Record the message key (if any) and load the state, in one round trip."""
        ops = [read(LOAD_SQL, {"m": member_id})]
        if msg.key is not None:
            ops.insert(0, read(INBOX_SQL, self._inbox_params(msg, member_id)))
        results = await uow.batch(ops)
        fresh = msg.key is None or bool(results[0])
        return fresh, _state_of(results[-1])

    def _inbox_params(self, msg: Incoming, member_id: int) -> dict[str, object]:
        assert msg.key is not None
        return {"c": msg.channel, "k": msg.key[:64], "m": member_id, "now": self.services.clock()}

    async def _first_time(self, uow: UnitOfWork, msg: Incoming, member_id: int) -> bool:
        assert msg.key is not None
        return bool(await uow.fetch(INBOX_SQL, self._inbox_params(msg, member_id)))

    async def _load(self, uow: UnitOfWork, member_id: int) -> tuple[str, dict[str, Any]]:
        return _state_of(await uow.fetch(LOAD_SQL, {"m": member_id}))

    async def _save(self, uow: UnitOfWork, ctx: Ctx) -> None:
        await uow.execute(
            "INSERT INTO bot_conversations (member_id, state, data, updated_ms) VALUES (:m, :s, :d, :now) "
            "ON CONFLICT (member_id) DO UPDATE SET state = excluded.state, data = excluded.data, "
            "updated_ms = excluded.updated_ms",
            {
                "m": ctx.member.id,
                "s": ctx.state[:32],
                "d": json.dumps(ctx.data, ensure_ascii=False, separators=(",", ":")),
                "now": self.services.clock(),
            },
        )

    async def _route(self, ctx: Ctx) -> Screen:
        msg, router = ctx.msg, self.router
        if msg.payload:
            verb, *args = msg.payload.split(":")
            handler = router.payloads.get(verb)
            if handler is None:
                return await self._stale(ctx)
            return await handler(ctx, args)
        if msg.phone and router.phone is not None:
            return await router.phone(ctx, [msg.phone])
        text = (msg.text or "").strip()
        if text.startswith("/start") and router.start is not None:
            return await router.start(ctx, text.split()[1:2])
        if text.startswith("/"):
            verb = text[1:].split()[0].lower() if len(text) > 1 else ""
            mapped = {"help": "help", "home": "home", "menu": "home", "lang": "lang"}.get(verb)
            if mapped:
                return await router.payloads[mapped](ctx, [])
        mapped_label = router.menu_labels.get(_fold(text)) if text else None
        if mapped_label is not None:
            verb, *args = mapped_label.split(":")
            return await router.payloads[verb](ctx, args)
        waiting = router.states.get(ctx.state)
        if waiting is not None and (text or msg.photo_url or msg.location):
            return await waiting(ctx, [text])
        if text and router.fallback is not None:
            return await router.fallback(ctx, [text])
        assert router.home is not None
        return await router.home(ctx, [])

    async def _stale(self, ctx: Ctx) -> Screen:
        """A button from an old message or an older version of the bot: say so kindly, then home."""
        assert self.router.home is not None
        home = await self.router.home(ctx, [])
        return Screen((Reply(ctx.t("error.stale")), *home.replies), home.menu, home.expects, home.lang)
