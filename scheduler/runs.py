"""Batch runs: exactly-once money batches on top of an at-least-once trigger.

APScheduler (and a person at the terminal) may start the same batch twice, late, or again after a
crash. What makes that harmless is this table: one row per ``(kind, period)`` (a unique key), holding
the batch's status, its phase, a cursor and its totals. A batch works in **chunks**; each chunk is one
transaction that locks the run row, appends its ledger entries and advances the cursor *together*. So:

- a SIGKILL loses at most the chunk in flight (its entries and its cursor move vanish together);
- a rerun of the same ``(kind, period)`` resumes from the cursor, or reports that the run is done;
- two processes driving one run interleave chunk by chunk (the row lock on PostgreSQL, SQLite's
  single writer), each chunk reading the cursor the previous one committed.

A batch is an object with a ``kind`` and a ``step(uow, run)`` that does one chunk's work and says where
the run stands afterwards (``Advance``). ``drive`` is the loop around it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ledger.errors import ChestnutError, NotFound
from ledger.service import now_ms
from ledger.storage.ops import Op, write
from ledger.storage.unit_of_work import Database, UnitOfWork
from scheduler.notices import Announcer, Notice, stage, tell

log = logging.getLogger("chestnut.batch")

_COLUMNS = (
    "id, kind, period, status, phase, cursor, items, amount, entries, chunks, error, started_ms, updated_ms, "
    "finished_ms"
)


class BatchError(ChestnutError):
    code = "batch_error"


class UnknownBatch(BatchError, NotFound):
    code = "unknown_batch"


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    kind: str
    period: str
    status: str  # running | done | failed
    phase: str
    cursor: int
    items: int
    amount: int
    entries: int
    chunks: int
    error: str | None
    started_ms: int
    updated_ms: int
    finished_ms: int | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "period": self.period,
            "status": self.status,
            "phase": self.phase,
            "cursor": self.cursor,
            "items": self.items,
            "amount": self.amount,
            "entries": self.entries,
            "chunks": self.chunks,
            "error": self.error,
            "started_ms": self.started_ms,
            "updated_ms": self.updated_ms,
            "finished_ms": self.finished_ms,
        }


@dataclass(frozen=True, slots=True)
class Advance:
    """Where one chunk left the run: the new phase and cursor, and what the chunk added to the totals."""

    phase: str
    cursor: int
    items: int = 0
    amount: int = 0
    entries: int = 0
    done: bool = False
    notices: tuple[Notice, ...] = ()  # written with this chunk (``notices.stage``), or told after it commits


class Batch(Protocol):
    kind: str
    first_phase: str

    async def step(self, uow: UnitOfWork, run: Run) -> Advance:
        """Do one chunk in ``uow`` (entries and rows); the caller advances the run in the same transaction."""
        ...


def _run(row: tuple[object, ...]) -> Run:
    rid, kind, period, status, phase, cursor, items, amount, entries, chunks, error, started, updated, finished = row
    return Run(
        int(rid),  # type: ignore[call-overload]
        str(kind),
        str(period),
        str(status),
        str(phase),
        int(cursor),  # type: ignore[call-overload]
        int(items),  # type: ignore[call-overload]
        int(amount),  # type: ignore[call-overload]
        int(entries),  # type: ignore[call-overload]
        int(chunks),  # type: ignore[call-overload]
        None if error is None else str(error),
        int(started),  # type: ignore[call-overload]
        int(updated),  # type: ignore[call-overload]
        None if finished is None else int(finished),  # type: ignore[call-overload]
    )


async def open_run(uow: UnitOfWork, kind: str, period: str, first_phase: str, *, now: int | None = None) -> Run:
    """The run of ``(kind, period)``, created if it does not exist yet (a second caller gets the same row)."""
    at = now_ms() if now is None else now
    await uow.execute(
        "INSERT INTO batch_runs (kind, period, status, phase, cursor, items, amount, entries, chunks, started_ms, "
        "updated_ms) VALUES (:k, :p, 'running', :phase, 0, 0, 0, 0, 0, :now, :now) "
        "ON CONFLICT (kind, period) DO NOTHING",
        {"k": kind, "p": period, "phase": first_phase, "now": at},
    )
    rows = await uow.fetch(
        f"SELECT {_COLUMNS} FROM batch_runs WHERE kind = :k AND period = :p{uow.for_update}", {"k": kind, "p": period}
    )
    return _run(rows[0])


async def get_run(uow: UnitOfWork, run_id: int, *, lock: bool = False) -> Run:
    rows = await uow.fetch(
        f"SELECT {_COLUMNS} FROM batch_runs WHERE id = :id{uow.for_update if lock else ''}", {"id": run_id}
    )
    if not rows:
        raise UnknownBatch(f"no batch run {run_id}", run=run_id)
    return _run(rows[0])


async def find_run(uow: UnitOfWork, kind: str, period: str) -> Run | None:
    rows = await uow.fetch(
        f"SELECT {_COLUMNS} FROM batch_runs WHERE kind = :k AND period = :p", {"k": kind, "p": period}
    )
    return _run(rows[0]) if rows else None


async def recent_runs(uow: UnitOfWork, *, limit: int = 20) -> list[Run]:
    rows = await uow.fetch(f"SELECT {_COLUMNS} FROM batch_runs ORDER BY id DESC LIMIT :n", {"n": limit})
    return [_run(r) for r in rows]


def advance_op(run: Run, step: Advance, *, now: int | None = None) -> Op:
    """The cursor move of one chunk: written in the chunk's own transaction, with its entries."""
    at = now_ms() if now is None else now
    return write(
        "UPDATE batch_runs SET phase = :phase, cursor = :cursor, items = items + :items, amount = amount + :amount, "
        "entries = entries + :entries, chunks = chunks + 1, status = :status, error = NULL, updated_ms = :now, "
        "finished_ms = :finished WHERE id = :id",
        {
            "phase": step.phase,
            "cursor": step.cursor,
            "items": step.items,
            "amount": step.amount,
            "entries": step.entries,
            "status": "done" if step.done else "running",
            "now": at,
            "finished": at if step.done else None,
            "id": run.id,
        },
    )


