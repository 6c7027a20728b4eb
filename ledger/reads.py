"""Reads of the ledger's tables, for the ledger and for every package above it.

No package outside ``ledger/`` names a ledger table: what it needs to know of accounts, transfers and
entries it asks here. Each read comes as an ``async`` function over a unit of work; where callers put
the read into a batch of their own (one round trip with their other reads), it also comes as an ``Op``
builder (``*_op``) with the function that reads its rows.
"""

from __future__ import annotations

from ledger import rows
from ledger.book import AccountState
from ledger.errors import NotFound
from ledger.storage.unit_of_work import UnitOfWork


async def head(uow: UnitOfWork) -> rows.Head:
    """The head: size, last hash, Merkle frontier, rules in force."""
    found = await uow.fetch(f"SELECT {rows.HEAD_COLUMNS} FROM ledger_head WHERE id = 1")
    return rows.head(found[0])


async def account(uow: UnitOfWork, account_id: str) -> AccountState:
    found = await uow.fetch(f"SELECT {rows.ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = :id", {"id": account_id})
    if not found:
        raise NotFound(f"no account {account_id!r}", account=account_id)
    return rows.account(found[0])


async def entries(uow: UnitOfWork, start: int, end: int) -> list[tuple[int, bytes]]:
    """Entries ``start`` to ``end`` (exclusive) as ``(seq, entry bytes)``, in order."""
    found = await uow.fetch(
        "SELECT seq, entry FROM ledger_entries WHERE seq >= :start AND seq < :end ORDER BY seq",
        {"start": start, "end": end},
    )
    return [(int(s), bytes(e)) for s, e in found]


async def entry(uow: UnitOfWork, seq: int) -> bytes:
    found = await entries(uow, seq, seq + 1)
    if not found:
        raise NotFound(f"no entry {seq}", seq=seq)
    return found[0][1]


async def latest_checkpoint(uow: UnitOfWork) -> tuple[int, str]:
    """The size and signed note of the latest published checkpoint."""
    found = await uow.fetch("SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1")
    if not found:
        raise NotFound("no checkpoint has been published yet")
    return int(found[0][0]), found[0][1]


async def checkpointed_size(uow: UnitOfWork) -> int | None:
    """The size the latest published checkpoint covers, None before the first."""
    found = await uow.fetch("SELECT MAX(size) FROM ledger_checkpoints")
    return None if found[0][0] is None else int(found[0][0])
