"""The database handle and the unit of work.

``async with db.unit_of_work() as uow:`` owns one transaction: it rolls back unless ``await
uow.commit()`` was called. The domain events it collected go to two hooks: ``before_commit`` writes
what must survive with the change (the push outbox, ``bots.outbox``) in the same transaction, and
``after_commit`` hears of them once they are durable. Repositories and services below it never commit.

Why statements go in *batches*: on this class of machine a thread hop costs ~60 µs, and
SQLAlchemy-async over aiosqlite makes about four hops per statement (~290 µs measured), which caps a
ledger append of ten statements near 400 transactions/s. So the unit of work takes a list of
statements and runs the whole list in one hop on SQLite (a connection owned by one thread, plain
``sqlite3``) or one await per statement on PostgreSQL (asyncpg through SQLAlchemy, no threads).
A service therefore reads what it needs in one batch, decides in Python, and writes in one batch.

SQL is written once with ``:name`` parameters, which both backends accept. Schema lives in
``ledger.schema`` and is created by Alembic (``migrations/``), never here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import TextClause, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger("chestnut.db")

Row = tuple[Any, ...]
Params = Mapping[str, Any]


class Op(NamedTuple):
    """One statement of a batch. ``many`` runs it once per parameter set; ``fetch`` returns rows.

    A named tuple, not a frozen dataclass: as immutable, and made in half the time (a market order
    makes ~25 of them)."""

    sql: str
    params: Params | Sequence[Params] | None = None
    fetch: bool = False
    many: bool = False


def read(sql: str, params: Params | None = None) -> Op:
    return Op(sql, params, fetch=True)


def write(sql: str, params: Params | None = None) -> Op:
    return Op(sql, params)


def write_many(sql: str, params: Sequence[Params]) -> Op:
    return Op(sql, params, many=True)


@functools.lru_cache(maxsize=512)
def _in_names(prefix: str, n: int) -> tuple[str, tuple[str, ...]]:
    names = tuple(f"{prefix}{i}" for i in range(n))
    return "(" + ", ".join(":" + name for name in names) + ")", names


def in_clause(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``(:p0, :p1, …)`` and its parameters, for ``IN`` lists on both backends (the text is made once
    per length: a ledger append builds four of them)."""
    clause, names = _in_names(prefix, len(values))
    return clause, dict(zip(names, values, strict=True))


class EventSink(Protocol):
    async def __call__(self, events: Sequence[object]) -> None: ...


class EventWriter(Protocol):
    """Runs inside the transaction, just before COMMIT: its writes commit with the change or not at all."""

    async def __call__(self, uow: UnitOfWork, events: Sequence[object]) -> None: ...


