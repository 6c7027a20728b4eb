"""Telling people what happened: a new order to the shop, "on the way" and "delivered" to the shopper.

Bootstrap hooks ``Pushes`` into every unit of work: the domain events (each package's ``events``) that
someone should hear of, and the scheduler's notices, are written to the push outbox in the transaction
that caused them (``bots.outbox``: the event's name and ids only). The sender — the server's background
work, ``run`` — takes them from there: each becomes one short screen, rendered when it is sent, in the
recipient's language, pushed to every messenger identity of theirs that a notifier serves and that has
not blocked us; an outcome other than ``ok`` is recorded in ``bot_reach`` so that identity is skipped
next time. What a crash does at each step is said in ``bots.outbox``.

Pushes never hold up the person whose tap caused them: rows are sent by tasks of their own (a
Telegram push waits for the per-chat pacing), woken right after the commit in this process and by a
poll in the others. A market with no messenger configured keeps no outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bots import conversations
from bots.context import menu
from bots.messages import PAYLOAD_MAX_BYTES, Button, Reply, Screen
from bots.notify import Notifier, reachable_identities
from bots.outbox import Claimed, Outbox
from bots.texts import CATALOGUES, t, won
from commerce.claims.events import ClaimOpened
from commerce.delivery.events import CourierAssigned, OrderDelivered, OrderPickedUp
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders.events import OrderAccepted, OrderPaid
from commerce.shops import service as shops
from commerce.shops.events import ShopReviewed
from commerce.wallet.events import TopupConfirmed
from ledger.storage.unit_of_work import Database, UnitOfWork

log = logging.getLogger("chestnut.pushes")


@dataclass(frozen=True, slots=True)
class Push:
    member_id: int
    text_key: str
    values: dict[str, object]
    button_key: str
    payload: str


# The events someone hears of, by the name their outbox rows carry.
TOLD: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        OrderPaid,
        OrderAccepted,
        CourierAssigned,
        OrderPickedUp,
        OrderDelivered,
        ClaimOpened,
        TopupConfirmed,
        ShopReviewed,
    )
}
NOTICE = "notice"  # the kind of a scheduler notice's row


async def _push_for(uow: UnitOfWork, event: object) -> Push | None:
    """Who hears of ``event``, and what they are told (``None``: nobody needs to)."""
    if isinstance(event, OrderPaid):
        order = await order_queries.get(uow, event.order_id)
        shop = await shops.get(uow, event.shop_id)
        goods = ", ".join(f"{line.name} × {line.qty}" for line in order.lines)
        return Push(
            shop.owner_id,
            "push.order_paid",
            {"id": order.id, "goods": goods, "total": order.total},
            "push.see_order",
            f"pod:{order.id}",
        )
    if isinstance(event, OrderAccepted):
        return Push(event.buyer_id, "push.order_accepted", {"id": event.order_id}, "order.view", f"o:{event.order_id}")
    if isinstance(event, CourierAssigned):
        return Push(
            event.courier_id, "push.courier_assigned", {"id": event.order_id}, "push.see_job", f"cv:{event.order_id}"
        )
    if isinstance(event, OrderPickedUp):
        return Push(event.buyer_id, "push.picked_up", {"id": event.order_id}, "order.view", f"o:{event.order_id}")
    if isinstance(event, OrderDelivered):
        return Push(event.buyer_id, "push.delivered", {"id": event.order_id}, "order.view", f"o:{event.order_id}")
    if isinstance(event, ClaimOpened):
        shop = await shops.get(uow, event.shop_id)
        return Push(
            shop.owner_id, "push.claim_opened", {"id": event.order_id}, "push.see_claim", f"pclv:{event.claim_id}"
        )
    if isinstance(event, TopupConfirmed):
        # Back to the order the member left to top up, if that is why they did (``bots.flows.wallet``).
        resume = _resume(await conversations.load(uow, event.member_id))
        if resume is not None:
            return Push(event.member_id, "push.topup", {"amount": event.amount}, "push.back_to_order", resume)
        return Push(event.member_id, "push.topup", {"amount": event.amount}, "home.wallet", "w")
    if isinstance(event, ShopReviewed):
        key = "push.shop_approved" if event.approved else "push.shop_refused"
        shop = await shops.get(uow, event.shop_id)
        return Push(event.owner_id, key, {"shop": shop.name}, "home.work.producer", "ps")
    return None


def _resume(conversation: conversations.Conversation) -> str | None:
    if conversation.state != "wallet.topup":
        return None
    resume = conversation.data.get("resume")
    verb, _, shop = resume.partition(":") if isinstance(resume, str) else ("", "", "")
    return resume if verb == "pay" and shop.isdigit() else None


# What the scheduler's batches tell members afterwards (its ``Notice.kind``): text, button, where it leads.
# A ``{name}`` in the text key or the payload is filled from the notice's data ("abuse.case": the text for
# its outcome, the button to that very case).
NOTICES: dict[str, tuple[str, str, str]] = {
    "dividend.paid": ("push.dividend_paid", "home.wallet", "w"),
    "cashout.paid": ("push.cashout_paid", "home.wallet", "w"),
    "cashout.failed": ("push.cashout_failed", "home.wallet", "w"),
    "order.reminder": ("push.order_reminder", "push.see_order", "po"),
    "abuse.case": ("push.abuse.{outcome}", "abuse.see_case", "ab:{case}"),
}
MONEY = ("total", "amount")


def notice_push(notice: Any) -> Push | None:
    """The push for one of the scheduler's notices, or ``None`` (a kind or a text no chat knows)."""
    known = NOTICES.get(getattr(notice, "kind", ""))
    if known is None:
        return None
    data = dict(notice.data)
    try:
        text_key, button_key, payload = (part.format_map(data) for part in known)
    except (KeyError, ValueError):
        log.warning("notice %s lacks the data its push needs", notice.kind)
        return None
    if text_key not in CATALOGUES["ko"] or not payload.isascii() or len(payload.encode()) > PAYLOAD_MAX_BYTES:
        log.warning("notice %s has no text %s or no button %r", notice.kind, text_key, payload[:70])
        return None
    return Push(int(notice.member_id), text_key, data, button_key, payload)


