"""The web chat: the dialogue core in a browser page, so anyone can try the market with no messenger.

``GET /chat`` serves one static page (``bots/static/chat.*``: no build step, no CDN). The page talks
JSON to two routes:

- ``GET /chat/api/start[?start=<deep link>]`` — the first screen (``/start``, as a messenger would send);
- ``POST /chat/api/message`` with ``{"text": …, "payload": …, "id": "<client message id>"}`` — exactly
  one of ``text`` (typed: a search, or the answer a flow waits for) and ``payload`` (a tapped button).

Identity is a web session: 32 random bytes (256 bits, ``secrets``) in an HttpOnly, SameSite=Lax cookie,
set on the first visit as ``<session>.<HMAC-SHA256 of it>`` under a key derived from the master key.
A new session becomes a member (a key and a ``member.join`` entry) at its first message, so new
sessions are limited per client address and overall, and only a session this server issued counts.
A cookie it did not sign (made up, damaged, unsigned, or signed under an earlier master key) counts
only when its session is already a web member's identity — that member is who the cookie has always
named, and it gets a signed cookie back — and otherwise is no session at all: the visitor gets a new
one, under the same limits. Signed rather than stored: any web process with the master key checks a
cookie without a database row per visit, and a page load that never sends a message writes nothing.
The session never names another web identity (the demo's operator is ``web``/``op``, not of that shape).

The client's message id makes a retry harmless: it becomes the ``Incoming.key`` (hashed together with
the session, so two browsers that both count from 1 never collide), and the core answers a repeat with
an empty screen and changes nothing. Bad input is a 400 ``{"error", "message"}``, never a 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from importlib import resources
from typing import Any

from aiohttp import web

from bots.dialogue import Dialogue, FloodGate
from bots.messages import PAYLOAD_MAX_BYTES, Button, Incoming, Screen
from commerce.members import service as members
from ledger.errors import ChestnutError
from ledger.jsonbody import read_json

log = logging.getLogger("chestnut.webchat")

COOKIE = "chestnut_chat"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
TEXT_MAX_CHARS = 1000
BODY_MAX_BYTES = 16 * 1024
CLIENT_ID_MAX_CHARS = 64
# secrets.token_urlsafe(32), then "." and its HMAC-SHA256 in the same alphabet (absent from unsigned cookies)
_COOKIE_RE = re.compile(r"([A-Za-z0-9_-]{43})(?:\.([A-Za-z0-9_-]{43}))?")
SESSION_KEY_PURPOSE = "webchat-session"
_CLIENT_ID_RE = re.compile(r"[\x21-\x7e]{1,64}")  # printable ASCII, no spaces
_DEEP_LINK_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_LANG_RE = re.compile(r"[A-Za-z]{1,8}")
_PHONE_KEEP = re.compile(r"[^0-9+*#]")
_STATIC = {"chat.js": "application/javascript", "chat.css": "text/css"}
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' https: http: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}


class BadChatRequest(ChestnutError):
    """A web chat request the page itself would never send (not JSON, wrong types, too long)."""

    code = "bad_request"


class TooManySessions(ChestnutError):
    """More new sessions (each a new member at its first message) than the limits allow just now."""

    code = "too_many_sessions"
    http_status = 429


def button_json(button: Button) -> dict[str, str] | None:
    """One button for the page; ``None`` for a link the browser should not follow (not http/https)."""
    if button.payload is not None:
        return {"label": button.label, "kind": "payload", "payload": button.payload}
    if button.phone is not None:
        return {"label": button.label, "kind": "phone", "phone": _PHONE_KEEP.sub("", button.phone)}
    if button.url is not None:
        if not button.url.lower().startswith(("https://", "http://")):
            log.warning("dropped a url button with a scheme the web chat does not open: %r", button.label)
            return None
        return {"label": button.label, "kind": "url", "url": button.url}
    if button.share_location:
        return None  # Telegram's location button; the page's text asks for the address instead
    return {"label": button.label, "kind": "ask_phone"}  # the web cannot vouch: the page asks for the number


def screen_json(screen: Screen) -> dict[str, Any]:
    """The one place a ``Screen`` becomes what the page renders."""

    def row(buttons: tuple[Button, ...]) -> list[dict[str, str]]:
        return [b for b in map(button_json, buttons) if b is not None]

    replies = []
    for reply in screen.replies:
        image = (
            reply.image_url
            if reply.image_url and reply.image_url.lower().startswith(("https://", "http://", "/"))
            else None
        )
        rows = [r for r in map(row, reply.buttons) if r]
        replies.append({"text": reply.text, "title": reply.title, "image_url": image, "buttons": rows})
    return {"replies": replies, "menu": row(screen.menu), "expects": screen.expects, "lang": screen.lang}


def lang_hint(accept_language: str | None) -> str | None:
    """The first language tag's primary subtag (``"en-US,en;q=0.9"`` → ``"en"``)."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip().split("-")[0]
    return first.lower() if _LANG_RE.fullmatch(first) else None


def message_key(session: str, client_id: str) -> str:
    """The dedupe key: one per (session, client id), within the core's 64-character bound."""
    return "w" + hashlib.sha256(f"{session}\n{client_id}".encode()).hexdigest()[:40]


