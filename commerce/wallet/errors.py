"""Refusals of top-ups, cash-outs and the payment gateway, each with a stable code."""

from __future__ import annotations

from commerce.errors import CommerceError
from ledger.errors import NotFound


class UnknownTopup(NotFound):
    code = "unknown_topup"


class TopupAmountMismatch(CommerceError):
    """The amount confirmed (by the client or the gateway) is not the amount the member asked to top up."""

    code = "topup_amount_mismatch"


class UnknownBankAccount(NotFound):
    code = "unknown_bank_account"


class UnknownCashout(NotFound):
    code = "unknown_cashout"


class GatewayError(CommerceError):
    code = "payment_gateway_error"
    http_status = 502


class PaymentRefused(GatewayError):
    """The gateway declined (card refused, limit, wrong amount, unknown payment): ``gateway_code`` says why."""

    code = "payment_refused"
    http_status = 402


class GatewayUnavailable(GatewayError):
    """The gateway did not answer in time or could not be reached; trying again later is safe."""

    code = "payment_gateway_unavailable"
    http_status = 503


class BadSignature(CommerceError):
    """A webhook whose signature is missing or does not match its body."""

    code = "bad_callback_signature"
    http_status = 401
