"""``chestnut bench replica``: a replica syncing a ledger from nothing, then commit → witnessed-checkpoint lag.

The replica is its own process (``chestnut replica``) with the reader credential an accredited one
holds; the primary serves from this process (the real web app) over loopback. Once the replica has
caught up, payments are committed at a steady rate while the primary publishes a checkpoint every
``checkpoint_interval_s`` and has it witnessed right away (quorum 1 of 1), as ``serve`` does; a commit's
lag is the time until a witnessed checkpoint covers it.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from chestnut.bench.ledger import open_payers, payment
from chestnut.bench.measure import BATCH, free_port
from chestnut.bootstrap import App
from ledger import readers
from ledger.replica.node import cosigner_key, witness_signer
from ledger.verify import verify_ledger
from ledger.witnessing import Witnessing, parse_witnesses
from web.app import make_web_app

TICK_S = 0.1  # the steady writer commits once per tick


async def _replica_status(session: aiohttp.ClientSession, url: str) -> dict[str, Any] | None:
    try:
        async with session.get(f"{url}/status", timeout=aiohttp.ClientTimeout(total=5)) as resp:
            return dict(await resp.json()) if resp.status == 200 else None
    except (aiohttp.ClientError, TimeoutError, OSError):
        return None


async def _write_ledger(app: App, rng: random.Random, entries: int, progress: Callable[[int, int], None] | None) -> int:
    """``entries`` payments, ``BATCH`` per transaction, and a checkpoint over them: the ledger's size."""
    await open_payers(app)
    for start in range(0, entries, BATCH):
        async with app.db.unit_of_work() as uow:
            await app.ledger.record_many(uow, [payment(rng, n, "b") for n in range(start, min(entries, start + BATCH))])
            await uow.commit()
        if progress:
            progress(min(entries, start + BATCH), entries)
    async with app.db.unit_of_work() as uow:
        await app.ledger.publish_checkpoint(uow)
        await uow.commit()
    async with app.db.snapshot() as snap:
        return (await app.ledger.head(snap)).size


async def _start_replica(app: App, primary_port: int, port: int, home: Path) -> subprocess.Popen[bytes]:
    """``chestnut replica`` following the primary, with a reader credential issued to it."""
    async with app.db.unit_of_work() as uow:  # the replica reads every entry, as an accredited one does
        token = await readers.issue(uow, "bench-replica")
        await uow.commit()
    env = {
        **os.environ,
        "CHESTNUT_DATABASE_URL": "",
        "CHESTNUT_REPLICA_DATABASE_URL": "",
        "CHESTNUT_REPLICA_POLL_INTERVAL_S": "0.2",
        "CHESTNUT_LOG_LEVEL": "WARNING",
        "CHESTNUT_REPLICA_TOKEN": token,
    }
    args = [sys.executable, "-m", "chestnut.cli", "replica", "--primary", f"http://127.0.0.1:{primary_port}"]
    args += ["--home", str(home), "--port", str(port)]
    return subprocess.Popen(  # noqa: S603, ASYNC220 - the replica is a separate process by design
        args,
        env=env,
        stdout=subprocess.DEVNULL,
    )


async def _wait_for_sync(
    proc: subprocess.Popen[bytes], session: aiohttp.ClientSession, url: str, size: int
) -> tuple[float, float]:
    """Until the replica serves, then until it accepted ``size`` entries: (seconds, entries/s inside it)."""
    status = None
    while status is None:
        if proc.poll() is not None:
            raise RuntimeError("the replica process exited before it served")
        status = await _replica_status(session, url)
        await asyncio.sleep(0.02)
    started = time.perf_counter()
    while (status or {}).get("accepted_size", 0) < size:
        await asyncio.sleep(0.05)
        status = await _replica_status(session, url)
    sync_s = time.perf_counter() - started
    internal = (status or {}).get("synced_entries", 0) / max(1e-9, (status or {}).get("sync_seconds", 0.0))
    return sync_s, internal


async def _publish_and_witness(
    app: App, witnessing: Witnessing, interval_s: float, witnessed: list[tuple[float, int]], stop: asyncio.Event
) -> None:
    """A checkpoint every ``interval_s`` while the ledger grew, witnessed at once: (when, size) each."""
    while not stop.is_set():
        round_start = time.perf_counter()
        async with app.db.unit_of_work() as uow:
            published = await app.ledger.publish_checkpoint(uow)
            await uow.commit()
        if published:
            note = await witnessing.witness_latest()
            if note is not None:
                witnessed.append((time.perf_counter(), int(note.split("\n")[1])))
        await asyncio.sleep(max(0.0, interval_s - (time.perf_counter() - round_start)))


