"""Fraud signals: one shared record of every reward that was refused or held for review, and why.

Every earning path (ad opens, sponsored opens, recommendations, comment brokering, contribution rewards)
writes here when it refuses or holds a payout, so the trust work and an operator read one list. A signal
is written in the caller's unit of work: a held open and its signal commit together or not at all.

``record_signal`` is the only writer; ``signals`` the query; ``resolve`` an operator's decision on a held one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ledger.errors import ChestnutError, NotFound
from ledger.service import now_ms as wall_ms
from ledger.storage.unit_of_work import UnitOfWork

SignalStatus = Literal["held", "refused", "cleared"]
STATUSES: frozenset[str] = frozenset({"held", "refused", "cleared"})
MAX_KIND = 32
MAX_SUBJECT = 64
_COLUMNS = "id, kind, member_id, subject, reason, evidence, status, created_ms"


class InvalidSignal(ChestnutError):
    code = "invalid_signal"


class UnknownSignal(NotFound):
    code = "unknown_signal"


@dataclass(frozen=True, slots=True)
class Signal:
    id: int
    kind: str  # fast_open | open_flood | shared_phone | self_referral | circular_referral | self_brokering …
    member_id: int | None
    subject: str  # "campaign:7", "order:12", …
    reason: str
    evidence: dict[str, Any]
    status: str  # held | refused | cleared
    created_ms: int


def _signal(row: tuple[Any, ...]) -> Signal:
    sid, kind, member_id, subject, reason, evidence, status, created = row
    return Signal(
        int(sid),
        str(kind),
        None if member_id is None else int(member_id),
        str(subject),
        str(reason),
        json.loads(evidence),
        str(status),
        int(created),
    )


async def record_signal(
    uow: UnitOfWork,
    *,
    kind: str,
    member_id: int | None,
    subject: str,
    reason: str,
    evidence: Mapping[str, Any] | None = None,
    status: SignalStatus = "held",
    now_ms: int | None = None,
) -> int:
    """Record one signal in the caller's transaction; returns its id."""
    if not kind or len(kind) > MAX_KIND or not subject or len(subject) > MAX_SUBJECT or not reason:
        raise InvalidSignal("a signal needs a kind, a subject and a reason", kind=kind[:MAX_KIND])
    if status not in STATUSES:
        raise InvalidSignal("a signal is held, refused or cleared", status=status)
    body = json.dumps(dict(evidence or {}), ensure_ascii=False, sort_keys=True, default=str)
    rows = await uow.fetch(
        "INSERT INTO ad_signals (kind, member_id, subject, reason, evidence, status, created_ms) "
        "VALUES (:k, :m, :s, :r, :e, :st, :now) RETURNING id",
        {
            "k": kind,
            "m": member_id,
            "s": subject,
            "r": reason,
            "e": body,
            "st": status,
            "now": wall_ms() if now_ms is None else now_ms,
        },
    )
    return int(rows[0][0])


async def signals(
    uow: UnitOfWork,
    *,
    member_id: int | None = None,
    kind: str | None = None,
    subject: str | None = None,
    status: str | None = None,
    since_ms: int | None = None,
    limit: int = 100,
) -> list[Signal]:
    """Signals, newest first, filtered by any of member, kind, subject, status and time."""
    where: list[str] = []
    params: dict[str, Any] = {"lim": max(1, min(limit, 1000))}
    for column, value in (("member_id", member_id), ("kind", kind), ("subject", subject), ("status", status)):
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value
    if since_ms is not None:
        where.append("created_ms >= :since")
        params["since"] = since_ms
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    rows = await uow.fetch(f"SELECT {_COLUMNS} FROM ad_signals{clause} ORDER BY id DESC LIMIT :lim", params)
    return [_signal(r) for r in rows]


async def count_signals(uow: UnitOfWork, *, member_id: int, kind: str, since_ms: int) -> int:
    """How many signals of one kind a member has had since a moment (for "too many" rules)."""
    rows = await uow.fetch(
        "SELECT COUNT(*) FROM ad_signals WHERE member_id = :m AND kind = :k AND created_ms >= :since",
        {"m": member_id, "k": kind, "since": since_ms},
    )
    return int(rows[0][0])


async def resolve(uow: UnitOfWork, signal_id: int, status: SignalStatus) -> Signal:
    """An operator's decision on a signal (cleared after review, or refused for good)."""
    if status not in STATUSES:
        raise InvalidSignal("a signal is held, refused or cleared", status=status)
    rows = await uow.fetch(
        f"UPDATE ad_signals SET status = :st WHERE id = :id RETURNING {_COLUMNS}",
        {"st": status, "id": signal_id},
    )
    if not rows:
        raise UnknownSignal(f"no signal {signal_id}", signal_id=signal_id)
    return _signal(rows[0])
