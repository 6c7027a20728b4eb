"""Kakao, as far as the tests need it, written from ``shared/reference/kakao.md`` alone (not from our code).

- ``check_skill_response``: what Kakao would refuse in a SkillResponse 2.0 (§3 limits), as a list of
  problems (empty = Kakao shows it);
- ``KakaoUser``: KakaoTalk plus Open Builder's fallback block — posts real-format SkillPayload JSON to the
  skill endpoint and taps a quick reply or card button the way Kakao does (its ``messageText`` as the
  utterance, its ``extra`` as ``action.clientExtra``), checking every answer against the limits;
- ``KakaoEventApi``: the chatbot Event API (§6) on loopback — ``POST /v2/bots/{botId}/talk`` and
  ``GET /v1/tasks/{taskId}`` — recording every call.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# ------------------------------------------------------------------------------ the §3 limits

COMPONENTS = {"simpleText", "simpleImage", "textCard", "basicCard", "commerceCard", "listCard", "itemCard", "carousel"}
BUTTON_ACTIONS = {"webLink", "message", "phone", "block", "share", "operator"}


def units(text: str) -> int:
    """Characters as a JavaScript client counts them (UTF-16 code units): never fewer than len()."""
    return max(len(text), len(text.encode("utf-16-le")) // 2)


def _check_buttons(where: str, buttons: Any, problems: list[str]) -> None:
    if not isinstance(buttons, list):
        problems.append(f"{where}.buttons is not a list")
        return
    if len(buttons) > 3:
        problems.append(f"{where} has {len(buttons)} buttons (max 3)")
    for i, b in enumerate(buttons):
        w = f"{where}.buttons[{i}]"
        if not isinstance(b, dict):
            problems.append(f"{w} is not an object")
            continue
        label = b.get("label")
        if not isinstance(label, str) or not label or units(label) > 14:
            problems.append(f"{w}.label {label!r} is empty or over 14 chars")
        action = b.get("action")
        if action not in BUTTON_ACTIONS:
            problems.append(f"{w}.action {action!r} is unknown")
        need = {"message": "messageText", "phone": "phoneNumber", "webLink": "webLinkUrl", "block": "blockId"}
        if action in need and not isinstance(b.get(need[action]), str):
            problems.append(f"{w} ({action}) has no {need[action]}")
        if "extra" in b and not isinstance(b["extra"], dict):
            problems.append(f"{w}.extra is not an object")


def check_skill_response(resp: Any) -> list[str]:
    problems: list[str] = []
    try:
        raw = json.dumps(resp, ensure_ascii=False).encode()
    except (TypeError, ValueError):
        return ["not JSON-serialisable"]
    if len(raw) > 30 * 1000:
        problems.append(f"response is {len(raw)} bytes (max 30 KB)")
    if not isinstance(resp, dict) or resp.get("version") != "2.0":
        return [*problems, "version is not '2.0'"]
    template = resp.get("template")
    if not isinstance(template, dict):
        return [*problems, "no template"]
    outputs = template.get("outputs")
    if not isinstance(outputs, list) or not 1 <= len(outputs) <= 3:
        problems.append(f"outputs must be 1–3, got {outputs if not isinstance(outputs, list) else len(outputs)}")
        outputs = outputs if isinstance(outputs, list) else []
    for i, out in enumerate(outputs):
        w = f"outputs[{i}]"
        if not isinstance(out, dict) or len(out) != 1 or next(iter(out)) not in COMPONENTS:
            problems.append(f"{w} is not exactly one known component: {out!r}"[:200])
            continue
        kind, body = next(iter(out.items()))
        w += f".{kind}"
        if not isinstance(body, dict):
            problems.append(f"{w} is not an object")
            continue
        if kind == "simpleText":
            text = body.get("text")
            if not isinstance(text, str) or not text.strip() or units(text) > 1000:
                problems.append(
                    f"{w}.text is empty or over 1000 chars ({units(text) if isinstance(text, str) else text})"
                )
        elif kind == "textCard":
            title, desc = body.get("title", ""), body.get("description", "")
            if not isinstance(title, str) or not isinstance(desc, str):
                problems.append(f"{w} title/description are not strings")
                continue
            if not (title.strip() or desc.strip()):
                problems.append(f"{w} has neither title nor description")
            if units(title) > 50:
                problems.append(f"{w}.title over 50 chars")
            if units(title) + units(desc) > 400:
                problems.append(f"{w} title+description {units(title) + units(desc)} > 400")
            _check_buttons(w, body.get("buttons", []), problems)
        elif kind == "basicCard":
            title, desc = body.get("title", ""), body.get("description", "")
            if not isinstance(title, str) or units(title) > 50:
                problems.append(f"{w}.title over 50 chars")
            if not isinstance(desc, str) or units(desc) > 230:
                problems.append(f"{w}.description over 230 chars")
            thumb = body.get("thumbnail")
            if not isinstance(thumb, dict) or not isinstance(thumb.get("imageUrl"), str):
                problems.append(f"{w}.thumbnail.imageUrl is required")
            _check_buttons(w, body.get("buttons", []), problems)
        else:
            problems.append(f"{w}: the renderer is not expected to produce {kind}")
    quick = template.get("quickReplies", [])
    if not isinstance(quick, list) or len(quick) > 10:
        problems.append(
            f"quickReplies must be a list of at most 10, got {len(quick) if isinstance(quick, list) else quick}"
        )
        quick = []
    for i, q in enumerate(quick):
        w = f"quickReplies[{i}]"
        if not isinstance(q, dict):
            problems.append(f"{w} is not an object")
            continue
        label = q.get("label")
        if not isinstance(label, str) or not label or units(label) > 14:
            problems.append(f"{w}.label {label!r} is empty or over 14 chars")
        if q.get("action") not in ("message", "block"):
            problems.append(f"{w}.action {q.get('action')!r} must be message or block")
        if q.get("action") == "message" and not isinstance(q.get("messageText"), str):
            problems.append(f"{w} has no messageText")
        if "extra" in q and not isinstance(q["extra"], dict):
            problems.append(f"{w}.extra is not an object")
    return problems


def taps(resp: dict[str, Any]) -> list[dict[str, Any]]:
    """Every tappable that talks back (card buttons with action message, then quick replies)."""
    out: list[dict[str, Any]] = []
    for comp in resp["template"]["outputs"]:
        body = next(iter(comp.values()))
        out += [b for b in body.get("buttons", []) if b.get("action") == "message"]
    return out + list(resp["template"].get("quickReplies", []))


def texts(resp: dict[str, Any]) -> str:
    parts = []
    for comp in resp["template"]["outputs"]:
        body = next(iter(comp.values()))
        parts += [str(body[k]) for k in ("title", "text", "description") if body.get(k)]
    return "\n".join(parts)


# ------------------------------------------------------------------------------ the user

_block_ids = itertools.count(1)


def skill_payload(
    user_id: str,
    utterance: str,
    client_extra: dict[str, Any] | None = None,
    *,
    trigger: str = "TEXT_INPUT",
    properties: dict[str, Any] | None = None,
    lang: str = "ko",
) -> dict[str, Any]:
    """A SkillPayload as Open Builder's fallback block sends it (§2)."""
    props = {"botUserKey": user_id, "plusfriendUserKey": f"pf-{user_id}", "isFriend": True}
    return {
        "intent": {"id": "fallback", "name": "폴백 블록"},
        "userRequest": {
            "timezone": "Asia/Seoul",
            "utterance": utterance,
            "lang": lang,
            "params": {"surface": "Kakaotalk.plusfriend"},
            "block": {"id": "fallback", "name": "폴백 블록"},
            "user": {"id": user_id, "type": "botUserKey", "properties": props if properties is None else properties},
        },
        "bot": {"id": "bot-standin", "name": "밤나무 장터"},
        "action": {
            "id": f"a{next(_block_ids)}",
            "name": "chestnut",
            "params": {},
            "detailParams": {},
            "clientExtra": client_extra or {},
        },
        "flow": {"trigger": {"type": trigger}},
        "contexts": [],
    }


