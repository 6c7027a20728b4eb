"""Two processes upgrading one new database at once (two ``serve`` started together): both succeed,
and the schema is made once, on SQLite and PostgreSQL.

Each child makes its migration slow (a pause after the first table, inside the migration's
transaction), so the two always overlap: unlocked, PostgreSQL's loser fails on ``alembic_version``'s
key and SQLite's loser gives up waiting for the write lock (a one-second busy timeout here, SQLite's
five seconds in production — shorter than a big table's rebuild).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from chestnut.migrate import alembic_config

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

CHILD = """
import os, sys, time
from alembic.operations import Operations
from chestnut.migrate import upgrade_sync

url, go, pause, ready = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
create_table = Operations.create_table
paused = []

def slow_create_table(self, *args, **kwargs):
    made = create_table(self, *args, **kwargs)
    if not paused:
        paused.append(True)
        time.sleep(pause)
    return made

Operations.create_table = slow_create_table
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
upgrade_sync(url, page_size=1024)
"""


def upgrade_twice_at_once(url: str, tmp_path: Path, pause_s: float = 2.0) -> list[tuple[int, str]]:
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, url, str(go), str(pause_s), str(tmp_path / f"ready{n}")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{n}").exists() for n in range(2)) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # both imported and waiting: they start together
    results = []
    for child in children:
        _out, err = child.communicate(timeout=120)
        results.append((child.returncode, err))
    return results


def head() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return heads[0]


def versions(sync_url: str) -> list[str]:
    engine = create_engine(sync_url)
    try:
        with engine.connect() as conn:
            return [str(r[0]) for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


def test_two_processes_upgrade_a_new_sqlite_database_at_once(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    # A one-second busy timeout: an unlocked second upgrade gives up on the first's write lock.
    url = f"sqlite+aiosqlite:///{path}?timeout=1"
    results = upgrade_twice_at_once(url, tmp_path)
    assert [code for code, _ in results] == [0, 0], "\n".join(err[-2000:] for _, err in results)
    assert versions(f"sqlite:///{path}") == [head()]


def test_two_processes_upgrade_a_new_postgresql_database_at_once(tmp_path: Path) -> None:
    import asyncio

    from tests.conftest import create_pg_database, drop_pg_database, require_postgres

    require_postgres()
    url = asyncio.run(create_pg_database())
    try:
        results = upgrade_twice_at_once(url, tmp_path)
        assert [code for code, _ in results] == [0, 0], "\n".join(err[-2000:] for _, err in results)
        assert asyncio.run(_pg_versions(url)) == [head()]
    finally:
        asyncio.run(drop_pg_database(url))


async def _pg_versions(url: str) -> list[str]:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [str(r[0]) for r in await conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        await engine.dispose()
