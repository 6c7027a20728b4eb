"""The embedded backend: SQLite in WAL mode, one writer connection with group commit, a few snapshot
readers, WAL checkpoints off the loop, and the creation of the database file with its page size.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from ledger.storage.sqlite_connection import HEAVY_BATCH_ROWS, SqliteConnection, fail, succeed
from ledger.storage.sqlite_unit_of_work import SqliteUnitOfWork
from ledger.storage.unit_of_work import Database, UnitOfWork

log = logging.getLogger("chestnut.db")


def _end_transaction(conn: sqlite3.Connection) -> bool:
    """COMMIT the writer's open transaction, if one is open (True); on failure nothing of it stays."""
    if not conn.in_transaction:
        return False
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True


class SqliteDatabase(Database):
    """One writer connection (SQLite has one writer at a time anyway) and a few snapshot readers.

    Group commit: writers take turns on the one connection, each inside its own savepoint. When a writer
    commits while others are already queued for the connection, its transaction is left open for them
    and one COMMIT later makes all of their work durable together; each writer's ``commit()`` returns
    only after that COMMIT (or raises if it failed, with all of the group's work rolled back). Under load
    this trades a few BEGIN/COMMIT round trips and rewrites of the same hot pages (the ledger head, the
    Merkle frontier) per writer for one per group; a writer alone commits at once, as before.
    """

    dialect = "sqlite"
    GROUP_LIMIT = 64  # writers per COMMIT at most: bounds how long the first of them waits
    CHECKPOINT_WAL_BYTES = 16 << 20  # 4 MiB (SQLite's default) checkpointed every ~100 market orders: 6 % slower
    CHECKPOINT_HOLD_BYTES = 64 << 20

    def __init__(self, url: str, path: Path, *, synchronous: str = "NORMAL", readers: int = 2) -> None:
        super().__init__()
        self.url = url
        self.path = path
        self._synchronous = synchronous
        self.writer = SqliteConnection(path, synchronous, inline=True)
        self._writer_lock = asyncio.Lock()
        self._queued_writers = 0
        self._group: list[asyncio.Future[None]] = []  # writers whose work waits for the group's COMMIT
        self._flush: asyncio.Task[None] | None = None
        self.commits = 0  # COMMITs of writers' transactions (fewer than writers when groups formed)
        self.rows_to_commit = 0  # statements run in the open transaction, about the pages its COMMIT writes
        self._reader_count = readers
        self._readers: asyncio.Queue[SqliteConnection] = asyncio.Queue()
        self._all_readers: list[SqliteConnection] = []
        self._wal = Path(f"{path}-wal")
        self._checkpointer = SqliteConnection(path, synchronous)
        self._checkpoint: asyncio.Future[None] | None = None
        self._wal_floor = 0  # no checkpoint before the WAL is at least this large
        self._catch_up = False  # a background checkpoint ended: copy the rest holding the writer
        self._holding: asyncio.Future[None] | None = None  # that copy (or a hold), in its own task
        self.checkpoints = 0

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self.writer.open()
        await self._checkpointer.open()
        for _ in range(self._reader_count):
            reader = SqliteConnection(self.path, self._synchronous, readonly=True)
            await reader.open()
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)

    async def acquire(self, *, readonly: bool) -> SqliteConnection:
        if readonly:
            return await self._readers.get()
        self._queued_writers += 1
        try:
            await self._writer_lock.acquire()
        finally:
            self._queued_writers -= 1
        return self.writer

    def release(self, conn: SqliteConnection, *, readonly: bool) -> None:
        if readonly:
            self._readers.put_nowait(conn)
        else:
            self._writer_lock.release()

    async def finish(self, uow: SqliteUnitOfWork, *, joined: bool) -> None:
        """A writer is done (its savepoint released if ``joined``, rolled back if not): commit the open
        transaction now, or leave it to the queued writers and wait for the group's COMMIT."""
        done: asyncio.Future[None] | None = None
        if joined:
            done = asyncio.get_running_loop().create_future()
            self._group.append(done)
        if self._queued_writers and len(self._group) < self.GROUP_LIMIT:
            if self._flush is None:
                # Queued behind the writers waiting now: it commits whatever they have added by then.
                self._flush = asyncio.ensure_future(self._commit_group_when_free())
            uow.hand_back_writer()
            if done is not None:
                await done
            return
        await self._commit_group()
        if done is not None:
            await done

    async def _commit_group_when_free(self) -> None:
        await self.acquire(readonly=False)
        try:
            self._flush = None
            await self._commit_group()
        finally:
            self.release(self.writer, readonly=False)

    async def _commit_group(self) -> None:
        group, self._group = self._group, []
        try:
            # Off the loop when it waits for the disk, or writes out many pages (a large batch's).
            heavy = self._synchronous == "FULL" or self.rows_to_commit > HEAVY_BATCH_ROWS
            self.rows_to_commit = 0
            end = self.writer.call_off_loop if heavy else self.writer.call
            self.commits += await end(_end_transaction, self.writer.connection)
        except BaseException as exc:
            for waiting in group:
                fail(waiting, exc if isinstance(exc, Exception) else RuntimeError("the group commit was interrupted"))
            if not isinstance(exc, Exception):
                raise
            return
        for waiting in group:
            succeed(waiting, None)
        self._checkpoint_if_due()

    def _checkpoint_if_due(self) -> None:
        """Copy the WAL into the database once it has grown past ``CHECKPOINT_WAL_BYTES`` — what SQLite's
        auto-checkpoint does inside a COMMIT, without holding up the loop or the committing writer.

        The bulk is copied on the checkpointer's thread while writers go on. Under steady writes that
        copy never ends complete (commits land while it runs), and the WAL can start over only after a
        complete one: so right after it, the few frames written meanwhile are copied holding the writer
        (a short pause, off the loop). A WAL that grows past ``CHECKPOINT_HOLD_BYTES`` anyway (writes
        faster than the disk takes them) is copied holding the writer too. Both run as tasks of their
        own, queued for the writer like any writer: a committing writer never waits for them, and its
        cancellation cannot interrupt one."""
        if self._holding is not None and not self._holding.done():
            return
        try:
            size = self._wal.stat().st_size
        except OSError:
            return
        if self._catch_up or (size >= self.CHECKPOINT_HOLD_BYTES and size >= self._wal_floor):
            self._catch_up = False
            self._holding = asyncio.ensure_future(self._checkpoint_holding_writer(size))
        elif (
            size >= self.CHECKPOINT_WAL_BYTES
            and size >= self._wal_floor
            and (self._checkpoint is None or self._checkpoint.done())
        ):
            self._checkpoint = asyncio.ensure_future(self._run_checkpoint(self._checkpointer, size))

    async def _checkpoint_holding_writer(self, size: int) -> None:
        if self._checkpoint is not None:
            await asyncio.wait([self._checkpoint])  # the background copy first: this one copies the rest
            self._catch_up = False  # … and is the catch-up that copy asked for
        await self.acquire(readonly=False)
        try:
            if self.writer.connection.in_transaction:  # a commit group is filling: after its COMMIT
                self._catch_up = True
                return
            await self._run_checkpoint(self.writer, size)
        finally:
            self.release(self.writer, readonly=False)

    async def _run_checkpoint(self, on: SqliteConnection, size: int) -> None:
        conn = on.connection
        try:
            _busy, frames, copied = await on.call_off_loop(
                lambda: conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            )
        except sqlite3.Error as exc:  # the data is safe in the WAL; a later commit tries again
            log.warning("a WAL checkpoint failed: %r", exc)
            return
        self.checkpoints += 1
        if on is not self.writer and copied == frames:
            self._catch_up = True  # what was committed while it copied, next: see _checkpoint_if_due
            return
        # Frames left uncopied (kept by a reader on an old snapshot) keep the WAL from starting over:
        # until it has, the file stays this size, and checking again after every commit would only
        # repeat a useless copy and its fsync.
        self._wal_floor = size + self.CHECKPOINT_WAL_BYTES if copied < frames else 0

    def unit_of_work(self) -> UnitOfWork:
        return SqliteUnitOfWork(self, readonly=False)

    def snapshot(self) -> UnitOfWork:
        return SqliteUnitOfWork(self, readonly=True)

    async def close(self) -> None:
        if self._flush is not None:
            await self._flush
        while any(t is not None and not t.done() for t in (self._checkpoint, self._holding)):
            await asyncio.wait([t for t in (self._checkpoint, self._holding) if t is not None])
        await self.acquire(readonly=False)  # no writer is still at work on the connection
        self.release(self.writer, readonly=False)
        await self._checkpointer.close()
        await self.writer.close()
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()


def create_sqlite_file(url: str, *, page_size: int) -> bool:
    """Make the empty SQLite database a URL names, with pages of ``page_size`` bytes, if there is none yet
    (True if it did). SQLite fixes the page size when a database is made: an existing one keeps its own.

    The size suits the writes to come. A COMMIT writes every page it dirtied to the WAL whole, so where
    each transaction is a few rows scattered over many B-trees (the primary's: a market order dirties
    ~30 pages of a dozen tables and indexes for ~3 KB of rows) small pages write far less; where rows go
    in by the thousand at the end of one table (a replica's copy), SQLite's 4 KiB default does better.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return False
    path = Path(parsed.database)
    if path.exists() and path.stat().st_size > 0:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA page_size={int(page_size)}")
        conn.execute("PRAGMA journal_mode=WAL")  # writes the header: the page size is fixed from here on
    finally:
        conn.close()
    return True
