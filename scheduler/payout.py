"""Payouts: how a cash-out batch's transfer lines reach a bank, behind one small protocol.

- ``FilePayout`` — the file under ``$CHESTNUT_HOME/payouts/`` is the payout; an operator uploads it to
  the bank and later feeds the bank's result file to ``chestnut batch reconcile``. It answers nothing.
- ``HttpBankPayout`` — a bank transfer API: ``POST {base}/v1/transfer-batches`` with the batch's lines
  (JSON), ``Authorization: Bearer <key>`` and ``Idempotency-Key: <batch>``; the bank answers each line
  ``paid`` or ``failed`` (with a reason). Resubmitting a batch (after a crash) returns the first answer,
  which ``scheduler.cashout_batch.apply_results`` then refuses to apply twice anyway.

Vendor answers never cross this boundary: anything malformed is a typed ``PayoutError``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from ledger.errors import ChestnutError

log = logging.getLogger("chestnut.payout")
MAX_ANSWER_BYTES = 4 * 1024 * 1024


class PayoutError(ChestnutError):
    code = "payout_unavailable"
    http_status = 502


@dataclass(frozen=True, slots=True)
class PayoutLine:
    reference: str
    cashout_id: int
    bank_code: str
    account_no: str
    holder: str
    amount: int
    status: str  # sent | paid | failed

    def __repr__(self) -> str:  # personal data stays out of logs
        return f"PayoutLine({self.reference!r}, {self.amount})"


@dataclass(frozen=True, slots=True)
class PayoutResult:
    reference: str
    amount: int
    status: str  # paid | failed
    reason: str | None = None


class Payout(Protocol):
    async def submit(self, batch: str, lines: Sequence[PayoutLine]) -> list[PayoutResult]:
        """Send the lines; the results known now (none for a file that a person takes to the bank)."""
        ...


class FilePayout:
    async def submit(self, batch: str, lines: Sequence[PayoutLine]) -> list[PayoutResult]:
        return []


def _result(obj: Any) -> PayoutResult:
    if not isinstance(obj, dict):
        raise PayoutError("the bank's answer holds a result that is not an object")
    ref, amount, status, reason = obj.get("reference"), obj.get("amount"), obj.get("status"), obj.get("reason")
    if not isinstance(ref, str) or type(amount) is not int or status not in ("paid", "failed", "accepted"):
        raise PayoutError("the bank's answer holds a malformed result")
    if reason is not None and not isinstance(reason, str):
        raise PayoutError("the bank's answer holds a malformed reason")
    return PayoutResult(ref[:40], amount, str(status), None if reason is None else reason[:200])


class HttpBankPayout:
    """A bank transfer API over HTTP. A batch is sent once a day, so each submission opens its own session
    unless the caller passes one (and then closes it itself)."""

    def __init__(
        self, base_url: str, api_key: str, *, timeout_s: float = 30.0, session: aiohttp.ClientSession | None = None
    ):
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("the bank API base URL must be http(s)")
        if not api_key:
            raise ValueError("the bank API key is empty")
        self._session = session
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def __repr__(self) -> str:  # never the key
        return f"HttpBankPayout({self._base!r})"

    async def submit(self, batch: str, lines: Sequence[PayoutLine]) -> list[PayoutResult]:
        body = {
            "batch": batch,
            "transfers": [
                {
                    "reference": line.reference,
                    "bank_code": line.bank_code,
                    "account": line.account_no,
                    "holder": line.holder,
                    "amount": line.amount,
                }
                for line in lines
            ],
        }
        if self._session is not None:
            return await self._post(self._session, batch, body)
        async with aiohttp.ClientSession() as session:
            return await self._post(session, batch, body)

    async def _post(self, session: aiohttp.ClientSession, batch: str, body: dict[str, Any]) -> list[PayoutResult]:
        headers = {"Authorization": f"Bearer {self._key}", "Idempotency-Key": batch}
        try:
            async with session.post(
                self._base + "/v1/transfer-batches", json=body, headers=headers, timeout=self._timeout
            ) as resp:
                raw = await resp.content.read(MAX_ANSWER_BYTES + 1)
                status = resp.status
        except TimeoutError:
            raise PayoutError("the bank did not answer in time") from None
        except aiohttp.ClientError as exc:
            log.warning("bank API unreachable: %s", type(exc).__name__)
            raise PayoutError("the bank could not be reached") from None
        if status >= 400:
            raise PayoutError(f"the bank refused the transfer batch (HTTP {status})", status=status)
        try:
            answer = json.loads(raw) if len(raw) <= MAX_ANSWER_BYTES else None
        except (UnicodeDecodeError, ValueError):
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise PayoutError("the bank answered with something other than a result list", status=status)
        # "accepted" means the bank will say later (a result file): not a result yet.
        return [r for r in map(_result, answer["results"]) if r.status != "accepted"]
