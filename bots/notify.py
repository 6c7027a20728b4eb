"""Pushes: the bot speaks first (an order arrived, your delivery code, an ad the member asked for).

Each messenger's adapter provides a ``Notifier``; a push's outcome is recorded per channel identity in
``bot_reach`` so a member who blocked the bot on Telegram is not pushed there again (and can still be
reached on KakaoTalk). Pushes run after commit, never inside a unit of work.

An outcome is about the person (``ok``, ``blocked``, ``unreachable``: recorded, never retried). A
failure that is not theirs — the messenger down, a timeout, our own configuration — is raised instead
(``PushFailed``, or the adapter's own error): the push outbox retries it later, and nobody is marked
unreachable for it.
"""

from __future__ import annotations

from typing import Literal, Protocol

from bots.messages import Screen
from ledger.errors import ChestnutError
from ledger.storage.unit_of_work import UnitOfWork

PushOutcome = Literal["ok", "blocked", "unreachable"]


class PushFailed(ChestnutError):
    """A push that did not go out for a reason that is not the recipient's; worth trying again later."""

    code = "push_failed"
    http_status = 502


class Notifier(Protocol):
    channel: str

    async def push(self, external_id: str, screen: Screen) -> PushOutcome: ...


async def record_reach(
    uow: UnitOfWork, channel: str, external_id: str, member_id: int, outcome: PushOutcome, now_ms: int
) -> None:
    await uow.execute(
        "INSERT INTO bot_reach (channel, external_id, member_id, status, updated_ms) VALUES (:c, :e, :m, :s, :now) "
        "ON CONFLICT (channel, external_id) DO UPDATE SET status = excluded.status, updated_ms = excluded.updated_ms",
        {"c": channel, "e": external_id, "m": member_id, "s": outcome, "now": now_ms},
    )


async def reachable_identities(uow: UnitOfWork, member_id: int) -> list[tuple[str, str]]:
    """(channel, external id) of the member's identities not known to be blocked or unreachable."""
    rows = await uow.fetch(
        "SELECT i.channel, i.external_id FROM member_identities i LEFT JOIN bot_reach r "
        "ON r.channel = i.channel AND r.external_id = i.external_id "
        "WHERE i.member_id = :m AND (r.status IS NULL OR r.status = 'ok') ORDER BY i.created_ms",
        {"m": member_id},
    )
    return [(str(c), str(e)) for c, e in rows]
