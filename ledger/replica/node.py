"""One replica node: its store, follower, witness and HTTP server together (``chestnut replica``).

It serves, from its own verified copy, the same read API a member would use on the primary —
``/ledger/checkpoint`` (the latest checkpoint it accepted, verbatim), ``/ledger/key``, the tlog-tiles,
``/ledger/proof/{seq}``, ``/ledger/receipt/{seq}``, ``/ledger/consistency`` — plus ``POST
/add-checkpoint`` (tlog-witness), ``/witness/key`` (its cosigner key) and ``/status`` (sizes, refusals,
and the alarm). It polls the primary, and any peer replicas, every ``poll_s`` seconds; a poll that
fails or is refused is logged and counted, and the next one comes anyway.

The witness key is a 32-byte seed in ``<home>/witness.key`` (mode 0600, written crash-safely like the
master key). The ledger key is pinned at first contact (``/ledger/key`` of the primary, then checked
against the genesis entry) unless one is given.

The reader token the operator issued (``reader_token``; ``CHESTNUT_REPLICA_TOKEN``) goes to the primary
only. Without one the replica follows the tree (``ledger.replica.follower``) and says so on ``/status``.
Its own copy is served to everyone as the primary serves the public (``visibility``): restricted entries
as stubs in its entry bundles — a replica passes no member's entries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from ledger.api import BadRequest, _int_param
from ledger.errors import ChestnutError
from ledger.keys import load_or_create_master_key
from ledger.note import ALG_COSIGNATURE_V1, Ed25519Signer, parse_verifier_key, verifier_key
from ledger.receipt import format_receipt
from ledger.replica.evidence import Evidence
from ledger.replica.follower import Follower, Refused
from ledger.replica.remote import RemoteLog
from ledger.replica.store import Pinned, ReplicaStore
from ledger.replica.witness import SIZE_CONTENT_TYPE, OldSizeMismatch, Witness
from ledger.storage.unit_of_work import Database
from ledger.tiles import TileApi
from ledger.visibility import Gate, Visibility

log = logging.getLogger("chestnut.replica")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _exit_with_parent(parent: int) -> None:
    """Pool worker initializer: exit when the replica that started us is gone (even after a SIGKILL).

    Why: a worker blocks on the pool's call queue, whose pipe its sibling workers keep open, so a
    SIGKILLed replica used to leave its signature workers running for ever.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def witness_signer(home: Path, name: str | None = None) -> Ed25519Signer:
    """The replica's own Ed25519 key (created on first use) under its name (default: from the key)."""
    path = home / "witness.key"
    load_or_create_master_key(path)  # creates it mode 0600, crash-safe, and checks mode and form
    seed = bytes.fromhex(path.read_text().strip())
    public = bytes(Ed25519Signer.from_seed("x", seed).public_key)
    return Ed25519Signer.from_seed(name or f"replica-{hashlib.sha256(public).hexdigest()[:8]}", seed)


