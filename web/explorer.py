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

Every page is HTML, and every failure too: a malformed number is a 400 page, an unknown one a 404
page, a forged or expired link a 403 page; nothing here shows a traceback. The ledger knows members
only as keys, so no page here can show a name, a phone or an address.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from ledger import liabilities, merkle, reads
from ledger.api import json_dumps
from ledger.checkpoint import verify_cosignatures
from ledger.errors import ChestnutError, NotFound
from ledger.links import SESSION_COOKIE, SESSION_TTL_S, BadLink, LinkSigner, existing_link_signer, link_signer
from ledger.model import TOKENS, decode_entry_json
from ledger.note import verifier_key
from ledger.service import Ledger
from ledger.storage.unit_of_work import Database, UnitOfWork
from ledger.visibility import Gate, Visibility, cache_headers
from ledger.witnessing import WitnessConfig, witnessed_notes, witnessed_size
from web.html import HEADERS, STATIC_TYPES, esc, load_static, page, problem

log = logging.getLogger("chestnut.explorer")
KST = dt.timezone(dt.timedelta(hours=9))
COOKIE = SESSION_COOKIE
MAX_SEQ = 2**62
MY_ENTRIES = 50
CHECKPOINTS_SHOWN = 8
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


def kst(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, KST).strftime("%Y-%m-%d %H:%M")


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
            return problem(400, "기록 번호가 올바르지 않아요", "기록 번호는 0 이상의 숫자예요.", hint=exc.message)
        except BadLink as exc:
            expired = exc.code == "expired_link"
            return problem(
                403,
                "링크가 만료됐어요" if expired else "이 링크는 쓸 수 없어요",
                "채팅의 '💰 내 지갑'에서 '내 장부 보기'를 다시 눌러 주세요."
                if expired
                else "이 링크는 밤나무 장터가 보낸 것이 아니거나 잘렸어요. 채팅에서 '내 장부 보기'를 다시 눌러 주세요.",
            )
        except NotFound as exc:
            return problem(404, "찾는 기록이 없어요", "장부에 그런 기록이 아직 없어요.", hint=exc.message)
        except ChestnutError as exc:
            return problem(exc.http_status, "요청을 처리하지 못했어요", exc.message)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("explorer page %s failed", request.path)
            return problem(500, "잠시 문제가 생겼어요", "잠시 후 다시 열어 주세요.")

    return wrapped


