"""The server mounts what settings switch on: payment routes only with a configured gateway."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from chestnut.bootstrap import build
from chestnut.settings import Settings
from web.app import make_web_app


async def test_payment_routes_follow_the_gateway_settings(tmp_path: Path, sqlite_url: str) -> None:
    plain = await build(Settings(home=tmp_path / "a", database_url=sqlite_url, environment="test"))
    try:
        async with TestClient(TestServer(make_web_app(plain))) as client:
            response = await client.post("/payments/webhook", data=b"{}")
            assert response.status == 404  # no gateway configured: no payment routes at all
            assert (await response.json())["error"] == "not_found"
    finally:
        await plain.close()

    configured = await build(
        Settings(
            home=tmp_path / "b",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
            environment="test",
            gateway_base_url="http://127.0.0.1:9",
            gateway_secret_key=SecretStr("sk_test_0123456789"),
            gateway_webhook_secret=SecretStr("whsec_0123456789"),
        )
    )
    try:
        async with TestClient(TestServer(make_web_app(configured))) as client:
            response = await client.post("/payments/webhook", data=b'{"eventType": "PAYMENT_STATUS_CHANGED"}')
            assert response.status == 401
            assert (await response.json())["error"] == "bad_callback_signature"
    finally:
        await configured.close()
