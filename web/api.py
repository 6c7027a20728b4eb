"""Payment-gateway callbacks over HTTP (aiohttp): the checkout redirects and the signed status webhook.

- ``GET /payments/success?paymentKey=&orderId=&amount=`` — the gateway's redirect after checkout:
  confirm with the gateway and mint; answers a small page (JSON when the client asks for it).
- ``GET /payments/fail?code=&orderId=`` — the gateway's redirect when checkout failed: a page only.
  It is unauthenticated, so it changes nothing; the signed webhook reports failures.
- ``POST /payments/webhook`` — status changes, signed ``X-Chestnut-Signature: sha256=<hex>`` (HMAC-SHA256
  of the raw body). DONE is confirmed by asking the gateway, CANCELED/ABORTED/EXPIRED mark the
  top-up failed. Bad signature → 401, junk → 400, unknown order → 404, gateway down → 503 (the
  gateway retries): always JSON, never a 500.

Bad input is raised as a typed ``ChestnutError`` and rendered as JSON by the server's error middleware.
Handlers parse, call one wallet service and render; those services hold no transaction open while the
gateway answers (``wallet.confirm_topup_callback``, ``wallet.payment_status_callback``).
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commerce.errors import InvalidInput
from commerce.services import Services
from commerce.wallet import gateway
from commerce.wallet import service as wallet
from commerce.wallet.gateway import PaymentGateway
from ledger.api import json_dumps
from ledger.errors import ChestnutError
from ledger.storage.unit_of_work import Database

MAX_WEBHOOK_BYTES = 64 * 1024
_FAIL_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class PayloadTooLarge(ChestnutError):
    code = "payload_too_large"
    http_status = 413


def _amount_param(raw: str | None) -> int:
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 15:
        raise InvalidInput("'amount' must be a whole number of won", field="amount")
    return int(raw)


def _page(request: web.Request, title: str, lines: list[str]) -> web.Response:
    """The page a browser lands on after checkout (``templates/payment.html``)."""
    return aiohttp_jinja2.render_template("payment.html", request, {"title": title, "lines": lines})


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


class PaymentsApi:
    """The gateway's callbacks. ``webhook_secret`` is shared with the gateway (empty: webhooks refused)."""

    def __init__(self, db: Database, market: Services, pg: PaymentGateway, *, webhook_secret: bytes) -> None:
        self.db = db
        self.market = market
        self.pg = pg
        self._webhook_secret = webhook_secret

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/payments/success", self.success),
            web.get("/payments/fail", self.fail),
            web.post("/payments/webhook", self.webhook),
        ]

    async def success(self, request: web.Request) -> web.Response:
        payment_key = gateway.check_payment_key(request.query.get("paymentKey"))
        order_id = gateway.check_order_id(request.query.get("orderId"))
        amount = _amount_param(request.query.get("amount"))
        topup = await wallet.confirm_topup_callback(
            self.market, self.db, self.pg, payment_key=payment_key, order_id=order_id, amount=amount
        )
        if _wants_json(request):
            return web.json_response(
                dumps=json_dumps,
                data={"ok": True, "order_id": topup.id, "amount": topup.amount, "status": topup.status},
            )
        return _page(
            request, "충전 완료", [f"밤톨 {topup.amount:,}원이 충전되었습니다.", "이 창을 닫고 대화로 돌아가세요."]
        )

    async def fail(self, request: web.Request) -> web.Response:
        raw = request.query.get("code", "")
        code = raw if raw and len(raw) <= 64 and set(raw) <= _FAIL_CODE_CHARS else "UNKNOWN"
        if _wants_json(request):
            return web.json_response(dumps=json_dumps, data={"ok": False, "code": code})
        return _page(
            request, "결제가 완료되지 않았습니다", ["충전되지 않았습니다. 다시 시도해 주세요.", f"(코드: {code})"]
        )

    async def webhook(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
            raise PayloadTooLarge("the webhook body is too large", limit=MAX_WEBHOOK_BYTES)
        body = await request.read()  # bounded by the server's client_max_size, then by ours
        if len(body) > MAX_WEBHOOK_BYTES:
            raise PayloadTooLarge("the webhook body is too large", limit=MAX_WEBHOOK_BYTES)
        gateway.verify_signature(self._webhook_secret, body, request.headers.get(gateway.SIGNATURE_HEADER))
        event = gateway.parse_event(body)
        if event is None:
            return web.json_response(dumps=json_dumps, data={"ok": True, "ignored": True})
        topup = await wallet.payment_status_callback(self.market, self.db, self.pg, event)
        return web.json_response(dumps=json_dumps, data={"ok": True, "order_id": topup.id, "status": topup.status})
