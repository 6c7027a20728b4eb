"""The ledger explorer: ``GET /ledger/`` pages anyone can read, and a member's own page after login.

- ``/ledger/``: the latest checkpoints with the replicas that cosigned them, totals per token (BTL in
  circulation beside the cash reserve recorded: the two must be equal) and a form to open an entry.
- ``/ledger/entry/<seq>``: one entry, decoded, with a button that checks it in the browser — if the
  reader may see it (``ledger.visibility``); a restricted entry shows anyone else only its number, its
  leaf hash and a button that checks it is in the ledger. An entry about a product links to its page
  (a listing, a provenance step, a review: ``/p/<code>``).
- ``/ledger/liabilities``: the proof-of-liabilities root of each token at the latest checkpoint
  (``ledger.liabilities``); ``/ledger/liabilities/mine``: the member's own leaf and path, checked in
  the browser.
- ``/ledger/login?t=…``: a signed link from the chat (``ledger.links``) becomes a session cookie;
  ``/ledger/me``: the entries the member signed or that moved money in their accounts — for that
  member only. ``/ledger/members/<key>/entries`` answers 403 for anyone but that key's session.
- ``/ledger/trust.json``: the keys the in-browser verifier trusts (ledger key, replicas' cosigner keys).

Every page is HTML from ``templates/ledger/`` (``web.pages``), and every failure too: a malformed number
is a 400 page, an unknown one a 404 page, a forged or expired link a 403 page; nothing here shows a
traceback. The ledger knows members only as keys, so no page here can show a name, a phone or an address.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ledger import merkle
from ledger.api import json_dumps
from ledger.errors import ChestnutError, NotFound
from ledger.links import SESSION_COOKIE, SESSION_TTL_S, BadLink, LinkSigner, existing_link_signer, link_signer
from ledger.model import TOKENS, decode_entry_json
from ledger.note import verifier_key
from ledger.service import Ledger
from ledger.storage.unit_of_work import Database, UnitOfWork
from ledger.visibility import Gate, Visibility, cache_headers
from ledger.witnessing import WitnessConfig
from web import explorer_reads as reads
from web.pages import HEADERS, STATIC_TYPES, load_static, page, problem

log = logging.getLogger("chestnut.explorer")
COOKIE = SESSION_COOKIE
MAX_SEQ = 2**62
KIND_NAMES = {
    "product.list": "상품 등록",
    "provenance.harvested": "수확",
    "provenance.processed": "가공",
    "provenance.packed": "포장",
    "delivery.pickup": "배송 출발 (기사님께 전달)",
    "delivery.confirm": "배달 완료",
    "delivery.handover": "손님이 찾아감",
    "shop.terms": "가게 영업·배달 시간",
    "order.place": "주문",
    "order.pay": "결제",
    "order.settle": "정산",
    "review.post": "후기",
    "claim.open": "문제 신고",
    "claim.answer": "가게의 답",
    "claim.decide": "사무실의 결정",
    "cash.topup": "충전",
    "cash.cashout": "출금",
    "member.join": "가입",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadNumber(ChestnutError):
    code = "bad_request"


@dataclass(frozen=True, slots=True)
class EntryLine:
    """One line of a member's list of entries."""

    seq: int
    kind_name: str
    time_ms: int
    product_path: str | None


def kind_name(kind: object) -> str:
    return KIND_NAMES.get(str(kind), str(kind))


def seq_param(raw: str | None) -> int:
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_SEQ:
        shown = (raw or "")[:20]
        raise BadNumber(f"'{shown}' is not an entry number: entry numbers are whole numbers from 0")
    return int(raw)