def _screen(push: Push, lang: str) -> Screen:
    values = {k: won(v, lang) if k in MONEY and isinstance(v, int) else v for k, v in push.values.items()}
    button = Button(t(lang, push.button_key), payload=push.payload)
    return Screen((Reply(t(lang, push.text_key, **values), buttons=((button,),)),), menu(lang), lang=lang)


@dataclass(frozen=True, slots=True)
class _Notice:
    """A scheduler notice read back from its outbox row (``notice_push`` reads these three fields)."""

    member_id: int
    kind: str
    data: Mapping[str, object]


async def _render(uow: UnitOfWork, row: Claimed) -> Push | None:
    if row.kind == NOTICE:
        data = row.data.get("data")
        notice = _Notice(int(row.data["member"]), str(row.data["kind"]), data if isinstance(data, dict) else {})
        return notice_push(notice)
    cls = TOLD.get(row.kind)
    return None if cls is None else await _push_for(uow, cls(**row.data))


class Pushes:
    """The push outbox's writer (``before_commit``, ``stage``, ``announce``) and its sender (``run``, ``drain``).

    ``channels`` are the messengers this market talks on: those configured in the settings (``expect``,
    their notifier may come up later, as serve's Telegram bot does) and any notifier ``add``-ed. With
    none, nothing is written: nobody could be told.
    """

    def __init__(self, db: Database, *, outbox: Outbox | None = None, poll_s: float = 2.0, concurrency: int = 32):
        self.db = db
        self.outbox = outbox or Outbox(db)
        self.notifiers: dict[str, Notifier] = {}
        self.channels: set[str] = set()
        self.poll_s, self.concurrency = poll_s, concurrency
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._renewed = time.monotonic()

    def add(self, notifier: Notifier) -> None:
        self.notifiers[notifier.channel] = notifier
        self.channels.add(notifier.channel)

    def expect(self, channel: str) -> None:
        self.channels.add(channel)

    # -- writing (inside the caller's transaction)

    async def before_commit(self, uow: UnitOfWork, events: Sequence[object]) -> None:
        """The database's ``before_commit`` hook: the events someone hears of, into the outbox."""
        if not self.channels:
            return
        told: list[Any] = [e for e in events if TOLD.get(type(e).__name__) is type(e)]
        items = [(type(e).__name__, dataclasses.asdict(e)) for e in told]
        await self.outbox.put(uow, items)

    async def stage(self, uow: UnitOfWork, notices: Sequence[Any]) -> None:
        """``scheduler.notices.Outbox``: the notices, in the transaction of the batch chunk that decided them."""
        if not self.channels:
            return
        items = [
            (NOTICE, {"member": int(n.member_id), "kind": str(n.kind), "data": dict(n.data)})
            for n in notices
            if notice_push(n) is not None
        ]
        await self.outbox.put(uow, items)

    async def announce(self, notices: Sequence[Any]) -> None:
        """The scheduler's ``Announcer``: notices decided elsewhere, queued in a transaction of their own."""
        if not self.channels or not notices:
            return
        async with self.db.unit_of_work() as uow:
            await self.stage(uow, notices)
            await uow.commit()
        self._wake.set()

    async def __call__(self, events: Sequence[object]) -> None:
        """The database's ``after_commit`` hook: a sender in this process looks at once."""
        self._wake.set()

    # -- sending

    async def run(self) -> None:
        """The sender, until cancelled: rows as they become due, woken by commits here and a poll."""
        last_prune = 0.0
        try:
            while True:
                self._wake.clear()
                try:
                    await self._fill()
                    if time.monotonic() - last_prune > 600:
                        last_prune = time.monotonic()
                        await self.outbox.prune()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("the push outbox could not be read; trying again in %.1fs", self.poll_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
        finally:
            await self.close()

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Send every row due now and wait for them (a row backing off after a failure is not due)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            started = await self._fill()
            if not started and not self._tasks:
                return
            if self._tasks:
                await asyncio.wait(
                    set(self._tasks),
                    timeout=min(deadline - time.monotonic(), self.outbox.lease_ms / 3000),
                    return_when=asyncio.FIRST_COMPLETED,
                )

    async def close(self, timeout_s: float = 10.0) -> None:
        """Let the pushes in flight finish; any still going after ``timeout_s`` is stopped, its row given back."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
        for task in set(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _fill(self) -> int:
        """Claim rows for the free places and start each; renew the leases held meanwhile."""
        if self._tasks and time.monotonic() - self._renewed > self.outbox.lease_ms / 3000:
            self._renewed = time.monotonic()
            await self.outbox.renew()
        free = self.concurrency - len(self._tasks)
        if free <= 0 or not await self.outbox.any_due():
            return 0
        if not self._tasks:
            self._renewed = time.monotonic()
        rows = await self.outbox.claim(free)
        for row in rows:
            task = asyncio.create_task(self._deliver(row))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return len(rows)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()  # a place is free: rows that waited for one are claimed now

    async def _deliver(self, row: Claimed) -> None:
        error: str | None
        try:
            if self.outbox.too_old(row):  # settled as failed: a day-old "on the way" helps nobody
                error = "too old to be worth sending"
            else:
                error = await self._send(row)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.outbox.release(row))
            raise
        except Exception as exc:  # a push that cannot be made must never break anything else
            log.exception("push %s (%s) failed", row.id, row.kind)
            error = f"{type(exc).__name__}: {exc}"
        try:
            status = await self.outbox.settle(row, error)
        except asyncio.CancelledError:
            raise
        except Exception:  # the lease runs out and another pass takes the row over
            log.exception("push %s could not be marked", row.id)
            return
        if status == "failed":
            log.warning("push %s (%s) given up: %s", row.id, row.kind, error)

    async def _send(self, row: Claimed) -> str | None:
        """Push the row to each identity not yet answered; the failure worth a retry, if any."""
        async with self.db.snapshot() as snap:
            push = await _render(snap, row)
            if push is None:
                return None
            member = await members.get(snap, push.member_id)
            targets = [
                (c, e)
                for c, e in await reachable_identities(snap, member.id)
                if c in self.notifiers and f"{c}:{e}" not in row.answered
            ]
        screen = _screen(push, member.lang)
        failure = None
        for channel, external_id in targets:
            try:
                outcome = await self.notifiers[channel].push(external_id, screen)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # not the person's doing: they stay reachable, the row is retried
                log.warning("push %s to %s failed: %s", row.id, channel, exc)
                failure = f"{channel}: {type(exc).__name__}: {exc}"
                continue
            if not await self.outbox.answered(row, channel, external_id, member.id, outcome):
                log.warning("push %s was taken over by another sender", row.id)
                return None
        return failure
