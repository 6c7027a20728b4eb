"""Telling people what happened: a new order to the shop, "on the way" and "delivered" to the shopper.

Subscribed by bootstrap to the units of work's committed events (``commerce.events``). Each event
becomes one short screen in the recipient's language, pushed to every messenger identity of theirs
that a notifier serves and that has not blocked us; an outcome other than ``ok`` is recorded in
``bot_reach`` so that identity is skipped next time.

Pushes never run inside the transaction that caused them and never hold up the person whose tap
caused them: each event is delivered by a task of its own (a Telegram push waits for the per-chat
pacing). ``drain`` lets the server finish them on shutdown.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from bots.dialogue import menu
from bots.messages import PAYLOAD_MAX_BYTES, Button, Reply, Screen
from bots.notify import Notifier, reachable_identities, record_reach
from bots.texts import CATALOGUES, t, won
from commerce import events as domain
from commerce import members, orders, shops
from ledger.db import Database, UnitOfWork
from ledger.service import now_ms

log = logging.getLogger("chestnut.pushes")


@dataclass(frozen=True, slots=True)
class Push:
    member_id: int
    text_key: str
    values: dict[str, object]
    button_key: str
    payload: str


async def _push_for(uow: UnitOfWork, event: object) -> Push | None:
    """Who hears of ``event``, and what they are told (``None``: nobody needs to)."""
    if isinstance(event, domain.OrderPaid):
        order = await orders.get(uow, event.order_id)
        shop = await shops.get(uow, event.shop_id)
        goods = ", ".join(f"{line.name} × {line.qty}" for line in order.lines)
        return Push(
            shop.owner_id,
            "push.order_paid",
            {"id": order.id, "goods": goods, "total": order.total},
            "push.see_order",
            f"pod:{order.id}",
        )
    if isinstance(event, domain.OrderAccepted):
        return Push(event.buyer_id, "push.order_accepted", {"id": event.order_id}, "order.view", f"o:{event.order_id}")
    if isinstance(event, domain.CourierAssigned):
        return Push(
            event.courier_id, "push.courier_assigned", {"id": event.order_id}, "push.see_job", f"cv:{event.order_id}"
        )
    if isinstance(event, domain.OrderPickedUp):
        return Push(event.buyer_id, "push.picked_up", {"id": event.order_id}, "order.view", f"o:{event.order_id}")
    if isinstance(event, domain.OrderDelivered):
        return Push(event.buyer_id, "push.delivered", {"id": event.order_id}, "order.view", f"o:{event.order_id}")
    if isinstance(event, domain.ClaimOpened):
        shop = await shops.get(uow, event.shop_id)
        return Push(
            shop.owner_id, "push.claim_opened", {"id": event.order_id}, "push.see_claim", f"pclv:{event.claim_id}"
        )
    if isinstance(event, domain.TopupConfirmed):
        # Back to the order the member left to top up, if that is why they did (``bots.flows.wallet``).
        rows = await uow.fetch("SELECT state, data FROM bot_conversations WHERE member_id = :m", {"m": event.member_id})
        resume = _resume(rows)
        if resume is not None:
            return Push(event.member_id, "push.topup", {"amount": event.amount}, "push.back_to_order", resume)
        return Push(event.member_id, "push.topup", {"amount": event.amount}, "home.wallet", "w")
    if isinstance(event, domain.ShopReviewed):
        key = "push.shop_approved" if event.approved else "push.shop_refused"
        shop = await shops.get(uow, event.shop_id)
        return Push(event.owner_id, key, {"shop": shop.name}, "home.work.producer", "ps")
    return None


def _resume(rows: list[tuple[object, ...]]) -> str | None:
    if not rows or rows[0][0] != "wallet.topup":
        return None
    try:
        data = json.loads(str(rows[0][1]))
    except ValueError:
        return None
    resume = data.get("resume") if isinstance(data, dict) else None
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


class Pushes:
    """The after-commit subscriber. Notifiers join as the adapters come up (``add``)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.notifiers: dict[str, Notifier] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, notifier: Notifier) -> None:
        self.notifiers[notifier.channel] = notifier

    async def __call__(self, events: Sequence[object]) -> None:
        if not self.notifiers:
            return
        for event in events:
            self._spawn(self._deliver(event))

    async def announce(self, notices: Sequence[Any]) -> None:
        """The scheduler's ``Announcer``: each notice (member_id, kind, data) after its chunk committed."""
        if not self.notifiers:
            return
        for notice in notices:
            push = notice_push(notice)
            if push is not None:
                self._spawn(self._send(push))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout_s: float = 10.0) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def _deliver(self, event: object) -> None:
        try:
            async with self.db.snapshot() as snap:
                push = await _push_for(snap, event)
            if push is not None:
                await self._send(push)
        except asyncio.CancelledError:
            raise
        except Exception:  # a push that cannot be made must never break anything else
            log.exception("push for %s failed", type(event).__name__)

    async def _send(self, push: Push) -> None:
        try:
            async with self.db.snapshot() as snap:
                member = await members.get(snap, push.member_id)
                targets = [(c, e) for c, e in await reachable_identities(snap, member.id) if c in self.notifiers]
            screen = _screen(push, member.lang)
            for channel, external_id in targets:
                outcome = await self.notifiers[channel].push(external_id, screen)
                if outcome != "ok":
                    async with self.db.unit_of_work() as uow:
                        await record_reach(uow, channel, external_id, member.id, outcome, now_ms())
                        await uow.commit()
        except asyncio.CancelledError:
            raise
        except Exception:  # a push that cannot be made must never break anything else
            log.exception("push %s failed", push.text_key)
