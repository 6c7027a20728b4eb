"""SQLAlchemy Core statements as the SQL text the unit of work runs, and their rows read by column name.

The unit of work (``ledger.db``) runs batches of SQL text with ``:name`` parameters and hands rows back
as plain tuples: one thread hop for a whole batch on SQLite, and no row objects to build, is what made
a write fast. So statements are built from the tables (``commerce.schema``, a subpackage's ``schema``)
with SQLAlchemy Core and compiled once, here, into text that SQLite and PostgreSQL both read:
``bindparam("id")`` stays ``:id``; a constant in the statement (``status == "open"``, ``limit(1)``) is
written into the text. ``Statement.named`` reads a row of a SELECT by the names of its columns, so a
mapper (a subpackage's ``rows.py``) says ``row["remaining"]``, never ``row[6]``, and a new column
touches the dataclass and its mapper, not every statement that reads the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine.default import StrCompileDialect
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.compiler import StrSQLCompiler

from ledger.db import Op, Params, Row, read


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
