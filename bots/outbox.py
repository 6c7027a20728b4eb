"""The push outbox: each notification is written with the change that caused it, and sent from there.

Writing. A service publishes a domain event on its unit of work (``uow.publish``); just before COMMIT
the database's ``before_commit`` hook (``bots.pushes.Pushes.before_commit``) inserts a ``push_outbox``
row for each event someone should hear of — the event's name and ids, nothing rendered — in that same
transaction. The scheduler's notices go in the same way, in the transaction of the chunk that decided
them (``scheduler.notices.stage``). So a notification exists exactly when its change does: a rolled-back
order tells nobody, and a committed delivery is told even if the process dies the next instant.

Sending (``bots.pushes.Pushes``, in the server's background work). A sender *claims* due rows with one
guarded statement — ``UPDATE … SET status = 'sending', claim = <this sender>, lease_ms = <now + lease>
WHERE id IN (rows pending and due, or sending past their lease … FOR UPDATE SKIP LOCKED) AND <the same
condition> RETURNING …`` (SQLite has one writer and no SKIP LOCKED) — so of several workers on one
database exactly one gets each row. The screen is rendered then, in the recipient's language, and
pushed to each of their reachable identities in turn (each notifier paces its messenger). Each answer
is written to the row (``answered``: "channel:external id" → outcome, a block also to ``bot_reach``)
before the next identity is tried; when every identity has answered, the row is ``sent``. A failure
that is not the person's (``bots.notify.PushFailed``, Kakao's Event API down, a row that cannot be
rendered) puts the row back to ``pending`` after an exponential backoff (``base_backoff_ms`` × 2ⁿ⁻¹,
at most ``max_backoff_ms``); after ``max_attempts`` failures, or once older than ``max_age_ms``, it is
``failed`` and logged. While a sender works on its rows it renews their leases.

What a crash does:

- killed after the commit, before any sender claimed the row: it is ``pending``, and the next sender (the
  restarted server, another worker) sends it — nothing is lost;
- killed holding a claim: the row stays ``sending`` until its lease (``lease_ms``, 30 s) runs out, then
  another sender takes it over and pushes to each identity with no answer recorded; an identity whose
  answer was recorded is never pushed again;
- killed with a request on the wire (sent, its answer not yet recorded): that identity is pushed again on
  takeover. No messenger API can say whether a request in flight arrived (the Bot API has no idempotency
  key, nor a way to read a chat). A notification, unlike an ad (``ads.dispatch`` leaves such a message
  ``unknown``), is worth a rare duplicate rather than silence, so at most the requests in flight at that
  moment are sent twice; nothing else ever is. A graceful stop waits for them instead.

Sent and failed rows are deleted after ``keep_ms``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.sql.expression import ClauseElement

from bots.notify import PushOutcome, record_reach
from bots.schema import push_outbox
from bots.statements import statement
from ledger.service import now_ms
from ledger.storage.unit_of_work import Database, UnitOfWork

MINUTE_MS = 60_000
DAY_MS = 1440 * MINUTE_MS
_row = push_outbox.c


def _due() -> ColumnElement[bool]:
    """Pending and due, or held by a sender whose lease ran out."""
    now: BindParameter[int] = bindparam("now")
    return or_(and_(_row.status == "pending", _row.due_ms <= now), and_(_row.status == "sending", _row.lease_ms < now))


def _held() -> ColumnElement[bool]:
    """Still this sender's: another sender may have taken the row over after the lease."""
    return and_(_row.id == bindparam("id"), _row.claim == bindparam("token"), _row.status == "sending")


@statement
def _insert(_dialect: str) -> ClauseElement:
    now: BindParameter[int] = bindparam("now")
    return (
        insert(push_outbox)
        .inline()  # no id back: the rows go in as one executemany
        .values(
            kind=bindparam("k"),
            data=bindparam("d"),
            status="pending",
            attempts=0,
            due_ms=now,
            answered="{}",
            created_ms=now,
            updated_ms=now,
        )
    )


@statement
def _any_due(_dialect: str) -> ClauseElement:
    return select(_row.id).where(_due()).limit(1)


@statement
def _claim(_dialect: str) -> ClauseElement:
    # SQLite has one writer and renders no FOR UPDATE; PostgreSQL's workers skip each other's rows.
    due = select(_row.id).where(_due()).order_by(_row.id).limit(bindparam("n")).with_for_update(skip_locked=True)
    claimed = update(push_outbox).where(_row.id.in_(due.scalar_subquery()), _due())
    return claimed.values(
        status="sending", claim=bindparam("token"), lease_ms=bindparam("lease"), updated_ms=bindparam("now")
    ).returning(_row.id, _row.kind, _row.data, _row.attempts, _row.answered, _row.created_ms)


@statement
def _answered(_dialect: str) -> ClauseElement:
    return (
        update(push_outbox)
        .where(_held())
        .values(answered=bindparam("a"), updated_ms=bindparam("now"))
        .returning(_row.id)
    )


@statement
def _settle(_dialect: str) -> ClauseElement:
    settled = update(push_outbox).where(_held())
    return settled.values(
        status=bindparam("s"),
        attempts=bindparam("n"),
        due_ms=bindparam("due"),
        claim=None,
        lease_ms=None,
        error=bindparam("e"),
        updated_ms=bindparam("now"),
    ).returning(_row.id)


@statement
def _release(_dialect: str) -> ClauseElement:
    return (
        update(push_outbox)
        .where(_held())
        .values(status="pending", claim=None, lease_ms=None, updated_ms=bindparam("now"))
    )


