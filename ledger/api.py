"""The ledger's read API over HTTP (aiohttp): checkpoint, entries, proofs, receipts, verifier key.

Entries are shown to each reader as ``ledger.visibility`` says: a restricted entry is
``{"seq", "restricted": true, "leaf_hash"}`` unless an accredited replica (bearer token) or the
entry's own member (explorer session) asks. Proofs, receipts, checkpoints and consistency proofs hold
no entry content and are public. Everything here reads one consistent snapshot. Bad input is a JSON
error with 400/404 — raised as a typed ``ChestnutError`` and rendered by the server's error middleware
— never a 500.
"""

from __future__ import annotations

import base64
import functools
import json

from aiohttp import web

from ledger.errors import ChestnutError
from ledger.model import decode_entry_json
from ledger.note import verifier_key
from ledger.service import Ledger
from ledger.storage.unit_of_work import Database
from ledger.visibility import Gate, Visibility, cache_headers, is_stub

MAX_PAGE = 1000
MAX_PAGE_BYTES = 1_000_000
MAX_SEQ = 2**62


# UTF-8 JSON, so Korean messages read as Korean in any client.
json_dumps = functools.partial(json.dumps, ensure_ascii=False)


class BadRequest(ChestnutError):
    code = "bad_request"


def _int_param(request: web.Request, name: str, default: int | None = None, *, source: str = "query") -> int:
    raw = request.match_info.get(name) if source == "path" else request.query.get(name)
    if raw is None or raw == "":
        if default is None:
            raise BadRequest(f"'{name}' is required", parameter=name)
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_SEQ:
        raise BadRequest(f"'{name}' must be a whole number ≥ 0, got {raw[:40]!r}", parameter=name)
    return int(raw)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _entry_json(seq: int, shown: bytes) -> dict[str, object]:
    if is_stub(shown):
        return json.loads(shown)  # type: ignore[no-any-return]
    return {"seq": seq, "entry": _b64(shown), "decoded": decode_entry_json(shown)}


class LedgerApi:
    def __init__(self, db: Database, ledger: Ledger, gate: Gate | None = None) -> None:
        self.db = db
        self.ledger = ledger
        self.gate = gate or Gate(Visibility())

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/ledger/checkpoint", self.checkpoint),
            web.get("/ledger/key", self.key),
            web.get("/ledger/entries", self.entries),
            web.get("/ledger/proof/{seq}", self.proof),
            web.get("/ledger/receipt/{seq}", self.receipt),
            web.get("/ledger/consistency", self.consistency),
        ]

    async def checkpoint(self, request: web.Request) -> web.Response:
        async with self.db.snapshot() as snap:
            _size, note = await self.ledger.latest_checkpoint(snap)
        return web.Response(text=note, content_type="text/plain", charset="utf-8")

    async def key(self, request: web.Request) -> web.Response:
        async with self.db.snapshot() as snap:
            signer = await self.ledger.ledger_signer(snap)
        return web.Response(text=verifier_key(signer.name, signer.public_key) + "\n", content_type="text/plain")

    async def entries(self, request: web.Request) -> web.Response:
        start = _int_param(request, "start", 0)
        end = _int_param(request, "end", start + 100)
        if end < start:
            raise BadRequest("'end' must not be before 'start'")
        end = min(end, start + MAX_PAGE)
        async with self.db.snapshot() as snap:
            audience = await self.gate.audience(request, snap)
            head = await self.ledger.head(snap)
            rows = self.gate.show_all(audience, await self.ledger.entries(snap, start, end))
        # A page is bounded in bytes too (entries may be up to 64 KiB); ``end`` says where it stopped.
        kept: list[tuple[int, bytes]] = []
        total = 0
        for seq, raw in rows:
            if kept and total + len(raw) > MAX_PAGE_BYTES:
                break
            kept.append((seq, raw))
            total += len(raw)
        if len(kept) < len(rows):
            end = kept[-1][0] + 1
        return web.json_response(
            dumps=json_dumps,
            data={
                "size": head.size,
                "start": start,
                "end": min(end, head.size) if start < head.size else start,
                "entries": [_entry_json(seq, raw) for seq, raw in kept],
            },
            headers=cache_headers(audience, "public, no-cache"),
        )

    async def proof(self, request: web.Request) -> web.Response:
        seq = _int_param(request, "seq", source="path")
        async with self.db.snapshot() as snap:
            if "size" in request.query:
                size = _int_param(request, "size")
            else:
                size, _note = await self.ledger.latest_checkpoint(snap)
            path = await self.ledger.inclusion_proof(snap, seq, size)
            raw = await self.ledger.entry(snap, seq)
        from ledger.merkle import leaf_hash

        return web.json_response(
            dumps=json_dumps,
            data={
                "seq": seq,
                "size": size,
                "leaf_hash": _b64(leaf_hash(raw)),
                "inclusion": [_b64(h) for h in path],
            },
        )

    async def receipt(self, request: web.Request) -> web.Response:
        seq = _int_param(request, "seq", source="path")
        async with self.db.snapshot() as snap:
            text = await self.ledger.receipt(snap, seq)
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    async def consistency(self, request: web.Request) -> web.Response:
        old = _int_param(request, "old")
        new = _int_param(request, "new")
        async with self.db.snapshot() as snap:
            proof = await self.ledger.consistency_proof(snap, old, new)
        return web.json_response(dumps=json_dumps, data={"old": old, "new": new, "proof": [_b64(h) for h in proof]})
