"""A unit of work on SQLite: a snapshot reader's deferred transaction, or a writer's savepoint inside
the writer connection's open transaction (which ``SqliteDatabase`` commits, alone or with a group).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.storage.ops import Op, Row, write
from ledger.storage.sqlite_connection import HEAVY_BATCH_ROWS, SqliteConnection, statements
from ledger.storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from ledger.storage.sqlite import SqliteDatabase

_SAVEPOINT = "uow"


def _rows_written(ops: Sequence[Op]) -> int:
    return sum(len(op.params or ()) if op.many else 1 for op in ops)


class SqliteUnitOfWork(UnitOfWork):
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
            return await run(statements, self._conn.connection, ops)  # type: ignore[no-any-return]
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
    return statements(conn, ops)


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
