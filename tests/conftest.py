"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, and a built app on it.

PostgreSQL comes from ``CHESTNUT_TEST_POSTGRES_URL`` (default: the CI machine's 127.0.0.1:5432,
trust auth, database ``test``). Each test gets its own database, created and dropped around it. The
schema is migrated once per run into a template (a SQLite file; a PostgreSQL database) and each test's
database starts as a copy of it: migrating from nothing for every test would cost most of the suite's
time. The migrations themselves are tested from an empty database in ``test_migrations``.
Where PostgreSQL is unreachable the PostgreSQL variants skip with the reason — except under
``CI=true``, where an unreachable PostgreSQL fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from chestnut.bootstrap import SQLITE_PAGE_SIZE, App, build
from chestnut.migrate import upgrade_sync
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


async def create_pg_database(template: str | None = None) -> str:
    """A new, empty database (or a copy of the database named ``template``); its URL."""
    import asyncpg

    admin = postgres_admin_url()
    name = f"chestnut_t_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    conn = await asyncpg.connect(_asyncpg_dsn(admin))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "chestnut.db"
    upgrade_sync(f"sqlite+aiosqlite:///{path}", page_size=SQLITE_PAGE_SIZE)
    return path


class PostgresDatabases:
    """Copies of a migrated template, made and dropped on a thread of their own while tests run.

    Making a database costs PostgreSQL a few hundred milliseconds of waiting on its disk; made ahead, one
    test's copy is ready while the previous test runs, and dropping it does not hold up the next test.
    """

    AHEAD = 2

    def __init__(self, template: str) -> None:
        self.template = template
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-databases")
        self.ready: deque[Future[str]] = deque(self._make() for _ in range(self.AHEAD))

    def _make(self) -> Future[str]:
        return self.worker.submit(lambda: asyncio.run(create_pg_database(template=self.template)))

    def take(self) -> str:
        url = self.ready.popleft().result()
        self.ready.append(self._make())
        return url

    def give_back(self, url: str) -> None:
        self.worker.submit(lambda: asyncio.run(drop_pg_database(url)))

    def close(self) -> None:
        while self.ready:
            self.give_back(self.ready.popleft().result())
        self.worker.shutdown(wait=True)


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    """Each test's PostgreSQL database: a copy of one migrated per run."""
    require_postgres()
    template = asyncio.run(create_pg_database())
    upgrade_sync(template)
    databases = PostgresDatabases(str(make_url(template).database))
    try:
        yield databases
    finally:
        databases.close()
        asyncio.run(drop_pg_database(template))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the newest schema, holding nothing: every service test runs on both backends."""
    if request.param == "sqlite":
        yield _sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
        return
    require_postgres()
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    url = databases.take()
    try:
        yield url
    finally:
        databases.give_back(url)


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    return _sqlite_copy(sqlite_template, tmp_path)


def _sqlite_copy(template: Path, folder: Path) -> str:
    for suffix in ("", "-wal"):  # no connection is open on the template: the pair is consistent
        source = template.with_name(template.name + suffix)
        if source.exists():
            shutil.copyfile(source, folder / f"chestnut.db{suffix}")
    return f"sqlite+aiosqlite:///{folder / 'chestnut.db'}"


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
