"""kill -9 between a commit and its push: the notification is not lost, and is sent exactly once.

A market process (``push_writer.py``: the real ``build()``, services and Telegram notifier against the Bot
API stand-in) commits an order's delivery and is SIGKILLed the moment the COMMIT returns, before the
push. Then a fresh ``chestnut serve`` on the same database, with its Telegram bot on the same stand-in,
sends "delivered" to the shopper exactly once; the pushes the dead process had sent are not sent again.
Killed and started once more, the server sends nothing twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from ledger.storage.backends import open_database
from tests.support.telegram_standin import BotApiStandIn

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("push_writer.py")
SHOPPER_CHAT = 555
DELIVERED = "도착했어요"
PICKED_UP = "배달을 떠났어요"


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    api = BotApiStandIn()
    await api.start()
    try:
        yield api
    finally:
        await api.close()


def _env(home: Path, url: str, standin: BotApiStandIn) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHESTNUT_")}
    env.update(
        CHESTNUT_HOME=str(home),
        CHESTNUT_DATABASE_URL=url,
        CHESTNUT_LOG_LEVEL="WARNING",
        CHESTNUT_TELEGRAM_TOKEN=standin.token,
        CHESTNUT_TELEGRAM_BASE_URL=standin.base_url,
        PYTHONPATH=str(ROOT),
    )
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _told(standin: BotApiStandIn, words: str) -> list[str]:
    texts = [str(c.params.get("text", "")) for c in standin.calls_to(SHOPPER_CHAT, "sendMessage") if c.status == 200]
    return [t for t in texts if words in t]


async def _outbox(url: str) -> list[tuple[str, str]]:
    db = await open_database(url)
    try:
        async with db.snapshot() as snap:
            rows = await snap.fetch("SELECT kind, status FROM push_outbox ORDER BY id")
    finally:
        await db.close()
    return [(str(k), str(s)) for k, s in rows]


async def _serve(tmp: Path, home: Path, url: str, standin: BotApiStandIn, name: str) -> asyncio.subprocess.Process:
    port = _free_port()
    log = (tmp / f"{name}.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from chestnut.cli import main; main()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp,
        env=_env(home, url, standin),
    )
    log.close()
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while True:
            assert proc.returncode is None, (tmp / f"{name}.log").read_text()[-3000:]
            try:
                async with http.get(f"http://127.0.0.1:{port}/health") as r:
                    if r.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /health"
            await asyncio.sleep(0.1)


async def _until(check: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_delivery_committed_by_a_killed_process_is_pushed_once_by_the_next_one(
    tmp_path: Path, db_url: str, standin: BotApiStandIn
) -> None:
    home = tmp_path / "home"
    writer_out = tmp_path / "writer.out"
    with writer_out.open("wb") as sink, (tmp_path / "writer.err").open("wb") as errors:
        writer = await asyncio.create_subprocess_exec(
            sys.executable,
            str(WRITER),
            str(home),
            "--url",
            db_url,
            "--telegram-base",
            standin.base_url,
            "--token",
            standin.token,
            stdout=sink,
            stderr=errors,
            cwd=tmp_path,
            env=_env(home, db_url, standin),
        )
        await asyncio.wait_for(writer.wait(), 120)
    lines = writer_out.read_text().splitlines()
    assert writer.returncode == -signal.SIGKILL, (lines, (tmp_path / "writer.err").read_text()[-3000:])
    assert lines[-1].startswith("committing ") and lines[-2].startswith("pushed ")
    order_id = int(lines[-1].split()[1])

    # Committed and durable, and not pushed: the shopper heard of the pickup, not of the delivery.
    assert len(_told(standin, PICKED_UP)) == 1 and _told(standin, DELIVERED) == []
    rows = await _outbox(db_url)
    assert rows[-1] == ("OrderDelivered", "pending")
    assert {s for _k, s in rows[:-1]} == {"sent"}
    sent_before = len(standin.calls)

    server = await _serve(tmp_path, home, db_url, standin, "serve-1")
    try:
        await _until(lambda: _told(standin, DELIVERED), 30)
        await asyncio.sleep(5)  # more than two of the sender's polls: nothing else goes out
        (delivered,) = _told(standin, DELIVERED)
        assert f"주문 {order_id}번" in delivered
        assert len(_told(standin, PICKED_UP)) == 1
        assert {s for _k, s in await _outbox(db_url)} == {"sent"}
    finally:
        server.send_signal(signal.SIGKILL)
        await server.wait()

    pushes = [c for c in standin.calls[sent_before:] if c.method in ("sendMessage", "sendPhoto")]
    server = await _serve(tmp_path, home, db_url, standin, "serve-2")
    try:
        await asyncio.sleep(5)
        again = [c for c in standin.calls[sent_before:] if c.method in ("sendMessage", "sendPhoto")]
        assert again == pushes  # a restart sends nothing that was sent
        assert len(_told(standin, DELIVERED)) == 1
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)
