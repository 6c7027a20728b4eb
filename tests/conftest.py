"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, and a built app on it.

PostgreSQL comes from ``CHESTNUT_TEST_POSTGRES_URL`` (default: the CI machine's 127.0.0.1:5432,
trust auth, database ``test``). Each test gets its own database, created and dropped around it.
Where PostgreSQL is unreachable the PostgreSQL variants skip with the reason — except under
``CI=true``, where an unreachable PostgreSQL fails the run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from chestnut.bootstrap import App, build
from chestnut.settings import Settings

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
_pg_state: dict[str, str | None] = {}


def postgres_admin_url() -> str:
    return os.environ.get("CHESTNUT_TEST_POSTGRES_URL", DEFAULT_PG)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_reachable(url: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {make_url(url).render_as_string()} is unreachable: {exc}"
    await conn.close()
    return None


def require_postgres() -> str:
    """The admin URL, or skip (fail under CI=true) with the reason."""
    url = postgres_admin_url()
    if "reason" not in _pg_state:
        _pg_state["reason"] = asyncio.run(_pg_reachable(url))
    reason = _pg_state["reason"]
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true requires PostgreSQL)")
        pytest.skip(reason)
    return url


async def create_pg_database() -> str:
    import asyncpg

    admin = postgres_admin_url()
    name = f"chestnut_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_asyncpg_dsn(admin))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


async def drop_pg_database(url: str) -> None:
    import asyncpg

    name = make_url(url).database
    conn = await asyncpg.connect(_asyncpg_dsn(postgres_admin_url()))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: every service test runs on both backends."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'chestnut.db'}"
        return
    require_postgres()
    url = asyncio.run(create_pg_database())
    try:
        yield url
    finally:
        asyncio.run(drop_pg_database(url))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'chestnut.db'}"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=db_url, environment="test")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    built = await build(settings)
    try:
        yield built
    finally:
        await built.close()
