"""Reads of the ledger's tables, for the ledger and for every package above it.

No package outside ``ledger/`` names a ledger table: what it needs to know of accounts, transfers and
entries it asks here. Each read comes as an ``async`` function over a unit of work; where callers put
the read into a batch of their own (one round trip with their other reads), it also comes as an ``Op``
builder (``*_op``) with the function that reads its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger import rows
from ledger.book import AccountState
from ledger.errors import NotFound
from ledger.model import TOKENS
from ledger.storage.ops import Op, Row, in_clause, read
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


SIZE = read("SELECT size FROM ledger_head WHERE id = 1")


def size_from(found: list[Row]) -> int:
    """The size, from the rows of ``SIZE`` run in a batch of the caller's."""
    return int(found[0][0])


async def size(uow: UnitOfWork) -> int:
    """How many entries the ledger holds."""
    return size_from((await uow.batch([SIZE]))[0])


async def entries_of_kinds(uow: UnitOfWork, kinds: Sequence[str], start: int, end: int) -> list[tuple[int, bytes]]:
    """Entries ``start`` to ``end`` (exclusive) of the given kinds, as ``(seq, entry bytes)``, in order."""
    clause, params = in_clause("k", list(kinds))
    found = await uow.fetch(
        f"SELECT seq, entry FROM ledger_entries WHERE seq >= :m AND seq < :n AND kind IN {clause} ORDER BY seq",
        {"m": start, "n": end, **params},
    )
    return [(int(s), bytes(e)) for s, e in found]


# -------------------------------------------------------------------------------------- accounts


# The ledger's rows as relations to join with, for a statement that reads another package's rows together
# with the ledger's in one go. Both backends flatten such a subquery: the plan is the table's own.
ACCOUNTS = (
    "(SELECT id, token, owner, credits_posted - debits_posted AS balance, "
    "credits_posted - debits_posted - debits_pending AS available FROM ledger_accounts)"
)
TRANSFERS = "(SELECT id, seq, type, debit, credit, token, amount, pending_id, state FROM ledger_transfers)"


def available_op(account_id: str) -> Op:
    """What ``account_id`` may still spend (posted balance less its pending debits); no row if it is not open."""
    return read(
        "SELECT credits_posted - debits_posted - debits_pending FROM ledger_accounts WHERE id = :w", {"w": account_id}
    )


def turnover_op(account_ids: Sequence[str]) -> Op:
    """One number: all that ever moved through these accounts, posted or pending (0: never used)."""
    clause, params = in_clause("a", list(account_ids))
    return read(
        "SELECT COALESCE(SUM(credits_posted + debits_posted + credits_pending), 0) FROM ledger_accounts "
        f"WHERE id IN {clause}",
        params,
    )


async def existing_accounts(uow: UnitOfWork, account_ids: Sequence[str]) -> set[str]:
    """The accounts among ``account_ids`` that are open."""
    clause, params = in_clause("a", list(account_ids))
    return {str(r[0]) for r in await uow.fetch(f"SELECT id FROM ledger_accounts WHERE id IN {clause}", params)}


@dataclass(frozen=True, slots=True)
class OwnedAccount:
    id: str
    token: str


async def accounts_of(uow: UnitOfWork, owner: bytes, *, opened_before: int | None = None) -> list[OwnedAccount]:
    """The accounts ``owner`` (a public key) owns, by id; only those opened before entry ``opened_before``."""
    if opened_before is None:
        found = await uow.fetch("SELECT id, token FROM ledger_accounts WHERE owner = :k ORDER BY id", {"k": owner})
    else:
        found = await uow.fetch(
            "SELECT id, token FROM ledger_accounts WHERE owner = :k AND opened_seq < :n ORDER BY id",
            {"k": owner, "n": opened_before},
        )
    return [OwnedAccount(str(i), str(t)) for i, t in found]


@dataclass(frozen=True, slots=True)
class Balance:
    token: str
    balance: int  # posted
    held: int  # pending debits: on hold until posted or voided


async def balances_of(uow: UnitOfWork, owner: bytes) -> list[Balance]:
    """The balances of the accounts ``owner`` (a public key) owns."""
    found = await uow.fetch(
        "SELECT token, credits_posted - debits_posted, debits_pending FROM ledger_accounts WHERE owner = :k",
        {"k": owner},
    )
    return [Balance(str(t), int(b), int(h)) for t, b, h in found]


