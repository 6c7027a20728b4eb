"""python-telegram-bot's HTTP transport over aiohttp, for broadcasts (ads at up to 1,000 messages/s).

PTB's default transport (httpx/httpcore) spends about a millisecond of CPU per request on this
machine — its connection pool re-scans every waiting request, and without ``sniffio`` installed it
retries a failing import on every lock — which caps an ad broadcast far below Telegram's paid-broadcast
rate. The Bot API calls, their parameters and PTB's error mapping (``RetryAfter``, ``Forbidden`` …) are
unchanged: only the bytes go through aiohttp's client instead.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """``telegram.request.BaseRequest`` on one ``aiohttp.ClientSession`` with ``connections`` sockets."""

    def __init__(self, *, connections: int = 64, timeout_s: float = 10.0) -> None:
        self.connections, self.timeout_s = connections, timeout_s
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self.timeout_s

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",))

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        seconds = self.timeout_s if isinstance(read_timeout, DefaultValue) or read_timeout is None else read_timeout
        body: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            if request_data.contains_files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, part in request_data.multipart_data.items():
                    filename, content, mime = (*part, None)[:3] if isinstance(part, tuple) else (name, part, None)
                    form.add_field(name, content, filename=filename, content_type=mime)
                body = form
            else:
                body = request_data.json_parameters
        try:
            async with self._session.request(
                method,
                url,
                data=body,
                headers={"User-Agent": self.USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=seconds),
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}") from exc
