"""One ``sqlite3`` connection, driven from the event loop: on its own thread (readers, the WAL
checkpointer) or right on the loop (the writer), and the function that runs a batch on it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ledger.storage.ops import Op, Row

log = logging.getLogger("chestnut.db")

# A batch that writes more rows than this (a campaign's recipients, a settlement's lines), or a COMMIT of
# that many, would hold the loop for milliseconds: it runs on a worker thread instead.
HEAVY_BATCH_ROWS = 256


def _run_ops(conn: sqlite3.Connection, prefix: str | None, ops: Sequence[Op]) -> list[list[Row]]:
    if prefix:
        conn.execute(prefix)
    return statements(conn, ops)


def statements(conn: sqlite3.Connection, ops: Sequence[Op]) -> list[list[Row]]:
    """Run a batch on ``conn`` in order: rows for ``fetch`` ops, ``[]`` for the others."""
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
                    loop.call_soon_threadsafe(fail, future, exc)
            else:
                if future is not None:
                    loop.call_soon_threadsafe(succeed, future, result)

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


def succeed(future: asyncio.Future[Any], result: Any) -> None:
    """Hand ``result`` to whoever awaits ``future`` (a task cancelled meanwhile no longer does)."""
    if not future.done():
        future.set_result(result)


def fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    """Hand ``exc`` to whoever awaits ``future`` (a task cancelled meanwhile no longer does)."""
    if not future.done():
        future.set_exception(exc)
