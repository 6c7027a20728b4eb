"""The public provenance page ``GET /p/<product code>``: where a product came from, checkable in the browser.

What a shopper sees after scanning a label: the product, its shop and market, origin, certifications
and harvest date, the shop's reputation (recomputed from the ledger, ``commerce.trust.standing``), and the
signed timeline — listed, harvested, processed, packed, handed over, delivered — then reviews and the
claim record, each with the sequence number of the ledger entry that proves it. The "확인하기" button
runs ``web/static/verify.js``: the browser fetches each entry's bytes and inclusion proof from the
ledger API and checks the signatures, the Merkle path and the (witnessed) checkpoint itself.

Nothing personal is shown: no reviewer or courier names, no claim texts (they are private; the
ledger holds only their digests) — a role, a time, a kind and a sequence number. An unknown or
mistyped code is a friendly 404 page; the label image is ``GET /p/<code>/label.png``.

A page is rendered once per product and ledger size and then served from memory (``PageCache``): a
market-day crowd scanning labels reads the same few pages. Everything a page shows is written in the
same transaction as a ledger entry (a listing, a provenance step, a review, a hold, a claim's step, a
shop's verification), so the size of the ledger a page was rendered at says whether it is still
current. How fresh a served page is — the staleness bound — is written at ``PageCache``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from commerce.provenance import service as provenance
from commerce.shops import labels, product_code
from commerce.shops.errors import UnknownProduct
from commerce.trust.standing import Facts, FactsCache, ShopReputation, reputation
from ledger.db import Database, Op, Row, read
from ledger.errors import ChestnutError
from web.html import HEADERS, esc, problem, shell

log = logging.getLogger("chestnut.provenance_page")
KST = dt.timezone(dt.timedelta(hours=9))
STAGE_NAMES = {
    "listed": "🏷️ 장터에 등록",
    "harvested": "🌱 수확",
    "processed": "🏭 가공",
    "packed": "📦 포장",
    "handed_over": "🚚 기사님께 전달",
    "delivered": "🏠 배달 완료",
}
# The entry kinds that may prove a step (a courier's step is proven by delivery's own entry or a note).
STAGE_KINDS = {
    "listed": "product.list",
    "harvested": "provenance.harvested",
    "processed": "provenance.processed",
    "packed": "provenance.packed",
    "handed_over": "delivery.pickup|provenance.handed_over",
    "delivered": "delivery.confirm|provenance.delivered",
}
CLAIM_KINDS = "claim.open|claim.answer|claim.accept|claim.escalate|claim.decide"
CLAIM_KIND_NAMES = {
    "wrong_item": "다른 물건",
    "damaged": "상함·파손",
    "missing": "빠짐",
    "quality": "품질",
    "after_sales": "A/S",
}
CLAIM_STATUS = {
    "open": "가게 답변 기다림",
    "answered": "가게가 답함",
    "escalated": "사무실이 보는 중",
    "resolved": "해결됨",
    "rejected": "받아들여지지 않음",
}
RESOLUTIONS = {"refund_full": "전액 환불", "refund_partial": "일부 환불", "replacement": "교환", "reject": "거절"}
# Browsers and proxies may keep a page but must ask again before showing it (a 304 when unchanged):
# the staleness bound is the server's alone (``PageCache``).
CACHE_CONTROL = "public, no-cache"
COURIER_STEPS_SHOWN = 6
REVIEWS_SHOWN = 8
CLAIMS_SHOWN = 8


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, KST).strftime("%Y-%m-%d %H:%M")


def _step(stage: str, seq: int, when: str, who: str, note: str = "") -> str:
    note_html = f"<br>{esc(note)}" if note else ""
    return (
        f'<li data-seq="{seq}" data-kind="{esc(STAGE_KINDS[stage])}"><span class="stage">{esc(STAGE_NAMES[stage])}</span> '
        f'<a class="seq" href="/ledger/entry/{seq}">기록 #{seq}</a><br><span class="muted">{esc(when + " · " if when else "")}{esc(who)}</span>'
        f'{note_html}<span class="mark" data-mark></span></li>'
    )


@dataclass(frozen=True, slots=True)
class CachedPage:
    size: int  # the ledger size the page was rendered at
    body: bytes
    etag: str
    rendered_at: float  # time.monotonic()


# Renders a few products' pages from one snapshot: product id → (the ledger size the snapshot saw, the
# page's bytes), or the error that product's page is (UnknownProduct: the friendly 404).
RenderMany = Callable[[list[int]], Awaitable[dict[int, tuple[int, bytes] | Exception]]]


class PageCache:
    """Rendered pages per product, served from memory while the ledger has not grown.

    The staleness bound: a commit — by this process or any other (``serve --role scheduler``, a second
    web process, the CLI) — is on the page for every request that arrives more than ``revalidate_s``
    (0.5 s) after it (later only if reading the ledger size itself takes longer than that). This
    process reads the ledger size again when its last read started longer ago than ``revalidate_s``
    (one small query, shared by every request in flight) and renders a page again when the ledger grew
    past the size it was rendered at; between those reads a request reads nothing from the database.
    A page is rendered again after ``max_age_s`` (60 s) even if the ledger did not grow: a backstop
    should something shown on it ever be written without a ledger entry.

    Why a timer and not a signal on commit: other processes write too, so a timer is needed anyway,
    and at 0.5 s it costs two small queries a second — nothing beside a crowd's requests.

    Browsers and proxies may keep a page but must revalidate it every time (``Cache-Control:
    no-cache``) with its ETag — a 304 when unchanged — so they add nothing to the bound.

    Renders are batched: the pages asked for while the previous batch ran are rendered together from
    one snapshot in one round trip to the database (up to ``batch_pages`` at a time). Why: when a crowd
    arrives at once, every await waits behind hundreds of requests and there are two reader
    connections — under ``chestnut bench web`` on a loaded machine, 39 pages rendered one by one took
    ~45 ms each (one round trip per query); in one batch they take 10–30 ms in all.
    Concurrent requests for one page share its render; a reader who hangs up cancels only their wait.
    """

    def __init__(
        self,
        db: Database,
        render_many: RenderMany,
        *,
        revalidate_s: float = 0.5,
        max_age_s: float = 60.0,
        max_pages: int = 2_000,
        batch_pages: int = 64,
    ) -> None:
        self.db = db
        self._render_many = render_many
        self.revalidate_s = revalidate_s
        self.max_age_s = max_age_s
        self.max_pages = max_pages
        self.batch_pages = batch_pages
        self._pages: dict[int, CachedPage] = {}
        # product → (the ledger size asked for, its page to come), from asked until rendered
        self._pending: dict[int, tuple[int, asyncio.Future[CachedPage]]] = {}
        self._queue: deque[tuple[int, asyncio.Future[CachedPage]]] = deque()  # asked, not yet in a batch
        self._renderer: asyncio.Task[None] | None = None
        self._size = 0  # the ledger size, as read by the read that started at ``_size_at``
        self._size_at = -math.inf
        self._size_read: asyncio.Task[int] | None = None

    async def get(self, product_id: int) -> CachedPage:
        size = await self.ledger_size()
        page = self._pages.get(product_id)
        if page is not None and page.size >= size and time.monotonic() - page.rendered_at < self.max_age_s:
            return page
        pending = self._pending.get(product_id)
        if pending is None or pending[0] < size:
            # A render asked for a smaller size may take its snapshot before the ledger reached
            # ``size``: ask for one that cannot. The older one still answers its own waiters.
            future: asyncio.Future[CachedPage] = asyncio.get_running_loop().create_future()
            future.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved if nobody waits
            pending = (size, future)
            self._pending[product_id] = pending
            self._queue.append((product_id, future))
            if self._renderer is None:
                self._renderer = asyncio.create_task(self._render_queued())
        return await asyncio.shield(pending[1])

    async def ledger_size(self) -> int:
        """The ledger size, read again when the last read started more than ``revalidate_s`` ago."""
        if time.monotonic() - self._size_at < self.revalidate_s:
            return self._size
        if self._size_read is None:
            self._size_read = asyncio.create_task(self._read_size())
            self._size_read.add_done_callback(lambda t: t.cancelled() or t.exception())
        return await asyncio.shield(self._size_read)

    async def _read_size(self) -> int:
        at = time.monotonic()
        try:
            async with self.db.snapshot() as snap:
                rows = await snap.fetch("SELECT size FROM ledger_head WHERE id = 1")
        finally:
            self._size_read = None
        self._size, self._size_at = int(rows[0][0]), at
        return self._size

    async def _render_queued(self) -> None:
        """Render what was asked for, a batch at a time, until nothing is (the renderer's task)."""
        batch: dict[int, list[asyncio.Future[CachedPage]]] = {}
        try:
            while self._queue:
                batch = {}
                while self._queue and (len(batch) < self.batch_pages or self._queue[0][0] in batch):
                    product_id, future = self._queue.popleft()
                    batch.setdefault(product_id, []).append(future)
                at = time.monotonic()
                try:
                    rendered = await self._render_many(list(batch))
                except Exception as exc:  # the database failed: every waiter of this batch is told
                    rendered = dict.fromkeys(batch, exc)
                for product_id, futures in batch.items():
                    self._settle(product_id, futures, rendered[product_id], at)
                batch = {}
        except asyncio.CancelledError:  # the server stops: nobody is left waiting
            for future in [f for fs in batch.values() for f in fs] + [f for _, f in self._queue]:
                future.cancel()
            self._pending.clear()
            self._queue.clear()
            raise
        finally:
            self._renderer = None

    def _settle(
        self,
        product_id: int,
        futures: list[asyncio.Future[CachedPage]],
        result: tuple[int, bytes] | Exception,
        at: float,
    ) -> None:
        """Answer this batch's requests for one product with its page (kept unless a newer one is)."""
        if self._pending.get(product_id, (0, None))[1] in futures:
            del self._pending[product_id]
        if isinstance(result, Exception):
            for future in futures:
                future.set_exception(result)
            return
        size, body = result
        page = CachedPage(size, body, f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"', at)
        current = self._pages.pop(product_id, None)
        if current is not None and current.size > page.size:
            page = current
        while len(self._pages) >= self.max_pages:  # the oldest renders go first
            del self._pages[next(iter(self._pages))]
        self._pages[product_id] = page
        for future in futures:
            future.set_result(page)


class ProvenancePages:
    def __init__(
        self,
        db: Database,
        *,
        base_url: str = "",
        facts: FactsCache | None = None,
        revalidate_s: float = 0.5,
    ) -> None:
        self.db = db
        self.base_url = base_url
        self.facts = facts or FactsCache()
        self.cache = PageCache(db, self._render_many, revalidate_s=revalidate_s)
        self._reputation: dict[int, tuple[int, ShopReputation]] = {}  # shop → (facts size, reputation)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/p", self.no_code),
            web.get("/p/", self.no_code),
            web.get("/p/{code}", self.page),
            web.get("/p/{code}/label.png", self.label),
        ]

    @staticmethod
    def _not_found() -> web.Response:
        return problem(
            404,
            "그런 물건을 찾지 못했어요",
            "라벨의 코드를 다시 확인해 주세요. 코드는 숫자와 영문 대문자 5자 이상이에요 (예: 0001Y).",
            hint="QR 코드를 다시 찍거나, 물건을 산 가게에 물어보세요.",
        )

    async def no_code(self, request: web.Request) -> web.StreamResponse:
        """``/p`` alone is a 404 page; ``/p?code=…`` (the landing page's form) leads to the product's page."""
        product_id = product_code.decode(request.query.get("code", "").strip())
        if product_id is None:
            return self._not_found()
        raise web.HTTPSeeOther(f"/p/{product_code.encode(product_id)}")

    async def label(self, request: web.Request) -> web.StreamResponse:
        product_id = product_code.decode(request.match_info["code"])
        if product_id is None:
            return self._not_found()
        try:
            async with self.db.snapshot() as snap:
                history = await provenance.history(snap, product_id)
        except UnknownProduct:
            return self._not_found()
        base = self.base_url or f"{request.scheme}://{request.host}"
        item = labels.LabelItem(product_id, history.product.name, history.product.origin_region)
        return web.Response(body=labels.label_png(item, base), content_type="image/png")

    async def page(self, request: web.Request) -> web.StreamResponse:
        product_id = product_code.decode(request.match_info["code"])
        if product_id is None:
            return self._not_found()
        try:
            cached = await self.cache.get(product_id)
        except UnknownProduct:
            return self._not_found()
        except ChestnutError as exc:
            return problem(exc.http_status, "페이지를 만들지 못했어요", exc.message)
        except Exception:
            log.exception("provenance page %s failed", request.path)
            return problem(500, "잠시 문제가 생겼어요", "잠시 후 다시 열어 주세요.")
        headers = {**HEADERS, "Cache-Control": CACHE_CONTROL, "ETag": cached.etag}
        if _matches(request, cached.etag):
            return web.Response(status=304, headers=headers)
        return web.Response(body=cached.body, content_type="text/html", charset="utf-8", headers=headers)

    async def _render_many(self, product_ids: list[int]) -> dict[int, tuple[int, bytes] | Exception]:
        """Pages of ``product_ids`` from one snapshot, read in one round trip (``PageCache``)."""
        reads = [self._reads(product_id) for product_id in product_ids]
        async with self.db.snapshot() as snap:
            results = await snap.batch(
                [read("SELECT size FROM ledger_head WHERE id = 1")] + [r for rs in reads for r in rs]
            )
            size = int(results[0][0][0])
            facts = await self.facts.at_least(snap, size)
        out: dict[int, tuple[int, bytes] | Exception] = {}
        at = 1
        for product_id, rs in zip(product_ids, reads, strict=True):
            rows, at = results[at : at + len(rs)], at + len(rs)
            try:
                body, title = self._html(product_id, rows, facts)
                out[product_id] = (size, shell(title, body).encode())
            except Exception as exc:  # this product's waiters are told (an unknown product: 404)
                out[product_id] = exc
        return out

    def _shop_reputation(self, facts: Facts, shop_id: int) -> ShopReputation:
        known = self._reputation.get(shop_id)
        if known is not None and known[0] == facts.size:
            return known[1]
        rep = reputation(facts, shop_id)
        self._reputation[shop_id] = (facts.size, rep)
        return rep

    @staticmethod
    def _reads(product_id: int) -> list[Op]:
        return [
            *provenance.history_reads(product_id),
            read(
                "SELECT id, rating, text, seq, created_ms FROM reviews WHERE product_id = :p AND status = 'visible' "
                "ORDER BY seq DESC LIMIT :n",
                {"p": product_id, "n": REVIEWS_SHOWN},
            ),
            read(
                "SELECT c.kind, c.status, c.resolution, c.seq, c.created_ms FROM claims c WHERE EXISTS "
                "(SELECT 1 FROM order_lines l WHERE l.order_id = c.order_id AND l.product_id = :p) "
                "ORDER BY c.seq DESC LIMIT :n",
                {"p": product_id, "n": CLAIMS_SHOWN},
            ),
        ]

    def _html(self, product_id: int, results: Sequence[Sequence[Row]], facts: Facts) -> tuple[str, str]:
        """(the page's body, its title) from the results of ``_reads``."""
        *history_rows, review_rows, claim_rows = results
        h = provenance.history_from_rows(product_id, history_rows)
        p, shop = h.product, h.shop
        rep = self._shop_reputation(facts, shop.id)
        steps = [_step("listed", p.listed_seq, "", "생산자가 서명")]
        producer = [e for e in h.events if e.role == "producer"]
        courier = [e for e in h.events if e.role == "courier"][-COURIER_STEPS_SHOWN:]
        for e in producer + courier:
            who = "생산자가 서명" if e.role == "producer" else "배달 기사님이 서명"
            steps.append(_step(e.stage, e.seq, _when(e.time_ms), who, e.note))
        certs = ", ".join(p.certifications) if p.certifications else "없음"
        minutes = rep.median_delivery_min
        if minutes is None:
            delivery = "아직 기록 없음"
        elif minutes < 60:
            delivery = f"보통 {max(1, minutes)}분 안"
        else:
            delivery = f"보통 {minutes // 60}시간 {minutes % 60}분"
        facts_html = (
            '<div class="card"><dl class="facts">'
            f"<dt>원산지</dt><dd>{esc(p.origin_region)} · {esc(p.origin_producer)}</dd>"
            f"<dt>인증</dt><dd>{esc(certs)}</dd>"
            f"<dt>수확·생산일</dt><dd>{esc(p.produced_on or '기록 없음')}</dd>"
            f'<dt>가게 별점</dt><dd><span class="stars">★</span> {esc(rep.rating.display)} (후기 {rep.rating.count}개)</dd>'
            f"<dt>문제 신고</dt><dd>배달 {rep.delivered}건 중 {rep.claims}건 ({rep.claim_rate_bp / 100:.1f}%)</dd>"
            f"<dt>주문→배달</dt><dd>{esc(delivery)}</dd>"
            "</dl></div>"
        )
        reviews_html = "".join(
            f'<li data-seq="{int(seq)}" data-kind="review.post"><span class="stars">{"★" * int(rating)}{"☆" * (5 - int(rating))}</span> '
            f'<a class="seq" href="/ledger/entry/{int(seq)}">기록 #{int(seq)}</a><br>{esc(text) if text else "<span class=muted>(글 없음)</span>"}'
            f'<br><span class="muted">구매 확인된 후기 · {esc(_when(int(created)))}</span><span class="mark" data-mark></span></li>'
            for _rid, rating, text, seq, created in review_rows
        )
        claims_html = "".join(
            f'<li data-seq="{int(seq)}" data-kind="{CLAIM_KINDS}"><span class="stage">{esc(CLAIM_KIND_NAMES.get(str(kind), str(kind)))}</span> '
            f'<a class="seq" href="/ledger/entry/{int(seq)}">기록 #{int(seq)}</a><br>'
            f"{esc(CLAIM_STATUS.get(str(status), str(status)))}"
            f"{' · ' + esc(RESOLUTIONS.get(str(res), str(res))) if res else ''}"
            f'<br><span class="muted">{esc(_when(int(created)))}</span><span class="mark" data-mark></span></li>'
            for kind, status, res, seq, created in claim_rows
        )
        market = f" · {esc(shop.market)}" if shop.market else ""
        body = (
            f'<h1>{esc(p.name)} <span class="muted">{esc(p.unit)}</span></h1>'
            f"<p>🏪 {esc(shop.name)}{market}{' · ✔ 사무실 확인 가게' if shop.verified else ''}</p>"
            f"{facts_html}"
            '<button class="verify" data-verify>🔍 이 기록들이 진짜인지 확인하기</button>'
            '<div class="result" data-verify-result aria-live="polite">'
            "버튼을 누르면 이 휴대폰의 브라우저가 장부에서 기록을 직접 받아 서명과 포함 증명을 확인해요.</div>"
            "<div data-steps>"
            f'<h2>어디서 왔나요? (서명된 기록)</h2><ol class="steps">{"".join(steps)}</ol>'
            f'<h2>후기 ({rep.rating.count}개 중 최근)</h2><ol class="steps">{reviews_html or "<li>아직 후기가 없어요.</li>"}</ol>'
            f'<h2>문제 신고 기록 ({h.claims}건)</h2><ol class="steps">{claims_html or "<li>문제 신고가 없었어요.</li>"}</ol>'
            "</div>"
            '<p class="muted">모든 기록은 한 사람 한 사람의 키로 서명되어 밤나무 공개 장부에 차례로 쌓여요. 한 번 쌓인 기록은 '
            ' 고칠 수 없고, 복제 노드들이 같은 장부를 따로 검증해 함께 서명해요. <a href="/ledger/">공개 장부 보기</a></p>'
        )
        return body, f"{p.name} · {shop.name} — 밤나무 장터"


def _matches(request: web.Request, etag: str) -> bool:
    """``If-None-Match`` names this ETag, or ``*`` (weak comparison, RFC 9110 §13.1.2)."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags or "*" in tags