def parse_message(body: object) -> tuple[str | None, str | None, str | None]:
    """``(text, payload, client_id)`` from the parsed request body, or ``BadChatRequest`` saying what is wrong."""
    if not isinstance(body, dict):
        raise BadChatRequest("the body must be a JSON object")
    text, payload, client_id = body.get("text"), body.get("payload"), body.get("id")
    if text is not None and not isinstance(text, str):
        raise BadChatRequest("text must be a string")
    if payload is not None and not isinstance(payload, str):
        raise BadChatRequest("payload must be a string")
    if client_id is not None and not (isinstance(client_id, str) and _CLIENT_ID_RE.fullmatch(client_id)):
        raise BadChatRequest(f"id must be 1–{CLIENT_ID_MAX_CHARS} printable ASCII characters")
    if isinstance(text, str):
        if len(text) > TEXT_MAX_CHARS:
            raise BadChatRequest(f"text must be at most {TEXT_MAX_CHARS} characters", max_chars=TEXT_MAX_CHARS)
        text = text.strip() or None
    if isinstance(payload, str) and not (
        payload and payload.isascii() and payload.isprintable() and len(payload) <= PAYLOAD_MAX_BYTES
    ):
        raise BadChatRequest(f"payload must be 1–{PAYLOAD_MAX_BYTES} printable ASCII characters")
    if (text is None) == (payload is None):
        raise BadChatRequest("send exactly one of text (not blank) and payload")
    return text, payload, client_id


class WebChat:
    """The routes under ``/chat``. Translates HTTP to ``Incoming`` and ``Screen`` to JSON; nothing else."""

    def __init__(
        self,
        dialogue: Dialogue,
        *,
        session_key: bytes,
        new_sessions_per_address: int = 30,
        new_sessions_overall: int = 120,
        new_sessions_window_s: float = 60.0,
    ):
        self.dialogue = dialogue
        self.session_key = session_key
        self.new_sessions_window_s = new_sessions_window_s
        self.new_per_address = FloodGate(new_sessions_per_address, new_sessions_window_s)
        self.new_overall = FloodGate(new_sessions_overall, new_sessions_window_s)
        static = resources.files("bots") / "static"
        self.page_html = (static / "chat.html").read_bytes()
        self.assets = {name: (static / name).read_bytes() for name in _STATIC}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/chat", self.page),
            web.get("/chat/", self.page),
            web.get("/chat/static/{name}", self.asset),
            web.get("/chat/api/start", self.start),
            web.post("/chat/api/message", self.message),
        ]

    async def page(self, request: web.Request) -> web.Response:
        _session, cookie = await self._session(request)
        response = web.Response(body=self.page_html, content_type="text/html", charset="utf-8", headers=_HEADERS)
        if cookie is not None:
            self._set_cookie(request, response, cookie)
        return response

    async def asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.assets:
            raise web.HTTPNotFound(reason="no such file")
        return web.Response(body=self.assets[name], content_type=_STATIC[name], charset="utf-8", headers=_HEADERS)

    async def start(self, request: web.Request) -> web.Response:
        link = request.query.get("start", "")
        if link and not _DEEP_LINK_RE.fullmatch(link):
            raise BadChatRequest("start must be 1–64 letters, digits, '-' or '_'")
        return await self._answer(request, text=f"/start {link}".strip(), payload=None, client_id=None)

    async def message(self, request: web.Request) -> web.Response:
        body = await read_json(request, max_bytes=BODY_MAX_BYTES, error=BadChatRequest)
        text, payload, client_id = parse_message(body)
        return await self._answer(request, text=text, payload=payload, client_id=client_id)

    async def _answer(
        self, request: web.Request, *, text: str | None, payload: str | None, client_id: str | None
    ) -> web.Response:
        session, cookie = await self._session(request)
        screen = await self.dialogue.handle(
            Incoming(
                "web",
                session,
                text=text,
                payload=payload,
                key=message_key(session, client_id) if client_id is not None else None,
                lang_hint=lang_hint(request.headers.get("Accept-Language")),
            )
        )
        response = web.Response(
            text=json.dumps(screen_json(screen), ensure_ascii=False, separators=(",", ":")),
            content_type="application/json",
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )
        if cookie is not None:
            self._set_cookie(request, response, cookie)
        return response

    def sign(self, session: str) -> str:
        """The cookie for ``session``: the session, ".", and its HMAC under the session key."""
        mac = hmac.new(self.session_key, session.encode(), hashlib.sha256).digest()
        return f"{session}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    async def _session(self, request: web.Request) -> tuple[str, str | None]:
        """The request's session, and the cookie to set on the response (``None``: keep the one sent)."""
        sent = _COOKIE_RE.fullmatch(request.cookies.get(COOKIE, ""))
        if sent is not None:
            session = sent[1]
            if hmac.compare_digest(self.sign(session), sent[0]):
                return session, None
            if await self._is_member(session):  # issued unsigned, or signed under an earlier master key
                return session, self.sign(session)
        session = self._new_session(request.remote or "?")
        return session, self.sign(session)

    async def _is_member(self, session: str) -> bool:
        async with self.dialogue.db.snapshot() as snap:
            return await members.by_identity(snap, "web", session) is not None

    def _new_session(self, address: str) -> str:
        # The address first: a refused address must not use up everyone's allowance.
        if not self.new_per_address.allow("web-new", address):
            raise TooManySessions(
                "too many new chat sessions from this address; please wait a minute",
                limit="address",
                retry_after_s=self.new_sessions_window_s,
            )
        if not self.new_overall.allow("web-new", "*"):
            raise TooManySessions(
                "the chat is taking too many new visitors just now; please try again in a minute",
                limit="overall",
                retry_after_s=self.new_sessions_window_s,
            )
        return secrets.token_urlsafe(32)

    @staticmethod
    def _set_cookie(request: web.Request, response: web.StreamResponse, cookie: str) -> None:
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=COOKIE_MAX_AGE_S,
            path="/chat",
            httponly=True,
            samesite="Lax",
            secure=request.secure,
        )