async def totals(uow: UnitOfWork) -> dict[str, dict[str, int]]:
    """Per token: what members hold, what system accounts hold, what was issued (net), what is on hold."""
    found = await uow.fetch(
        "SELECT token, "
        "SUM(CASE WHEN owner IS NOT NULL THEN credits_posted - debits_posted ELSE 0 END), "
        "SUM(CASE WHEN owner IS NULL AND id NOT IN ('reserve:cash', 'treasury:bnm') "
        "THEN credits_posted - debits_posted ELSE 0 END), "
        "SUM(CASE WHEN id IN ('reserve:cash', 'treasury:bnm') THEN debits_posted - credits_posted ELSE 0 END), "
        "SUM(credits_pending) "
        "FROM ledger_accounts GROUP BY token"
    )
    out: dict[str, dict[str, int]] = {t: {"members": 0, "system": 0, "issued": 0, "held": 0} for t in TOKENS}
    for token, members, system, issued, held in found:
        out[str(token)] = {
            "members": int(members or 0),
            "system": int(system or 0),
            "issued": int(issued or 0),
            "held": int(held or 0),
        }
    return out


# ------------------------------------------------------------------------------------- transfers


async def transfers_total(uow: UnitOfWork, id_prefix: str) -> int:
    """The sum of the transfers whose id starts with ``id_prefix`` (one action's family of transfers)."""
    found = await uow.fetch(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger_transfers WHERE id LIKE :prefix", {"prefix": f"{id_prefix}%"}
    )
    return int(found[0][0])


@dataclass(frozen=True, slots=True)
class OpenHold:
    """A pending transfer not posted or voided yet: ``amount`` from ``debit`` is held for ``credit``."""

    debit: str
    credit: str
    amount: int


async def open_holds(uow: UnitOfWork, debits: Sequence[str]) -> list[OpenHold]:
    """The pending transfers out of the accounts ``debits`` still waiting to be posted or voided."""
    clause, params = in_clause("w", list(debits))
    found = await uow.fetch(
        f"SELECT debit, credit, amount FROM ledger_transfers WHERE debit IN {clause} "
        "AND type = 'pending' AND state = 'pending'",
        params,
    )
    return [OpenHold(str(d), str(c), int(a)) for d, c, a in found]


async def balances_at(uow: UnitOfWork, token: str, size: int, *, accounts_like: str) -> list[tuple[str, int]]:
    """Posted balances after entries ``0 … size-1`` of the ``token`` accounts whose id is LIKE ``accounts_like``,
    as ``(account, balance)`` in no particular order."""
    moved = "token = :token AND type IN ('single', 'post') AND seq < :r"
    found = await uow.fetch(
        "SELECT account, SUM(delta) FROM ("
        f"SELECT credit AS account, amount AS delta FROM ledger_transfers WHERE {moved} AND credit LIKE :pattern "
        "UNION ALL "
        f"SELECT debit AS account, -amount AS delta FROM ledger_transfers WHERE {moved} AND debit LIKE :pattern"
        ") m GROUP BY account",
        {"r": size, "pattern": accounts_like, "token": token},
    )
    return [(str(a), int(h)) for a, h in found]


@dataclass(frozen=True, slots=True)
class Movement:
    """A transfer that moved money (``single``, or a ``pending`` hold) with the entry it is in."""

    seq: int
    kind: str
    entry: bytes
    transfer_id: str
    debit: str
    credit: str
    token: str
    amount: int
    type: str
    state: str | None  # a hold's: pending | posted | voided


_MOVEMENT = "t.seq, e.kind, e.entry, t.id, t.debit, t.credit, t.token, t.amount, t.type, t.state"


def _movements(found: list[Row]) -> list[Movement]:
    return [
        Movement(int(s), str(k), bytes(e), str(i), str(d), str(c), str(tok), int(a), str(ty), st)
        for s, k, e, i, d, c, tok, a, ty, st in found
    ]


async def movements(uow: UnitOfWork, accounts: Sequence[str], *, before: int, limit: int) -> list[Movement]:
    """The latest movements into or out of ``accounts`` in entries before ``before``, newest first."""
    touches, params = _touching(accounts)
    found = await uow.fetch(
        f"SELECT {_MOVEMENT} FROM ledger_transfers t JOIN ledger_entries e ON e.seq = t.seq "
        f"WHERE t.type IN ('single', 'pending') AND {touches} AND t.seq < :before ORDER BY t.seq DESC, t.id "
        "LIMIT :limit",
        {**params, "before": before, "limit": limit},
    )
    return _movements(found)