@dataclass
class KakaoUser:
    """A person in KakaoTalk talking to the bot through the skill endpoint, over HTTP."""

    http: Any  # aiohttp TestClient or ClientSession with a base URL
    user_id: str
    headers: dict[str, str]
    path: str = "/kakao/skill"
    last: dict[str, Any] | None = None
    transcript: list[str] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)

    async def post(self, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(self.path, json=body, headers=self.headers) as r:
            assert r.status == 200, f"{r.status}: {await r.text()}"
            resp: dict[str, Any] = await r.json()
        problems = check_skill_response(resp)
        assert not problems, f"Kakao would refuse this answer: {problems}\n{json.dumps(resp, ensure_ascii=False)}"
        self.last = resp
        self.responses.append(resp)
        self.transcript.append(f"< {texts(resp)}")
        return resp

    async def start(self) -> dict[str, Any]:
        """The channel's welcome block: its "시작하기" quick reply carries ``{"p": "home"}``."""
        self.transcript.append("[시작하기]")
        return await self.post(
            skill_payload(self.user_id, "시작하기", {"p": "home"}, trigger="QUICKREPLY_BUTTON_MESSAGE")
        )

    async def say(self, text: str) -> dict[str, Any]:
        self.transcript.append(f"> {text}")
        return await self.post(skill_payload(self.user_id, text))

    def labels(self) -> list[str]:
        assert self.last is not None
        return [b["label"] for b in taps(self.last)]

    def find(self, label_part: str) -> dict[str, Any]:
        assert self.last is not None
        found = [b for b in taps(self.last) if label_part in b["label"]]
        assert found, f"no button with {label_part!r}; the answer has {self.labels()}"
        return found[0]

    async def tap(self, label_part: str) -> dict[str, Any]:
        b = self.find(label_part)
        self.transcript.append(f"[{b['label']}]")
        quick = b in self.last.get("template", {}).get("quickReplies", []) if self.last else False
        trigger = "QUICKREPLY_BUTTON_MESSAGE" if quick else "CARD_BUTTON_MESSAGE"
        return await self.post(skill_payload(self.user_id, b["messageText"], b.get("extra"), trigger=trigger))

    @property
    def text(self) -> str:
        assert self.last is not None
        return texts(self.last)


# ------------------------------------------------------------------------------ the Event API


@dataclass
class KakaoEventApi:
    """``bot-api.kakao.com`` on 127.0.0.1: accepts talk events for one bot and reports task outcomes."""

    bot_id: str = "bot-1"
    rest_key: str = "rest-key-standin"
    unreachable: set[str] = field(default_factory=set)  # user ids whose delivery fails
    pending_polls: int = 1  # how many task polls answer "still processing" before the outcome
    calls: list[dict[str, Any]] = field(default_factory=list)
    talks: list[dict[str, Any]] = field(default_factory=list)
    _tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    base_url: str = ""

    async def __aenter__(self) -> KakaoEventApi:
        app = web.Application()
        app.add_routes([web.post("/v2/bots/{bot_id}/talk", self._talk), web.get("/v1/tasks/{task_id}", self._task)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"KakaoAK {self.rest_key}"

    async def _talk(self, request: web.Request) -> web.Response:
        self.calls.append({"method": "POST", "path": request.path, "auth": request.headers.get("Authorization")})
        if not self._authorised(request):
            return web.json_response({"code": -401, "msg": "unauthorized"}, status=401)
        if request.match_info["bot_id"] != self.bot_id:
            return web.json_response({"code": -404, "msg": "no such bot"}, status=404)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"code": -400, "msg": "bad json"}, status=400)
        users = body.get("user") if isinstance(body, dict) else None
        event = body.get("event") if isinstance(body, dict) else None
        if (
            not isinstance(users, list)
            or not 1 <= len(users) <= 100
            or not isinstance(event, dict)
            or not isinstance(event.get("name"), str)
            or not all(
                isinstance(u, dict)
                and u.get("type") in ("botUserKey", "plusfriendUserKey", "appUserId")
                and isinstance(u.get("id"), str)
                for u in users
            )
        ):
            return web.json_response({"code": -400, "msg": "bad request"}, status=400)
        self.talks.append(body)
        task_id = uuid.uuid4().hex
        ids = [u["id"] for u in users]
        failed = [i for i in ids if i in self.unreachable]
        self._tasks[task_id] = {
            "polls": 0,
            "result": {
                "status": "ALL_SUCCESS" if not failed else ("FAIL" if len(failed) == len(ids) else "PARTIAL_SUCCESS"),
                "allRequestCount": len(ids),
                "successCount": len(ids) - len(failed),
                "fail": {
                    "count": len(failed),
                    "list": [{"userId": i, "errorMsg": "user is not a friend"} for i in failed],
                },
            },
        }
        return web.json_response({"taskId": task_id, "status": "SUCCESS", "timestamp": 1764000000000})

    async def _task(self, request: web.Request) -> web.Response:
        self.calls.append({"method": "GET", "path": request.path, "auth": request.headers.get("Authorization")})
        if not self._authorised(request):
            return web.json_response({"code": -401, "msg": "unauthorized"}, status=401)
        task = self._tasks.get(request.match_info["task_id"])
        if task is None:
            return web.json_response({"code": -404, "msg": "no such task"}, status=404)
        task["polls"] += 1
        if task["polls"] <= self.pending_polls:
            return web.json_response(
                {
                    "status": "PROCESSING",
                    "allRequestCount": task["result"]["allRequestCount"],
                    "successCount": 0,
                    "fail": {"count": 0, "list": []},
                }
            )
        return web.json_response(task["result"])
