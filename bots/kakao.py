"""The KakaoTalk skill endpoint: Kakao's SkillPayload in, a SkillResponse 2.0 out (``POST /kakao/skill``).

Kakao i Open Builder sends every message through one fallback block that calls this skill; we route by
our own conversation state (``bots.dialogue``), so the adapter only translates
(``shared/reference/kakao.md`` §2, §4):

- ``userRequest.user.id`` (the botUserKey) is the member's Kakao identity; ``plusfriendUserKey`` and
  ``appUserId`` — camelCase or the snake_case seen in real traffic — go to ``Incoming.extra_ids``;
- a tapped quick reply or card button carries ``{"p": payload}`` in its ``extra``, which comes back as
  ``action.clientExtra``; without it, ``utterance`` is typed text;
- ``userRequest.lang`` "ko"/"kr"/"en" is the language hint for a first contact.

Who may call: when ``CHESTNUT_KAKAO_SKILL_SECRET`` is set, the header named by
``CHESTNUT_KAKAO_SKILL_HEADER`` must carry it (compared in constant time), else 401. With no secret
set, calls are accepted only in ``development`` (``make run``, a local Open Builder test) and refused
with 401 in ``test`` and ``production``: an endpoint that moves money is never open by omission.

What a caller gets back: junk that is not JSON or not Kakao-shaped (``ledger.jsonbody``: not UTF-8,
nested too deep, over 256 KiB …) → 400 ``{"error", "message"}``; a Kakao-shaped payload with missing or
wrong-typed fields, or a string no text can hold (a lone surrogate, U+0000) → 200 with a valid
SkillResponse saying kindly that something went wrong (Kakao shows a 4xx as a broken bot); never a 500.
Kakao waits 5 seconds and never retries, so a turn that takes longer than ``deadline_s`` (4 s) is answered
with "please tap again" while the work finishes in the background — it is committed, and the next tap
shows it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bots.dialogue import Dialogue
from bots.kakao_render import render, text_response
from bots.messages import PAYLOAD_MAX_BYTES, Button, Incoming, Reply, Screen
from bots.texts import t
from ledger.errors import ChestnutError
from ledger.jsonbody import check, read_json

log = logging.getLogger("chestnut.kakao")

ROUTE = "/kakao/skill"
MAX_BODY_BYTES = 256 * 1024  # a SkillPayload is a few KB; anything near this is not Kakao
MAX_USER_ID = 128  # botUserKey is up to 70 chars; a little slack, never unbounded
MAX_UTTERANCE = 2000

KAKAO_SHAPED = ("userRequest", "action", "bot", "intent")


class NotKakao(ChestnutError):
    """The body is not a SkillPayload at all (not JSON, not an object, none of Kakao's sections)."""

    code = "not_a_skill_payload"


class BadSkillPayload(ChestnutError):
    """Kakao-shaped, but a field we need is missing or of the wrong type: answered kindly, with 200."""

    code = "bad_skill_payload"


def _lang(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    if value in ("ko", "kr") or value.startswith("ko"):
        return "ko"
    if value.startswith("en"):
        return "en"
    return None


def _obj(parent: dict[str, Any], key: str, *, required: bool = False) -> dict[str, Any]:
    value = parent.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise BadSkillPayload(f"{key} must be an object", field=key)
    return value


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _payload(extra: dict[str, Any]) -> str | None:
    value = extra.get("p")
    if isinstance(value, str) and value and value.isascii() and len(value) <= PAYLOAD_MAX_BYTES:
        return value
    return None  # a button from elsewhere (or tampered): the utterance is taken as typed text


def kakao_shaped(body: object) -> dict[str, Any]:
    """The parsed body as a Kakao-shaped object, or ``NotKakao``."""
    if not isinstance(body, dict) or not any(k in body for k in KAKAO_SHAPED):
        raise NotKakao("the body is not a Kakao SkillPayload (no userRequest)")
    return body


def parse_skill_payload(body: dict[str, Any]) -> Incoming:
    """A SkillPayload as one ``Incoming``; ``BadSkillPayload`` names the first field that is wrong."""
    request = _obj(body, "userRequest", required=True)
    user = _obj(request, "user", required=True)
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > MAX_USER_ID:
        raise BadSkillPayload("userRequest.user.id must be a non-empty string", field="userRequest.user.id")
    props = _obj(user, "properties")
    extra_ids = {}
    for name, keys in (
        ("plusfriendUserKey", ("plusfriendUserKey", "plusfriend_user_key")),
        ("appUserId", ("appUserId", "app_user_id")),
    ):
        found = next((v for k in keys if (v := _str(props.get(k))) is not None), None)
        if found is not None:
            extra_ids[name] = found[:MAX_USER_ID]
    utterance = request.get("utterance", "")
    if not isinstance(utterance, str):
        raise BadSkillPayload("userRequest.utterance must be a string", field="userRequest.utterance")
    action = _obj(body, "action")
    payload = _payload(_obj(action, "clientExtra"))
    return Incoming(
        "kakao",
        user_id.strip(),
        text=None if payload else utterance.strip()[:MAX_UTTERANCE],
        payload=payload,
        lang_hint=_lang(request.get("lang")),
        extra_ids=extra_ids,
    )


@dataclass(frozen=True)
class SkillGuard:
    """Who may call the skill: the configured secret header, or (with none) development only."""

    secret: bytes | None
    header: str = "X-Chestnut-Skill-Secret"
    environment: str = "production"

    @classmethod
    def configured(cls, secret: str | None, header: str, environment: str) -> SkillGuard:
        return cls(secret.encode() if secret else None, header, environment)

    @property
    def enabled(self) -> bool:
        """Whether any request can pass at all: a secret is set, or this is development."""
        return self.secret is not None or self.environment == "development"

    def allows(self, request: web.Request) -> bool:
        if self.secret is None:
            return self.environment == "development"
        given = request.headers.get(self.header, "").encode()
        return hmac.compare_digest(given, self.secret)


class KakaoSkill:
    """The ``POST /kakao/skill`` route over a ``Dialogue``."""

    def __init__(
        self, dialogue: Dialogue, guard: SkillGuard, *, deadline_s: float = 4.0, bot_id: str | None = None
    ) -> None:
        self.dialogue, self.guard, self.deadline_s = dialogue, guard, deadline_s
        self.bot_id = bot_id  # CHESTNUT_KAKAO_BOT_ID: a payload naming another bot is logged (not refused)
        self._late: set[asyncio.Task[Screen]] = set()  # turns running (some past the deadline)

    def routes(self) -> list[web.RouteDef]:
        return [web.post(ROUTE, self.skill)]

    async def drain(self) -> None:
        """Wait for running turns, including those past the deadline (on shutdown, before the database closes)."""
        while self._late:
            await asyncio.gather(*self._late, return_exceptions=True)

    async def skill(self, request: web.Request) -> web.Response:
        if not self.guard.allows(request):
            return _error(401, "unauthorized", f"the {self.guard.header} header is missing or wrong")
        try:
            # Characters are checked after the shape: a SkillPayload whose utterance carries a lone
            # surrogate is Kakao's, and gets the kind answer rather than a 400 that shows a broken bot.
            body = kakao_shaped(
                await read_json(request, max_bytes=MAX_BODY_BYTES, error=NotKakao, content_type=None, strings=False)
            )
        except NotKakao as exc:
            return _error(400, exc.code, exc.message)
        lang = _lang(_safe_get(body, "userRequest", "lang")) or "ko"
        if self.bot_id and _safe_get(body, "bot", "id") not in (None, self.bot_id):
            log.warning("kakao skill call names another bot id; check the Open Builder skill settings")
        try:
            check(body, error=BadSkillPayload, depth=False)
            msg = parse_skill_payload(body)
        except BadSkillPayload as exc:
            log.info("kakao payload refused: %s", exc.message)
            return _skill(text_response(t(lang, "error.generic"), _menu(lang), lang))
        return _skill(render(await self._answer(msg, lang)))

    async def _answer(self, msg: Incoming, lang: str) -> Screen:
        # The turn runs as its own task, held here until done: neither the deadline nor a dropped
        # connection cancels a unit of work half-way, and a task nobody holds could be collected.
        task = asyncio.ensure_future(self.dialogue.handle(msg))
        self._late.add(task)
        task.add_done_callback(self._late.discard)
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.deadline_s)
        except TimeoutError:
            log.warning("kakao turn took longer than %.1fs; answered 'tap again'", self.deadline_s)
            return Screen((Reply(t(lang, "kakao.busy")),), _menu(lang), lang=lang)


def _menu(lang: str) -> tuple[Button, ...]:
    return (Button(t(lang, "menu.home"), payload="home"), Button(t(lang, "menu.help"), payload="help"))


def _safe_get(body: dict[str, Any], *path: str) -> object:
    node: object = body
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _skill(response: dict[str, Any]) -> web.Response:
    return web.json_response(response, dumps=lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":")))


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)
