"""SQLAlchemy Core statements over the chat's own tables, as the unit of work runs them.

The unit of work takes batches of ``Op`` (``ledger.db``): SQL text with ``:name`` parameters, which
both backends accept. The chat layer writes its statements as Core expressions built from its tables
(``bots.schema``) and compiles each once per dialect into that text: a statement is checked against
the tables it names, and the dialect decides what only one of them has (``FOR UPDATE SKIP LOCKED``,
``ON CONFLICT``).

``@statement`` turns a builder ``(dialect, *shape) -> Core statement`` into a cached ``Compiled``;
the shape is what changes the text itself, such as how many values an ``IN`` list has. Values given
in the expression (``status = 'pending'``) become parameters of their own, merged into every ``Op``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from ledger.storage.ops import Op

# The dialects' base classes, not a driver's: the text goes through the unit of work, which binds
# ``:name`` itself (a driver dialect would add its own casts and parameter style).
_DIALECTS: dict[str, Callable[[], Dialect]] = {
    "sqlite": lambda: SQLiteDialect(paramstyle="named"),
    "postgresql": lambda: PGDialect(paramstyle="named"),  # type: ignore[no-untyped-call]
}


@dataclass(frozen=True, slots=True)
class Compiled:
    """One statement's text for one dialect, and the values the expression itself carries."""

    sql: str
    constants: Mapping[str, Any]

    def read(self, params: Mapping[str, Any] | None = None) -> Op:
        return Op(self.sql, {**self.constants, **(params or {})}, fetch=True)

    def write(self, params: Mapping[str, Any] | None = None) -> Op:
        return Op(self.sql, {**self.constants, **(params or {})})

    def write_many(self, rows: Sequence[Mapping[str, Any]]) -> Op:
        return Op(self.sql, [{**self.constants, **row} for row in rows], many=True)


def compile_for(dialect: str, statement: ClauseElement) -> Compiled:
    compiled = cast(SQLCompiler, statement.compile(dialect=_DIALECTS[dialect]()))
    sql = str(compiled)
    if "POSTCOMPILE" in sql:  # an expanding IN: give the builder the list's length as its shape instead
        raise ValueError("a statement for the unit of work cannot expand parameters at run time")
    constants = {name: value for name, value in compiled.params.items() if not compiled.binds[name].required}
    return Compiled(sql, constants)


def statement(build: Callable[..., ClauseElement]) -> Callable[..., Compiled]:
    """The builder's statement compiled once per dialect and shape (``statement(dialect, *shape)``)."""

    @functools.lru_cache(maxsize=256)
    def compiled(dialect: str, *shape: Any) -> Compiled:
        return compile_for(dialect, build(dialect, *shape))

    functools.update_wrapper(compiled, build)
    return compiled


def insert_into(dialect: str, table: Table) -> SqliteInsert | PostgresInsert:
    """``INSERT`` with the dialect's ``ON CONFLICT`` clauses (``on_conflict_do_nothing`` / ``_do_update``)."""
    return postgres_insert(table) if dialect == "postgresql" else sqlite_insert(table)
