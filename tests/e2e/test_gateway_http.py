"""The payment callbacks over real HTTP: our routes on a loopback aiohttp server, the gateway stand-in on
another, ``HttpGateway`` between them — on SQLite and PostgreSQL.

The server is assembled as ``chestnut serve`` assembles it (the same error middleware), with only the
payment routes mounted. Every refusal is JSON with its code and changes nothing; no input gives a 500.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from chestnut.bootstrap import App
from commerce.wallet import queries as wallet_queries
from commerce.wallet import service as wallet
from commerce.wallet.gateway import HttpGateway, sign_body
from ledger.verify import verify_ledger
from tests.support.market import Cast, cast
from tests.support.pg_standin import SECRET_KEY, WEBHOOK_SECRET, PgStandIn
from web import pages
from web.api import PaymentsApi
from web.app import error_middleware


@dataclass
class Rig:
    app: App
    c: Cast
    pg: PgStandIn
    http: TestClient[web.Request, web.Application]

    async def intent(self, amount: int) -> tuple[str, str]:
        """A top-up order and its checkout at the gateway: (order id, payment key)."""
        async with self.app.db.unit_of_work() as uow:
            made = await wallet.request_topup(self.app.services, uow, self.c.shopper, amount)
            await uow.commit()
        return made.order_id, self.pg.checkout(made.order_id, amount)

    async def state(self) -> dict[str, Any]:
        async with self.app.db.snapshot() as snap:
            head = await self.app.ledger.head(snap)
            money = await wallet_queries.balances(self.app.services, snap, self.c.shopper)
            topups = await snap.fetch("SELECT id, status, payment_key, seq FROM topups ORDER BY id")
        return {"size": head.size, "money": money, "topups": topups}

    async def btl(self) -> int:
        return (await self.state())["money"].btl  # type: ignore[no-any-return]

    async def status(self, order_id: str) -> str:
        async with self.app.db.snapshot() as snap:
            return (await wallet_queries.get_topup(snap, order_id)).status

    async def success(
        self, order_id: str, key: str, amount: int | str, *, as_json: bool = True
    ) -> aiohttp.ClientResponse:
        headers = {"Accept": "application/json"} if as_json else {}
        return await self.http.get(
            "/payments/success", params={"paymentKey": key, "orderId": order_id, "amount": str(amount)}, headers=headers
        )

    async def webhook(self, body: bytes, headers: dict[str, str]) -> aiohttp.ClientResponse:
        return await self.http.post("/payments/webhook", data=body, headers=headers)

    async def signed(self, obj: Any) -> aiohttp.ClientResponse:
        raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        return await self.webhook(raw, {"X-Chestnut-Signature": sign_body(WEBHOOK_SECRET, raw)})


@pytest.fixture
async def rig(app: App) -> AsyncIterator[Rig]:
    c = await cast(app)
    async with PgStandIn() as pg, aiohttp.ClientSession() as session:
        gw = HttpGateway(session, pg.base_url, SECRET_KEY, timeout_s=0.5)
        web_app = web.Application(middlewares=[error_middleware])
        pages.setup(web_app)  # the checkout redirects answer a page
        web_app.add_routes(PaymentsApi(app.db, app.services, gw, webhook_secret=WEBHOOK_SECRET).routes())
        async with TestClient(TestServer(web_app, host="127.0.0.1")) as http:
            yield Rig(app, c, pg, http)


async def error_of(resp: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body: dict[str, Any] = await resp.json()
    assert body["error"] == code
    return body


async def verified(app: App) -> None:
    report = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert report.ok, report.problem


# ------------------------------------------------------------------------------------- the redirect


async def test_success_redirect_confirms_once(rig: Rig) -> None:
    order_id, key = await rig.intent(25_000)
    resp = await rig.success(order_id, key, 25_000, as_json=False)
    assert resp.status == 200 and resp.content_type == "text/html"
    assert "25,000원" in await resp.text()
    assert await rig.btl() == 125_000
    before = await rig.state()
    resp = await rig.success(order_id, key, 25_000)  # a reload of the page
    assert resp.status == 200
    assert await resp.json() == {"ok": True, "order_id": order_id, "amount": 25_000, "status": "confirmed"}
    assert await rig.state() == before and len(rig.pg.confirms()) == 1
    await verified(rig.app)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"orderId": "topup-aaaaaaaaaaaa", "amount": "1000"},
        {"paymentKey": "tgen_1", "amount": "1000"},
        {"paymentKey": "tgen_1", "orderId": "topup-aaaaaaaaaaaa"},
        {"paymentKey": "tgen_1", "orderId": "topup-aaaaaaaaaaaa", "amount": "1e3"},
        {"paymentKey": "tgen_1", "orderId": "topup-aaaaaaaaaaaa", "amount": "-1000"},
        {"paymentKey": "tgen_1", "orderId": "topup-aaaaaaaaaaaa", "amount": "9" * 40},
        {"paymentKey": "tgen_1", "orderId": "topup-aaaaaaaaaaaa", "amount": "１０００"},
        {"paymentKey": "tgen 1", "orderId": "topup-aaaaaaaaaaaa", "amount": "1000"},
        {"paymentKey": "tgen_1", "orderId": "<script>", "amount": "1000"},
    ],
)
async def test_success_redirect_with_junk_parameters(rig: Rig, params: dict[str, str]) -> None:
    before = await rig.state()
    resp = await rig.http.get("/payments/success", params=params)
    await error_of(resp, 400, "invalid_input")
    assert await rig.state() == before and rig.pg.calls == []


async def test_success_redirect_for_an_unknown_order(rig: Rig) -> None:
    before = await rig.state()
    await error_of(await rig.success("topup-000000000000", "tgen_1", 1_000), 404, "unknown_topup")
    assert await rig.state() == before and rig.pg.calls == []


async def test_success_redirect_with_another_amount(rig: Rig) -> None:
    order_id, key = await rig.intent(10_000)
    before = await rig.state()
    body = await error_of(await rig.success(order_id, key, 100), 400, "topup_amount_mismatch")
    assert body["data"] == {"expected": 10_000, "found": 100}
    assert await rig.state() == before and rig.pg.calls == []


async def test_success_redirect_when_the_gateway_refuses(rig: Rig) -> None:
    order_id, key = await rig.intent(10_000)
    rig.pg.fail_next_confirm("EXCEED_MAX_DAILY_PAYMENT_COUNT", "하루 결제 가능 횟수를 초과했습니다.")
    before = await rig.state()
    body = await error_of(await rig.success(order_id, key, 10_000), 402, "payment_refused")
    assert body["data"]["gateway_code"] == "EXCEED_MAX_DAILY_PAYMENT_COUNT"
    assert await rig.state() == before


async def test_success_redirect_when_the_gateway_is_slow(rig: Rig) -> None:
    order_id, key = await rig.intent(10_000)
    rig.pg.delay_s = 3.0
    before = await rig.state()
    await error_of(await rig.success(order_id, key, 10_000), 503, "payment_gateway_unavailable")
    assert await rig.state() == before
    rig.pg.delay_s = 0.0  # the member reloads once the gateway is back
    resp = await rig.success(order_id, key, 10_000)
    assert resp.status == 200 and await rig.btl() == 110_000
    await verified(rig.app)


async def test_fail_redirect_shows_a_page_and_changes_nothing(rig: Rig) -> None:
    order_id, _key = await rig.intent(10_000)
    before = await rig.state()
    resp = await rig.http.get(
        "/payments/fail", params={"code": "PAY_PROCESS_CANCELED", "message": "<b>x</b>", "orderId": order_id}
    )
    text = await resp.text()
    assert resp.status == 200 and "PAY_PROCESS_CANCELED" in text and "<b>x</b>" not in text
    resp = await rig.http.get(
        "/payments/fail", params={"code": "<script>alert(1)</script>"}, headers={"Accept": "application/json"}
    )
    assert await resp.json() == {"ok": False, "code": "UNKNOWN"}
    assert await rig.state() == before and await rig.status(order_id) == "requested"


# ------------------------------------------------------------------------------------- the webhook


async def test_webhook_done_confirms_by_asking_the_gateway(rig: Rig) -> None:
    order_id, key = await rig.intent(15_000)
    rig.pg.set_status(key, "DONE")  # confirmed at the gateway; our redirect never arrived
    body, headers = rig.pg.event(key)
    resp = await rig.webhook(body, headers)
    assert resp.status == 200
    assert await resp.json() == {"ok": True, "order_id": order_id, "status": "confirmed"}
    assert await rig.btl() == 115_000
    assert [(c.method, c.path) for c in rig.pg.calls] == [("GET", f"/v1/payments/{key}")]
    before = await rig.state()
    resp = await rig.webhook(body, headers)  # the gateway retries: nothing twice
    assert resp.status == 200 and await rig.state() == before
    await verified(rig.app)


async def test_webhook_done_is_not_believed_from_the_body(rig: Rig) -> None:
    order_id, key = await rig.intent(15_000)
    rig.pg.set_status(key, "CANCELED")
    body, headers = rig.pg.event(key, status="DONE")  # signed, but the gateway knows better
    resp = await rig.webhook(body, headers)
    assert resp.status == 200 and (await resp.json())["status"] == "failed"
    assert await rig.btl() == 100_000 and await rig.status(order_id) == "failed"


async def test_webhook_canceled_marks_the_topup_failed(rig: Rig) -> None:
    order_id, key = await rig.intent(15_000)
    before = await rig.state()
    resp = await rig.webhook(*rig.pg.event(key, status="ABORTED"))
    assert resp.status == 200 and (await resp.json())["status"] == "failed"
    after = await rig.state()
    assert after["size"] == before["size"] and after["money"] == before["money"]
    assert await rig.status(order_id) == "failed"


async def test_webhook_with_a_forged_signature(rig: Rig) -> None:
    _order_id, key = await rig.intent(15_000)
    rig.pg.set_status(key, "DONE")
    body, _headers = rig.pg.event(key)
    before = await rig.state()
    forged = [
        {"X-Chestnut-Signature": sign_body(b"not-the-secret", body)},
        {"X-Chestnut-Signature": sign_body(WEBHOOK_SECRET, body + b" ")},
        {"X-Chestnut-Signature": sign_body(WEBHOOK_SECRET, body)[7:]},  # no "sha256="
        {"X-Chestnut-Signature": "sha256=" + "0" * 64},
        {"X-Chestnut-Signature": "sha256=ü"},
        {"X-Chestnut-Signature": ""},
    ]
    for headers in forged:
        await error_of(await rig.webhook(body, headers), 401, "bad_callback_signature")
    assert await rig.state() == before and rig.pg.calls == []


async def test_webhook_without_a_signature(rig: Rig) -> None:
    _order_id, key = await rig.intent(15_000)
    body, _headers = rig.pg.event(key, status="DONE")
    before = await rig.state()
    await error_of(await rig.webhook(body, {"Content-Type": "application/json"}), 401, "bad_callback_signature")
    assert await rig.state() == before and rig.pg.calls == []


async def test_webhook_for_an_unknown_payment(rig: Rig) -> None:
    before = await rig.state()
    for order_id in ("topup-ffffffffffffffffffffffff", "office-R-1"):  # an office receipt is no gateway order
        event = {
            "eventType": "PAYMENT_STATUS_CHANGED",
            "data": {"paymentKey": "tgen_nobody", "orderId": order_id, "status": "DONE"},
        }
        await error_of(await rig.signed(event), 404, "unknown_topup")
    assert await rig.state() == before and rig.pg.calls == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"null",
        b'"PAYMENT_STATUS_CHANGED"',
        b"{}",
        b'{"eventType": 7}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED"}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": []}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "k", "orderId": "topup-aaaaaa"}}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "k", "orderId": "topup-aaaaaa", '
        b'"status": "PAID"}}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": 1, "orderId": "topup-aaaaaa", '
        b'"status": "DONE"}}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "k", "orderId": "x", "status": "DONE"}}',
        b'{"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "k", "orderId": null, "status": "DONE"}}',
        b"[" * 10_000,
        b'{"eventType": ' * 1000 + b"1" + b"}" * 1000,
        b'{"eventType": "PAYMENT_STATUS_CHANGED\\ud800"}',
        b'{"eventType": "\xed\xa0\x80"}',
    ],
)
async def test_webhook_with_junk(rig: Rig, body: bytes) -> None:
    before = await rig.state()
    await error_of(await rig.signed(body), 400, "invalid_input")
    assert await rig.state() == before and rig.pg.calls == []


async def test_webhook_of_another_event_type_is_acknowledged_and_ignored(rig: Rig) -> None:
    before = await rig.state()
    resp = await rig.signed({"eventType": "DEPOSIT_CALLBACK", "data": {"orderId": "topup-aaaaaa"}})
    assert resp.status == 200 and await resp.json() == {"ok": True, "ignored": True}
    assert await rig.state() == before


async def test_webhook_when_the_gateway_is_down_asks_for_a_retry(rig: Rig) -> None:
    _order_id, key = await rig.intent(15_000)
    rig.pg.set_status(key, "DONE")
    rig.pg.delay_s = 3.0
    body, headers = rig.pg.event(key)
    before = await rig.state()
    await error_of(await rig.webhook(body, headers), 503, "payment_gateway_unavailable")
    assert await rig.state() == before
    rig.pg.delay_s = 0.0
    assert (await rig.webhook(body, headers)).status == 200 and await rig.btl() == 115_000


async def test_webhook_body_too_large(rig: Rig) -> None:
    before = await rig.state()
    body = b'{"eventType": "' + b"x" * 70_000 + b'"}'
    await error_of(await rig.signed(body), 413, "payload_too_large")
    assert await rig.state() == before


async def test_webhooks_are_refused_without_a_configured_secret(app: App) -> None:
    async with PgStandIn() as pg, aiohttp.ClientSession() as session:
        gw = HttpGateway(session, pg.base_url, SECRET_KEY)
        web_app = web.Application(middlewares=[error_middleware])
        web_app.add_routes(PaymentsApi(app.db, app.services, gw, webhook_secret=b"").routes())
        async with TestClient(TestServer(web_app, host="127.0.0.1")) as http:
            raw = b'{"eventType": "PAYMENT_STATUS_CHANGED"}'
            resp = await http.post("/payments/webhook", data=raw, headers={"X-Chestnut-Signature": sign_body(b"", raw)})
            await error_of(resp, 401, "bad_callback_signature")


async def test_no_input_gives_a_500(rig: Rig) -> None:
    """A sweep of odd requests on every route: each answer is a deliberate status, never a 500."""
    order_id, key = await rig.intent(10_000)
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/payments/success?paymentKey=%00&orderId=%00&amount=%00", {}),
        ("GET", "/payments/success?amount=" + "1" * 5000, {}),
        ("GET", f"/payments/success?paymentKey={key}&orderId={order_id}&amount=10000&amount=1", {}),
        ("POST", "/payments/success", {}),
        ("GET", "/payments/fail?code=" + "A" * 1000, {}),
        ("GET", "/payments/webhook", {}),
        ("POST", "/payments/webhook", {"data": "x" * 10, "headers": {"X-Chestnut-Signature": "sha256=" + "z" * 64}}),
        ("POST", "/payments/webhook", {"data": b"\x00" * 10, "headers": {"Content-Type": "application/octet-stream"}}),
    ]
    for method, path, kwargs in requests:
        resp = await rig.http.request(method, path, **kwargs)
        assert resp.status < 500, (method, path, resp.status, await resp.text())
    await verified(rig.app)