Progress = Callable[[Run], None]


async def drive(
    db: Database,
    batch: Batch,
    period: str,
    *,
    progress: Progress | None = None,
    max_chunks: int | None = None,
    announcer: Announcer | None = None,
) -> Run:
    """Run (or resume) ``batch`` for ``period`` until it is done; returns the run as it stands.

    A typed refusal inside a chunk rolls that chunk back, marks the run ``failed`` with the reason and is
    raised again; the next ``drive`` of the same period resumes from the cursor.
    """
    async with db.unit_of_work() as uow:
        run = await open_run(uow, batch.kind, period, batch.first_phase)
        await uow.commit()
    chunks = 0
    while run.status != "done" and (max_chunks is None or chunks < max_chunks):
        try:
            async with db.unit_of_work() as uow:
                run = await get_run(uow, run.id, lock=True)
                if run.status == "done":  # another process finished it meanwhile
                    break
                step = await batch.step(uow, run)
                await uow.batch([advance_op(run, step)])
                left = await stage(announcer, uow, step.notices)
                await uow.commit()
        except ChestnutError as exc:
            await _mark_failed(db, run, exc.message)
            raise
        chunks += 1
        await tell(announcer, left)
        async with db.snapshot() as snap:
            run = await get_run(snap, run.id)
        if progress is not None:
            progress(run)
    return run


async def _mark_failed(db: Database, run: Run, reason: str) -> None:
    log.warning("batch %s/%s stopped: %s", run.kind, run.period, reason)
    async with db.unit_of_work() as uow:
        await uow.execute(
            "UPDATE batch_runs SET status = 'failed', error = :e, updated_ms = :now "
            "WHERE id = :id AND status <> 'done'",
            {"e": reason[:1000], "now": now_ms(), "id": run.id},
        )
        await uow.commit()
