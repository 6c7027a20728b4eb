"""The push outbox: a notification is written with the change that caused it, sent once to each of the
member's identities, retried with backoff when the messenger fails, taken over when its sender dies,
and shared by several senders without a double push — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bots.messages import Screen
from bots.notify import PushFailed, PushOutcome, reachable_identities
from bots.outbox import Outbox
from bots.pushes import Pushes
from chestnut.bootstrap import App, batch_context
from commerce.delivery import service as delivery
from commerce.members import service as members
from commerce.orders import service as orders
from commerce.orders.rows import Order
from ledger.storage.backends import open_database
from scheduler.notices import Notice
from scheduler.wiring import run_batch
from tests.support.community import advance, buy
from tests.support.identity import phone_of, verify
from tests.support.market import Cast, cast

START_MS = 1_900_000_000_000


@dataclass
class Clock:
    now: int = START_MS

    def __call__(self) -> int:
        return self.now


@dataclass
class Messenger:
    """A notifier stand-in: what each identity was told, failing the next ``failures`` pushes."""

    channel: str
    failures: int = 0
    delay_s: float = 0.0
    got: list[tuple[str, str]] = field(default_factory=list)
    refused: int = 0

    async def push(self, external_id: str, screen: Screen) -> PushOutcome:
        if self.failures:
            self.failures -= 1
            self.refused += 1
            raise PushFailed("the messenger is down")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.got.append((external_id, screen.replies[0].text))
        return "ok"

    def told(self, external_id: str) -> list[str]:
        return [text for who, text in self.got if who == external_id]


def with_clock(app: App) -> Clock:
    clock = Clock()
    app.pushes.outbox.clock = clock
    return clock


async def rows(app: App) -> list[tuple[str, str, int]]:
    async with app.db.snapshot() as snap:
        found = await snap.fetch("SELECT kind, status, attempts FROM push_outbox ORDER BY id")
    return [(str(k), str(s), int(a)) for k, s, a in found]


async def shopper_on_two_messengers(app: App, c: Cast) -> None:
    """The cast's shopper (KakaoTalk s1) also writes from Telegram 555, linked by her phone."""
    async with app.db.unit_of_work() as uow:
        fresh = await members.register(app.services, uow, channel="telegram", external_id="555", display_name="할매")
        assert (await verify(app, uow, fresh.id, phone_of(c.shopper), address=False)).id == c.shopper
        await uow.commit()


async def accepted_order(app: App, c: Cast) -> Order:
    order = await buy(app, c, qty=1)
    async with app.db.unit_of_work() as uow:
        await orders.accept_order(app.services, uow, c.producer, order.id)
        await uow.commit()
    return order


async def test_a_notification_commits_with_its_change_or_not_at_all(app: App) -> None:
    c = await cast(app)
    assert await rows(app) == []  # no messenger configured: nobody could be told, nothing is kept
    kakao = Messenger("kakao")
    app.pushes.add(kakao)
    order = await accepted_order(app, c)
    # Written by the commits themselves, before any sender ran: the shop's new order, the acceptance.
    assert await rows(app) == [("OrderPaid", "pending", 0), ("OrderAccepted", "pending", 0)]
    assert kakao.got == []

    async with app.db.unit_of_work() as uow:
        await delivery.take_job(app.services, uow, c.courier, order.id)
        await delivery.confirm_pickup(app.services, uow, c.courier, order.id)
        # never committed: the pickup did not happen, and nobody hears of it
    assert len(await rows(app)) == 2

    await app.pushes.drain()
    assert kakao.told("s1") == [f"가게에서 주문 {order.id}번을 접수했어요. 곧 준비해서 보내 드려요."]
    assert [s for _k, s, _a in await rows(app)] == ["sent", "sent"]


async def test_each_identity_hears_once_and_a_restarted_sender_sends_nothing_again(app: App) -> None:
    c = await cast(app)
    await shopper_on_two_messengers(app, c)
    telegram, kakao = Messenger("telegram"), Messenger("kakao")
    app.pushes.add(telegram)
    app.pushes.add(kakao)
    order = await accepted_order(app, c)
    await app.pushes.drain()
    accepted = f"가게에서 주문 {order.id}번을 접수했어요. 곧 준비해서 보내 드려요."
    assert telegram.told("555") == [accepted] and kakao.told("s1") == [accepted]
    (new_order,) = telegram.told("101")  # the producer, of the new order
    assert f"주문 {order.id}번: 사과 × 1" in new_order
    await app.pushes.drain()
    assert len(telegram.got) == 2 and len(kakao.got) == 1

    restarted = Pushes(app.db)  # another process on the same database, later
    again_tg, again_kakao = Messenger("telegram"), Messenger("kakao")
    restarted.add(again_tg)
    restarted.add(again_kakao)
    await restarted.drain()
    assert again_tg.got == [] and again_kakao.got == []


