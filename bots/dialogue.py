"""The dialogue core: one ``Incoming`` in, one ``Screen`` out, for every messenger.

How a message is handled — one unit of work per turn, of the kind its handler declares:

1. A flood from one person is slowed down before anything else (``FloodGate``).
2. The route is found (``bots.router``): a button's verb, a shared phone, ``/start``, a typed menu label;
   for other text, photos and locations what the conversation waits for decides (else the search).
3. A look-only route (``writes=False``) of a message without a dedupe key (Kakao, the web chat without a
   message id) runs on a read snapshot, off SQLite's one writer. If it moved the conversation on, the
   new state is saved in one statement afterwards, and only over the state the turn read.
4. Every other turn runs on one writing unit of work: the member behind the channel identity is found
   or registered at first contact, the message key (a Telegram update delivered twice) is recorded or
   the repeat answered with nothing, the state is loaded, the handler runs (a look-only one still
   through ``bots.look_only``), and state and screen are committed together.

A typed refusal from a service (not enough BTL, sold out, …) is explained in the same turn
(``bots.refusals``) from the conversation as it was, and the unit of work ends without a commit: bad
input changes nothing — not even the message key, so a repeat is refused again. Anything unexpected is
logged and answered with an apology and the menu — never a traceback; a look-only handler that wrote
(``UndeclaredWrite``) too, except under ``ChatConfig.strict`` (tests), where it is raised.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import deque
from collections.abc import Callable

from bots import conversations, refusals
from bots.context import ChatConfig, Ctx, menu
from bots.conversations import Conversation
from bots.look_only import LookOnly, UndeclaredWrite
from bots.messages import Incoming, Reply, Screen
from bots.router import Routed, Router
from bots.texts import t
from commerce.members import service as members
from commerce.members.rows import Member
from commerce.search.service import SearchIndex
from commerce.services import Services
from ledger.errors import ChestnutError
from ledger.storage.unit_of_work import Database, UnitOfWork

log = logging.getLogger("chestnut.bots")


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
            return await self._turn(msg)
        except UndeclaredWrite:
            if self.config.strict:
                raise
            log.exception("a look-only chat handler wrote")
            return Screen((Reply(t("ko", "error.generic")),), menu("ko"))
        except ChestnutError as exc:  # refused before a member could be found (junk ids and the like)
            log.info("refused %s message: %s", msg.channel, exc.code)
            return Screen((Reply(t("ko", "error.generic")),), menu("ko"))
        except Exception:
            log.exception("chat message from %s failed", msg.channel)
            return Screen((Reply(t("ko", "error.generic")),), menu("ko"))

    async def _turn(self, msg: Incoming) -> Screen:
        routed = self.router.by_message(msg)
        if msg.key is None and routed is not None and not routed.route.writes:
            screen = await self._look(msg, routed)
            if screen is not None:
                return screen
        return await self._write(msg, routed)

    def _ctx(self, uow: UnitOfWork, member: Member, msg: Incoming, was: Conversation) -> Ctx:
        # A copy of the notes: handlers change them in place, and only a real change is saved.
        notes = copy.deepcopy(was.data)
        return Ctx(self.services, uow, self.index, self.config, member, msg, was.state, notes)

    async def _look(self, msg: Incoming, routed: Routed) -> Screen | None:
        """A look-only turn on a snapshot; None at first contact (registering the member writes)."""
        async with self.db.snapshot() as snap:
            member = await members.by_identity(snap, msg.channel, msg.user_id)
            if member is None:
                return None
            was = await conversations.load(snap, member.id)
            ctx = self._ctx(LookOnly(snap, routed.route.name), member, msg, was)
            try:
                screen = await routed.route.handler(ctx, routed.args)
            except ChestnutError as exc:
                return refusals.explain(self._ctx(snap, member, msg, was), exc)
        if _moved(ctx, was):
            async with self.db.unit_of_work() as uow:
                now = self.services.clock()
                if await conversations.move_on(uow, member.id, was, ctx.state, ctx.data, now):
                    await uow.commit()
        return screen

    async def _write(self, msg: Incoming, routed: Routed | None) -> Screen:
        """The turn on one writing unit of work: committed with its state, or, refused, not at all."""
        async with self.db.unit_of_work() as uow:
            member = await self._member(uow, msg)
            fresh, was = await self._first_time_and_load(uow, msg, member.id)
            if not fresh:
                return Screen((), lang=member.lang)
            routed = routed or self.router.by_state(msg, was.state)
            route = routed.route
            ctx = self._ctx(uow if route.writes else LookOnly(uow, route.name), member, msg, was)
            try:
                screen = await route.handler(ctx, routed.args)
            except ChestnutError as exc:
                # Explained from the conversation as it was; the block ends without a commit.
                return refusals.explain(self._ctx(uow, member, msg, was), exc)
            if _moved(ctx, was):
                await conversations.save(uow, member.id, ctx.state, ctx.data, self.services.clock())
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

    async def _first_time_and_load(self, uow: UnitOfWork, msg: Incoming, member_id: int) -> tuple[bool, Conversation]:
        """Record the message key (if any) and load the state, in one round trip."""
        ops = [conversations.load_op(uow, member_id)]
        if msg.key is not None:
            now = self.services.clock()
            ops.insert(0, conversations.record_key_op(uow, msg.channel, msg.key, member_id, now))
        results = await uow.batch(ops)
        fresh = msg.key is None or bool(results[0])
        return fresh, conversations.conversation_of(results[-1])


def _moved(ctx: Ctx, was: Conversation) -> bool:
    return (ctx.state, ctx.data) != (was.state, was.data)
