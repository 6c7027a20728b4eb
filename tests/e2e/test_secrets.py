"""Secrets stay secret, as a user runs ``chestnut serve``: a weak one in production is a one-line refusal
that names the setting; and no configured secret reaches the log.

No configured secret in the log: ``chestnut serve`` at DEBUG, every secret set, real traffic, then grep.

The server runs as a user runs it (a subprocess, logging set up by the command line) in production,
with the Telegram bot on the Bot API stand-in in webhook mode: httpx logs each request's URL
(``…/bot<token>/setWebhook``) and python-telegram-bot each call's parameters (the webhook's secret
token among them). A Telegram update and a KakaoTalk message go through, and the log must hold each
line the libraries wrote, with ``[redacted]`` where a secret was, and none of the secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from chestnut.settings import Settings
from tests.support.kakao_standin import skill_payload
from tests.support.telegram_standin import BotApiStandIn

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pythonpath() -> str:
    return os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)


def _strong() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    api = BotApiStandIn(token=f"7000001:AAH{secrets.token_urlsafe(26)}")
    await api.start()
    try:
        yield api
    finally:
        await api.close()


@pytest.mark.parametrize("value", ["x", "12345678", "changeme123"])
def test_a_weak_secret_in_production_is_a_one_line_refusal(tmp_path: Path, value: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHESTNUT_")}
    env.update(
        PYTHONPATH=_pythonpath(),
        CHESTNUT_HOME=str(tmp_path / "home"),
        CHESTNUT_ENVIRONMENT="production",
        CHESTNUT_KAKAO_SKILL_SECRET=value,
    )
    done = subprocess.run(
        [sys.executable, "-m", "chestnut.cli", "serve", "--port", str(_free_port())],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: invalid settings: CHESTNUT_KAKAO_SKILL_SECRET is too short (")
    assert "production needs at least 16" in done.stderr and "/kakao/skill" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "home").exists()  # refused before anything was made


async def test_a_server_at_debug_logs_no_configured_secret(tmp_path: Path, standin: BotApiStandIn) -> None:
    configured = {
        "telegram_token": standin.token,
        "telegram_webhook_secret": _strong(),
        "kakao_skill_secret": _strong(),
        "kakao_rest_key": secrets.token_hex(16),
        "gateway_secret_key": f"live_sk_{_strong()}",
        "gateway_webhook_secret": _strong(),
        "sms_key": _strong(),
        "ads_open_key": _strong(),
        "payout_bank_key": _strong(),
        "replica_token": _strong(),
    }
    every_secret = {name for name, field in Settings.model_fields.items() if SecretStr in _types(field.annotation)}
    assert every_secret == set(configured), "a secret setting this test does not configure"

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHESTNUT_")}
    env.update({f"CHESTNUT_{name.upper()}": value for name, value in configured.items()})
    env.update(
        PYTHONPATH=_pythonpath(),
        CHESTNUT_HOME=str(tmp_path / "home"),
        CHESTNUT_ENVIRONMENT="production",
        CHESTNUT_LOG_LEVEL="DEBUG",
        CHESTNUT_TELEGRAM_BASE_URL=standin.base_url,
        CHESTNUT_TELEGRAM_WEBHOOK_URL="https://market.example.test/telegram/webhook",
        CHESTNUT_KAKAO_BOT_ID="bot-1",
        CHESTNUT_KAKAO_API_BASE="http://127.0.0.1:9",
        CHESTNUT_GATEWAY_BASE_URL="http://127.0.0.1:9",
        CHESTNUT_SMS_URL="http://127.0.0.1:9",
        CHESTNUT_PAYOUT_BANK_URL="http://127.0.0.1:9",
    )
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chestnut.cli",
            "serve",
            "--port",
            str(port),
            stdout=sink,
            stderr=sink,
            cwd=tmp_path,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await _wait_until_up(http, base, proc, log)
            hook = await standin.wait_for(lambda c: c.method == "setWebhook", timeout=30)
            assert hook.params["secret_token"] == configured["telegram_webhook_secret"]

            update = {
                "update_id": 501,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": 601, "type": "private"},
                    "from": {"id": 601, "is_bot": False, "first_name": "순자", "language_code": "ko"},
                    "text": "/start",
                },
            }
            headers = {"X-Telegram-Bot-Api-Secret-Token": configured["telegram_webhook_secret"]}
            async with http.post(f"{base}/telegram/webhook", json=update, headers=headers) as response:
                assert response.status == 200, await response.text()
            await standin.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 601, timeout=30)

            headers = {"X-Chestnut-Skill-Secret": configured["kakao_skill_secret"]}
            async with http.post(f"{base}/kakao/skill", json=skill_payload("k1", "안녕"), headers=headers) as response:
                assert response.status == 200, await response.text()
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    text = log.read_text()
    master = (tmp_path / "home" / "master.key").read_text().strip()
    for name, value in [*configured.items(), ("master key", master)]:
        assert value not in text, f"{name} is in the log"
    assert "HTTP Request: POST" in text and "DEBUG" in text  # the libraries' lines are there …
    assert "/bot[redacted]/setWebhook" in text  # … with the token taken out
    assert "'secret_token': '[redacted]'" in text


def _types(annotation: object) -> set[object]:
    return {annotation, *getattr(annotation, "__args__", ())}


async def _wait_until_up(http: aiohttp.ClientSession, base: str, proc: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.returncode is None, f"server exited: {log.read_text()[-3000:]}"
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"{base}/health") as response:
                if response.status == 200:
                    return
        assert time.monotonic() < deadline, f"server did not answer /health: {log.read_text()[-3000:]}"
        await asyncio.sleep(0.1)
