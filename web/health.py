"""``GET /health``: can this server do its work, part by part.

``{"ok": …, "db": "up|down", "telegram": "up|starting|retrying|off", "kakao": "up|off"}``, answered
with 503 when the database does not answer or a configured channel is not up, so a load balancer or a
monitor sees a bot that cannot reach Telegram, not only a process that listens.

- ``db``: the ledger's size read on a snapshot within ``db_timeout_s``. One probe at a time, and its answer is
  reused for ``cache_s``: a monitor (or a crowd of them) polling /health costs the database one query
  a second at most.
- ``telegram``: the bot's own state (``bots.telegram.bot.TelegramBot.run`` keeps it); ``off`` when no token
  is configured.
- ``kakao``: the skill route takes requests (a secret is configured, or this is development). Kakao
  calls us, so there is nothing to lose touch with: it is never the cause of a 503.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Literal

from aiohttp import web

from bots.telegram.bot import TelegramBot
from ledger import reads as ledger_reads
from ledger.api import json_dumps
from ledger.storage.unit_of_work import Database

log = logging.getLogger("chestnut.health")

DbState = Literal["up", "down"]


class Health:
    def __init__(
        self,
        db: Database,
        *,
        telegram: TelegramBot | None,
        kakao_up: bool,
        db_timeout_s: float = 2.0,
        cache_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db, self.telegram, self.kakao_up = db, telegram, kakao_up
        self.db_timeout_s, self.cache_s, self.clock = db_timeout_s, cache_s, clock
        self._lock = asyncio.Lock()
        self._db_state: DbState = "up"
        self._checked_at: float | None = None

    async def db_state(self) -> DbState:
        async with self._lock:
            if self._checked_at is None or self.clock() - self._checked_at >= self.cache_s:
                state = await self._probe()
                if state == "up" and self._db_state == "down":
                    log.info("the database answers the health check again")
                self._db_state, self._checked_at = state, self.clock()
            return self._db_state

    async def _probe(self) -> DbState:
        try:
            async with asyncio.timeout(self.db_timeout_s):
                async with self.db.snapshot() as snap:
                    await ledger_reads.size(snap)
        except Exception as exc:  # unreachable, refused, timed out: all mean the same to a monitor
            if self._db_state == "up":
                log.warning("the database did not answer the health check (%s)", type(exc).__name__)
            return "down"
        return "up"

    async def report(self) -> tuple[bool, dict[str, str]]:
        parts = {
            "db": await self.db_state(),
            "telegram": "off" if self.telegram is None else self.telegram.state,
            "kakao": "up" if self.kakao_up else "off",
        }
        ok = parts["db"] == "up" and parts["telegram"] in ("up", "off")
        return ok, parts

    async def handle(self, _request: web.Request) -> web.Response:
        ok, parts = await self.report()
        return web.json_response(dumps=json_dumps, data={"ok": ok, **parts}, status=200 if ok else 503)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/health", self.handle)]
