"""An SMS gateway on loopback, as ``commerce.members.sms.HttpSms`` expects one to behave.

``POST /v1/messages`` with ``X-Api-Key: <key>`` and ``{"to": "<digits>", "text": "…"}`` answers 200 and
records the message; a wrong key is 401, a malformed body 400. ``fail_next(status)`` makes the next
message fail with that HTTP status (500: the gateway is down, 400: it refuses the number) without
recording it. ``code_for(to)`` reads the last 6-digit code sent to a number, as a person reads the text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from aiohttp import web

API_KEY = "sms-standin-key-1"
_CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class SmsStandIn:
    messages: list[tuple[str, str]] = field(default_factory=list)  # (to, text), in order
    calls: int = 0
    url: str = ""  # set by start()
    _failures: list[int] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    def fail_next(self, status: int) -> None:
        self._failures.append(status)

    def to(self, number: str) -> list[str]:
        return [text for to, text in self.messages if to == number]

    def code_for(self, number: str) -> str:
        texts = self.to(number)
        assert texts, f"no SMS went to {number}"
        found = _CODE.search(texts[-1])
        assert found is not None, texts[-1]
        return found.group(1)

    async def _message(self, request: web.Request) -> web.Response:
        self.calls += 1
        if request.headers.get("X-Api-Key") != API_KEY:
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            body = json.loads(await request.read())
            to, text = body["to"], body["text"]
            assert isinstance(to, str) and to.isdigit() and isinstance(text, str) and text
        except (ValueError, KeyError, TypeError, AssertionError):
            return web.json_response({"error": "bad_request"}, status=400)
        if self._failures:
            return web.json_response({"error": "failed"}, status=self._failures.pop(0))
        self.messages.append((to, text))
        return web.json_response({"id": f"sms-{len(self.messages)}", "status": "accepted"})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/messages", self._message)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
