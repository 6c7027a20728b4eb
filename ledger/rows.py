"""The ledger's rows as the append path reads and writes them: the head, accounts and transfers.

Rows are read by position here, on purpose: an append reads a few dozen of them and a ``NamedTuple``
or mapping per row was a measurable share of it. The column lists below are the one place that
position is spelled out, next to the mapper that reads it. The other tables' statements are in the
modules that own them (``ledger.append`` writes the entries, ``ledger.reads`` reads for other packages).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger import merkle
from ledger.book import AccountState, Book, Rules, TransferState
from ledger.canonical import canonical_json
from ledger.storage.ops import Op, Row, in_clause, read, write, write_many

IN_CHUNK = 400  # parameters per IN list, well under SQLite's and asyncpg's limits

HEAD_COLUMNS = "size, last_hash, frontier, rules"
ACCOUNT_COLUMNS = "id, token, flags, owner, debits_posted, credits_posted, debits_pending, credits_pending, opened_seq"
TRANSFER_COLUMNS = "id, seq, type, debit, credit, token, amount, pending_id, state, timeout_ms, actor"


@dataclass(frozen=True, slots=True)
class Head:
    size: int
    last_hash: bytes
    frontier: merkle.Frontier
    rules: Rules | None


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


@functools.lru_cache(maxsize=256)
def _with_in(sql: str, clause: str) -> str:
    return sql.replace("{in}", clause)


def reads_in(sql: str, values: Sequence[Any]) -> list[Op]:
    """``sql`` with an ``{in}`` placeholder, split into IN lists of a safe length."""
    ops = []
    for part in _chunks(values):
        clause, params = in_clause("v", part)
        ops.append(read(_with_in(sql, clause), params))
    return ops


@functools.lru_cache(maxsize=8)
def _rules_of(text: str) -> Rules:
    """The ledger's rules as the head row stores them: parsed once per text, not on every append (they
    change only with a ledger.rules entry; the parse was ~4 % of a market order)."""
    return Rules.from_json(json.loads(text))


def head(row: Row) -> Head:
    """A ``ledger_head`` row, read as ``HEAD_COLUMNS``."""
    size, last_hash, frontier, rules = row
    rules_obj = None if rules is None else _rules_of(rules)
    return Head(int(size), bytes(last_hash), merkle.Frontier.from_bytes(int(size), bytes(frontier)), rules_obj)


def account(row: Row) -> AccountState:
    """A ``ledger_accounts`` row, read as ``ACCOUNT_COLUMNS``."""
    return AccountState(
        row[0], row[1], int(row[2]), None if row[3] is None else bytes(row[3]), *(int(v) for v in row[4:9])
    )


def transfer(row: Row) -> TransferState:
    """A ``ledger_transfers`` row, read as ``TRANSFER_COLUMNS``."""
    return TransferState(
        row[0],
        int(row[1]),
        row[2],
        row[3],
        row[4],
        row[5],
        int(row[6]),
        row[7],
        row[8],
        None if row[9] is None else int(row[9]),
        bytes(row[10]),
    )


def _account_params(a: AccountState) -> dict[str, Any]:
    return {
        "id": a.id,
        "token": a.token,
        "flags": a.flags,
        "owner": a.owner,
        "dp": a.debits_posted,
        "cp": a.credits_posted,
        "dpe": a.debits_pending,
        "cpe": a.credits_pending,
        "seq": a.opened_seq,
    }


def _transfer_params(t: TransferState) -> dict[str, Any]:
    return {
        "id": t.id,
        "seq": t.seq,
        "type": t.type,
        "debit": t.debit,
        "credit": t.credit,
        "token": t.token,
        "amount": t.amount,
        "pending_id": t.pending_id,
        "state": t.state,
        "timeout_ms": t.timeout_ms,
        "actor": t.actor,
    }


def account_writes(book: Book) -> list[Op]:
    """The accounts an append opened, and the balances it changed."""
    ops = []
    if book.new_accounts:
        ops.append(
            write_many(
                f"INSERT INTO ledger_accounts ({ACCOUNT_COLUMNS}) "
                "VALUES (:id, :token, :flags, :owner, :dp, :cp, :dpe, :cpe, :seq)",
                [_account_params(book.accounts[a]) for a in book.new_accounts],
            )
        )
    if book.dirty_accounts:
        ops.append(
            write_many(
                "UPDATE ledger_accounts SET debits_posted = :dp, credits_posted = :cp, "
                "debits_pending = :dpe, credits_pending = :cpe WHERE id = :id",
                [_account_params(book.accounts[a]) for a in sorted(book.dirty_accounts)],
            )
        )
    return ops


def transfer_writes(book: Book) -> list[Op]:
    """The transfers an append made, and the pending ones it posted or voided."""
    ops = []
    if book.new_transfers:
        ops.append(
            write_many(
                f"INSERT INTO ledger_transfers ({TRANSFER_COLUMNS}) VALUES (:id, :seq, :type, :debit, :credit, "
                ":token, :amount, :pending_id, :state, :timeout_ms, :actor)",
                [_transfer_params(book.transfers[tid]) for tid in book.new_transfers],
            )
        )
    # Why the set: ``new_transfers`` is a list (insertion order), and a membership test on it for every
    # resolved pending transfer was quadratic — ~1 s of every 20,000 settlements (two holds posted per order).
    created = set(book.new_transfers)
    resolved = [p for p in book.resolved_pending if p not in created]
    if resolved:
        ops.append(
            write_many(
                "UPDATE ledger_transfers SET state = :state WHERE id = :id",
                [{"id": p, "state": book.transfers[p].state} for p in resolved],
            )
        )
    return ops


def head_write(book: Book, size: int, last_hash: bytes, frontier: merkle.Frontier) -> Op:
    """The head after an append: its size, last hash and frontier (and the rules, if they changed)."""
    params: dict[str, Any] = {"size": size, "hash": last_hash, "frontier": frontier.to_bytes()}
    if book.rules_changed:  # otherwise the stored rules stand (encoding them was ~10 µs of every append)
        params["rules"] = canonical_json(book.rules.to_json()).decode() if book.rules is not None else None
    return write(
        "UPDATE ledger_head SET size = :size, last_hash = :hash, frontier = :frontier"
        f"{', rules = :rules' if 'rules' in params else ''} WHERE id = 1",
        params,
    )
