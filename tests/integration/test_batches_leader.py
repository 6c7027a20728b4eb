"""Two schedulers started at once (on SQLite: two connections to one file, as two processes have; on
PostgreSQL: two engines): exactly one leads; when it dies the other takes over after the lease."""

from __future__ import annotations

import asyncio

from chestnut.bootstrap import App, batch_context
from ledger.storage.backends import open_database
from scheduler.wiring import Lease, SchedulerService, Schedules


async def test_two_schedulers_started_at_once_only_one_runs(app: App) -> None:
    other_db = await open_database(app.settings.resolved_database_url)
    try:
        fast = Schedules(lease_ttl_s=0.6, heartbeat_s=0.1)
        ctx_a, ctx_b = batch_context(app), batch_context(app)
        ctx_a.schedules = ctx_b.schedules = fast
        ctx_b.db = other_db
        a = SchedulerService(ctx_a, lease=Lease(app.db, fast.lease_ttl_s, holder="a"))
        b = SchedulerService(ctx_b, lease=Lease(other_db, fast.lease_ttl_s, holder="b"))
        await asyncio.gather(a.start(), b.start())
        for _ in range(5):
            await asyncio.sleep(0.15)
            assert [a.leading, b.leading].count(True) == 1
        leader, standby = (a, b) if a.leading else (b, a)
        assert {job for job, _ in leader.jobs()} == {
            "settlement",
            "cashout",
            "dividend",
            "housekeeping",
            "contributions",
            "trust",
        }
        assert standby.jobs() == []

        # The leader dies without a word (no release): the standby takes over once the lease expires.
        assert leader._task is not None
        leader._task.cancel()
        await asyncio.sleep(0.05)
        assert leader._scheduler is not None
        leader._scheduler.shutdown(wait=False)
        leader._scheduler = None
        await asyncio.sleep(0.3)
        assert not standby.leading  # the dead leader's lease still holds
        await asyncio.sleep(0.6)
        assert standby.leading
        await standby.stop()
        await leader.stop()
    finally:
        await other_db.close()


async def test_a_lease_is_held_by_one_holder_until_it_expires(app: App) -> None:
    other_db = await open_database(app.settings.resolved_database_url)
    try:
        first, second = Lease(app.db, 60, holder="first"), Lease(other_db, 60, holder="second")
        results = await asyncio.gather(first.acquire(), second.acquire(), first.acquire(), second.acquire())
        assert sorted(results) == [False, False, True, True]
        winner = first if results[0] else second
        loser = second if winner is first else first
        assert await winner.acquire() and not await loser.acquire()
        await winner.release()
        assert await loser.acquire()
    finally:
        await other_db.close()
