"""A bank transfer API on loopback, as ``scheduler.payout.HttpBankPayout`` expects one to behave.

``POST /v1/transfer-batches`` with ``Authorization: Bearer <key>`` and ``Idempotency-Key: <batch>``;
the body lists transfers (reference, bank_code, account, holder, amount). Each is ``paid`` when the
(bank code, account) is one the bank keeps, else ``failed`` ("account not found"); ``fail(reference,
reason)`` makes one fail on purpose. A batch sent again is answered with its first results and pays
nothing twice. Every call is recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "bank-test-key-1"


@dataclass
class BankStandIn:
    accounts: set[tuple[str, str]] = field(default_factory=set)
    calls: list[dict[str, Any]] = field(default_factory=list)
    paid: list[tuple[str, int]] = field(default_factory=list)  # (reference, amount) actually sent out
    _answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    _failures: dict[str, str] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    def open_account(self, bank_code: str, account: str) -> None:
        self.accounts.add((bank_code, account))

    def fail(self, reference: str, reason: str) -> None:
        self._failures[reference] = reason

    async def _batches(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"error": "unauthorized"}, status=401)
        key = request.headers.get("Idempotency-Key", "")
        try:
            body = json.loads(await request.read())
            transfers = body["transfers"]
            assert isinstance(transfers, list)
        except (ValueError, KeyError, AssertionError):
            return web.json_response({"error": "bad_request"}, status=400)
        self.calls.append({"key": key, "body": body})
        if key in self._answers:
            return web.json_response(self._answers[key])
        results = []
        for t in transfers:
            ref, amount = t["reference"], t["amount"]
            if ref in self._failures:
                results.append({"reference": ref, "amount": amount, "status": "failed", "reason": self._failures[ref]})
            elif (t["bank_code"], t["account"]) not in self.accounts:
                results.append({"reference": ref, "amount": amount, "status": "failed", "reason": "account not found"})
            else:
                self.paid.append((ref, amount))
                results.append({"reference": ref, "amount": amount, "status": "paid", "reason": None})
        self._answers[key] = {"batch": body.get("batch"), "results": results}
        return web.json_response(self._answers[key])

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/transfer-batches", self._batches)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