def html_errors(handler: Handler) -> Handler:
    """Typed refusals become friendly pages with their status; anything else is logged, never shown."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BadNumber as exc:
            return problem(
                request, 400, "기록 번호가 올바르지 않아요", "기록 번호는 0 이상의 숫자예요.", hint=exc.message
            )
        except BadLink as exc:
            expired = exc.code == "expired_link"
            return problem(
                request,
                403,
                "링크가 만료됐어요" if expired else "이 링크는 쓸 수 없어요",
                "채팅의 '💰 내 지갑'에서 '내 장부 보기'를 다시 눌러 주세요."
                if expired
                else "이 링크는 밤나무 장터가 보낸 것이 아니거나 잘렸어요. 채팅에서 '내 장부 보기'를 다시 눌러 주세요.",
            )
        except NotFound as exc:
            return problem(request, 404, "찾는 기록이 없어요", "장부에 그런 기록이 아직 없어요.", hint=exc.message)
        except ChestnutError as exc:
            return problem(request, exc.http_status, "요청을 처리하지 못했어요", exc.message)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("explorer page %s failed", request.path)
            return problem(request, 500, "잠시 문제가 생겼어요", "잠시 후 다시 열어 주세요.")

    return wrapped


class Explorer:
    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        keys: Any,
        *,
        witnesses: Sequence[WitnessConfig] = (),
        product_page: Callable[[int], str] | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.db = db
        self.ledger = ledger
        self.keys = keys
        self.gate = gate or Gate(Visibility(), keys=keys)
        self.witnesses = list(witnesses)
        # product id → the path of its public page (commerce's /p/<code>; the ledger knows no product codes)
        self.product_page = product_page
        self.static = load_static()
        self.trees = reads.LiabilityTrees()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/ledger", self.to_index),
            web.get("/ledger/", html_errors(self.index)),
            web.get("/ledger/entry", html_errors(self.entry_form)),
            web.get("/ledger/entry/{seq}", html_errors(self.entry)),
            web.get("/ledger/liabilities", html_errors(self.liabilities)),
            web.get("/ledger/liabilities/mine", html_errors(self.my_liabilities)),
            web.get("/ledger/login", html_errors(self.login)),
            web.get("/ledger/logout", self.logout),
            web.get("/ledger/me", html_errors(self.me)),
            web.get("/ledger/members/{key}/entries", html_errors(self.member_entries)),
            web.get("/ledger/trust.json", self.trust),
            web.get("/static/{name}", self.asset),
        ]

    async def startup(self, _web_app: web.Application) -> None:
        """Make the explorer's key once, so the liabilities root is published before anyone logs in."""
        async with self.db.snapshot() as snap:
            if await existing_link_signer(self.keys, snap) is not None:
                return
        try:
            async with self.db.unit_of_work() as uow:
                await link_signer(self.keys, uow)
                await uow.commit()
        except ChestnutError:
            log.warning("could not make the explorer's key; the liabilities page waits for the first login")

    # ------------------------------------------------------------------------------------ public

    async def to_index(self, _request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/ledger/")

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self.static:
            return problem(request, 404, "파일이 없어요", "그런 파일은 없어요.")
        return web.Response(
            body=self.static[name],
            content_type=STATIC_TYPES[name],
            charset="utf-8",
            headers={**HEADERS, "Cache-Control": "public, max-age=300"},
        )

    async def trust(self, _request: web.Request) -> web.StreamResponse:
        async with self.db.snapshot() as snap:
            signer = await self.ledger.ledger_signer(snap)
            witnessed = await reads.latest_witnessed_size(snap)
        data = {
            "ledger_key": verifier_key(signer.name, signer.public_key),
            "witnessed": witnessed,
            "witnesses": [{"key": str(w.key), "operator": w.operator} for w in self.witnesses],
        }
        return web.json_response(data, dumps=json_dumps, headers={"Cache-Control": "no-store"})

    async def index(self, request: web.Request) -> web.StreamResponse:
        async with self.db.snapshot() as snap:
            checkpoints = await reads.checkpoints(snap, self.witnesses, self.ledger.origin)
            totals = await reads.totals(snap)
            head = await self.ledger.head(snap)
        context = {"head_size": head.size, "totals": totals, "checkpoints": checkpoints}
        return page(request, "ledger/index.html", context)

    def _product_path(self, signed: dict[str, Any]) -> str | None:
        """The public page of the product an entry is about (a listing, a provenance step, a review…), if any."""
        body = signed.get("body")
        product = body.get("product") if isinstance(body, dict) else None
        if self.product_page is None or type(product) is not int or product < 1:
            return None
        return self.product_page(product)

    async def entry_form(self, request: web.Request) -> web.StreamResponse:
        seq = seq_param(request.query.get("seq", "").strip())
        raise web.HTTPFound(f"/ledger/entry/{seq}")

    async def entry(self, request: web.Request) -> web.StreamResponse:
        seq = seq_param(request.match_info["seq"])
        async with self.db.snapshot() as snap:
            audience = await self.gate.audience(request, snap)
            raw = await self.ledger.entry(snap, seq)
        headers = cache_headers(audience, "public, no-cache")
        if not audience.sees(self.gate.facts(raw)):
            leaf = base64.b64encode(merkle.leaf_hash(raw)).decode()
            return page(request, "ledger/restricted.html", {"seq": seq, "leaf": leaf}, headers=headers)
        signed = decode_entry_json(raw)["signed"]
        kind = str(signed.get("kind", ""))
        context = {
            "seq": seq,
            "kind": kind,
            "kind_name": kind_name(kind),
            "time_ms": int(signed.get("time", 0)),
            "actor": str(signed.get("actor", "")),
            "product_path": self._product_path(signed),
            "transfers": reads.transfers(signed),
            "body_json": json.dumps(signed.get("body", {}), ensure_ascii=False, indent=1),
        }
        return page(request, "ledger/entry.html", context, headers=headers)

    # ----------------------------------------------------------------------------- liabilities

    async def liabilities(self, request: web.Request) -> web.StreamResponse:
        async with self.db.snapshot() as snap:
            size, _note = await self.ledger.latest_checkpoint(snap)
            signer = await existing_link_signer(self.keys, snap)
            if signer is None:
                return problem(
                    request,
                    404,
                    "아직 증명이 없어요",
                    "아직 아무도 공개 장부에 로그인하지 않아 합계 증명을 만들지 않았어요.",
                )
            trees = [await self.trees.tree(snap, signer, token, size) for token in TOKENS]
        return page(request, "ledger/liabilities.html", {"size": size, "trees": trees})

    async def my_liabilities(self, request: web.Request) -> web.StreamResponse:
        async with self.db.snapshot() as snap:
            me, signer = await self._session(request, snap)
            if me is None or signer is None:
                return self._login_needed(request)
            size, _note = await self.ledger.latest_checkpoint(snap)
            leaves = await self.trees.leaves_of(snap, signer, me, size)
        if not leaves:
            return problem(
                request,
                404,
                "아직 잔액 기록이 없어요",
                "이 체크포인트에는 아직 내 계정이 없어요. 잠시 후 다시 열어 주세요.",
            )
        # One button checks the BTL leaf (the one members care about); every leaf's data is on the page.
        leaf = next((leaf for leaf in leaves if leaf.token == "BTL"), leaves[0])  # noqa: S105 - a token name
        return page(request, "ledger/my_liabilities.html", {"size": size, "leaf": leaf})

    # ------------------------------------------------------------------------------- the member

    async def login(self, request: web.Request) -> web.StreamResponse:
        async with self.db.snapshot() as snap:
            signer = await existing_link_signer(self.keys, snap)
        if signer is None:
            raise BadLink("no link has been issued yet")
        key = signer.check("login", request.query.get("t", ""))
        response = web.HTTPSeeOther("/ledger/me")
        response.set_cookie(
            COOKIE,
            signer.issue("session", key, ttl_s=SESSION_TTL_S),
            max_age=SESSION_TTL_S,
            path="/ledger",
            httponly=True,
            samesite="Lax",
            secure=request.secure,
        )
        raise response

    async def logout(self, _request: web.Request) -> web.StreamResponse:
        response = web.HTTPSeeOther("/ledger/")
        response.del_cookie(COOKIE, path="/ledger")
        raise response

    async def _session(self, request: web.Request, snap: UnitOfWork) -> tuple[bytes | None, LinkSigner | None]:
        signer = await existing_link_signer(self.keys, snap)
        token = request.cookies.get(COOKIE)
        if signer is None or not token:
            return None, signer
        try:
            return signer.check("session", token), signer
        except BadLink:
            return None, signer

    @staticmethod
    def _login_needed(request: web.Request) -> web.Response:
        return problem(
            request,
            401,
            "채팅에서 들어와 주세요",
            "내 장부는 본인만 볼 수 있어요. 카카오톡이나 텔레그램의 '💰 내 지갑'에서 '내 장부 보기'를 눌러 주세요.",
        )

    async def member_entries(self, request: web.Request) -> web.StreamResponse:
        raw = request.match_info["key"]
        async with self.db.snapshot() as snap:
            me, _signer = await self._session(request, snap)
        if me is None:
            return self._login_needed(request)
        if raw.lower() != me.hex():
            return problem(
                request, 403, "다른 분의 장부예요", "내 장부만 볼 수 있어요. 다른 분의 기록 목록은 보여 드리지 않아요."
            )
        raise web.HTTPSeeOther("/ledger/me")

    async def me(self, request: web.Request) -> web.StreamResponse:
        async with self.db.snapshot() as snap:
            me, _signer = await self._session(request, snap)
            if me is None:
                return self._login_needed(request)
            entries = await reads.my_entries(snap, self.ledger, me)
            balances = await reads.my_balances(snap, me)
        lines = [
            EntryLine(seq, kind_name(s.get("kind")), int(s.get("time", 0)), self._product_path(s)) for seq, s in entries
        ]
        context = {"key_hex": me.hex(), "balances": balances, "entries": lines}
        return page(request, "ledger/me.html", context, headers={"Cache-Control": "no-store"})


__all__ = ["Explorer", "html_errors", "seq_param"]
