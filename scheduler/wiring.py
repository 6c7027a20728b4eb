"""The scheduler: APScheduler 3.11 triggers the batches; a lease row makes sure only one process does.

- ``run_batch`` is the one entry point for every trigger (a cron job, ``chestnut batch run``): it picks
  the batch and the period and drives the run (``scheduler.runs``) — exactly once per (kind, period),
  however often it is called.
- ``SchedulerService`` runs inside ``chestnut serve`` (roles ``all`` and ``scheduler``). It competes
  for the lease row ``scheduler_lease('scheduler')``: the holder renews it every ``heartbeat`` seconds
  and runs an ``AsyncIOScheduler`` (cron schedules in Asia/Seoul, generous misfire grace, one instance
  per job, coalesced); the others stand by and take over once the lease has expired (the holder died).
  One table and one ``INSERT … ON CONFLICT DO UPDATE … WHERE`` serve SQLite (two processes on one file)
  and PostgreSQL alike. A leader that cannot renew stops its scheduler at once.

The lease only prevents duplicate *work*: if two ever ran (a leader frozen past its lease), the batch
runs would still pay everyone once, because every chunk locks its run row and reads its cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

from ads import contributions
from commerce.services import Services
from commerce.trust import abuse
from ledger.errors import ChestnutError
from ledger.service import now_ms
from ledger.storage.unit_of_work import Database
from scheduler import cashout_batch as cashout
from scheduler import dividends, housekeeping
from scheduler import settlement_batch as settlement
from scheduler.notices import Announcer, Notice, SilentAnnouncer, stage, tell
from scheduler.payout import FilePayout, Payout
from scheduler.runs import BatchError, Progress, Run, drive

log = logging.getLogger("chestnut.scheduler")

KINDS = ("settlement", "cashout", "dividend", "housekeeping", "contributions", "trust")
SEOUL = ZoneInfo("Asia/Seoul")
LEASE = "scheduler"


class UnknownBatchKind(BatchError):
    code = "unknown_batch_kind"


@dataclass(frozen=True, slots=True)
class Schedules:
    settlement: str = "0 * * * *"  # hourly
    cashout: str = "0 16 * * *"  # daily at 16:00, before the banks' cut-off
    dividend: str = "*/5 * * * *"  # resume any declared dividend still unpaid
    housekeeping: str = "*/10 * * * *"
    contributions: str = "20 * * * *"  # hourly: couriers, reviewers and new members paid their BNM
    trust: str = "40 * * * *"  # hourly: the abuse rules over the ledger, each new case told to its member
    timezone: str = "Asia/Seoul"
    misfire_grace_s: int = 3600
    lease_ttl_s: float = 30.0
    heartbeat_s: float = 10.0


@dataclass
class BatchContext:
    """What the batches need, built by the app shell (chestnut) from the App and its settings."""

    db: Database
    services: Services
    home: Path
    payout: Payout = field(default_factory=FilePayout)
    announcer: Announcer = field(default_factory=SilentAnnouncer)
    schedules: Schedules = field(default_factory=Schedules)
    auto_confirm_days: int | None = None

    @property
    def payout_dir(self) -> Path:
        return self.home / "payouts"


def period_for(kind: str, when: datetime | None = None) -> str:
    """The natural period of a scheduled run: the Seoul hour for settlement, the Seoul day for cash-out."""
    at = (when or datetime.now(SEOUL)).astimezone(SEOUL)
    if kind == "settlement":
        return at.strftime("%Y-%m-%dT%H")
    if kind == "cashout":
        return at.strftime("%Y-%m-%d")
    if kind == "housekeeping":
        return at.strftime("%Y-%m-%dT%H:%M")
    raise UnknownBatchKind(f"{kind} has no calendar period", kind=kind)


@dataclass
class BatchReport:
    runs: list[Run]
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"runs": [r.to_json() for r in self.runs], **self.details}


def _check_period(period: str) -> str:
    if not (1 <= len(period) <= 40) or not all(c.isalnum() or c in "-:T_." for c in period):
        raise BatchError("a period is up to 40 letters, digits and - : T _ .", period=period[:50])
    return period


async def run_batch(
    ctx: BatchContext, kind: str, period: str | None = None, *, progress: Progress | None = None
) -> BatchReport:
    """Run (or resume, or report done) one batch; the one entry point for the scheduler and the CLI."""
    if kind not in KINDS:
        raise UnknownBatchKind(f"unknown batch {kind!r}; one of {', '.join(KINDS)}", kind=kind)
    if kind == "housekeeping":
        report = await housekeeping.housekeeping(ctx.services, ctx.db, announcer=ctx.announcer)
        return BatchReport([], {"housekeeping": report.to_json()})
    if kind == "contributions":
        return BatchReport([], {"contributions": await _pay_contributions(ctx)})
    if kind == "trust":
        return BatchReport([], {"trust": await _scan_trust(ctx)})
    if kind == "dividend":
        return await _pay_dividends(ctx, period, progress)
    chosen = _check_period(period) if period is not None else period_for(kind)
    if kind == "settlement":
        batch = settlement.SettlementBatch(ctx.services, auto_confirm_days=ctx.auto_confirm_days)
        run = await drive(ctx.db, batch, chosen, progress=progress, announcer=ctx.announcer)
        return BatchReport([run])
    run = await drive(
        ctx.db, cashout.CashoutBatch(ctx.services, ctx.payout_dir), chosen, progress=progress, announcer=ctx.announcer
    )
    outcomes, _notices = await cashout.submit(ctx.services, ctx.db, ctx.payout, run, ctx.announcer)
    return BatchReport(
        [run],
        {
            "file": str(cashout.payout_file(ctx.payout_dir, run.period)),
            "results": [o.to_json() for o in outcomes],
        },
    )


async def _pay_contributions(ctx: BatchContext) -> dict[str, Any]:
    """Every contribution reward due, a transaction per round: each payout is keyed by (rule, subject), so
    this needs no batch run — a rerun or a crash mid-way pays nothing twice. Stops at the month's budget."""
    paid = units = refused = 0
    over_budget = False
    while not over_budget:
        async with ctx.db.unit_of_work() as uow:
            result = await contributions.run(ctx.services, uow)
            await uow.commit()
        paid, units, refused = paid + result.paid, units + result.units, refused + result.refused
        over_budget = result.over_budget
        if result.paid + result.refused == 0:  # nothing left that this round could pay or refuse
            break
    return {"paid": paid, "units": units, "refused": refused, "over_budget": over_budget}


