"""The unit of work a look-only handler gets: reads pass through, anything that would write raises.

A handler registered with ``writes=False`` (``bots.router``) runs on a read snapshot when the turn
allows it, and on the turn's writing unit of work otherwise (a message with a dedupe key, a first
contact). Either way it gets this view, so a handler that writes without saying so fails the same way
every time — in tests too, where most turns carry a key — rather than only on a snapshot in
production. ``UndeclaredWrite`` is a programming error: the fix is ``writes=True`` on the handler.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ledger.storage.ops import Op, Row
from ledger.storage.unit_of_work import UnitOfWork

_READS = ("SELECT", "WITH")


class UndeclaredWrite(Exception):
    """A handler registered as look-only tried to write (or lock a row, or publish an event)."""


def _reads_only(op: Op) -> bool:
    return op.fetch and op.sql.lstrip().upper().startswith(_READS)


class LookOnly(UnitOfWork):
    """``inner``'s reads for a look-only handler; a write, a row lock, an event or a commit raises."""

    def __init__(self, inner: UnitOfWork, route: str) -> None:
        super().__init__(None)
        self.dialect = inner.dialect
        self._inner, self._route = inner, route

    def _refused(self, what: str) -> UndeclaredWrite:
        return UndeclaredWrite(f"the handler of {self._route} is registered with writes=False but {what}")

    @property
    def for_update(self) -> str:
        raise self._refused("asked for a row lock")

    def publish(self, event: object) -> None:
        raise self._refused(f"published {type(event).__name__}")

    def on_rollback(self, hook: Callable[[], None]) -> None:
        self._inner.on_rollback(hook)

    async def _open(self) -> None:
        pass

    async def _run(self, ops: Sequence[Op]) -> list[list[Row]]:
        for op in ops:
            if not _reads_only(op):
                raise self._refused("ran " + " ".join(op.sql.split()[:3]) + " …")
        return await self._inner.batch(ops)

    async def _commit(self) -> None:
        raise self._refused("committed")

    async def _rollback(self) -> None:
        pass

    async def _close(self) -> None:
        pass