@statement
def _renew(_dialect: str) -> ClauseElement:
    mine = and_(_row.claim == bindparam("token"), _row.status == "sending")
    return update(push_outbox).where(mine).values(lease_ms=bindparam("lease"))


@statement
def _prune(_dialect: str) -> ClauseElement:
    done = or_(_row.status == "sent", _row.status == "failed")
    return delete(push_outbox).where(done, _row.updated_ms < bindparam("cut")).returning(_row.id)


@dataclass(slots=True)
class Claimed:
    """A row this sender holds: what to tell, and who has answered already."""

    id: int
    kind: str
    data: dict[str, Any]
    attempts: int
    answered: dict[str, str]
    created_ms: int


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def _object(text: object) -> dict[str, Any]:
    try:
        value = json.loads(str(text))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class Outbox:
    """The ``push_outbox`` table: rows written in a caller's transaction, claimed, answered and settled."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], int] = now_ms,
        lease_ms: int = 30_000,
        base_backoff_ms: int = 2_000,
        max_backoff_ms: int = 15 * MINUTE_MS,
        max_attempts: int = 10,
        max_age_ms: int = 2 * DAY_MS,
        keep_ms: int = 7 * DAY_MS,
    ) -> None:
        self.db, self.clock = db, clock
        self.lease_ms, self.base_backoff_ms, self.max_backoff_ms = lease_ms, base_backoff_ms, max_backoff_ms
        self.max_attempts, self.max_age_ms, self.keep_ms = max_attempts, max_age_ms, keep_ms
        self.token = secrets.token_hex(8)  # this sender, in the rows it holds

    async def put(self, uow: UnitOfWork, items: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Queue ``(kind, data)`` items in the caller's transaction."""
        if items:
            now = self.clock()
            rows = [{"k": kind, "d": _json(dict(data)), "now": now} for kind, data in items]
            await uow.batch([_insert(uow.dialect).write_many(rows)])

    async def any_due(self) -> bool:
        """A cheap look from a snapshot, so an idle sender does not take the write lock every poll."""
        async with self.db.snapshot() as snap:
            (rows,) = await snap.batch([_any_due(snap.dialect).read({"now": self.clock()})])
        return bool(rows)

    async def claim(self, limit: int) -> list[Claimed]:
        """Up to ``limit`` due rows, oldest first, now held by this sender (no other sender gets them)."""
        if limit <= 0:
            return []
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            params = {"token": self.token, "lease": now + self.lease_ms, "now": now, "n": limit}
            (rows,) = await uow.batch([_claim(uow.dialect).read(params)])
            await uow.commit()
        claimed = [
            Claimed(int(i), str(k), _object(d), int(a), {str(x): str(y) for x, y in _object(ans).items()}, int(c))
            for i, k, d, a, ans, c in rows
        ]
        return sorted(claimed, key=lambda r: r.id)

    def too_old(self, row: Claimed) -> bool:
        return self.clock() - row.created_ms > self.max_age_ms

    async def answered(
        self, row: Claimed, channel: str, external_id: str, member_id: int, outcome: PushOutcome
    ) -> bool:
        """Record one identity's answer (and a block in ``bot_reach``); False if this sender lost the row."""
        row.answered[f"{channel}:{external_id}"] = outcome
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            params = {"a": _json(row.answered), "now": now, "id": row.id, "token": self.token}
            (held,) = await uow.batch([_answered(uow.dialect).read(params)])
            if outcome != "ok":
                await record_reach(uow, channel, external_id, member_id, outcome, now)
            await uow.commit()
        return bool(held)

    def backoff_ms(self, attempts: int) -> int:
        """The wait after the ``attempts``-th failure: 2 s, 4 s, 8 s … up to ``max_backoff_ms``."""
        return int(min(self.max_backoff_ms, self.base_backoff_ms * 2 ** max(0, attempts - 1)))

    async def settle(self, row: Claimed, error: str | None) -> str | None:
        """``sent`` (``error`` None), or back to ``pending`` after its backoff, or ``failed`` for good;
        None if another sender took the row over meanwhile (then this changes nothing)."""
        now = self.clock()
        if error is None:
            status, attempts, due = "sent", row.attempts, now
        else:
            attempts = row.attempts + 1
            given_up = attempts >= self.max_attempts or self.too_old(row)
            status, due = ("failed", now) if given_up else ("pending", now + self.backoff_ms(attempts))
        async with self.db.unit_of_work() as uow:
            (held,) = await uow.batch(
                [
                    _settle(uow.dialect).read(
                        {
                            "s": status,
                            "n": attempts,
                            "due": due,
                            "e": None if error is None else error[:200],
                            "now": now,
                            "id": row.id,
                            "token": self.token,
                        }
                    )
                ]
            )
            await uow.commit()
        return status if held else None

    async def release(self, row: Claimed) -> None:
        """Give a row back at once, unsent (a sender stopping): the next sender need not wait for the lease."""
        async with self.db.unit_of_work() as uow:
            params = {"now": self.clock(), "id": row.id, "token": self.token}
            await uow.batch([_release(uow.dialect).write(params)])
            await uow.commit()

    async def renew(self) -> None:
        """Extend the lease of every row this sender holds (it is still working on them)."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            params = {"lease": now + self.lease_ms, "token": self.token}
            await uow.batch([_renew(uow.dialect).write(params)])
            await uow.commit()

    async def prune(self) -> int:
        """Delete rows sent or failed more than ``keep_ms`` ago."""
        async with self.db.unit_of_work() as uow:
            (rows,) = await uow.batch([_prune(uow.dialect).read({"cut": self.clock() - self.keep_ms})])
            await uow.commit()
        return len(rows)
