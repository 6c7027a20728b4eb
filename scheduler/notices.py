"""What batches tell members afterwards ("your dividend of 1,234원 arrived"), behind a small protocol.

The scheduler knows nothing of chats. A batch decides its ``Notice``s inside a transaction; where the
announcer keeps an outbox (``Outbox``: the bots' push outbox, which bootstrap connects), ``stage``
writes them in that very transaction, so they are sent even if the process dies right after the
commit. Any other ``Announcer`` hears of them after the commit (``tell``). The default says nothing.
An announcer's failure never undoes or stops a payment.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ledger.storage.unit_of_work import UnitOfWork

log = logging.getLogger("chestnut.batch")


@dataclass(frozen=True, slots=True)
class Notice:
    member_id: int
    kind: str  # dividend.paid | cashout.paid | cashout.failed | order.reminder | abuse.case
    data: Mapping[str, object] = field(default_factory=dict)


class Announcer(Protocol):
    async def announce(self, notices: Sequence[Notice]) -> None: ...


@runtime_checkable
class Outbox(Protocol):
    """An announcer that writes notices in the caller's transaction (committed with it, or not at all)."""

    async def stage(self, uow: UnitOfWork, notices: Sequence[Notice]) -> None: ...


async def stage(announcer: Announcer | None, uow: UnitOfWork, notices: Sequence[Notice]) -> tuple[Notice, ...]:
    """Write ``notices`` in ``uow``'s transaction if the announcer keeps an outbox; returns those left to
    ``tell`` after the commit (all of them for an announcer without one)."""
    if notices and isinstance(announcer, Outbox):
        await announcer.stage(uow, notices)
        return ()
    return tuple(notices)


async def tell(announcer: Announcer | None, notices: Sequence[Notice]) -> None:
    """After the commit: the notices ``stage`` left. A failing messenger never fails the batch."""
    if not notices or announcer is None:
        return
    try:
        await announcer.announce(notices)
    except Exception:  # the money moved; a chat that fails to say so must not stop the batch
        log.exception("announcing %d notices failed", len(notices))


class SilentAnnouncer:
    """The default until bootstrap wires the bots in: tells no one."""

    async def announce(self, notices: Sequence[Notice]) -> None:
        return None


class RecordingAnnouncer:
    """Keeps what it was told (for the CLI's summary and for tests)."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    async def announce(self, notices: Sequence[Notice]) -> None:
        self.notices.extend(notices)
