"""What batches tell members afterwards ("your dividend of 1,234원 arrived"), behind a small protocol.

The scheduler knows nothing of chats: it hands ``Notice``s to an ``Announcer`` *after* the chunk that
paid them committed. Bootstrap connects a real one (the bots' notifiers, ``bots.notify.Notifier``, per
member identity); the default says nothing. An announcer's failure never undoes or stops a payment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Notice:
    member_id: int
    kind: str  # dividend.paid | cashout.paid | cashout.failed | order.reminder | abuse.case
    data: Mapping[str, object] = field(default_factory=dict)


class Announcer(Protocol):
    async def announce(self, notices: Sequence[Notice]) -> None: ...


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
