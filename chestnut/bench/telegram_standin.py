"""The Telegram Bot API stand-in the ads benchmark dispatches to, paced as Telegram paces.

It answers 429 when a chat gets two messages within a second, or when more than ``rate`` messages
arrive within one second (30, as Telegram's, for messages that do not ask for paid broadcast) — so the
benchmark's ``http_429`` counts real pacing faults. It runs in a process of its own
(``python -m chestnut.bench.telegram_standin RATE`` prints its base URL), as Telegram is not in ours.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import sys
import time
from typing import Any

import aiohttp
from aiohttp import web

from bots.telegram.push import FREE_RATE_PER_S


class StandInProcess:
    """The paced Bot API stand-in in a process of its own, as Telegram is not in ours: the benchmark
    measures our dispatch, not the stand-in competing with it for the event loop."""

    def __init__(self, proc: asyncio.subprocess.Process, base_url: str) -> None:
        self.proc, self.base_url = proc, base_url

    @classmethod
    async def start(cls, rate: float) -> StandInProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chestnut.bench.telegram_standin", str(rate), stdout=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        if not line.startswith("http://"):
            proc.kill()
            raise RuntimeError("the Bot API stand-in did not start")
        return cls(proc, line)

    async def stats(self) -> dict[str, Any]:
        async with aiohttp.ClientSession() as http, http.get(self.base_url.removesuffix("/bot") + "/stats") as r:
            stats: dict[str, Any] = await r.json()
            return stats

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


class PacedBotApi:
    """A Bot API stand-in that enforces Telegram's limits instead of trusting the client."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.sent = 0
        self.http_429 = 0
        self.per_chat_429 = 0
        self.first: float | None = None
        self.last = 0.0
        self._window: collections.deque[float] = collections.deque()
        self._per_chat: dict[str, float] = {}
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/bot"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _stats(self, _request: web.Request) -> web.Response:
        span = self.last - (self.first or self.last)
        return web.json_response(
            {"sent": self.sent, "http_429": self.http_429, "per_chat_429": self.per_chat_429, "span_s": span}
        )

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = await request.post()
        if method == "getMe":
            return web.json_response(
                {"ok": True, "result": {"id": 7000001, "is_bot": True, "first_name": "b", "username": "b_bot"}}
            )
        now = time.monotonic()
        chat = str(form.get("chat_id"))
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        # 2 % tolerance for timer jitter on a busy machine; Telegram's own limit is not exact either
        too_fast = now - self._per_chat.get(chat, -10.0) < 0.95
        # Above the free 30 a second only messages that ask for paid broadcast are let through.
        limit = self.rate if form.get("allow_paid_broadcast") == "true" else min(self.rate, FREE_RATE_PER_S)
        if len(self._window) >= limit * 1.02 or too_fast:
            self.http_429 += 1
            self.per_chat_429 += too_fast
            return web.json_response(
                {"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 1}},
                status=429,
            )
        self._window.append(now)
        self._per_chat[chat] = now
        self.sent += 1
        self.first = now if self.first is None else self.first
        self.last = now
        message = {"message_id": self.sent, "date": int(time.time()), "chat": {"id": int(chat), "type": "private"}}
        return web.json_response({"ok": True, "result": {**message, "text": str(form.get("text", ""))}})


async def _serve_standin(rate: float) -> None:
    api = PacedBotApi(rate)
    await api.start()
    print(api.base_url, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":  # the stand-in's process (StandInProcess)
    # The instrument must not pause: a full collection of its 100,000-chat table stalls its loop for
    # ~100 ms, after which the requests queued in the socket all arrive at once and are counted as a
    # burst the client never sent. A two-minute run leaks next to nothing without the cycle collector.
    gc.disable()
    asyncio.run(_serve_standin(float(sys.argv[1])))
