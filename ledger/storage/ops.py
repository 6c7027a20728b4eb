"""The statements a unit of work runs, and the batches they come in.

Why statements go in *batches*: on this class of machine a thread hop costs ~60 µs, and
SQLAlchemy-async over aiosqlite makes about four hops per statement (~290 µs measured), which caps a
ledger append of ten statements near 400 transactions/s. So the unit of work takes a list of
statements and runs the whole list in one hop on SQLite (a connection owned by one thread, plain
``sqlite3``) or one await per statement on PostgreSQL (asyncpg through SQLAlchemy, no threads).
A service therefore reads what it needs in one batch, decides in Python, and writes in one batch.

SQL is written once with ``:name`` parameters, which both backends accept.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

Row = tuple[Any, ...]
Params = Mapping[str, Any]


class Op(NamedTuple):
    """One statement of a batch. ``many`` runs it once per parameter set; ``fetch`` returns rows.

    A named tuple, not a frozen dataclass: as immutable, and made in half the time (a market order
    makes ~25 of them)."""

    sql: str
    params: Params | Sequence[Params] | None = None
    fetch: bool = False
    many: bool = False


def read(sql: str, params: Params | None = None) -> Op:
    return Op(sql, params, fetch=True)


def write(sql: str, params: Params | None = None) -> Op:
    return Op(sql, params)


def write_many(sql: str, params: Sequence[Params]) -> Op:
    return Op(sql, params, many=True)


@functools.lru_cache(maxsize=512)
def _in_names(prefix: str, n: int) -> tuple[str, tuple[str, ...]]:
    names = tuple(f"{prefix}{i}" for i in range(n))
    return "(" + ", ".join(":" + name for name in names) + ")", names


def in_clause(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``(:p0, :p1, …)`` and its parameters, for ``IN`` lists on both backends (the text is made once
    per length: a ledger append builds four of them)."""
    clause, names = _in_names(prefix, len(values))
    return clause, dict(zip(names, values, strict=True))