def cosigner_key(signer: Ed25519Signer) -> str:
    return verifier_key(signer.name, signer.public_key, ALG_COSIGNATURE_V1)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ChestnutError as exc:
        return web.json_response(data=exc.to_json(), status=exc.http_status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response(data={"error": "http_error", "message": exc.reason}, status=exc.status)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return web.json_response(data={"error": "internal_error", "message": "something went wrong"}, status=500)


class ReplicaNode:
    def __init__(
        self,
        db: Database,
        home: Path,
        primary_url: str,
        *,
        name: str | None = None,
        ledger_key: str | None = None,
        peers: tuple[str, ...] = (),
        poll_s: float = 1.0,
        workers: int = 2,
        alarm_url: str | None = None,
        reader_token: str | None = None,
        visibility: Visibility | None = None,
    ) -> None:
        self.reader_token = reader_token or None
        self.gate = Gate(visibility or Visibility())  # no reader tokens here: the copy is served as the public sees it
        self.db = db
        self.store = ReplicaStore(db)
        self.home = home
        self.primary_url = primary_url.rstrip("/")
        self.signer = witness_signer(home, name)
        self.given_key = ledger_key
        self.peer_urls = peers
        self.poll_s = poll_s
        self.workers = workers
        self.alarm_url = alarm_url
        self.session: aiohttp.ClientSession | None = None
        self.follower: Follower | None = None
        self.witness: Witness | None = None
        self.pinned: Pinned | None = None
        self._executor: ProcessPoolExecutor | None = None
        self.polls = 0

    # ------------------------------------------------------------------------------------ lifecycle

    async def _pin(self, primary: RemoteLog) -> Pinned:
        async with self.db.snapshot() as snap:
            pinned = await self.store.pinned(snap)
        if pinned is not None:
            return pinned
        key_text = self.given_key
        while key_text is None:
            try:
                key_text = await primary.key()
            except ChestnutError as exc:
                log.warning("waiting for the primary's ledger key: %s", exc.message)
                await asyncio.sleep(self.poll_s)
        key = parse_verifier_key(key_text)
        pinned = Pinned(key.name, str(key), self.primary_url)
        async with self.db.unit_of_work() as uow:
            await self.store.pin(uow, pinned)
            await uow.commit()
        log.info("pinned ledger key %s", pinned.ledger_key)
        return pinned

    def _primary(self) -> RemoteLog:
        assert self.session is not None
        return RemoteLog(self.session, self.primary_url, token=self.reader_token)

    async def start(self) -> None:
        self.session = aiohttp.ClientSession()
        primary = self._primary()
        self.pinned = await self._pin(primary)
        self._executor = (
            ProcessPoolExecutor(max_workers=self.workers, initializer=_exit_with_parent, initargs=(os.getpid(),))
            if self.workers > 0
            else None
        )
        self.follower = Follower(
            self.store,
            self.pinned.origin,
            parse_verifier_key(self.pinned.ledger_key),
            name=self.signer.name,
            executor=self._executor,
            workers=self.workers,
            on_alarm=self._alarm,
            can_read=self.reader_token is not None,
        )
        if self.reader_token is None:
            log.warning(
                "no reader credential (CHESTNUT_REPLICA_TOKEN): following the tree only — checkpoints and their "
                "consistency, with fork evidence — without entries; nothing is accepted or cosigned"
            )
        await self.follower.load()
        self.witness = Witness(self.store, self.follower, self.signer, primary)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    async def _alarm(self, evidence: Evidence) -> None:
        if not self.alarm_url or self.session is None:
            return
        try:
            async with self.session.post(
                self.alarm_url,
                json={"alarm": "fork", "replica": self.signer.name, "evidence": evidence.to_json()},
                timeout=aiohttp.ClientTimeout(total=5),
            ) as resp:
                await resp.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.error("could not deliver the alarm to %s: %s", self.alarm_url, exc)

    # ------------------------------------------------------------------------------------ polling

    async def poll_once(self) -> None:
        assert self.follower is not None and self.session is not None
        self.polls += 1
        primary = self._primary()
        sources = [("primary", primary)]
        sources += [(f"peer {url}", RemoteLog(self.session, url)) for url in self.peer_urls]  # no token to peers
        for source, remote in sources:
            try:
                note = await remote.checkpoint()
                await self.follower.consider(note, remote, context=f"poll of {source}", source=primary)
            except ChestnutError as exc:
                self.follower.refuse(source, exc)

    async def poll_forever(self) -> None:
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("poll failed; retrying in %.1fs", self.poll_s)
            await asyncio.sleep(self.poll_s)

    # ------------------------------------------------------------------------------------ HTTP

    def web_app(self) -> web.Application:
        app = web.Application(middlewares=[_errors], client_max_size=256 * 1024)
        app.add_routes(TileApi(self.db, self.store.tree, self.gate).routes())
        app.add_routes(
            [
                web.get("/status", self.status),
                web.get("/ledger/checkpoint", self.checkpoint),
                web.get("/ledger/key", self.ledger_key),
                web.get("/witness/key", self.witness_key),
                web.get("/ledger/proof/{seq}", self.proof),
                web.get("/ledger/receipt/{seq}", self.receipt),
                web.get("/ledger/consistency", self.consistency),
                web.post("/add-checkpoint", self.add_checkpoint),
            ]
        )
        return app

    async def status_json(self) -> dict[str, Any]:
        assert self.follower is not None and self.witness is not None
        async with self.db.snapshot() as snap:
            evidence = await self.store.evidence(snap)
            held = await self.store.witness_state(snap, self.follower.origin)
            cosigned = await self.store.cosigned_count(snap)
        return {
            "name": self.signer.name,
            "witness_key": cosigner_key(self.signer),
            "primary": self.primary_url,
            "peers": list(self.peer_urls),
            "origin": self.follower.origin,
            "ledger_key": str(self.follower.key),
            **self.follower.status(),
            "cosigned_size": held.size if held else 0,
            "cosignatures": cosigned,
            "alarm": bool(evidence),
            "evidence": len(evidence),
            "polls": self.polls,
        }

    async def status(self, _request: web.Request) -> web.Response:
        return web.json_response(data=await self.status_json(), dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def checkpoint(self, _request: web.Request) -> web.Response:
        async with self.db.snapshot() as snap:
            _size, note = await self.store.tree.latest(snap)
        return web.Response(text=note, content_type="text/plain", charset="utf-8")

    async def ledger_key(self, _request: web.Request) -> web.Response:
        assert self.follower is not None
        return web.Response(text=str(self.follower.key) + "\n", content_type="text/plain")

    async def witness_key(self, _request: web.Request) -> web.Response:
        return web.Response(text=cosigner_key(self.signer) + "\n", content_type="text/plain")

    async def proof(self, request: web.Request) -> web.Response:
        seq = _int_param(request, "seq", source="path")
        async with self.db.snapshot() as snap:
            size, _note = await self.store.tree.latest(snap)
            if "size" in request.query:
                size = min(size, _int_param(request, "size"))
            path = await self.store.tree.inclusion_proof(snap, seq, size)
        return web.json_response(data={"seq": seq, "size": size, "inclusion": [_b64(h) for h in path]})

    async def receipt(self, request: web.Request) -> web.Response:
        seq = _int_param(request, "seq", source="path")
        async with self.db.snapshot() as snap:
            size, note = await self.store.tree.latest(snap)
            path = await self.store.tree.inclusion_proof(snap, seq, size)
        return web.Response(text=format_receipt(seq, path, note), content_type="text/plain", charset="utf-8")

    async def consistency(self, request: web.Request) -> web.Response:
        old, new = _int_param(request, "old"), _int_param(request, "new")
        async with self.db.snapshot() as snap:
            size, _note = await self.store.tree.latest(snap)
            if new > size:
                raise BadRequest(f"this replica holds a verified tree of size {size}, not {new}", size=size)
            proof = await self.store.tree.consistency_proof(snap, old, new)
        return web.json_response(data={"old": old, "new": new, "proof": [_b64(h) for h in proof]})

    async def add_checkpoint(self, request: web.Request) -> web.Response:
        assert self.witness is not None
        body = await request.content.read(256 * 1024)
        try:
            line = await self.witness.add_checkpoint(body)
        except OldSizeMismatch as exc:
            return web.Response(status=409, text=f"{exc.held}\n", content_type=SIZE_CONTENT_TYPE)
        except Refused as exc:
            return web.Response(status=exc.http_status, text=exc.message + "\n", content_type="text/plain")
        return web.Response(text=line, content_type="text/plain", charset="utf-8")

    async def serve(self, host: str, port: int, *, ready: Callable[[], None] | None = None) -> None:
        """Serve and poll until cancelled."""
        runner = web.AppRunner(self.web_app(), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            log.info("replica %s serving on http://%s:%d, following %s", self.signer.name, host, port, self.primary_url)
            if ready is not None:
                ready()
            poller = asyncio.create_task(self.poll_forever())
            try:
                await asyncio.Event().wait()
            finally:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
        finally:
            await runner.cleanup()


def _b64(h: bytes) -> str:
    import base64

    return base64.b64encode(h).decode()