class UnitOfWork:
    """One transaction. Subclasses implement ``_run`` for their backend."""

    dialect: str = ""

    def __init__(self, after_commit: EventSink | None, before_commit: EventWriter | None = None) -> None:
        self._after_commit = after_commit
        self._before_commit = before_commit
        self._committed = False
        self.events: list[object] = []
        self._on_rollback: list[Callable[[], None]] = []

    @property
    def for_update(self) -> str:
        """Row-lock suffix: PostgreSQL locks rows; SQLite already holds the database write lock."""
        return " FOR UPDATE" if self.dialect == "postgresql" else ""

    async def batch(self, ops: Sequence[Op]) -> list[list[Row]]:
        """Run the statements in order in this transaction; rows for ``fetch`` ops, ``[]`` for others."""
        return await self._run(ops)

    async def fetch(self, sql: str, params: Params | None = None) -> list[Row]:
        return (await self._run([read(sql, params)]))[0]

    async def execute(self, sql: str, params: Params | None = None) -> None:
        await self._run([write(sql, params)])

    def publish(self, event: object) -> None:
        """Queue a domain event: written by ``before_commit`` in this transaction, told to ``after_commit``
        subscribers only if it commits."""
        self.events.append(event)

    def on_rollback(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` if this transaction ends without committing (an in-memory cache forgets what it made).

        Why: the key store cached a key as soon as its row was inserted, so a key whose transaction rolled
        back stayed usable from memory and the ledger signed with a private key that was never stored
        (tests/integration/test_keys.py::test_a_key_created_in_a_rolled_back_unit_of_work_is_forgotten).
        """
        self._on_rollback.append(hook)

    async def commit(self) -> None:
        if self.events and self._before_commit is not None:
            await self._before_commit(self, tuple(self.events))
        await self._commit()
        self._committed = True
        self._on_rollback.clear()
        events, self.events = self.events, []
        if events and self._after_commit is not None:
            await self._after_commit(events)

    async def rollback(self) -> None:
        self.events.clear()
        hooks, self._on_rollback = self._on_rollback, []
        try:
            await self._rollback()
        finally:
            for hook in hooks:
                hook()

    async def __aenter__(self) -> UnitOfWork:
        await self._open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if not self._committed:
                await self.rollback()
        finally:
            await self._close()

    # -- backend
    async def _open(self) -> None:
        raise NotImplementedError

    async def _run(self, ops: Sequence[Op]) -> list[list[Row]]:
        raise NotImplementedError

    async def _commit(self) -> None:
        raise NotImplementedError

    async def _rollback(self) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError


class Database:
    """A connection factory for units of work and read snapshots."""

    dialect: str = ""
    url: str = ""

    def __init__(self) -> None:
        self.after_commit: EventSink | None = None
        self.before_commit: EventWriter | None = None

    def unit_of_work(self) -> UnitOfWork:
        raise NotImplementedError

    def snapshot(self) -> UnitOfWork:
        """A read-only transaction that sees one consistent state (for proofs, pages, verify)."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------- SQLite


def _run_ops(conn: sqlite3.Connection, prefix: str | None, ops: Sequence[Op]) -> list[list[Row]]:
    if prefix:
        conn.execute(prefix)
    return _statements(conn, ops)


def _statements(conn: sqlite3.Connection, ops: Sequence[Op]) -> list[list[Row]]:
    results: list[list[Row]] = []
    for op in ops:
        if op.many:
            conn.executemany(op.sql, op.params or [])
            results.append([])
        else:
            cur = conn.execute(op.sql, op.params or {})
            results.append(cur.fetchall() if op.fetch else [])
    return results


class SqliteConnection:
    """A ``sqlite3`` connection: run on its own thread (readers), or on the event loop (the writer).

    Threaded: jobs go to the thread through a ``SimpleQueue`` and come back with ``call_soon_threadsafe``,
    about half the per-hop overhead of ``run_in_executor``'s future chaining. A job queued by a task that
    is then cancelled still runs; ``rollback`` (queued after it) cleans up.

    Inline (the writer): a writer's statements touch a few indexed rows and, in WAL mode with
    ``synchronous=NORMAL``, a COMMIT does not wait for the disk; each takes tens of microseconds, while a
    hop to a thread and back took 100–200 µs of wake-ups during which SQLite's one writer lock sat idle.
    So they run right on the loop. The waits that can be long — another process holding the write
    lock, the disk under ``synchronous=FULL`` — are not waited for here: ``busy_timeout`` is 0 on the
    loop, and ``call_off_loop`` waits on a worker thread instead.
    """

    BUSY_TIMEOUT_MS = 30_000

    def __init__(self, path: Path, synchronous: str, *, readonly: bool = False, inline: bool = False) -> None:
        self._path = path
        self._synchronous = synchronous
        self._readonly = readonly
        self.inline = inline
        self._jobs: queue.SimpleQueue[tuple[asyncio.Future[Any] | None, Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None

    def _work(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args = job
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the awaiting task, never lost
                if future is None:
                    log.error("a posted SQLite job failed: %r", exc)
                else:
                    loop.call_soon_threadsafe(_fail, future, exc)
            else:
                if future is not None:
                    loop.call_soon_threadsafe(_succeed, future, result)

    def _connect(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={0 if self.inline else self.BUSY_TIMEOUT_MS}")
        if self.inline:
            # A checkpoint copies the WAL into the database and waits for the disk: never on the loop
            # (SqliteDatabase runs it on a worker thread).
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute("PRAGMA journal_size_limit=0")  # a WAL started over is emptied: its size tells its use
        if self._readonly:
            conn.execute("PRAGMA query_only=ON")
        self._conn = conn

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.inline:
            return fn(*args)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._jobs.put((future, fn, args))
        return await future

    async def call_off_loop(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``call`` on a worker thread, where it may wait: for a lock another process holds (up to
        ``BUSY_TIMEOUT_MS``), or for the disk (a COMMIT with ``synchronous=FULL``)."""
        if not self.inline:
            return await self.call(fn, *args)
        conn = self.connection

        def waiting() -> Any:
            conn.execute(f"PRAGMA busy_timeout={self.BUSY_TIMEOUT_MS}")
            try:
                return fn(*args)
            finally:
                conn.execute("PRAGMA busy_timeout=0")

        return await asyncio.to_thread(waiting)

    def post(self, fn: Callable[..., None], *args: Any) -> None:
        """Queue a job nobody waits for: it runs before every job queued after it (``fn`` keeps its own
        failure for whoever looks next). Saves a round trip where the next job would wait for it anyway."""
        if self.inline:
            fn(*args)
            return
        self._jobs.put((None, fn, args))

    async def open(self) -> None:
        if self.inline:
            self._connect()
            return
        self._thread = threading.Thread(
            target=self._work, args=(asyncio.get_running_loop(),), name=f"sqlite-{self._path.name}", daemon=True
        )
        self._thread.start()
        await self.call(self._connect)

    @property
    def connection(self) -> sqlite3.Connection:
        """The ``sqlite3`` connection, for functions handed to ``call`` (they run in its thread)."""
        assert self._conn is not None
        return self._conn

    async def run(self, prefix: str | None, ops: Sequence[Op]) -> list[list[Row]]:
        assert self._conn is not None
        return await self.call(_run_ops, self._conn, prefix, ops)  # type: ignore[no-any-return]

    async def rollback(self) -> None:
        """Roll back if a transaction is open — decided in the connection's thread, after any queued batch.

        Why not a plain ROLLBACK: a task cancelled while its first batch (BEGIN + statements) was still
        queued never began a transaction, and "cannot rollback" then replaced the CancelledError, so a
        background loop caught it as an ordinary failure and never stopped (serve hung on shutdown).
        """
        assert self._conn is not None
        conn = self._conn

        def rollback_if_open() -> None:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

        await self.call(rollback_if_open)

    async def close(self) -> None:
        if self._conn is not None:
            await self.call(self._conn.close)
            self._conn = None
        if self._thread is not None:
            self._jobs.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


_SAVEPOINT = "uow"
HEAVY_BATCH_ROWS = 256


def _rows_written(ops: Sequence[Op]) -> int:
    return sum(len(op.params or ()) if op.many else 1 for op in ops)


class _SqliteUnitOfWork(UnitOfWork):
    """A snapshot (deferred BEGIN) or a writer's unit of work: a savepoint in the writer's open transaction.

    A writer's work is its own savepoint, so its rollback undoes only its own statements; its commit
    releases the savepoint and hands the transaction to ``SqliteDatabase.finish``, which commits it now
    or — when other writers are already queued — lets them add their work and commits all of it at once.
    """

    dialect = "sqlite"

    def __init__(self, db: SqliteDatabase, *, readonly: bool) -> None:
        super().__init__(db.after_commit, None if readonly else db.before_commit)
        self._db = db
        self._readonly = readonly
        self._conn: SqliteConnection | None = None
        self._begun = False
        self._holds_writer = False
        self._savepoint = _Savepoint()  # set in the connection's thread, where the SAVEPOINT ran

    async def _open(self) -> None:
        self._conn = await self._db.acquire(readonly=self._readonly)
        self._holds_writer = not self._readonly

    async def _run(self, ops: Sequence[Op]) -> list[list[Row]]:
        assert self._conn is not None, "unit of work used outside 'async with'"
        if self._readonly:
            prefix = None if self._begun else "BEGIN"  # a snapshot: deferred BEGIN + first read
            self._begun = True
            return await self._conn.run(prefix, ops)
        # A batch of many rows (a campaign's recipients, a settlement's lines) would hold the loop for
        # milliseconds: it runs on a worker thread instead, still alone on the writer connection.
        rows = _rows_written(ops)
        self._db.rows_to_commit += rows
        run = self._conn.call_off_loop if rows > HEAVY_BATCH_ROWS else self._conn.call
        if self._begun:
            return await run(_statements, self._conn.connection, ops)  # type: ignore[no-any-return]
        self._begun = True
        try:
            return await run(_begin_writer, self._conn.connection, self._savepoint, ops)  # type: ignore[no-any-return]
        except sqlite3.OperationalError as exc:
            # Another process (a CLI command, a second serve) holds the write lock: nothing of this batch
            # ran (BEGIN IMMEDIATE comes first), so it runs again where it may wait for the lock.
            if self._savepoint.active or "locked" not in str(exc):
                raise
            return await self._conn.call_off_loop(_begin_writer, self._conn.connection, self._savepoint, ops)  # type: ignore[no-any-return]

    async def _commit(self) -> None:
        if self._readonly:
            if self._begun and self._conn is not None:
                await self._conn.run(None, [write("COMMIT")])
                self._begun = False
            return
        if self._begun and self._conn is not None:
            # Not awaited: the next job on the connection (another writer's, or the COMMIT this commit()
            # waits for) runs after it, so a writer's work costs one round trip less.
            self._conn.post(_release, self._conn.connection, self._savepoint)
            self._begun = False
        await self._db.finish(self, joined=True)
        if self._savepoint.failed is not None:
            raise self._savepoint.failed

    async def _rollback(self) -> None:
        if self._conn is None:
            return
        if self._readonly:
            if self._begun:
                self._begun = False
                await self._conn.rollback()
            return
        self._begun = False
        # Decided in the connection's thread, after any queued batch: a task cancelled while its first
        # batch was still queued may or may not have made its savepoint by now.
        await self._conn.call(_rollback_savepoint, self._conn.connection, self._savepoint)
        if self._holds_writer:
            await self._db.finish(self, joined=False)

    def hand_back_writer(self) -> None:
        """The writer lock goes back now (the database keeps the transaction open for the next writer)."""
        if self._holds_writer:
            self._holds_writer = False
            self._db.release(self._db.writer, readonly=False)

    async def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            if self._readonly:
                self._db.release(conn, readonly=True)
                return
            try:
                if self._holds_writer:
                    # The loop gets a turn here, the work done (committed and announced, or rolled back)
                    # and the writer still held. The writer's statements run inline, so a task that only
                    # writes (a batch job, a benchmark, a burst of orders) never suspended: nothing else
                    # ran until it was done — not the other requests, not the end of the background
                    # checkpoint, so the WAL grew until a checkpoint held the writer (~200 ms pauses
                    # every few thousand orders in bench market, 12 % of its throughput). And writers
                    # that arrive meanwhile queue for the writer, so the next of them share one COMMIT.
                    await asyncio.sleep(0)
            finally:
                self.hand_back_writer()


@dataclass(slots=True)
class _Savepoint:
    """A writer's savepoint, as its connection's thread left it."""

    active: bool = False
    failed: BaseException | None = None  # a RELEASE that failed (its work was rolled back)


def _begin_writer(conn: sqlite3.Connection, savepoint: _Savepoint, ops: Sequence[Op]) -> list[list[Row]]:
    # Writers take the write lock up front (BEGIN IMMEDIATE) so two never deadlock on upgrade; a writer
    # that finds the transaction open joins the commit group that is filling it.
    if not conn.in_transaction:
        conn.execute("BEGIN IMMEDIATE")
    conn.execute(f"SAVEPOINT {_SAVEPOINT}")
    savepoint.active = True
    return _statements(conn, ops)


def _release(conn: sqlite3.Connection, savepoint: _Savepoint) -> None:
    if not savepoint.active:
        return
    savepoint.active = False
    try:
        conn.execute(f"RELEASE {_SAVEPOINT}")
    except Exception as exc:  # kept for the writer's commit(), which raises it after the group's COMMIT
        savepoint.failed = exc
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
            conn.execute(f"RELEASE {_SAVEPOINT}")


def _rollback_savepoint(conn: sqlite3.Connection, savepoint: _Savepoint) -> None:
    if savepoint.active and conn.in_transaction:
        conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
        conn.execute(f"RELEASE {_SAVEPOINT}")
    savepoint.active = False


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

    async def finish(self, uow: _SqliteUnitOfWork, *, joined: bool) -> None:
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
                _fail(waiting, exc if isinstance(exc, Exception) else RuntimeError("the group commit was interrupted"))
            if not isinstance(exc, Exception):
                raise
            return
        for waiting in group:
            _succeed(waiting, None)
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
        return _SqliteUnitOfWork(self, readonly=False)

    def snapshot(self) -> UnitOfWork:
        return _SqliteUnitOfWork(self, readonly=True)

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


# ------------------------------------------------------------------------------------------ PostgreSQL


class _SqlAlchemyUnitOfWork(UnitOfWork):
    def __init__(self, db: SqlAlchemyDatabase, *, readonly: bool) -> None:
        super().__init__(db.after_commit, None if readonly else db.before_commit)
        self.dialect = db.dialect
        self._db = db
        self._readonly = readonly
        self._conn: AsyncConnection | None = None

    async def _open(self) -> None:
        conn = await self._db.engine.connect()
        if self._readonly:
            conn = await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        await conn.begin()
        self._conn = conn

    async def _run(self, ops: Sequence[Op]) -> list[list[Row]]:
        assert self._conn is not None, "unit of work used outside 'async with'"
        results: list[list[Row]] = []
        for op in ops:
            stmt = self._db.statement(op.sql)
            if op.many:
                params = cast("list[Params]", list(op.params or []))
                if params:
                    await self._conn.execute(stmt, params)
                results.append([])
            else:
                result = await self._conn.execute(stmt, op.params or {})
                results.append([tuple(r) for r in result] if op.fetch else [])
        return results

    async def _commit(self) -> None:
        assert self._conn is not None
        await self._conn.commit()

    async def _rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction():
            await self._conn.rollback()

    async def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()


class SqlAlchemyDatabase(Database):
    """PostgreSQL (asyncpg) through SQLAlchemy's async engine."""

    def __init__(self, url: str, engine: AsyncEngine) -> None:
        super().__init__()
        self.url = url
        self.engine = engine
        self.dialect = engine.dialect.name
        self._statements: dict[str, TextClause] = {}

    def statement(self, sql: str) -> TextClause:
        stmt = self._statements.get(sql)
        if stmt is None:
            stmt = self._statements[sql] = text(sql)
        return stmt

    async def open(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def unit_of_work(self) -> UnitOfWork:
        return _SqlAlchemyUnitOfWork(self, readonly=False)

    def snapshot(self) -> UnitOfWork:
        return _SqlAlchemyUnitOfWork(self, readonly=True)

    async def close(self) -> None:
        await self.engine.dispose()


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


async def open_database(url: str, *, synchronous: str = "NORMAL", pool_size: int = 10) -> Database:
    """Open the database a URL names: ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://…``."""
    parsed = make_url(url)
    db: Database
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("SQLite needs a file path (the ledger is shared by several connections)")
        sqlite_db = SqliteDatabase(url, Path(parsed.database), synchronous=synchronous)
        await sqlite_db.open()
        db = sqlite_db
    elif parsed.get_backend_name() == "postgresql":
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        pg_db = SqlAlchemyDatabase(url, engine)
        await pg_db.open()
        db = pg_db
    else:
        raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")
    return db
