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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import ColumnElement, Select, and_, bindparam, or_, select
from sqlalchemy.sql.expression import ClauseElement

from bots.messages import Screen
from bots.schema import bot_reach
from bots.statements import insert_into, statement
from commerce.schema import member_identities, members
from ledger.errors import ChestnutError
from ledger.storage.unit_of_work import UnitOfWork

PushOutcome = Literal["ok", "blocked", "unreachable"]


class PushFailed(ChestnutError):
    """A push that did not go out for a reason that is not the recipient's; worth trying again later."""

    code = "push_failed"
    http_status = 502


@dataclass(frozen=True, slots=True)
class Reachable:
    """One identity a member can be pushed at, and the member's language."""

    member_id: int
    channel: str
    external_id: str
    lang: str


class Notifier(Protocol):
    channel: str

    async def push(self, external_id: str, screen: Screen) -> PushOutcome: ...


@statement
def _record_reach(dialect: str) -> ClauseElement:
    new = insert_into(dialect, bot_reach).values(
        channel=bindparam("c"),
        external_id=bindparam("e"),
        member_id=bindparam("m"),
        status=bindparam("s"),
        updated_ms=bindparam("now"),
    )
    return new.on_conflict_do_update(
        index_elements=[bot_reach.c.channel, bot_reach.c.external_id],
        set_={"status": new.excluded.status, "updated_ms": new.excluded.updated_ms},
    )


def _reachable(members_wanted: ColumnElement[bool]) -> Select[Any]:
    """Identities of the members wanted that are not known to be blocked or unreachable, oldest first."""
    i, r = member_identities.c, bot_reach.c
    joined = member_identities.join(
        bot_reach, and_(r.channel == i.channel, r.external_id == i.external_id), isouter=True
    )
    ok = or_(r.status.is_(None), r.status == "ok")
    return (
        select(i.member_id, i.channel, i.external_id)
        .select_from(joined)
        .where(members_wanted, ok)
        .order_by(i.created_ms)
    )


@statement
def _reachable_of_one(_dialect: str) -> ClauseElement:
    query = _reachable(member_identities.c.member_id == bindparam("m"))
    return query.with_only_columns(member_identities.c.channel, member_identities.c.external_id)


@statement
def _reachable_of_many(_dialect: str, n: int) -> ClauseElement:
    wanted = member_identities.c.member_id.in_([bindparam(f"m{k}") for k in range(n)])
    query = _reachable(wanted).join(members, members.c.id == member_identities.c.member_id)
    return query.add_columns(members.c.lang)


async def record_reach(
    uow: UnitOfWork, channel: str, external_id: str, member_id: int, outcome: PushOutcome, now_ms: int
) -> None:
    params = {"c": channel, "e": external_id, "m": member_id, "s": outcome, "now": now_ms}
    await uow.batch([_record_reach(uow.dialect).write(params)])


async def reachable_identities(uow: UnitOfWork, member_id: int) -> list[tuple[str, str]]:
    """(channel, external id) of the member's identities not known to be blocked or unreachable."""
    (rows,) = await uow.batch([_reachable_of_one(uow.dialect).read({"m": member_id})])
    return [(str(c), str(e)) for c, e in rows]


async def reachable_of(uow: UnitOfWork, member_ids: Sequence[int]) -> list[Reachable]:
    """Every identity of these members not known to be blocked or unreachable, with the member's language."""
    ids = list(member_ids)
    if not ids:
        return []
    query = _reachable_of_many(uow.dialect, len(ids))
    (rows,) = await uow.batch([query.read({f"m{k}": member_id for k, member_id in enumerate(ids)})])
    return [Reachable(int(m), str(c), str(e), str(lang)) for m, c, e, lang in rows]
