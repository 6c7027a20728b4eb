"""The unit of work: rolls back unless committed, and cancellation stays cancellation."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from chestnut.migrate import upgrade
from ledger.storage.backends import open_database
from ledger.storage.ops import write_many
from ledger.storage.sqlite import SqliteDatabase


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
    db = SqliteDatabase(url, tmp_path / "uow.db", readers=1)
    await db.open()
    try:
        gate = threading.Event()
        reader = await db.acquire(readonly=True)
        db.release(reader, readonly=True)
        # Occupy the one reader's thread so the snapshot's first batch (BEGIN + read) waits in its queue.
        blocker = asyncio.ensure_future(reader.call(gate.wait, 5))

        async def look() -> None:
            async with db.snapshot() as snap:
                await snap.fetch("SELECT COUNT(*) FROM market_settings")

        task = asyncio.ensure_future(look())
        await asyncio.sleep(0.05)  # the batch is queued behind the blocker, not started
        task.cancel()
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        await blocker
        async with db.unit_of_work() as uow:
            await uow.execute("INSERT INTO market_settings (key, value) VALUES ('x', '1')")
            await uow.commit()
        async with db.snapshot() as snap:  # the reader is usable and not stuck in the cancelled transaction
            assert await snap.fetch("SELECT COUNT(*) FROM market_settings WHERE key = 'x'") == [(1,)]
    finally:
        await db.close()


async def test_a_write_lock_held_by_another_process_is_waited_for_off_the_loop(tmp_path: Path) -> None:
    db = await _sqlite(tmp_path)
    other = sqlite3.connect(tmp_path / "group.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # as a CLI command writing to the same file would
        other.execute("INSERT INTO market_settings (key, value) VALUES ('cli', '1')")

        async def write() -> None:
            async with db.unit_of_work() as uow:
                await uow.execute("INSERT INTO market_settings (key, value) VALUES ('serve', '1')")
                await uow.commit()

        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        writing = asyncio.ensure_future(write())
        await asyncio.sleep(0.3)
        assert not writing.done()  # waiting for the other process's lock …
        assert ticks >= 10  # … while the loop goes on serving everyone else
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 5)
        ticker.cancel()
        async with db.snapshot() as snap:
            rows = await snap.fetch("SELECT key FROM market_settings WHERE key IN ('cli', 'serve') ORDER BY key")
        assert rows == [("cli",), ("serve",)]
    finally:
        other.close()
        await db.close()


# ------------------------------------------------------------------------------------------ group commit


async def _sqlite(tmp_path: Path) -> SqliteDatabase:
    url = f"sqlite+aiosqlite:///{tmp_path / 'group.db'}"
    await upgrade(url)
    db = await open_database(url)
    assert isinstance(db, SqliteDatabase)
    return db


async def _elsewhere() -> None:
    """A writer waiting on something other than SQLite (a thread, a bank's API) while it holds the writer:
    the writer's own statements run on the loop without yielding, so only such waits let others queue."""
    await asyncio.sleep(0)


async def _visible(db: SqliteDatabase, key: str) -> bool:
    async with db.snapshot() as snap:
        return bool(await snap.fetch("SELECT 1 FROM market_settings WHERE key = :k", {"k": key}))


async def test_concurrent_writers_share_commits_and_each_commit_is_durable_when_it_returns(tmp_path: Path) -> None:
    db = await _sqlite(tmp_path)
    try:
        seen_after_commit: list[bool] = []

        async def writer(n: int) -> None:
            async with db.unit_of_work() as uow:
                await uow.execute("INSERT INTO market_settings (key, value) VALUES (:k, 'v')", {"k": f"w{n}"})
                await _elsewhere()
                await uow.commit()
            seen_after_commit.append(await _visible(db, f"w{n}"))  # another connection: committed, not just written

        await asyncio.gather(*(writer(n) for n in range(40)))
        assert seen_after_commit == [True] * 40
        async with db.snapshot() as snap:
            assert await snap.fetch("SELECT COUNT(*) FROM market_settings WHERE key LIKE 'w%'") == [(40,)]
        assert 1 <= db.commits < 40  # queued writers joined a group instead of committing one by one
    finally:
        await db.close()


async def test_a_writer_that_rolls_back_inside_a_group_undoes_only_its_own_work(tmp_path: Path) -> None:
    db = await _sqlite(tmp_path)
    try:

        async def writer(n: int) -> None:
            async with db.unit_of_work() as uow:
                await uow.execute("INSERT INTO market_settings (key, value) VALUES (:k, 'v')", {"k": f"r{n}"})
                await _elsewhere()
                if n % 3 == 0:
                    raise ValueError("refused")
                await uow.commit()

        results = await asyncio.gather(*(writer(n) for n in range(30)), return_exceptions=True)
        assert [isinstance(r, ValueError) for r in results] == [n % 3 == 0 for n in range(30)]
        async with db.snapshot() as snap:
            keys = {k for (k,) in await snap.fetch("SELECT key FROM market_settings WHERE key LIKE 'r%'")}
        assert keys == {f"r{n}" for n in range(30) if n % 3}

        # A duplicate key inside a group is that writer's error; the others' rows still commit.
        async def duplicate(key: str) -> None:
            async with db.unit_of_work() as uow:
                await uow.execute("INSERT INTO market_settings (key, value) VALUES (:k, 'again')", {"k": key})
                await _elsewhere()
                await uow.commit()

        outcome = await asyncio.gather(
            duplicate("r1"), duplicate("fresh-1"), duplicate("fresh-2"), return_exceptions=True
        )
        assert isinstance(outcome[0], sqlite3.IntegrityError) and outcome[1:] == [None, None]
        assert await _visible(db, "fresh-1") and await _visible(db, "fresh-2")
    finally:
        await db.close()


async def test_a_group_whose_commit_fails_fails_every_member_and_keeps_none_of_their_work(tmp_path: Path) -> None:
    """A deferred constraint is checked at COMMIT, so one member's violation fails the group's COMMIT:
    every member's ``commit()`` raises and none of their rows is kept (none was told it was saved)."""
    db = await _sqlite(tmp_path)
    try:
        async with db.unit_of_work() as uow:
            await uow.execute("CREATE TABLE t_parent (id INTEGER PRIMARY KEY)")
            await uow.execute(
                "CREATE TABLE t_child (parent INTEGER REFERENCES t_parent(id) DEFERRABLE INITIALLY DEFERRED)"
            )
            await uow.commit()

        async def writer(key: str, violate: bool) -> None:
            async with db.unit_of_work() as uow:
                await uow.execute("INSERT INTO market_settings (key, value) VALUES (:k, 'v')", {"k": key})
                if violate:
                    await uow.execute("INSERT INTO t_child (parent) VALUES (99)")  # no such parent
                await _elsewhere()
                await uow.commit()

        outcome = await asyncio.gather(
            writer("g-a", False), writer("g-b", True), writer("g-c", False), return_exceptions=True
        )
        assert all(isinstance(r, sqlite3.IntegrityError) for r in outcome), outcome
        assert not any([await _visible(db, k) for k in ("g-a", "g-b", "g-c")])
        async with db.unit_of_work() as uow:  # the writer goes on afterwards
            await uow.execute("INSERT INTO market_settings (key, value) VALUES ('after', 'v')")
            await uow.commit()
        assert await _visible(db, "after")
    finally:
        await db.close()


async def test_the_wal_is_checkpointed_off_the_loop_and_stays_bounded(tmp_path: Path) -> None:
    """The writer runs on the loop with SQLite's auto-checkpoint off; the database checkpoints on its own
    thread instead, so a day of writes does not leave a WAL as large as all of them — also when one task
    does nothing but write (a batch job): it gives the loop a turn at each commit, so the checkpoint's
    end is seen and the WAL starts over, and other tasks run meanwhile."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'group.db'}"
    await upgrade(url)
    # Without fsyncs: what is tested is that the checkpoints' ends are seen and the WAL starts over, not
    # how fast this machine's disk is (in a full CI run a checkpoint's fsync took long enough for the
    # WAL to pass the hold size while it ran).
    db = await open_database(url, synchronous="OFF")
    assert isinstance(db, SqliteDatabase)
    db.CHECKPOINT_WAL_BYTES, db.CHECKPOINT_HOLD_BYTES = 1 << 20, 8 << 20  # 20 MB of writes is many rounds
    ticks = 0

    async def other_task() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    try:
        blob = "x" * 10_000
        largest = 0
        wal = tmp_path / "group.db-wal"
        for n in range(200):  # 20 MB in all, 100 kB per transaction, and no await but the unit of work's
            async with db.unit_of_work() as uow:
                await uow.batch(
                    [
                        write_many(
                            "INSERT INTO market_settings (key, value) VALUES (:k, :v)",
                            [{"k": f"big-{n}-{i}", "v": blob} for i in range(10)],
                        )
                    ]
                )
                await uow.commit()
            largest = max(largest, wal.stat().st_size)
        assert largest < db.CHECKPOINT_HOLD_BYTES  # started over each round; never held at the upper bound
        assert db.checkpoints >= 10
        assert ticks >= 200  # the other task ran at every commit
        async with db.snapshot() as snap:
            assert await snap.fetch("SELECT COUNT(*) FROM market_settings WHERE key LIKE 'big-%'") == [(2000,)]
    finally:
        ticker.cancel()
        await db.close()


async def test_a_new_platform_database_gets_small_pages_and_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    from chestnut.bootstrap import SQLITE_PAGE_SIZE, build
    from chestnut.settings import Settings

    fresh = Settings(home=tmp_path / "fresh", environment="test")
    app = await build(fresh)
    try:
        async with app.db.snapshot() as snap:
            assert (await snap.fetch("PRAGMA page_size"))[0][0] == SQLITE_PAGE_SIZE == 1024
            assert (await app.ledger.head(snap)).size > 0  # the platform started on it as usual
    finally:
        await app.close()

    # A database made before (SQLite's default 4 KiB pages) is opened as it is, never remade.
    (tmp_path / "old").mkdir()
    old_path = tmp_path / "old" / "chestnut.db"
    conn = sqlite3.connect(old_path)
    conn.execute("PRAGMA page_size=4096")
    conn.execute("CREATE TABLE kept (x INTEGER)")
    conn.execute("INSERT INTO kept VALUES (7)")
    conn.commit()
    conn.close()
    app = await build(Settings(home=tmp_path / "old", environment="test"))
    try:
        async with app.db.snapshot() as snap:
            assert (await snap.fetch("PRAGMA page_size"))[0][0] == 4096
            assert await snap.fetch("SELECT x FROM kept") == [(7,)]
    finally:
        await app.close()