async def movements_in(uow: UnitOfWork, accounts: Sequence[str], seq: int) -> list[Movement]:
    """The movements into or out of ``accounts`` in entry ``seq``, by transfer id."""
    touches, params = _touching(accounts)
    found = await uow.fetch(
        f"SELECT {_MOVEMENT} FROM ledger_transfers t JOIN ledger_entries e ON e.seq = t.seq "
        f"WHERE t.type IN ('single', 'pending') AND {touches} AND t.seq = :last ORDER BY t.id",
        {**params, "last": seq},
    )
    return _movements(found)


@dataclass(frozen=True, slots=True)
class Resolution:
    """How a hold ended: the entry that posted or voided it, and the amount it posted."""

    pending_id: str
    seq: int
    kind: str
    amount: int


async def resolutions(uow: UnitOfWork, accounts: Sequence[str], pending_ids: Sequence[str]) -> list[Resolution]:
    """The posts and voids of the holds ``pending_ids`` that touch ``accounts``."""
    touches, params = _touching(accounts)
    clause, pending = in_clause("p", list(pending_ids))
    found = await uow.fetch(
        "SELECT t.pending_id, t.seq, e.kind, t.amount FROM ledger_transfers t JOIN ledger_entries e "
        f"ON e.seq = t.seq WHERE t.type IN ('post', 'void') AND {touches} AND t.pending_id IN {clause}",
        {**params, **pending},
    )
    return [Resolution(str(p), int(s), str(k), int(a)) for p, s, k, a in found]


def _touching(accounts: Sequence[str]) -> tuple[str, dict[str, Any]]:
    clause, params = in_clause("w", list(accounts))
    return f"(t.debit IN {clause} OR t.credit IN {clause})", params


async def entries_moving(uow: UnitOfWork, accounts: Sequence[str], limit: int) -> list[int]:
    """The latest ``limit`` entries with a transfer into or out of ``accounts``, newest first."""
    clause, params = in_clause("a", list(accounts))
    found = await uow.fetch(
        f"SELECT DISTINCT seq FROM ledger_transfers WHERE debit IN {clause} OR credit IN {clause} "
        "ORDER BY seq DESC LIMIT :n",
        {**params, "n": limit},
    )
    return [int(r[0]) for r in found]


# --------------------------------------------------------------------------------------- entries


# An actor's latest entries, newest first: walked back along their chain (``ledger_entries.actor_prev``),
# each step kept only if the entry's ``actor`` — a column ``ledger verify`` checks — is theirs, so a
# broken chain can cut the list short but never show another actor's entries on it.
_LATEST_BY_ACTOR = (
    "WITH RECURSIVE mine(seq, prev, n) AS ("
    "SELECT e.seq, e.actor_prev, 1 FROM ledger_actors a JOIN ledger_entries e ON e.seq = a.last_entry "
    "WHERE a.public_key = :k AND e.actor = :k "
    "UNION ALL SELECT e.seq, e.actor_prev, mine.n + 1 FROM mine JOIN ledger_entries e ON e.seq = mine.prev "
    "WHERE e.actor = :k AND mine.n < :n"
    ") SELECT seq FROM mine"
)


async def latest_entries_of(uow: UnitOfWork, actor: bytes, limit: int) -> list[int]:
    """The sequence numbers of the latest ``limit`` entries ``actor`` (a public key) signed, newest first."""
    return [int(r[0]) for r in await uow.fetch(_LATEST_BY_ACTOR, {"k": actor, "n": limit})]


@dataclass(frozen=True, slots=True)
class PublishedCheckpoint:
    size: int
    root: bytes
    created_ms: int


async def checkpoints(uow: UnitOfWork, limit: int) -> list[PublishedCheckpoint]:
    """The latest ``limit`` published checkpoints, largest first."""
    found = await uow.fetch(
        "SELECT size, root, created_ms FROM ledger_checkpoints ORDER BY size DESC LIMIT :n", {"n": limit}
    )
    return [PublishedCheckpoint(int(s), bytes(r), int(c)) for s, r, c in found]