async def _scan_trust(ctx: BatchContext) -> dict[str, Any]:
    """The abuse rules over the whole ledger in one transaction (``abuse.scan`` is idempotent: a case is
    unique per rule, member and subject); each member hears of their new cases and how to appeal (the
    notices written with the cases, ``notices.stage``)."""
    async with ctx.db.unit_of_work() as uow:
        opened = await abuse.scan(ctx.services, uow)
        notices = [
            Notice(c.member_id, "abuse.case", {"case": c.id, "rule": c.rule, "outcome": c.outcome}) for c in opened
        ]
        left = await stage(ctx.announcer, uow, notices)
        await uow.commit()
    await tell(ctx.announcer, left)
    return {"opened": len(opened), "cases": [c.id for c in opened]}


async def _pay_dividends(ctx: BatchContext, period: str | None, progress: Progress | None) -> BatchReport:
    if period is not None:
        if not period.startswith("dividend-") or not period[len("dividend-") :].isdigit():
            raise BatchError("a dividend's period is dividend-<id> (see `chestnut batch status`)", period=period[:50])
        ids = [int(period[len("dividend-") :])]
    else:
        async with ctx.db.snapshot() as snap:
            ids = [d.id for d in await dividends.unpaid(snap)]
    runs = []
    for dividend_id in ids:
        async with ctx.db.snapshot() as snap:
            dividend = await dividends.get(snap, dividend_id)
        batch = dividends.DividendBatch(ctx.services, dividend.id)
        runs.append(await drive(ctx.db, batch, dividend.period, progress=progress, announcer=ctx.announcer))
    return BatchReport(runs)