async def test_a_failing_messenger_is_retried_with_backoff_and_only_where_it_failed(app: App) -> None:
    c = await cast(app)
    await shopper_on_two_messengers(app, c)
    clock = with_clock(app)
    telegram, kakao = Messenger("telegram"), Messenger("kakao", failures=2)
    app.pushes.add(telegram)
    app.pushes.add(kakao)
    order = await accepted_order(app, c)

    await app.pushes.drain()
    assert len(telegram.told("555")) == 1 and kakao.got == [] and kakao.refused == 1
    assert await rows(app) == [("OrderPaid", "sent", 0), ("OrderAccepted", "pending", 1)]
    async with app.db.snapshot() as snap:  # Kakao's outage is not the shopper's doing: still reachable there
        assert ("kakao", "s1") in await reachable_identities(snap, c.shopper)

    await app.pushes.drain()
    assert kakao.refused == 1  # not due yet: 2 s after the first failure
    clock.now += 2_000
    await app.pushes.drain()
    assert kakao.refused == 2 and (await rows(app))[1] == ("OrderAccepted", "pending", 2)
    clock.now += 3_999  # then 4 s
    await app.pushes.drain()
    assert kakao.refused == 2
    clock.now += 1
    await app.pushes.drain()
    accepted = f"가게에서 주문 {order.id}번을 접수했어요. 곧 준비해서 보내 드려요."
    assert kakao.told("s1") == [accepted]
    assert telegram.told("555") == [accepted]  # answered at the first attempt, never pushed again
    assert (await rows(app))[1] == ("OrderAccepted", "sent", 2)


async def test_a_push_that_keeps_failing_is_given_up(app: App) -> None:
    c = await cast(app)
    clock = with_clock(app)
    app.pushes.outbox.max_attempts = 3
    kakao = Messenger("kakao", failures=100)
    app.pushes.add(kakao)
    await accepted_order(app, c)
    for _ in range(5):
        await app.pushes.drain()
        clock.now += 60_000
    assert kakao.refused == 3 and kakao.got == []
    assert (await rows(app))[1] == ("OrderAccepted", "failed", 3)
    async with app.db.snapshot() as snap:
        (error,) = await snap.fetch("SELECT error FROM push_outbox WHERE kind = 'OrderAccepted'")
    assert "the messenger is down" in str(error[0])


async def test_rows_a_dead_sender_held_are_taken_over_when_its_lease_runs_out(app: App) -> None:
    c = await cast(app)
    clock = with_clock(app)
    kakao = Messenger("kakao")
    app.pushes.add(kakao)
    order = await accepted_order(app, c)

    dead = Outbox(app.db, clock=clock)  # a sender that claimed both rows, then its process was killed
    held = await dead.claim(10)
    assert [r.kind for r in held] == ["OrderPaid", "OrderAccepted"]
    await app.pushes.drain()
    assert kakao.got == []  # still leased to the dead sender

    clock.now += dead.lease_ms + 1
    await app.pushes.drain()
    assert kakao.told("s1") == [f"가게에서 주문 {order.id}번을 접수했어요. 곧 준비해서 보내 드려요."]
    # The dead sender's late writes change nothing.
    assert not await dead.answered(held[1], "kakao", "s1", c.shopper, "ok")
    assert await dead.settle(held[1], "late") is None
    assert [s for _k, s, _a in await rows(app)] == ["sent", "sent"]
    await app.pushes.drain()
    assert len(kakao.got) == 1


async def test_several_senders_on_one_database_push_each_row_once(app: App) -> None:
    c = await cast(app)
    telegram = Messenger("telegram", delay_s=0.002)  # one stand-in behind every worker
    app.pushes.add(telegram)
    await app.pushes.announce(
        [Notice(c.producer, "dividend.paid", {"dividend": i, "amount": 1_000 + i}) for i in range(60)]
    )
    assert len(await rows(app)) == 60

    workers = []
    for _ in range(4):
        db = await open_database(app.settings.resolved_database_url)
        worker = Pushes(db, concurrency=5)
        worker.add(telegram)
        workers.append(worker)
    try:
        await asyncio.gather(*(w.drain(timeout_s=60) for w in workers))
    finally:
        for w in workers:
            await w.db.close()
    told = sorted(telegram.told("101"))
    assert len(told) == 60 and len(set(told)) == 60, told
    assert {s for _k, s, _a in await rows(app)} == {"sent"}


async def test_a_batch_writes_its_notices_with_its_own_commit(app: App) -> None:
    c = await cast(app)
    telegram = Messenger("telegram")
    app.pushes.add(telegram)
    waiting = await buy(app, c, qty=1)
    await app.pushes.drain()
    ctx = batch_context(app)  # the scheduler's announcer is the push outbox
    advance(app, 3 * 3_600_000)
    await run_batch(ctx, "housekeeping")
    assert (await rows(app))[-1] == ("notice", "pending", 0)  # there with the reminder's claim, not yet sent
    await run_batch(ctx, "housekeeping")
    await app.pushes.drain()
    assert telegram.told("101")[-1] == f"⏰ 주문 {waiting.id}번이 아직 접수를 기다리고 있어요."
    assert len([t for t in telegram.told("101") if t.startswith("⏰")]) == 1
