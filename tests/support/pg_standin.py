"""A loopback stand-in for a Korean payment gateway's server API (Toss Payments' shape), for tests.

Speaks ``POST /v1/payments/confirm`` and ``GET /v1/payments/{paymentKey}`` with HTTP Basic auth
``secret_key:`` and the gateway's JSON (``paymentKey``, ``orderId``, ``totalAmount``, ``status``;
errors as ``{"code", "message"}``). A test plays the member's checkout with ``checkout`` (the payment
exists, authorised, not yet confirmed), and can make the next confirm fail with a given code, or make
every answer slow. It records each call so a test can check what reached the gateway.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from commerce.wallet.gateway import sign_body

SECRET_KEY = "test_sk_chestnut_standin"  # noqa: S105 - the stand-in's own test key
WEBHOOK_SECRET = b"whsec-chestnut-standin"


@dataclass
class Payment:
    payment_key: str
    order_id: str
    amount: int
    status: str = "READY"  # READY → DONE | ABORTED | CANCELED | EXPIRED

    def to_json(self) -> dict[str, Any]:
        return {
            "mId": "tchestnut",
            "paymentKey": self.payment_key,
            "orderId": self.order_id,
            "orderName": "밤톨 충전",
            "status": self.status,
            "totalAmount": self.amount,
            "balanceAmount": self.amount,
            "method": "카드",
            "currency": "KRW",
        }


@dataclass
class Call:
    method: str
    path: str
    body: Any


@dataclass
class PgStandIn:
    secret_key: str = SECRET_KEY
    payments: dict[str, Payment] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    delay_s: float = 0.0
    _fail_next: list[tuple[int, str, str]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""

    # -- what a test does
    def checkout(self, order_id: str, amount: int) -> str:
        """The member authorised ``amount`` for ``order_id`` at checkout; returns the payment key."""
        key = "tgen_" + secrets.token_hex(10)
        self.payments[key] = Payment(key, order_id, amount)
        return key

    def fail_next_confirm(self, code: str, message: str = "카드 승인이 거절되었습니다.", status: int = 400) -> None:
        self._fail_next.append((status, code, message))

    def set_status(self, payment_key: str, status: str) -> None:
        self.payments[payment_key].status = status

    def event(self, payment_key: str, status: str | None = None) -> tuple[bytes, dict[str, str]]:
        """A signed PAYMENT_STATUS_CHANGED webhook body and its headers, as the gateway would send them."""
        payment = self.payments[payment_key]
        data = {**payment.to_json(), "status": status or payment.status}
        body = json.dumps({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-11-20T10:00:00", "data": data})
        raw = body.encode()
        return raw, {"Content-Type": "application/json", "X-Chestnut-Signature": sign_body(WEBHOOK_SECRET, raw)}

    def confirms(self) -> list[Call]:
        return [c for c in self.calls if c.path == "/v1/payments/confirm"]

    # -- server
    async def start(self) -> str:
        app = web.Application()
        app.add_routes(
            [web.post("/v1/payments/confirm", self._confirm), web.get("/v1/payments/{payment_key}", self._get)]
        )
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> PgStandIn:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # -- handlers
    @staticmethod
    def _error(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"code": code, "message": message}, status=status)

    def _authorised(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.secret_key}:".encode()).decode()
        return secrets.compare_digest(request.headers.get("Authorization", ""), expected)

    async def _slow(self) -> None:
        if self.delay_s:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.delay_s)

    async def _confirm(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.calls.append(Call("POST", request.path, body))
        await self._slow()
        if not self._authorised(request):
            return self._error(401, "UNAUTHORIZED_KEY", "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.")
        if not isinstance(body, dict) or not {"paymentKey", "orderId", "amount"} <= body.keys():
            return self._error(400, "INVALID_REQUEST", "잘못된 요청입니다.")
        payment = self.payments.get(body["paymentKey"])
        if payment is None or payment.order_id != body["orderId"]:
            return self._error(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
        if payment.status == "DONE":
            return self._error(400, "ALREADY_PROCESSED_PAYMENT", "이미 처리된 결제 입니다.")
        if body["amount"] != payment.amount:
            return self._error(400, "INVALID_REQUEST", "결제 금액이 일치하지 않습니다.")
        if self._fail_next:
            status, code, message = self._fail_next.pop(0)
            if status < 500:
                payment.status = "ABORTED"
            return self._error(status, code, message)
        if payment.status != "READY":
            return self._error(400, "NOT_AVAILABLE_PAYMENT", "결제가 불가능한 상태입니다.")
        payment.status = "DONE"
        return web.json_response(payment.to_json())

    async def _get(self, request: web.Request) -> web.Response:
        self.calls.append(Call("GET", request.path, None))
        await self._slow()
        if not self._authorised(request):
            return self._error(401, "UNAUTHORIZED_KEY", "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.")
        payment = self.payments.get(request.match_info["payment_key"])
        if payment is None:
            return self._error(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
        return web.json_response(payment.to_json())