# ------------------------------------------------------------------------------------------ lease


class Lease:
    """A row that one process at a time holds, renewing it before it expires."""

    def __init__(self, db: Database, ttl_s: float, *, name: str = LEASE, holder: str | None = None) -> None:
        self.db = db
        self.ttl_ms = int(ttl_s * 1000)
        self.name = name
        self.holder = holder or f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"

    async def acquire(self) -> bool:
        """Take or renew the lease; True while we hold it."""
        now = now_ms()
        async with self.db.unit_of_work() as uow:
            await uow.execute(
                "INSERT INTO scheduler_lease (name, holder, expires_ms) VALUES (:n, :h, :exp) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms "
                "WHERE scheduler_lease.holder = :h OR scheduler_lease.expires_ms < :now",
                {"n": self.name, "h": self.holder, "exp": now + self.ttl_ms, "now": now},
            )
            rows = await uow.fetch("SELECT holder FROM scheduler_lease WHERE name = :n", {"n": self.name})
            await uow.commit()
        return bool(rows) and rows[0][0] == self.holder

    async def release(self) -> None:
        async with self.db.unit_of_work() as uow:
            await uow.execute(
                "DELETE FROM scheduler_lease WHERE name = :n AND holder = :h", {"n": self.name, "h": self.holder}
            )
            await uow.commit()


# -------------------------------------------------------------------------------------- scheduler


async def scheduled_job(ctx: BatchContext, kind: str) -> None:
    """What a cron trigger runs: the batch of the current period; refusals are logged, never raised."""
    try:
        report = await run_batch(ctx, kind)
    except ChestnutError as exc:
        log.warning("scheduled %s refused: %s", kind, exc.message)
        return
    for run in report.runs:
        log.info("batch %s/%s %s: %d items, %d won", run.kind, run.period, run.status, run.items, run.amount)


class SchedulerService:
    """Competes for the lease; while it holds it, runs the APScheduler jobs."""

    def __init__(
        self, ctx: BatchContext, *, lease: Lease | None = None, on_change: Callable[[bool], None] | None = None
    ) -> None:
        self.ctx = ctx
        self.schedules = ctx.schedules
        self.lease = lease or Lease(ctx.db, self.schedules.lease_ttl_s)
        self._scheduler: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None
        self._on_change = on_change

    @property
    def leading(self) -> bool:
        return self._scheduler is not None

    def _build(self) -> AsyncIOScheduler:
        tz = ZoneInfo(self.schedules.timezone)
        sched = AsyncIOScheduler(
            timezone=tz,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": self.schedules.misfire_grace_s},
        )
        for kind in KINDS:
            cron = getattr(self.schedules, kind)
            if not cron:
                continue
            sched.add_job(
                scheduled_job,
                CronTrigger.from_crontab(cron, timezone=tz),
                args=[self.ctx, kind],
                id=kind,
                name=f"batch {kind}",
                replace_existing=True,
            )
        return sched

    def _lead(self, leading: bool) -> None:
        if leading and self._scheduler is None:
            self._scheduler = self._build()
            self._scheduler.start()
            log.info("this process (%s) runs the scheduler", self.lease.holder)
        elif not leading and self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
            log.warning("this process (%s) lost the scheduler lease; standing by", self.lease.holder)
        else:
            return
        if self._on_change is not None:
            self._on_change(leading)

    async def _loop(self) -> None:
        while True:
            try:
                leading = await self.lease.acquire()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the scheduler lease could not be renewed")
                leading = False
            self._lead(leading)
            await asyncio.sleep(self.schedules.heartbeat_s)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="scheduler-lease")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
            with contextlib.suppress(Exception):  # expiry frees it anyway
                await self.lease.release()

    def jobs(self) -> list[tuple[str, datetime | None]]:
        if self._scheduler is None:
            return []
        return [(job.id, job.next_run_time) for job in self._scheduler.get_jobs()]
