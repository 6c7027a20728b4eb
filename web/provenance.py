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

The page is ``templates/provenance.html``, rendered once per product and ledger size and then served
from memory (``web.page_cache``): a market-day crowd scanning labels reads the same few pages. How fresh
a served page is — the staleness bound — is written at ``PageCache``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
from aiohttp import web

from commerce.claims import queries as claim_queries
from commerce.provenance import service as provenance
from commerce.reviews import queries as review_queries
from commerce.shops import labels, product_code
from commerce.shops.errors import UnknownProduct
from commerce.trust.standing import Facts, FactsCache, ShopReputation, reputation
from ledger import reads as ledger_reads
from ledger.errors import ChestnutError
from ledger.storage.ops import Op, Row
from ledger.storage.unit_of_work import Database
from web.page_cache import PageCache
from web.pages import HEADERS, environment, problem

log = logging.getLogger("chestnut.provenance_page")
STAGE_NAMES = {
    "listed": "🏷️ 장터에 등록",
    "harvested": "🌱 수확",
    "processed": "🏭 가공",
    "packed": "📦 포장",
    "handed_over": "🚚 기사님께 전달",
    "delivered": "🏠 배달 완료",
    "collected": "🧺 손님이 찾아감",
}
# The entry kinds that may prove a step (a courier's step is proven by delivery's own entry or a note).
STAGE_KINDS = {
    "listed": "product.list",
    "harvested": "provenance.harvested",
    "processed": "provenance.processed",
    "packed": "provenance.packed",
    "handed_over": "delivery.pickup|provenance.handed_over",
    "delivered": "delivery.confirm|provenance.delivered",
    "collected": "delivery.handover",
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


@dataclass(frozen=True, slots=True)
class Step:
    """A signed step of the product's timeline, and the entry kinds that may prove it (``verify.js``)."""

    name: str
    kinds: str
    seq: int
    time_ms: int | None
    who: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ReviewLine:
    seq: int
    rating: int
    text: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class ClaimLine:
    seq: int
    kind: str
    status: str
    resolution: str
    created_ms: int


def _step(stage: str, seq: int, time_ms: int | None, who: str, note: str = "") -> Step:
    return Step(STAGE_NAMES[stage], STAGE_KINDS[stage], seq, time_ms, who, note)


class ProvenancePages:
    def __init__(
        self,
        db: Database,
        *,
        templates: jinja2.Environment | None = None,
        base_url: str = "",
        facts: FactsCache | None = None,
        revalidate_s: float = 0.5,
    ) -> None:
        self.db = db
        # Pages are rendered for the cache, outside any request: with the app's templates when given.
        self.templates = templates or environment()
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
    def _not_found(request: web.Request) -> web.Response:
        return problem(
            request,
            404,
            "그런 물건을 찾지 못했어요",
            "라벨의 코드를 다시 확인해 주세요. 코드는 숫자와 영문 대문자 5자 이상이에요 (예: 0001Y).",
            hint="QR 코드를 다시 찍거나, 물건을 산 가게에 물어보세요.",
        )

    async def no_code(self, request: web.Request) -> web.StreamResponse:
        """``/p`` alone is a 404 page; ``/p?code=…`` (the landing page's form) leads to the product's page."""
        product_id = product_code.decode(request.query.get("code", "").strip())
        if product_id is None:
            return self._not_found(request)
        raise web.HTTPSeeOther(f"/p/{product_code.encode(product_id)}")

    async def label(self, request: web.Request) -> web.StreamResponse:
        product_id = product_code.decode(request.match_info["code"])
        if product_id is None:
            return self._not_found(request)
        try:
            async with self.db.snapshot() as snap:
                history = await provenance.history(snap, product_id)
        except UnknownProduct:
            return self._not_found(request)
        base = self.base_url or f"{request.scheme}://{request.host}"
        item = labels.LabelItem(product_id, history.product.name, history.product.origin_region)
        return web.Response(body=labels.label_png(item, base), content_type="image/png")

    async def page(self, request: web.Request) -> web.StreamResponse:
        product_id = product_code.decode(request.match_info["code"])
        if product_id is None:
            return self._not_found(request)
        try:
            cached = await self.cache.get(product_id)
        except UnknownProduct:
            return self._not_found(request)
        except ChestnutError as exc:
            return problem(request, exc.http_status, "페이지를 만들지 못했어요", exc.message)
        except Exception:
            log.exception("provenance page %s failed", request.path)
            return problem(request, 500, "잠시 문제가 생겼어요", "잠시 후 다시 열어 주세요.")
        headers = {**HEADERS, "Cache-Control": CACHE_CONTROL, "ETag": cached.etag}
        if _matches(request, cached.etag):
            return web.Response(status=304, headers=headers)
        return web.Response(body=cached.body, content_type="text/html", charset="utf-8", headers=headers)

    async def _render_many(self, product_ids: list[int]) -> dict[int, tuple[int, bytes] | Exception]:
        """Pages of ``product_ids`` from one snapshot, read in one round trip (``PageCache``)."""
        reads = [self._reads(product_id) for product_id in product_ids]
        async with self.db.snapshot() as snap:
            results = await snap.batch([ledger_reads.SIZE] + [r for rs in reads for r in rs])
            size = ledger_reads.size_from(results[0])
            facts = await self.facts.at_least(snap, size)
        out: dict[int, tuple[int, bytes] | Exception] = {}
        at = 1
        for product_id, rs in zip(product_ids, reads, strict=True):
            rows, at = results[at : at + len(rs)], at + len(rs)
            try:
                context = self._context(product_id, rows, facts)
                out[product_id] = (size, self.templates.get_template("provenance.html").render(context).encode())
            except Exception as exc:  # this product's waiters are told (an unknown product: 404)
                out[product_id] = exc
        return out

    @staticmethod
    def _signer(e: provenance.Event, owner_id: int) -> str:
        if e.role == "courier":
            return "배달 기사님이 서명"
        if e.stage == provenance.COLLECTED and e.actor_id != owner_id:
            return "시장 사무실이 서명"  # collected at the office: an operator handed it over
        return "가게가 서명" if e.stage == provenance.COLLECTED else "생산자가 서명"

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
            review_queries.product_reviews_read(product_id, REVIEWS_SHOWN),
            claim_queries.product_claims_read(product_id, CLAIMS_SHOWN),
        ]

    def _context(self, product_id: int, results: Sequence[Sequence[Row]], facts: Facts) -> dict[str, Any]:
        """What ``provenance.html`` shows, from the results of ``_reads``."""
        *history_rows, review_rows, claim_rows = results
        h = provenance.history_from_rows(product_id, history_rows)
        steps = [_step("listed", h.product.listed_seq, None, "생산자가 서명")]
        producer = [e for e in h.events if e.role == "producer"]
        courier = [e for e in h.events if e.role == "courier"][-COURIER_STEPS_SHOWN:]
        for e in producer + courier:
            steps.append(_step(e.stage, e.seq, e.time_ms, self._signer(e, h.shop.owner_id), e.note))
        reviews = [
            ReviewLine(r.seq, r.rating, r.text or "", r.created_ms)
            for r in review_queries.reviews_from_rows(review_rows)
        ]
        claims = [
            ClaimLine(
                c.seq,
                CLAIM_KIND_NAMES.get(c.kind, c.kind),
                CLAIM_STATUS.get(c.status, c.status),
                RESOLUTIONS.get(c.resolution, c.resolution) if c.resolution else "",
                c.created_ms,
            )
            for c in claim_queries.claims_from_rows(claim_rows)
        ]
        return {
            "product": h.product,
            "shop": h.shop,
            "rep": self._shop_reputation(facts, h.shop.id),
            "steps": steps,
            "reviews": reviews,
            "claims": claims,
            "claims_total": h.claims,
            "claim_kinds": CLAIM_KINDS,
        }


def _matches(request: web.Request, etag: str) -> bool:
    """``If-None-Match`` names this ETag, or ``*`` (weak comparison, RFC 9110 §13.1.2)."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags or "*" in tags
