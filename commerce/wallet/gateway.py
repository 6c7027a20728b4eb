"""Payment gateways: one small Protocol, our own value types, and an HTTP adapter for Korean PG APIs.

Top-ups through a gateway follow the shape of the Korean PG "confirm" APIs (Toss Payments'
``POST /v1/payments/confirm`` with ``{paymentKey, orderId, amount}`` and HTTP Basic auth
``secret_key:``; ``GET /v1/payments/{paymentKey}`` to look a payment up). The member pays at the
gateway's checkout; the gateway redirects back with the payment key; our server confirms it
server-to-server, and only then mints BTL (``commerce.wallet.service.confirm_topup``).

Nothing of the vendor crosses this module's boundary: services see ``GatewayPayment`` (our frozen
dataclass, with our own status words) and our typed errors, never an aiohttp response or the
gateway's JSON. Status-change webhooks are signed by us-and-the-gateway's shared secret:
``X-Chestnut-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` (checked in constant time).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import quote

import aiohttp

from commerce.errors import InvalidInput
from commerce.wallet.errors import BadSignature, GatewayError, GatewayUnavailable, PaymentRefused
from ledger.jsonbody import parse_json

log = logging.getLogger("chestnut.gateway")

PaymentStatus = Literal["done", "pending", "canceled", "aborted", "expired"]
FAILED_STATUSES: frozenset[str] = frozenset({"canceled", "aborted", "expired"})
SIGNATURE_HEADER = "X-Chestnut-Signature"
MAX_ANSWER_BYTES = 256 * 1024
ORDER_ID = re.compile(r"^[A-Za-z0-9_\-]{6,64}$")  # the gateways' rule for order ids
PAYMENT_KEY = re.compile(r"^[A-Za-z0-9_\-.]{1,200}$")

# The gateway's status words → ours (one place that knows the vendor's vocabulary).
_STATUSES: dict[str, PaymentStatus] = {
    "DONE": "done",
    "READY": "pending",
    "IN_PROGRESS": "pending",
    "WAITING_FOR_DEPOSIT": "pending",
    "CANCELED": "canceled",
    "PARTIAL_CANCELED": "canceled",
    "ABORTED": "aborted",
    "EXPIRED": "expired",
}
_ALREADY_CONFIRMED = "ALREADY_PROCESSED_PAYMENT"


@dataclass(frozen=True, slots=True)
class GatewayPayment:
    """A payment as the gateway reports it, in our words."""

    payment_key: str
    order_id: str
    amount: int  # won
    status: PaymentStatus


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A status change the gateway reported by webhook (only a hint: DONE is re-checked with the gateway)."""

    payment_key: str
    order_id: str
    status: PaymentStatus


class PaymentGateway(Protocol):
    """What wallet services need from a payment gateway."""

    async def confirm(self, *, payment_key: str, order_id: str, amount: int) -> GatewayPayment:
        """Confirm (capture) a payment the member authorised at checkout.

        Idempotent: confirming a payment the gateway has already confirmed answers with that payment.
        Raises ``PaymentRefused``, ``GatewayUnavailable`` or ``GatewayError``.
        """
        ...

    async def get_payment(self, payment_key: str) -> GatewayPayment:
        """The payment as the gateway knows it now (same errors as ``confirm``)."""
        ...


def check_order_id(value: object) -> str:
    if not isinstance(value, str) or not ORDER_ID.match(value):
        raise InvalidInput("an order id is 6–64 letters, digits, '-' or '_'", field="orderId")
    return value


def check_payment_key(value: object) -> str:
    if not isinstance(value, str) or not PAYMENT_KEY.match(value):
        raise InvalidInput("a payment key is 1–200 letters, digits, '-', '_' or '.'", field="paymentKey")
    return value


# --------------------------------------------------------------------------------- webhook bodies


