"""``open_database``: the backend a database URL names, opened."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from ledger.storage.postgres import SqlAlchemyDatabase
from ledger.storage.sqlite import SqliteDatabase
from ledger.storage.unit_of_work import Database


async def open_database(url: str, *, synchronous: str = "NORMAL", pool_size: int = 10) -> Database:
    """Open the database a URL names: ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://…``."""
    parsed = make_url(url)
    db: Database
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("SQLite needs a file path (the ledger is shared by several connections)")
        sqlite_db = SqliteDatabase(url, Path(parsed.database), synchronous=synchronous)
        await sqlite_db.open()
        db = sqlite_db
    elif parsed.get_backend_name() == "postgresql":
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        pg_db = SqlAlchemyDatabase(url, engine)
        await pg_db.open()
        db = pg_db
    else:
        raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")
    return db
