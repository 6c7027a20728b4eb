"""SMS: one small Protocol and an HTTP adapter for a generic JSON SMS gateway.

The gateway takes ``POST {base}/v1/messages`` with ``{"to": "01012345678", "text": "…"}`` and the API key
in the ``X-Api-Key`` header; any 2xx answer means it took the message. Korean bulk-SMS services
(and the usual aggregators) all offer an endpoint of this shape.

Nothing of the vendor crosses this boundary: callers see ``None`` or one of our typed errors. Phone
numbers and message texts (which hold one-time codes) never reach a log line or an error's data.
"""

from __future__ import annotations

import logging
from typing import Protocol

import aiohttp

from commerce.members.errors import SmsError

log = logging.getLogger("chestnut.sms")

KEY_HEADER = "X-Api-Key"
PATH = "/v1/messages"
MAX_TEXT = 500


class SmsRefused(SmsError):
    """The gateway refused this message (a number it cannot reach, a text it will not send)."""

    code = "sms_refused"
    http_status = 502


class SmsUnavailable(SmsError):
    """The gateway did not answer in time or could not be reached; trying again later is safe."""

    code = "sms_unavailable"
    http_status = 503


class SmsSender(Protocol):
    """What sign-up needs from an SMS gateway."""

    async def send(self, to: str, text: str) -> None:
        """Send ``text`` to the mobile number ``to`` (digits, 010…). Raises ``SmsRefused``,
        ``SmsUnavailable`` or ``SmsError``; returns once the gateway has taken the message."""
        ...


class HttpSms:
    """A JSON SMS gateway over HTTP. The session is the caller's (bootstrap opens and closes it)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, api_key: str, *, timeout_s: float = 10.0):
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("the SMS gateway URL must be http(s)")
        if not api_key:
            raise ValueError("the SMS gateway key is empty")
        self._session = session
        self._url = base_url.rstrip("/") + PATH
        self._headers = {KEY_HEADER: api_key}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def __repr__(self) -> str:  # never the key
        return f"HttpSms({self._url!r})"

    async def send(self, to: str, text: str) -> None:
        if not to.isdigit() or not text or len(text) > MAX_TEXT:
            raise SmsRefused("an SMS goes to a number of digits with a text of 1–500 characters")
        try:
            async with self._session.post(
                self._url, json={"to": to, "text": text}, headers=self._headers, timeout=self._timeout
            ) as resp:
                status = resp.status
                await resp.content.read(64 * 1024)  # drain (the answer's content is not needed)
        except TimeoutError:
            log.warning("SMS gateway did not answer in time")
            raise SmsUnavailable("the SMS gateway did not answer in time") from None
        except aiohttp.ClientError as exc:
            log.warning("SMS gateway unreachable: %s", type(exc).__name__)
            raise SmsUnavailable("the SMS gateway could not be reached") from None
        if status < 300:
            return
        if status in (401, 403):
            log.error("the SMS gateway refused our key (HTTP %s)", status)
            raise SmsError("the SMS gateway refused our credentials", status=status)
        if status == 429 or status >= 500:
            log.warning("SMS gateway failed (HTTP %s)", status)
            raise SmsUnavailable("the SMS gateway is busy or failing", status=status)
        log.warning("SMS gateway refused a message (HTTP %s)", status)
        raise SmsRefused("the SMS gateway refused the message", status=status)
