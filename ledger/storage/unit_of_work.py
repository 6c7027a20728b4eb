"""The unit of work, and the database that makes them.

``async with db.unit_of_work() as uow:`` owns one transaction: it rolls back unless ``await
uow.commit()`` was called. The domain events it collected go to two hooks: ``before_commit`` writes
what must survive with the change (the push outbox, ``bots.outbox``) in the same transaction, and
``after_commit`` hears of them once they are durable. Repositories and services below it never commit.

A unit of work runs statements in batches (``ledger.storage.ops``); each backend (``sqlite``,
``postgres``) implements the transaction and the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol

from ledger.storage.ops import Op, Params, Row, read, write


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
