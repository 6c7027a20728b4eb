"""PostgreSQL (asyncpg) through SQLAlchemy's async engine: one pooled connection per unit of work,
a snapshot as a read-only REPEATABLE READ transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.storage.ops import Op, Params, Row
from ledger.storage.unit_of_work import Database, UnitOfWork


class _SqlAlchemyUnitOfWork(UnitOfWork):
    def __init__(self, db: SqlAlchemyDatabase, *, readonly: bool) -> None:
        super().__init__(db.after_commit, None if readonly else db.before_commit)
        self.dialect = db.dialect
        self._db = db
        self._readonly = readonly
        self._conn: AsyncConnection | None = None

    async def _open(self) -> None:
        conn = await self._db.engine.connect()
        if self._readonly:
            conn = await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        await conn.begin()
        self._conn = conn

    async def _run(self, ops: Sequence[Op]) -> list[list[Row]]:
        assert self._conn is not None, "unit of work used outside 'async with'"
        results: list[list[Row]] = []
        for op in ops:
            stmt = self._db.statement(op.sql)
            if op.many:
                params = cast("list[Params]", list(op.params or []))
                if params:
                    await self._conn.execute(stmt, params)
                results.append([])
            else:
                result = await self._conn.execute(stmt, op.params or {})
                results.append([tuple(r) for r in result] if op.fetch else [])
        return results

    async def _commit(self) -> None:
        assert self._conn is not None
        await self._conn.commit()

    async def _rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction():
            await self._conn.rollback()

    async def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()


class SqlAlchemyDatabase(Database):
    """PostgreSQL (asyncpg) through SQLAlchemy's async engine."""

    def __init__(self, url: str, engine: AsyncEngine) -> None:
        super().__init__()
        self.url = url
        self.engine = engine
        self.dialect = engine.dialect.name
        self.statements: dict[str, TextClause] = {}

    def statement(self, sql: str) -> TextClause:
        stmt = self.statements.get(sql)
        if stmt is None:
            stmt = self.statements[sql] = text(sql)
        return stmt

    async def open(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def unit_of_work(self) -> UnitOfWork:
        return _SqlAlchemyUnitOfWork(self, readonly=False)

    def snapshot(self) -> UnitOfWork:
        return _SqlAlchemyUnitOfWork(self, readonly=True)

    async def close(self) -> None:
        await self.engine.dispose()
