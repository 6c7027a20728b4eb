"""The server's ad sender: one process at a time walks every running campaign's recipients.

``chestnut serve`` (roles ``all`` and ``web``, where the messengers' notifiers live) runs ``DispatchLoop``.
It holds a lease (the ``scheduler_lease`` row ``ads-dispatch``, passed in as ``acquire``/``release``) so
that two server processes never dispatch the same campaign — a second dispatcher's recovery would
otherwise take the first one's in-flight messages for a crash. While it holds the lease it renews it
every ``ttl/3``; a renewal that fails cancels the dispatch at once (the claimed chunk goes back to
``pending``), and whoever takes the lease over recovers from the campaign's journal.

Every ``interval_s`` it looks for running campaigns with recipients ``pending`` (or ``sending``, left by a
dead process) and runs ``ads.dispatch.Dispatcher`` on each to its end, a pause, or the quiet hours; a
campaign that stopped for the night is looked at again ``night_retry_s`` later, not every pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from ads.dispatch import Dispatcher, DispatchReport
from ledger.storage.unit_of_work import Database

log = logging.getLogger("chestnut.ads.dispatch")


async def campaigns_to_send(db: Database) -> list[int]:
    """Running campaigns with somebody still to message (or left in doubt by a crash)."""
    async with db.snapshot() as snap:
        rows = await snap.fetch(
            "SELECT c.id FROM ad_campaigns c WHERE c.status = 'running' AND EXISTS (SELECT 1 FROM ad_recipients r "
            "WHERE r.campaign_id = c.id AND r.status IN ('pending', 'sending')) ORDER BY c.id",
            {},
        )
    return [int(r[0]) for r in rows]


class DispatchLoop:
    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        acquire: Callable[[], Awaitable[bool]],
        release: Callable[[], Awaitable[None]] | None = None,
        lease_ttl_s: float = 30.0,
        interval_s: float = 2.0,
        night_retry_s: float = 600.0,
    ) -> None:
        self.dispatcher = dispatcher
        self.acquire, self.release = acquire, release
        self.renew_s = max(0.2, lease_ttl_s / 3)
        self.interval_s, self.night_retry_s = interval_s, night_retry_s
        self._snoozed: dict[int, float] = {}
        self.reports: list[DispatchReport] = []  # the latest passes' reports (for logs and tests)

    async def pass_once(self) -> list[DispatchReport]:
        """One pass over the campaigns to send, while holding the lease (the caller renews it)."""
        now = time.monotonic()
        out = []
        for campaign_id in await campaigns_to_send(self.dispatcher.db):
            if self._snoozed.get(campaign_id, 0.0) > now:
                continue
            report = await self.dispatcher.run(campaign_id)
            if report.status == "quiet_hours":
                self._snoozed[campaign_id] = time.monotonic() + self.night_retry_s
            if report.sent or report.recovered or report.resumed or report.blocked or report.unreachable:
                log.info(
                    "campaign %d: %s, %d sent, %d blocked, %d unreachable, %d refused, %d in doubt after a crash",
                    campaign_id,
                    report.status,
                    report.sent,
                    report.blocked,
                    report.unreachable,
                    report.refused,
                    report.recovered,
                )
            out.append(report)
        self.reports = (self.reports + out)[-100:]
        return out

    async def _leased_pass(self) -> None:
        work = asyncio.create_task(self.pass_once())
        try:
            while True:
                done, _ = await asyncio.wait({work}, timeout=self.renew_s)
                if done:
                    work.result()
                    return
                if not await self.acquire():  # lost the lease mid-pass: stop sending now
                    log.warning("the ads dispatch lease was lost; stopping this pass")
                    work.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await work
                    return
        finally:
            if not work.done():
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work

    async def run_forever(self) -> None:
        try:
            while True:
                try:
                    if await self.acquire():
                        await self._leased_pass()
                except asyncio.CancelledError:
                    raise
                except Exception:  # a failed pass is retried on the next one; its rows are recovered then
                    log.exception("ad dispatch failed; retrying in %.1fs", self.interval_s)
                await asyncio.sleep(self.interval_s)
        finally:
            if self.release is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.release())
