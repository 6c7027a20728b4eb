"""SQLAlchemy Core statements as the SQL text the unit of work runs, and their rows read by column name.

The unit of work (``ledger.storage``) runs batches of SQL text with ``:name`` parameters and hands rows
back as plain tuples: one thread hop for a whole batch on SQLite, and no row objects to build, is what
made a write fast. So statements are built from the tables (``commerce.schema``, a subpackage's
``schema``) with SQLAlchemy Core and compiled once into text that SQLite and PostgreSQL both read, and a
row is read by the names of its columns, so a mapper (a subpackage's ``rows.py``) says
``row["remaining"]``, never ``row[6]``, and a new column touches the dataclass and its mapper, not every
statement that reads the table.

Two shapes of the same idea: ``Statement.of`` compiles at import (``bindparam("id")`` stays ``:id``, the
statement's own constants are written in); ``Query`` compiles on first use a select whose run-time values
are ``param``s. Values that come from outside are always parameters, never written into the text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, literal_column
from sqlalchemy.engine.default import DefaultDialect, StrCompileDialect
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.compiler import StrSQLCompiler
from sqlalchemy.sql.selectable import SelectBase

from ledger.storage.ops import Op, Params, Row, read
from ledger.storage.unit_of_work import UnitOfWork


class _Compiler(StrSQLCompiler):
    """The default dialect's ``:name`` parameters, with the statement's own constants written inline."""

    def visit_bindparam(
        self,
        bindparam: Any,
        within_columns_clause: Any = False,
        literal_binds: Any = False,
        skip_bind_expression: Any = False,
        literal_execute: Any = False,
        render_postcompile: Any = False,
        is_upsert_set: Any = False,
        **kwargs: Any,
    ) -> Any:
        # A constant of the statement is an anonymous ("unique") parameter that carries its value; a
        # parameter given at run time is a named one without a value.
        if bindparam.unique and bindparam.value is not None and bindparam.callable is None:
            literal_binds = True
        visit: Callable[..., str] = super().visit_bindparam
        return visit(
            bindparam,
            within_columns_clause=within_columns_clause,
            literal_binds=literal_binds,
            skip_bind_expression=skip_bind_expression,
            literal_execute=literal_execute,
            render_postcompile=render_postcompile,
            is_upsert_set=is_upsert_set,
            **kwargs,
        )


class _Dialect(StrCompileDialect):
    statement_compiler = _Compiler


_DIALECT = _Dialect()


@dataclass(frozen=True, slots=True)
class Statement:
    """A compiled statement; for a SELECT, the names of its columns in the order its rows hold them."""

    sql: str
    columns: tuple[str, ...] = ()

    @classmethod
    def of(cls, statement: ClauseElement) -> Statement:
        """Compile ``statement`` (build it once, at import: compiling costs ~0.2 ms)."""
        columns: tuple[str, ...] = ()
        if isinstance(statement, Select):
            columns = tuple(statement.selected_columns.keys())
            if len(set(columns)) != len(columns):
                raise ValueError(f"a statement's columns need distinct names (label them): {columns}")
        return cls(str(statement.compile(dialect=_DIALECT)), columns)

    def read(self, params: Params | None = None) -> Op:
        """This statement as a read for a batch."""
        return read(self.sql, params)

    def named(self, row: Row) -> Mapping[str, Any]:
        """One row of this statement, by column name."""
        return dict(zip(self.columns, row, strict=True))


# Both backends take the same ``:name`` text, so one compilation serves both.
_NAMED = DefaultDialect(paramstyle="named")

Named = Mapping[str, Any]


def param(name: str) -> ColumnElement[Any]:
    """``:name`` in the statement's text, its value given when the statement runs."""
    return literal_column(f":{name}")


def params(prefix: str, n: int) -> list[ColumnElement[Any]]:
    """``:p0 … :p<n-1>`` for an ``IN`` list of ``n`` values (``ledger.storage.ops.in_clause`` makes the values)."""
    return [param(f"{prefix}{i}") for i in range(n)]


class Query:
    """A SELECT compiled once to the unit of work's text; its rows read by the names of its columns."""

    def __init__(self, statement: SelectBase) -> None:
        self._statement = statement

    @cached_property
    def sql(self) -> str:
        # literal_binds: the code's constants are written into the text; params are literal ``:name``s.
        return str(self._statement.compile(dialect=_NAMED, compile_kwargs={"literal_binds": True}))

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(self._statement.selected_columns.keys())

    def read(self, values: Params | None = None, *, lock: str = "") -> Op:
        """The statement for a batch; ``lock`` is the row-lock clause to add (``uow.for_update``)."""
        return read(self.sql + lock if lock else self.sql, values)

    def named(self, rows: Sequence[Row]) -> list[Named]:
        """The rows this statement returned, each a mapping of column name to value."""
        names = self.names
        return [dict(zip(names, row, strict=True)) for row in rows]

    async def fetch(self, uow: UnitOfWork, values: Params | None = None, *, lock: str = "") -> list[Named]:
        return self.named(await uow.fetch(self.sql + lock if lock else self.sql, values))
