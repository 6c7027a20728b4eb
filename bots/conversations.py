"""Where each member's conversation stands, and which messages were handled already.

``bot_conversations`` holds, per member, what the flow waits for (``state``) and its notes (``data``,
a JSON object: a draft, a shop id); ``bot_inbox`` the keys of messages already handled (a Telegram
update delivered twice is answered once). Both are the chat layer's own tables (``bots.schema``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.sql.expression import ClauseElement

from bots.schema import bot_conversations, bot_inbox
from bots.statements import insert_into, statement
from ledger.storage.ops import Op, Row
from ledger.storage.unit_of_work import UnitOfWork

KEY_MAX = 64  # bot_inbox.key
STATE_MAX = 32  # bot_conversations.state


@dataclass(frozen=True, slots=True)
class Conversation:
    """What the flow waits for and its notes; ``stored`` is the notes' text as read (None: no row yet)."""

    state: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    stored: str | None = None


def _notes_text(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@statement
def _load(_dialect: str) -> ClauseElement:
    c = bot_conversations.c
    return select(c.state, c.data).where(c.member_id == bindparam("m"))


@statement
def _save(dialect: str) -> ClauseElement:
    new = insert_into(dialect, bot_conversations).values(
        member_id=bindparam("m"), state=bindparam("s"), data=bindparam("d"), updated_ms=bindparam("now")
    )
    return new.on_conflict_do_update(
        index_elements=[bot_conversations.c.member_id],
        set_={"state": new.excluded.state, "data": new.excluded.data, "updated_ms": new.excluded.updated_ms},
    )


@statement
def _start(dialect: str) -> ClauseElement:
    new = insert_into(dialect, bot_conversations).values(
        member_id=bindparam("m"), state=bindparam("s"), data=bindparam("d"), updated_ms=bindparam("now")
    )
    return new.on_conflict_do_nothing(index_elements=[bot_conversations.c.member_id]).returning(
        bot_conversations.c.member_id
    )


@statement
def _move_on(_dialect: str) -> ClauseElement:
    c = bot_conversations.c
    unchanged = and_(c.member_id == bindparam("m"), c.state == bindparam("was_s"), c.data == bindparam("was_d"))
    moved = update(bot_conversations).where(unchanged)
    return moved.values(state=bindparam("s"), data=bindparam("d"), updated_ms=bindparam("now")).returning(c.member_id)


@statement
def _record_key(dialect: str) -> ClauseElement:
    new = insert_into(dialect, bot_inbox).values(
        channel=bindparam("c"), key=bindparam("k"), member_id=bindparam("m"), created_ms=bindparam("now")
    )
    return new.on_conflict_do_nothing(index_elements=[bot_inbox.c.channel, bot_inbox.c.key]).returning(
        bot_inbox.c.member_id
    )


def load_op(uow: UnitOfWork, member_id: int) -> Op:
    return _load(uow.dialect).read({"m": member_id})


def conversation_of(rows: list[Row]) -> Conversation:
    """The conversation from ``load_op``'s rows: notes that are not a JSON object count as none."""
    if not rows:
        return Conversation()
    stored = str(rows[0][1])
    try:
        data = json.loads(stored)
    except ValueError:
        data = {}
    return Conversation(str(rows[0][0]), data if isinstance(data, dict) else {}, stored)


async def load(uow: UnitOfWork, member_id: int) -> Conversation:
    return conversation_of((await uow.batch([load_op(uow, member_id)]))[0])


def record_key_op(uow: UnitOfWork, channel: str, key: str, member_id: int, now_ms: int) -> Op:
    """Record a message key; its rows are empty when the key was handled before."""
    return _record_key(uow.dialect).read({"c": channel, "k": key[:KEY_MAX], "m": member_id, "now": now_ms})


async def save(uow: UnitOfWork, member_id: int, state: str, data: dict[str, Any], now_ms: int) -> None:
    params = {"m": member_id, "s": state[:STATE_MAX], "d": _notes_text(data), "now": now_ms}
    await uow.batch([_save(uow.dialect).write(params)])


async def move_on(
    uow: UnitOfWork, member_id: int, was: Conversation, state: str, data: dict[str, Any], now_ms: int
) -> bool:
    """Save the new state only if the conversation is still as ``was`` read it; False if it moved meanwhile.

    For a turn that read the conversation in one transaction and saves it in another: a turn of the
    same member that committed in between keeps what it saved.
    """
    params = {"m": member_id, "s": state[:STATE_MAX], "d": _notes_text(data), "now": now_ms}
    if was.stored is None:
        op = _start(uow.dialect).read(params)
    else:
        op = _move_on(uow.dialect).read({**params, "was_s": was.state, "was_d": was.stored})
    return bool((await uow.batch([op]))[0])
