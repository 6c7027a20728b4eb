"""Pushes to KakaoTalk through the chatbot Event API (``shared/reference/kakao.md`` §6).

``POST {api_base}/v2/bots/{botId}/talk`` with ``Authorization: KakaoAK {REST API key}`` asks Kakao to
fire an event block for up to 100 users; its answer (``taskId``) only means *accepted*. The outcome per
user comes from ``GET {api_base}/v1/tasks/{taskId}``, polled until every user is accounted for; users
in ``fail.list`` (not a channel friend any more, blocked, unknown) are ``"unreachable"`` on Kakao, so
``bots.notify.record_reach`` stops pushing there and the member is reached on their other messenger.

The event block in Open Builder (its event name is ``event_name``, "chestnut_push" by default) shows
``event.data.text``: a push is one bubble of plain text (ads must be one bubble anyway), cut to the
1000 characters a simpleText may hold.

A problem that is not about the user — a wrong REST key, Kakao down, a malformed answer — raises
``KakaoPushFailed`` instead: marking every member unreachable because of our configuration would
silence them for good. The REST key goes only into the Authorization header, never into a log or error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp

from bots.kakao_render import MAX_SIMPLE_TEXT, cut
from bots.messages import Screen
from bots.notify import PushOutcome
from ledger.errors import ChestnutError

log = logging.getLogger("chestnut.kakao.events")

DEFAULT_API_BASE = "https://bot-api.kakao.com"
MAX_USERS_PER_REQUEST = 100


class KakaoPushFailed(ChestnutError):
    """Kakao's Event API refused or failed for reasons that are not the recipient's."""

    code = "kakao_push_failed"
    http_status = 502


def push_text(screen: Screen) -> str:
    """A screen as the one text bubble an event block shows."""
    return cut("\n\n".join(r.text for r in screen.replies if r.text).strip(), MAX_SIMPLE_TEXT)


class KakaoEventNotifier:
    """``bots.notify.Notifier`` for KakaoTalk: one push, or ``push_many`` in batches of 100."""

    channel = "kakao"

    def __init__(
        self,
        http: aiohttp.ClientSession,
        api_base: str | None,
        bot_id: str,
        rest_key: str,
        *,
        event_name: str = "chestnut_push",
        user_type: str = "botUserKey",
        timeout_s: float = 5.0,
        poll_interval_s: float = 0.5,
        poll_attempts: int = 10,
    ) -> None:
        self.http = http
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.bot_id, self.event_name, self.user_type = bot_id, event_name, user_type
        self._auth = {"Authorization": f"KakaoAK {rest_key}"}
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.poll_interval_s, self.poll_attempts = poll_interval_s, poll_attempts

    @classmethod
    def configured(
        cls, http: aiohttp.ClientSession, bot_id: str | None, rest_key: str | None, api_base: str | None
    ) -> KakaoEventNotifier | None:
        """The notifier when ``CHESTNUT_KAKAO_BOT_ID`` and ``CHESTNUT_KAKAO_REST_KEY`` are both set."""
        return cls(http, api_base, bot_id, rest_key) if bot_id and rest_key else None

    async def push(self, external_id: str, screen: Screen) -> PushOutcome:
        return (await self.push_many([external_id], screen))[external_id]

    async def push_many(self, external_ids: Sequence[str], screen: Screen) -> dict[str, PushOutcome]:
        """The same screen to many users: one request per 100, then each task's outcome per user."""
        ids = list(dict.fromkeys(external_ids))
        outcomes: dict[str, PushOutcome] = {}
        text = push_text(screen)
        for start in range(0, len(ids), MAX_USERS_PER_REQUEST):
            batch = ids[start : start + MAX_USERS_PER_REQUEST]
            task_id = await self._talk(batch, text)
            failed = await self._failures(task_id, len(batch))
            outcomes.update({i: "unreachable" if i in failed else "ok" for i in batch})
        return outcomes

    async def _talk(self, batch: list[str], text: str) -> str:
        body = {
            "event": {"name": self.event_name, "data": {"text": text}},
            "user": [{"type": self.user_type, "id": i} for i in batch],
        }
        answer = await self._call("POST", f"/v2/bots/{self.bot_id}/talk", body)
        task_id = answer.get("taskId")
        if answer.get("status") != "SUCCESS" or not isinstance(task_id, str | int):
            raise KakaoPushFailed("Kakao did not accept the push", status=str(answer.get("status")))
        return str(task_id)

    async def _failures(self, task_id: str, expected: int) -> set[str]:
        """User ids the task failed for; users still unaccounted after polling are taken as delivered."""
        for attempt in range(self.poll_attempts):
            answer = await self._call("GET", f"/v1/tasks/{task_id}")
            fail = answer.get("fail") if isinstance(answer.get("fail"), dict) else {}
            assert isinstance(fail, dict)
            listed = fail.get("list") if isinstance(fail.get("list"), list) else []
            assert isinstance(listed, list)
            failed = {str(f["userId"]) for f in listed if isinstance(f, dict) and "userId" in f}
            success = answer.get("successCount")
            done = isinstance(success, int) and success + len(failed) >= expected
            if done:
                return failed
            if attempt + 1 < self.poll_attempts:
                await asyncio.sleep(self.poll_interval_s)
        log.warning("kakao push task %s still unfinished after %d polls", task_id, self.poll_attempts)
        return failed

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            async with self.http.request(
                method, self.api_base + path, json=body, headers=self._auth, timeout=self.timeout
            ) as r:
                if r.status >= 400:
                    raise KakaoPushFailed(f"Kakao's Event API answered {r.status} to {method} {path}", status=r.status)
                answer = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise KakaoPushFailed(f"Kakao's Event API could not be reached ({type(exc).__name__})") from None
        if not isinstance(answer, dict):
            raise KakaoPushFailed("Kakao's Event API answered something that is not a JSON object")
        return answer