def _cosigner_names(note: str, ledger_name: str) -> list[str]:
    """Names on the note's signature lines other than the ledger's own (shown when a key is unknown here)."""
    cut = note.rfind("\n\n")
    names = []
    for line in note[cut + 2 :].splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[1] != ledger_name:
            names.append(parts[1])
    return names


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
        self._trees: dict[tuple[int, str], liabilities.SumTree] = {}

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
            return problem(404, "파일이 없어요", "그런 파일은 없어요.")
        return web.Response(
            body=self.static[name],
            content_type=STATIC_TYPES[name],
            charset="utf-8",
            headers={**HEADERS, "Cache-Control": "public, max-age=300"},
        )

    async def trust(self, _request: web.Request) -> web.StreamResponse:
        async with self.db.snapshot() as snap:
            signer = await self.ledger.ledger_signer(snap)
            witnessed = await self._latest_witnessed_size(snap)
        data = {
            "ledger_key": verifier_key(signer.name, signer.public_key),
            "witnessed": witnessed,
            "witnesses": [{"key": str(w.key), "operator": w.operator} for w in self.witnesses],
        }
        return web.json_response(data, dumps=json_dumps, headers={"Cache-Control": "no-store"})

    async def index(self, _request: web.Request) -> web.StreamResponse:
        async with self.db.snapshot() as snap:
            checkpoints = await reads.checkpoints(snap, CHECKPOINTS_SHOWN)
            witnessed = await self._witnessed(snap, [c.size for c in checkpoints])
            totals = await reads.totals(snap)
            head = await self.ledger.head(snap)
        rows = []
        for cp in checkpoints:
            cosigned = witnessed.get(cp.size, [])
            who = ", ".join(esc(c) for c in cosigned) if cosigned else '<span class="muted">아직 없음</span>'
            rows.append(
                f"<tr><td>#{cp.size:,}</td><td>{esc(kst(cp.created_ms))}</td>"
                f'<td class="seq">{esc(base64.b64encode(cp.root).decode()[:16])}…</td><td>{who}</td></tr>'
            )
        table = (
            "<table><tr><th>크기</th><th>서명 시각</th><th>뿌리 해시</th><th>함께 서명한 복제 노드</th></tr>"
            + "".join(rows)
            + "</table>"
            if rows
            else "<p>아직 체크포인트가 없어요.</p>"
        )
        body = (
            "<h1>밤나무 공개 장부</h1>"
            f"<p>모든 주문·결제·배달·후기·원산지 기록이 서명되어 이 장부에 차례로 쌓여요. 지금까지 {head.size:,}개.</p>"
            '<p class="muted">상품·원산지·배달·후기·문제 신고 기록은 누구나 내용까지 볼 수 있어요. 돈이 오가거나 주문·가입에 '
            "관한 기록은 번호와 해시만 공개되고, 내용은 당사자와 인증된 복제 노드만 봐요.</p>"
            '<form class="inline" action="/ledger/entry" method="get"><input name="seq" inputmode="numeric" '
            'placeholder="기록 번호" aria-label="기록 번호"><button>열기</button></form>'
            f"<h2>토큰별 합계</h2>{self._totals_html(totals)}"
            f"<h2>최근 체크포인트</h2>{table}"
            '<p class="muted">체크포인트는 장부 전체를 하나의 해시(머클 트리의 뿌리)로 묶어 장부의 키로 서명한 것이에요. '
            "복제 노드가 같은 장부를 따로 검증하고 함께 서명하면, 장부가 과거를 고쳐 쓰지 않았다는 증거가 돼요.</p>"
            '<a class="button" href="/ledger/liabilities">회원 잔액 합계 증명 보기</a>'
            '<a class="button" href="/ledger/me">내 장부 보기</a>'
        )
        return page("밤나무 공개 장부", body)

    @staticmethod
    async def _latest_witnessed_size(snap: UnitOfWork) -> int | None:
        try:
            return await witnessed_size(snap)
        except Exception:  # an old schema without the replication tables
            log.debug("no ledger_witnessed table", exc_info=True)
            return None

    async def _witnessed(self, snap: UnitOfWork, sizes: list[int]) -> dict[int, list[str]]:
        """Cosigners by checkpoint size: checked against the configured replicas' keys where known."""
        if not sizes:
            return {}
        try:
            notes = await witnessed_notes(snap, sizes)
        except Exception:  # the replication tables are not there (an old schema): nobody cosigned
            log.debug("no ledger_witnessed table", exc_info=True)
            return {}
        operators = {w.key.name: w.operator for w in self.witnesses}
        out: dict[int, list[str]] = {}
        for size, note in notes.items():
            try:
                verified = verify_cosignatures(note, [w.key for w in self.witnesses]) if self.witnesses else {}
            except ChestnutError:
                verified = {}
            names = [f"{operators[n]} ✅" for n in verified]
            names += [f"{n} (키 모름)" for n in _cosigner_names(note, self.ledger.origin) if n not in verified]
            out[size] = names
        return out

    @staticmethod
    def _totals_html(totals: dict[str, dict[str, int]]) -> str:
        btl, bnm = totals.get("BTL", {}), totals.get("BNM", {})
        circulating = btl.get("members", 0) + btl.get("system", 0)
        same = "✅ 같아요" if circulating == btl.get("issued", 0) else "❌ 달라요"
        bnm_total = bnm.get("members", 0) + bnm.get("system", 0)
        return (
            '<div class="card"><dl class="facts">'
            f"<dt>밤톨(BTL) 유통량</dt><dd>{circulating:,}원</dd>"
            f"<dt>· 회원 지갑</dt><dd>{btl.get('members', 0):,}원</dd>"
            f"<dt>· 보관·수수료 등</dt><dd>{btl.get('system', 0):,}원</dd>"
            f"<dt>기록된 현금 준비금</dt><dd>{btl.get('issued', 0):,}원 (들어온 현금 − 내준 현금)</dd>"
            f"<dt>둘이 같은가요?</dt><dd>{same}</dd>"
            f"<dt>결제 보관 중</dt><dd>{btl.get('held', 0):,}원</dd>"
            f"<dt>밤나무(BNM) 발행량</dt><dd>{bnm_total / 1000:,.3f} BNM</dd>"
            "</dl></div>"
            '<p class="muted">밤톨은 현금이 들어올 때만 생기고 현금이 나갈 때 사라져요. 그래서 유통량과 현금 준비금은 '
            "언제나 같아야 해요. 은행 잔고가 준비금만큼 있는지는 감사인의 확인서로 따로 확인해요.</p>"
        )

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
            return page(f"기록 #{seq}", self._restricted(seq, raw), headers=headers)
        decoded = decode_entry_json(raw)
        signed = decoded["signed"]
        kind = str(signed.get("kind", ""))
        # The money the entry moved, from the signed entry itself: the transfers table has no index by
        # entry, and reading it by seq scanned every transfer ever made for each page view.
        transfers = [
            (t["type"], t["debit"], t["credit"], t["token"], int(t["amount"]))
            for t in sorted(signed.get("transfers", []), key=lambda t: str(t["id"]))
        ]
        rows = "".join(
            f"<tr><td>{esc(t)}</td><td>{esc(d)}</td><td>{esc(c)}</td><td>{int(a):,} {esc(tok)}</td></tr>"
            for t, d, c, tok, a in transfers
        )
        money = (
            f"<h2>돈의 움직임</h2><table><tr><th>종류</th><th>나간 곳</th><th>들어간 곳</th><th>금액</th></tr>{rows}</table>"
            if rows
            else ""
        )
        product_path = self._product_path(signed)
        product = (
            f'<a class="button" href="{esc(product_path)}">🌱 이 물건이 어디서 왔는지 보기</a>' if product_path else ""
        )
        body = (
            f"<h1>기록 #{seq:,}</h1>"
            f'<div class="card"><dl class="facts"><dt>종류</dt><dd>{esc(KIND_NAMES.get(kind, kind))} '
            f'<span class="seq">{esc(kind)}</span></dd>'
            f"<dt>시각</dt><dd>{esc(kst(int(signed.get('time', 0))))}</dd>"
            f'<dt>서명한 키</dt><dd class="seq">{esc(str(signed.get("actor", ""))[:20])}…</dd></dl></div>'
            f'<ol class="steps" data-steps><li data-seq="{seq}" data-kind="{esc(kind)}">'
            f'<span class="stage">이 기록</span> <span class="seq">#{seq}</span><span class="mark" data-mark></span></li></ol>'
            '<button class="verify" data-verify>🔍 이 브라우저에서 직접 확인하기</button>'
            '<div class="result" data-verify-result aria-live="polite"></div>'
            f"{product}{money}<h2>서명된 내용</h2><pre>{esc(json.dumps(signed.get('body', {}), ensure_ascii=False, indent=1))}</pre>"
            f'<p class="muted">원본: <a href="/ledger/entries?start={seq}&amp;end={seq + 1}">JSON</a> · '
            f'<a href="/ledger/receipt/{seq}">영수증</a></p>'
        )
        return page(f"기록 #{seq}", body, headers=headers)

    @staticmethod
    def _restricted(seq: int, raw: bytes) -> str:
        leaf = base64.b64encode(merkle.leaf_hash(raw)).decode()
        return (
            f"<h1>기록 #{seq:,}</h1>"
            '<div class="card"><dl class="facts"><dt>종류</dt><dd>🔒 비공개 기록</dd>'
            f'<dt>잎 해시</dt><dd class="seq">{esc(leaf)}</dd></dl></div>'
            "<p>돈이 오가거나 주문·가입에 관한 기록은 당사자와 인증된 복제 노드만 내용을 볼 수 있어요. "
            "누구나 이 기록이 장부에 그대로 들어 있는지는 확인할 수 있어요.</p>"
            f'<ol class="steps" data-steps><li data-seq="{seq}" data-kind="">'
            f'<span class="stage">이 기록</span> <span class="seq">#{seq}</span><span class="mark" data-mark></span></li></ol>'
            '<button class="verify" data-verify>🔍 장부에 들어 있는지 확인하기</button>'
            '<div class="result" data-verify-result aria-live="polite"></div>'
            "<p class=\"muted\">내 기록이라면 카카오톡이나 텔레그램의 '💰 내 지갑'에서 '내 장부 보기'로 들어와 주세요. "
            f'<a href="/ledger/receipt/{seq}">영수증</a></p>'
        )

    # ----------------------------------------------------------------------------- liabilities

    async def _tree(self, snap: UnitOfWork, signer: LinkSigner | None, token: str, size: int) -> liabilities.SumTree:
        cached = self._trees.get((size, token))
        if cached is not None:
            return cached
        if signer is None:
            raise NotFound("no member has opened the explorer yet, so no liabilities tree is published")
        balances = await liabilities.balances_at(snap, token, size)
        tree = liabilities.build(token, size, balances, lambda account: signer.salt(size, account))
        if len(self._trees) > 16:
            self._trees.clear()
        self._trees[(size, token)] = tree
        return tree

    async def liabilities(self, _request: web.Request) -> web.StreamResponse:
        async with self.db.snapshot() as snap:
            size, _note = await self.ledger.latest_checkpoint(snap)
            signer = await existing_link_signer(self.keys, snap)
            if signer is None:
                return problem(
                    404, "아직 증명이 없어요", "아직 아무도 공개 장부에 로그인하지 않아 합계 증명을 만들지 않았어요."
                )
            trees = [await self._tree(snap, signer, token, size) for token in TOKENS]
        cards = "".join(
            f'<div class="card"><dl class="facts"><dt>토큰</dt><dd>{esc(t.token)}</dd>'
            f"<dt>회원 수</dt><dd>{len(t.leaves):,}</dd><dt>합계</dt><dd>{t.root.total:,}</dd>"
            f'<dt>뿌리 해시</dt><dd class="seq">{esc(t.root.hash.hex())}</dd></dl></div>'
            for t in trees
        )
        body = (
            f"<h1>회원 잔액 합계 증명</h1><p>체크포인트 #{size:,} 시점의 모든 회원 잔액을 머클 합계 트리로 묶었어요.</p>"
            f'{cards}<p class="muted">각 회원의 잔액은 (비밀 소금으로 가린 계정, 잔액) 잎이 되고, 부모는 두 자식의 해시와 '
            "합계를 함께 묶어요. 그래서 누구의 잔액도 빠지거나 음수로 숨길 수 없어요. 내 잎이 들어 있는지는 로그인해서 "
            "확인할 수 있어요.</p>"
            '<a class="button" href="/ledger/liabilities/mine">내 잔액이 들어 있는지 확인하기</a>'
        )
        return page("회원 잔액 합계 증명", body)

    async def my_liabilities(self, request: web.Request) -> web.StreamResponse:
        async with self.db.snapshot() as snap:
            me, signer = await self._session(request, snap)
            if me is None or signer is None:
                return self._login_needed()
            size, _note = await self.ledger.latest_checkpoint(snap)
            parts = []
            for account in await reads.accounts_of(snap, me, opened_before=size):
                tree = await self._tree(snap, signer, account.token, size)
                index = tree.index_of(account.id)
                if index is None:
                    continue
                leaf = tree.leaves[index]
                data = {
                    "account": leaf.account,
                    "salt": base64.b64encode(leaf.salt).decode(),
                    "balance": leaf.balance,
                    "path": [
                        {"hash": base64.b64encode(s.hash).decode(), "total": s.total, "left": s.left}
                        for s in tree.proof(index)
                    ],
                    "root": base64.b64encode(tree.root.hash).decode(),
                    "total": tree.root.total,
                }
                parts.append((account.token, leaf.balance, tree.root.total, json.dumps(data)))
        if not parts:
            return problem(
                404, "아직 잔액 기록이 없어요", "이 체크포인트에는 아직 내 계정이 없어요. 잠시 후 다시 열어 주세요."
            )
        # One button checks the BTL leaf (the one members care about); every leaf's data is on the page.
        token, balance, total, data_json = next((p for p in parts if p[0] == "BTL"), parts[0])
        body = (
            f"<h1>내 잔액이 합계에 들어 있나요?</h1><p>체크포인트 #{size:,} 시점 내 {esc(token)} 잔액: "
            f"<b>{balance:,}</b> · 전체 회원 합계: {total:,}</p>"
            f'<div data-liability="{esc(data_json)}"></div>'
            '<button class="verify" data-liability-check>🔍 이 브라우저에서 직접 확인하기</button>'
            '<div class="result" data-liability-result aria-live="polite"></div>'
            '<p class="muted">내 잎(비밀 소금으로 가린 계정과 잔액)에서 시작해 형제 노드의 해시와 합계를 하나씩 묶어 올라가, '
            "공개된 뿌리 해시와 합계에 닿는지 SHA-256으로 확인해요.</p>"
        )
        return page("내 잔액 증명", body)

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
    def _login_needed() -> web.Response:
        return problem(
            401,
            "채팅에서 들어와 주세요",
            "내 장부는 본인만 볼 수 있어요. 카카오톡이나 텔레그램의 '💰 내 지갑'에서 '내 장부 보기'를 눌러 주세요.",
        )

    async def member_entries(self, request: web.Request) -> web.StreamResponse:
        raw = request.match_info["key"]
        async with self.db.snapshot() as snap:
            me, _signer = await self._session(request, snap)
        if me is None:
            return self._login_needed()
        if raw.lower() != me.hex():
            return problem(
                403, "다른 분의 장부예요", "내 장부만 볼 수 있어요. 다른 분의 기록 목록은 보여 드리지 않아요."
            )
        raise web.HTTPSeeOther("/ledger/me")

    async def me(self, request: web.Request) -> web.StreamResponse:
        async with self.db.snapshot() as snap:
            me, _signer = await self._session(request, snap)
            if me is None:
                return self._login_needed()
            accounts = [a.id for a in await reads.accounts_of(snap, me)]
            seqs = set(await reads.latest_entries_of(snap, me, MY_ENTRIES))
            if accounts:
                seqs |= set(await reads.entries_moving(snap, accounts, MY_ENTRIES))
            shown = sorted(seqs, reverse=True)[:MY_ENTRIES]
            entries = [(s, decode_entry_json(await self.ledger.entry(snap, s))["signed"]) for s in shown]
            balances = await reads.balances_of(snap, me)
        items = "".join(
            f'<li><span class="stage">{esc(KIND_NAMES.get(str(s.get("kind")), str(s.get("kind"))))}</span> '
            f'<a class="seq" href="/ledger/entry/{seq}">#{seq}</a><br>'
            f'<span class="muted">{esc(kst(int(s.get("time", 0))))}</span>'
            + (f' · <a href="{esc(path)}">물건 페이지</a>' if (path := self._product_path(s)) else "")
            + "</li>"
            for seq, s in entries
        )
        money = "".join(
            f"<dt>{esc(b.token)}</dt><dd>{b.balance:,}" + (f" (보관 중 {b.held:,})" if b.held else "") + "</dd>"
            for b in balances
        )
        body = (
            f'<h1>내 장부</h1><p class="muted">내 키: <span class="seq">{esc(me.hex()[:16])}…</span></p>'
            f'<div class="card"><dl class="facts">{money}</dl></div>'
            f'<h2>내 기록 (최근 {len(entries)}개)</h2><ul class="plain">{items or "<li>아직 기록이 없어요.</li>"}</ul>'
            '<a class="button" href="/ledger/liabilities/mine">내 잔액이 합계에 들어 있는지 확인</a>'
            '<a class="button" href="/ledger/logout">나가기</a>'
        )
        return page("내 장부", body, headers={"Cache-Control": "no-store"})


__all__ = ["Explorer", "html_errors", "seq_param"]
