"""The primary's side of witnessing: submit each new checkpoint to the replicas, collect cosignatures.

For each configured witness (URL, cosigner key, operator), a checkpoint is sent as a c2sp.org/tlog-witness
``POST <url>/add-checkpoint`` with ``old <size the witness holds>`` and the RFC 9162 consistency proof
from that size. A 409 with ``text/x.tlog.size`` tells us the size it really holds: we retry once from
there. A 200 carries cosignature lines, each checked against the witness's key before it counts.
When at least ``quorum`` witnesses cosigned (e.g. 2 of 3), the checkpoint with their cosignature lines
is published as the latest *witnessed* checkpoint (``ledger_witnessed``;
``GET /ledger/checkpoint/witnessed``; ``chestnut ledger checkpoint --witnessed``).

Writes never wait for this: it runs as its own task, woken after a checkpoint is published, and each
round is bounded by ``timeout_s`` — a slow or dead replica only delays (or misses) its cosignature.
Every valid cosignature is recorded in ``witness_contributions`` for the witness's operator: that is
what the rewards issue pays node operators from.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from ledger.checkpoint import verify_cosignatures
from ledger.errors import ChestnutError, NotFound, VerificationError
from ledger.note import ALG_COSIGNATURE_V1, Verifier, parse_verifier_key
from ledger.service import Ledger
from ledger.storage.ops import in_clause, write, write_many
from ledger.storage.unit_of_work import Database, UnitOfWork

log = logging.getLogger("chestnut.witnessing")


class WitnessConfigError(ChestnutError):
    code = "witness_config_invalid"


@dataclass(frozen=True, slots=True)
class WitnessConfig:
    url: str
    key: Verifier
    operator: str


def parse_witnesses(items: Sequence[str]) -> list[WitnessConfig]:
    """Each item: ``<url> <cosigner verifier key> [<operator>]`` (the operator defaults to the key name)."""
    out = []
    for item in items:
        parts = item.split()
        if len(parts) not in (2, 3) or not parts[0].startswith(("http://", "https://")):
            raise WitnessConfigError(f"a witness is '<url> <verifier key> [<operator>]', got {item[:80]!r}")
        try:
            key = parse_verifier_key(parts[1])
        except ChestnutError as exc:
            raise WitnessConfigError(f"witness {parts[0]}: {exc.message}") from None
        if key.alg != ALG_COSIGNATURE_V1:
            raise WitnessConfigError(f"witness {parts[0]}: its key must be a cosignature/v1 key (alg 0x04)")
        out.append(WitnessConfig(parts[0].rstrip("/"), key, parts[2] if len(parts) == 3 else key.name))
    if len({w.key.name for w in out}) != len(out):
        raise WitnessConfigError("two witnesses share a key name; each needs its own")
    return out


async def latest_witnessed(uow: UnitOfWork) -> tuple[int, str]:
    rows = await uow.fetch("SELECT size, note FROM ledger_witnessed ORDER BY size DESC LIMIT 1")
    if not rows:
        raise NotFound("no checkpoint has been witnessed yet")
    return int(rows[0][0]), str(rows[0][1])


async def witnessed_size(uow: UnitOfWork) -> int | None:
    """The size of the latest witnessed checkpoint, None before the first."""
    rows = await uow.fetch("SELECT MAX(size) FROM ledger_witnessed")
    return None if rows[0][0] is None else int(rows[0][0])


async def witnessed_notes(uow: UnitOfWork, sizes: Sequence[int]) -> dict[int, str]:
    """The cosigned notes of the checkpoints of ``sizes`` that were witnessed, by size."""
    clause, params = in_clause("s", list(sizes))
    rows = await uow.fetch(f"SELECT size, note FROM ledger_witnessed WHERE size IN {clause}", params)
    return {int(size): str(note) for size, note in rows}


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode("ascii")


class Witnessing:
    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        witnesses: Sequence[WitnessConfig],
        *,
        quorum: int | None = None,
        timeout_s: float = 3.0,
    ) -> None:
        self.db = db
        self.ledger = ledger
        self.witnesses = list(witnesses)
        self.quorum = quorum if quorum is not None else len(self.witnesses) // 2 + 1
        if not 1 <= self.quorum <= max(1, len(self.witnesses)):
            raise WitnessConfigError(f"a quorum of {self.quorum} is impossible with {len(self.witnesses)} witnesses")
        self.timeout_s = timeout_s
        self.held: dict[str, int] = {}
        self.witnessed_size = 0
        self._wake = asyncio.Event()
        self.session: aiohttp.ClientSession | None = None

    def wake(self) -> None:
        """A checkpoint was published: witness it now (never blocks the caller)."""
        self._wake.set()

    async def run(self, interval_s: float) -> None:
        """Until cancelled: a round after every wake-up (or every ``interval_s`` anyway)."""
        self.session = aiohttp.ClientSession()
        try:
            while True:
                # Cleared before the round, so a checkpoint published during a slow round is not missed.
                self._wake.clear()
                try:
                    await self.witness_latest()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("witnessing round failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), interval_s)
        finally:
            await self.session.close()
            self.session = None

    async def witness_latest(self) -> str | None:
        """Submit the latest checkpoint if it is newer than the last witnessed one; the published note or None."""
        async with self.db.snapshot() as snap:
            try:
                size, note = await self.ledger.latest_checkpoint(snap)
            except NotFound:
                return None
        if size <= self.witnessed_size:
            return None
        lines = await self.collect(size, note)
        return await self.publish(size, note, lines)

    async def collect(self, size: int, note: str) -> dict[WitnessConfig, tuple[str, int]]:
        """Cosignature lines (with their timestamps) by witness, gathered within the timeout."""
        tasks = {w: asyncio.create_task(self._submit(w, size, note)) for w in self.witnesses}
        done, pending = await asyncio.wait(tasks.values(), timeout=self.timeout_s)
        for task in pending:
            task.cancel()
        out: dict[WitnessConfig, tuple[str, int]] = {}
        for w, task in tasks.items():
            if task in done and not task.cancelled() and task.exception() is None:
                result = task.result()
                if result is not None:
                    out[w] = result
            elif task in pending:
                log.warning("witness %s did not answer within %.1fs", w.url, self.timeout_s)
        return out

    async def _submit(self, w: WitnessConfig, size: int, note: str) -> tuple[str, int] | None:
        session = self.session or aiohttp.ClientSession()
        try:
            for _attempt in range(2):
                old = min(self.held.get(w.url, 0), size)
                async with self.db.snapshot() as snap:
                    proof = await self.ledger.consistency_proof(snap, old, size)
                body = f"old {old}\n" + "".join(_b64(h) + "\n" for h in proof) + "\n" + note
                try:
                    async with session.post(
                        f"{w.url}/add-checkpoint",
                        data=body.encode(),
                        timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                    ) as resp:
                        text = (await resp.read())[: 64 * 1024].decode("utf-8", "replace")
                        status, content_type = resp.status, resp.content_type
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    log.warning("witness %s unreachable: %s", w.url, exc)
                    return None
                if status == 409 and content_type == "text/x.tlog.size" and text.strip().isdigit():
                    held = int(text.strip())
                    if held == old or held > size:
                        log.warning("witness %s holds size %d; cannot witness size %d", w.url, held, size)
                        return None
                    self.held[w.url] = held
                    continue
                if status != 200:
                    log.warning("witness %s refused checkpoint %d (%d): %s", w.url, size, status, text.strip()[:300])
                    return None
                return self._check_cosignature(w, size, note, text)
            return None
        finally:
            if self.session is None:
                await session.close()

    def _check_cosignature(self, w: WitnessConfig, size: int, note: str, text: str) -> tuple[str, int] | None:
        lines = [line + "\n" for line in text.split("\n") if line]
        for line in lines:
            try:
                times = verify_cosignatures(note + line, [w.key])
            except VerificationError as exc:
                log.warning("witness %s sent a bad cosignature: %s", w.url, exc.message)
                return None
            if w.key.name in times:
                self.held[w.url] = size
                return line, times[w.key.name]
        log.warning("witness %s answered without a cosignature by its key", w.url)
        return None

    async def publish(self, size: int, note: str, lines: dict[WitnessConfig, tuple[str, int]]) -> str | None:
        """Record every contribution; publish the witnessed checkpoint if the quorum cosigned."""
        now_ms = int(time.time() * 1000)
        witnessed = note + "".join(line for line, _t in lines.values()) if len(lines) >= self.quorum else None
        ops = []
        if lines:
            ops.append(
                write_many(
                    "INSERT INTO witness_contributions (witness, size, operator, time_s, created_ms) "
                    "VALUES (:w, :s, :o, :t, :c) ON CONFLICT (witness, size) DO NOTHING",
                    [
                        {"w": str(w.key), "s": size, "o": w.operator, "t": t, "c": now_ms}
                        for w, (_line, t) in lines.items()
                    ],
                )
            )
        if witnessed is not None:
            ops.append(
                write(
                    "INSERT INTO ledger_witnessed (size, note, cosigners, created_ms) VALUES (:s, :n, :k, :c) "
                    "ON CONFLICT (size) DO NOTHING",
                    {"s": size, "n": witnessed, "k": len(lines), "c": now_ms},
                )
            )
        if ops:
            async with self.db.unit_of_work() as uow:
                await uow.batch(ops)
                await uow.commit()
        if witnessed is None:
            log.warning(
                "checkpoint %d: %d of %d cosignatures, %d needed", size, len(lines), len(self.witnesses), self.quorum
            )
            return None
        self.witnessed_size = size
        return witnessed


class WitnessedApi:
    """``GET /ledger/checkpoint/witnessed``: the latest checkpoint with its replicas' cosignatures."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/ledger/checkpoint/witnessed", self.witnessed)]

    async def witnessed(self, _request: web.Request) -> web.Response:
        async with self.db.snapshot() as snap:
            _size, note = await latest_witnessed(snap)
        return web.Response(text=note, content_type="text/plain", charset="utf-8")