async def _steady_writes(
    app: App, rng: random.Random, rate: int, seconds: float
) -> tuple[int, list[tuple[float, int]]]:
    """Payments at ``rate`` per second for ``seconds``: (payments, (when, last seq) of each commit)."""
    commits: list[tuple[float, int]] = []
    per_tick = max(1, round(rate * TICK_S))
    n = 0
    t_start = time.perf_counter()
    while time.perf_counter() - t_start < seconds:
        async with app.db.unit_of_work() as uow:
            recorded = await app.ledger.record_many(uow, [payment(rng, n + k, "w") for k in range(per_tick)])
            await uow.commit()
        n += per_tick
        commits.append((time.perf_counter(), recorded[-1].seq))
        next_at = t_start + len(commits) * TICK_S
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    return n, commits


async def _witness_lags(
    app: App, witnessing: Witnessing, rng: random.Random, rate: int, seconds: float, interval_s: float
) -> tuple[int, list[tuple[float, int]], list[float]]:
    """Steady writes while checkpoints are witnessed: (payments, witnessed checkpoints, sorted lags)."""
    witnessed: list[tuple[float, int]] = []
    stop = asyncio.Event()
    task = asyncio.create_task(_publish_and_witness(app, witnessing, interval_s, witnessed, stop))
    n, commits = await _steady_writes(app, rng, rate, seconds)
    deadline = time.perf_counter() + 10
    while (not witnessed or witnessed[-1][1] <= commits[-1][1]) and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    stop.set()
    await task
    lags = []
    for t_commit, seq in commits:
        done = next((t for t, s in witnessed if s > seq), None)
        lags.append((done if done is not None else float("inf")) - t_commit)
    return n, witnessed, sorted(lags)


def _stop_replica(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


async def run_replica_bench(
    app: App,
    *,
    entries: int = 200_000,
    rate: int = 500,
    seconds: float = 20.0,
    checkpoint_interval_s: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """A replica syncing ``entries`` from nothing over loopback, then the lag from a primary commit to a
    witnessed checkpoint that covers it under a steady ``rate`` entries/s."""
    rng = random.Random(20261203)  # noqa: S311 - benchmark traffic
    size = await _write_ledger(app, rng, entries, progress)
    runner = web.AppRunner(make_web_app(app), access_log=None)
    await runner.setup()
    pport, rport = free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", pport).start()
    home = Path(tempfile.mkdtemp(prefix="chestnut-bench-replica-"))
    rurl = f"http://127.0.0.1:{rport}"
    key = cosigner_key(witness_signer(home))  # made before the replica starts: two processes never race to make it
    proc = await _start_replica(app, pport, rport, home)
    session = aiohttp.ClientSession()
    try:
        sync_s, internal = await _wait_for_sync(proc, session, rurl, size)
        witnessing = Witnessing(app.db, app.ledger, parse_witnesses([f"{rurl} {key} bench"]), quorum=1, timeout_s=3.0)
        witnessing.session = session
        n, witnessed, lags = await _witness_lags(app, witnessing, rng, rate, seconds, checkpoint_interval_s)
        final = await _replica_status(session, rurl) or {}
    finally:
        await session.close()
        _stop_replica(proc)
        await runner.cleanup()
    report = await verify_ledger(app.db, app.ledger.origin)
    return {
        "database": app.db.dialect,
        "cores": os.cpu_count(),
        "entries": size,
        "sync_seconds": round(sync_s, 2),
        "sync_entries_per_s": round(size / sync_s),
        "sync_entries_per_s_inside_replica": round(internal),
        "witness_rate_entries_per_s": round(n / seconds),
        "checkpoint_interval_s": checkpoint_interval_s,
        "witnessed_checkpoints": len(witnessed),
        "witness_lag_p50_s": round(lags[len(lags) // 2], 3),
        "witness_lag_p99_s": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 3),
        "replica_alarm": bool(final.get("alarm")),
        "replica_refusals": len(final.get("refusals", [])),
        "verify_ok": report.ok,
    }
