"""``GET /health`` says which part of the server works: the database and each chat channel, with 503
when the database does not answer (the Telegram bot's states: tests/e2e/test_telegram.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from chestnut.bootstrap import build
from chestnut.settings import Settings
from tests.conftest import _asyncpg_dsn, create_pg_database, drop_pg_database, postgres_admin_url, require_postgres
from web.app import make_web_app


async def _health(client: TestClient[Any, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.get("/health")
    return response.status, await response.json()


async def test_health_names_each_part_and_a_channel_not_configured_is_off(tmp_path: Path, sqlite_url: str) -> None:
    settings = Settings(home=tmp_path / "home", database_url=sqlite_url, environment="test")
    app = await build(settings)
    try:
        async with TestClient(TestServer(make_web_app(app))) as client:
            assert await _health(client) == (200, {"ok": True, "db": "up", "telegram": "off", "kakao": "off"})
        settings.kakao_skill_secret = SecretStr("a-long-enough-skill-secret")
        async with TestClient(TestServer(make_web_app(app))) as client:
            assert (await _health(client))[1]["kakao"] == "up"
    finally:
        await app.close()


async def _until(client: TestClient[Any, Any], status: int, within_s: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while True:
        got, body = await _health(client)
        if got == status:
            return body
        assert time.monotonic() < deadline, f"/health stayed {got}: {body}"
        await asyncio.sleep(0.2)


@pytest.fixture
def pg_url() -> Iterator[str]:
    require_postgres()
    url = asyncio.run(create_pg_database())
    try:
        yield url
    finally:
        asyncio.run(drop_pg_database(url))


async def test_a_database_that_stops_answering_makes_health_503_until_it_is_back(
    tmp_path: Path, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncpg

    url = pg_url
    name = make_url(url).database
    app = await build(Settings(home=tmp_path / "home", database_url=url, environment="test"))
    admin = await asyncpg.connect(_asyncpg_dsn(postgres_admin_url()))
    try:
        async with TestClient(TestServer(make_web_app(app))) as client:
            assert (await _health(client))[0] == 200
            # The database refuses connections and drops the ones it had (a failover, a maintenance window).
            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
            body = await _until(client, 503)
            assert body == {"ok": False, "db": "down", "telegram": "off", "kakao": "off"}
            assert any(r.name == "chestnut.health" and r.levelname == "WARNING" for r in caplog.records)

            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
            assert (await _until(client, 200))["db"] == "up"
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        await admin.close()
        await app.close()
