"""The unit of work: rolls back unless committed, and cancellation stays cancellation."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from chestnut.migrate import upgrade
from ledger.db import SqliteDatabase, open_database


async def test_uncommitted_work_is_rolled_back(db_url: str) -> None:
    await upgrade(db_url)
    db = await open_database(db_url)
    try:
        async with db.unit_of_work() as uow:
            await uow.execute("INSERT INTO market_settings (key, value) VALUES ('k', 'v')")
        async with db.snapshot() as snap:
            assert await snap.fetch("SELECT value FROM market_settings WHERE key = 'k'") == []
        async with db.unit_of_work() as uow:
            await uow.execute("INSERT INTO market_settings (key, value) VALUES ('k', 'v')")
            await uow.commit()
        async with db.snapshot() as snap:
            assert await snap.fetch("SELECT value FROM market_settings WHERE key = 'k'") == [("v",)]
    finally:
        await db.close()


async def test_cancelling_before_the_first_batch_ran_is_a_clean_cancel(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'uow.db'}"
    await upgrade(url)
    db = await open_database(url)
    assert isinstance(db, SqliteDatabase)
    try:
        gate = threading.Event()
        writer = await db.acquire(readonly=False)
        db.release(writer, readonly=False)
        # Occupy the writer connection's thread so the next batch waits in its queue.
        blocker = asyncio.ensure_future(writer.call(gate.wait, 5))

        async def work() -> None:
            async with db.unit_of_work() as uow:
                await uow.execute("INSERT INTO market_settings (key, value) VALUES ('x', '1')")
                await uow.commit()

        task = asyncio.ensure_future(work())
        await asyncio.sleep(0.05)  # the batch is queued behind the blocker, not started
        task.cancel()
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        await blocker
        async with db.unit_of_work() as uow:  # the connection is usable and nothing was written
            rows = await uow.fetch("SELECT COUNT(*) FROM market_settings WHERE key = 'x'")
            await uow.commit()
        assert rows == [(0,)]
    finally:
        await db.close()