def sign_body(secret: bytes, body: bytes) -> str:
    """The signature header value for ``body`` (what the gateway side sends; used by tests)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> None:
    """Raise ``BadSignature`` unless ``header`` is ``sha256=<hex HMAC-SHA256(secret, body)>``."""
    if not secret:
        raise BadSignature("webhooks are not accepted: no webhook secret is configured")
    if header is None:
        raise BadSignature(f"the {SIGNATURE_HEADER} header is missing")
    expected = sign_body(secret, body).encode("ascii")
    given = header.strip().encode("utf-8", "replace")
    if not hmac.compare_digest(expected, given):
        raise BadSignature("the webhook signature does not match its body")


def parse_event(body: bytes) -> PaymentEvent | None:
    """A ``PAYMENT_STATUS_CHANGED`` webhook body → ``PaymentEvent``; other event types → None.

    Anything else — not JSON (``ledger.jsonbody``: nested too deep, a lone surrogate …), not an object,
    fields missing or of the wrong type — is ``InvalidInput``.
    """
    obj = parse_json(body, error=InvalidInput)
    if not isinstance(obj, dict) or not isinstance(obj.get("eventType"), str):
        raise InvalidInput("the webhook body must be an object with an eventType", field="eventType")
    if obj["eventType"] != "PAYMENT_STATUS_CHANGED":
        return None
    data = obj.get("data")
    if not isinstance(data, dict):
        raise InvalidInput("a payment status change carries its payment in 'data'", field="data")
    status = data.get("status")
    if not isinstance(status, str) or status not in _STATUSES:
        raise InvalidInput("unknown payment status", field="status")
    return PaymentEvent(
        check_payment_key(data.get("paymentKey")), check_order_id(data.get("orderId")), _STATUSES[status]
    )


# --------------------------------------------------------------------------------- the HTTP adapter


def _payment(obj: Any) -> GatewayPayment:
    if not isinstance(obj, dict):
        raise GatewayError("the payment gateway answered with something other than a payment")
    key, order_id, amount, status = (obj.get(k) for k in ("paymentKey", "orderId", "totalAmount", "status"))
    if (
        not isinstance(key, str)
        or not isinstance(order_id, str)
        or type(amount) is not int
        or amount < 0
        or not isinstance(status, str)
        or status not in _STATUSES
    ):
        raise GatewayError("the payment gateway's answer lacks paymentKey, orderId, totalAmount or a known status")
    return GatewayPayment(key, order_id, amount, _STATUSES[status])


class HttpGateway:
    """A Toss Payments–style gateway over HTTP. The session is the caller's (bootstrap opens and closes it)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, secret_key: str, *, timeout_s: float = 10.0):
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("the gateway base URL must be http(s)")
        if not secret_key:
            raise ValueError("the gateway secret key is empty")
        self._session = session
        self._base = base_url.rstrip("/")
        # HTTP Basic "secret_key:" (RFC 7617), built here: aiohttp.BasicAuth is deprecated.
        self._headers = {"Authorization": "Basic " + base64.b64encode(f"{secret_key}:".encode()).decode("ascii")}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def __repr__(self) -> str:  # never the key
        return f"HttpGateway({self._base!r})"

    async def confirm(self, *, payment_key: str, order_id: str, amount: int) -> GatewayPayment:
        body = {"paymentKey": payment_key, "orderId": order_id, "amount": amount}
        try:
            return _payment(await self._call("POST", "/v1/payments/confirm", body))
        except PaymentRefused as exc:
            if exc.data.get("gateway_code") != _ALREADY_CONFIRMED:
                raise
        # Confirmed before (our earlier attempt, whose answer or commit was lost): read it back.
        return await self.get_payment(payment_key)

    async def get_payment(self, payment_key: str) -> GatewayPayment:
        return _payment(await self._call("GET", "/v1/payments/" + quote(payment_key, safe=""), None))

    async def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        try:
            async with self._session.request(
                method, self._base + path, json=body, headers=self._headers, timeout=self._timeout
            ) as resp:
                raw = await resp.content.read(MAX_ANSWER_BYTES + 1)
                status = resp.status
        except TimeoutError:
            raise GatewayUnavailable("the payment gateway did not answer in time") from None
        except aiohttp.ClientError as exc:
            log.warning("payment gateway unreachable: %s", type(exc).__name__)
            raise GatewayUnavailable("the payment gateway could not be reached") from None
        if len(raw) > MAX_ANSWER_BYTES:
            raise GatewayError("the payment gateway's answer is too large", status=status)
        try:
            answer = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            answer = None
        if status < 400:
            if answer is None:
                raise GatewayError("the payment gateway answered with something other than JSON", status=status)
            return answer
        code = answer.get("code") if isinstance(answer, dict) else None
        message = answer.get("message") if isinstance(answer, dict) else None
        data = {
            "status": status,
            "gateway_code": code if isinstance(code, str) else None,
            "gateway_message": message[:200] if isinstance(message, str) else None,
        }
        if status in (401, 403):
            log.error("the payment gateway refused our credentials (%s)", data["gateway_code"])
            raise GatewayError("the payment gateway refused our credentials", **data)
        if 400 <= status < 500:
            raise PaymentRefused("the payment gateway declined the payment", **data)
        raise GatewayError("the payment gateway failed", **data)
