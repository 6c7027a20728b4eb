"""Reads built from the SQLAlchemy tables (``commerce.schema``, ``community.schema``), rows read by name.

The unit of work runs SQL text with ``:name`` parameters, in batches (``ledger.db``: one thread hop per
batch on SQLite), and returns plain tuples on both backends. A ``Query`` is a SQLAlchemy ``select`` over
the tables, compiled once — on first use — to that text; it knows the names of the columns it selects,
so each package's row mapper (``Order.from_row``) reads a row by column name, and a new column is added
to the table and to the row's dataclass, not to every place that counted positions.

Values written into a statement are constants of the code (states, kinds); every value that comes from
outside is a ``param``, filled when the statement runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, literal_column
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.sql.selectable import SelectBase

from ledger.storage.ops import Op, Params, Row, read
from ledger.storage.unit_of_work import UnitOfWork

# Both backends take the same ``:name`` text (``ledger.db``), so one compilation serves both.
_DIALECT = DefaultDialect(paramstyle="named")

Named = Mapping[str, Any]


def param(name: str) -> ColumnElement[Any]:
    """``:name`` in the statement's text, its value given when the statement runs."""
    return literal_column(f":{name}")


def params(prefix: str, n: int) -> list[ColumnElement[Any]]:
    """``:p0 … :p<n-1>`` for an ``IN`` list of ``n`` values (``ledger.db.in_clause`` makes the values)."""
    return [param(f"{prefix}{i}") for i in range(n)]


class Query:
    """A SELECT compiled once to the unit of work's text; its rows read by the names of its columns."""

    def __init__(self, statement: SelectBase) -> None:
        self._statement = statement

    @cached_property
    def sql(self) -> str:
        # literal_binds: the code's constants are written into the text; params are literal ``:name``s.
        return str(self._statement.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))

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
