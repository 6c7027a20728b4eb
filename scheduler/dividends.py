"""Dividends: an operator declares an amount of BTL for a record point; every BNM holder gets their share.

- **Record point** — a ledger size ``R``: holdings are the members' posted BNM balances after entries
  ``0 … R-1``, so anyone holding a copy of the ledger can recompute them. They are read from the derived
  transfers table (posted balance = Σ credits − Σ debits of the ``single`` and ``post`` transfers with
  ``seq < R``; pending holds never move a posted balance), which ``holdings_by_replay`` recomputes from
  the entry bytes alone — a test proves both agree. Entries appended after ``R`` cannot change them.
- **Holders** — member wallets ``wallet:<id>:bnm`` with a positive holding; the supply is their sum
  (the issuer and escrow accounts are not holders).
- **Shares** — ``floor(amount × holding / supply)`` each; the leftover won (fewer than the number of
  holders) go one each to the largest remainders, ties by account id. So the sum is exactly the amount
  and nobody gets more than their exact share rounded up.
- **Money** — declaring moves the amount ``fees:platform → pool:dividend`` in the ``dividend.declare``
  entry, whose body also carries the record point, the supply and a SHA-256 digest of the whole
  allocation list; the payment is the ``dividend`` batch (``scheduler.runs``): chunks of operator-signed
  ``dividend.pay`` entries, ``pool:dividend → wallet:<id>:btl``, with transfer ids derived from the
  dividend and the holder, so even a lost cursor could not pay anyone twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from commerce import validate
from commerce.members import service as members
from commerce.services import Services
from ledger import reads
from ledger.errors import ChestnutError, NotFound
from ledger.model import Action, Transfer, split_entry
from ledger.requests import Request
from ledger.storage.ops import write
from ledger.storage.unit_of_work import UnitOfWork
from scheduler.notices import Notice
from scheduler.runs import Advance, Run

KIND = "dividend"
FEES = "fees:platform"
POOL = "pool:dividend"
PER_ENTRY = 200  # transfers per entry: ~115 bytes each stays far inside the 64 KiB entry limit
ENTRIES_PER_CHUNK = 25  # one transaction: 5,000 holders


class DividendError(ChestnutError):
    code = "dividend_refused"


class DividendExceedsFees(DividendError):
    code = "dividend_exceeds_fees"


class NoBnmSupply(DividendError):
    code = "no_bnm_supply"


class FutureRecordPoint(DividendError):
    code = "future_record_point"


class UnknownDividend(DividendError, NotFound):
    code = "unknown_dividend"


class AllocationChanged(DividendError):
    """The holdings recomputed for a payment do not match the digest declared (a damaged database)."""

    code = "dividend_allocation_changed"


@dataclass(frozen=True, slots=True)
class Dividend:
    id: int
    amount: int
    record_size: int
    supply: int
    holders: int
    digest: str
    declared_seq: int
    status: str  # declared | paid

    @property
    def period(self) -> str:
        return f"dividend-{self.id}"


# ------------------------------------------------------------------------------------ holdings


def is_holder_account(account_id: str) -> bool:
    parts = account_id.split(":")
    return len(parts) == 3 and parts[0] == "wallet" and parts[2] == "bnm"


async def holdings_at(uow: UnitOfWork, record_size: int) -> list[tuple[str, int]]:
    """Members' posted BNM holdings after entries ``0 … record_size-1``, positive only, by account id."""
    balances = await reads.balances_at(uow, "BNM", record_size, accounts_like="wallet:%:bnm")
    # Sorted here, not in SQL: PostgreSQL's collation may order text differently from SQLite's bytes.
    return sorted((a, h) for a, h in balances if h > 0 and is_holder_account(a))


def holdings_by_replay(entries: Iterable[bytes], record_size: int) -> list[tuple[str, int]]:
    """The same holdings from the entry bytes alone, as a replica (or anyone) would compute them."""
    balance: dict[str, int] = {}
    for n, entry in enumerate(entries):
        if n >= record_size:
            break
        action = Action.decode(split_entry(entry).action_bytes)
        for t in action.transfers:
            if t.token != "BNM" or t.type not in ("single", "post"):  # noqa: S105 - a token is BTL or BNM
                continue
            balance[t.credit] = balance.get(t.credit, 0) + t.amount
            balance[t.debit] = balance.get(t.debit, 0) - t.amount
    return sorted((a, h) for a, h in balance.items() if h > 0 and is_holder_account(a))


# ---------------------------------------------------------------------------------- allocation


def allocate(amount: int, holdings: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Largest-remainder shares of ``amount`` by holding; same order as ``holdings`` (by account id)."""
    supply = sum(h for _, h in holdings)
    if supply <= 0:
        raise NoBnmSupply("no member holds any 밤나무 at that record point", supply=supply)
    shares = [amount * h // supply for _, h in holdings]
    leftover = amount - sum(shares)
    if leftover:
        # Largest remainder first; ties by account id (the list is sorted by it, and sort is stable).
        order = sorted(range(len(holdings)), key=lambda i: -(amount * holdings[i][1] % supply))
        for i in order[:leftover]:
            shares[i] += 1
    return [(account, share) for (account, _), share in zip(holdings, shares, strict=True)]


def digest(holdings: Sequence[tuple[str, int]], shares: Sequence[tuple[str, int]]) -> str:
    h = hashlib.sha256()
    for (account, holding), (_, share) in zip(holdings, shares, strict=True):
        h.update(f"{account} {holding} {share}\n".encode())
    return h.hexdigest()


def payee(holder_account: str) -> str:
    """The holder's BTL wallet: ``wallet:7:bnm`` → ``wallet:7:btl``."""
    return holder_account[: -len("bnm")] + "btl"


def member_of(holder_account: str) -> int | None:
    middle = holder_account.split(":")[1]
    return int(middle) if middle.isdigit() else None


# --------------------------------------------------------------------------------- declaration

_COLUMNS = "id, amount, record_size, supply, holders, digest, declared_seq, status"


def _dividend(row: tuple[object, ...]) -> Dividend:
    did, amount, size, supply, holders, dig, seq, status = row
    return Dividend(
        int(did),  # type: ignore[call-overload]
        int(amount),  # type: ignore[call-overload]
        int(size),  # type: ignore[call-overload]
        int(supply),  # type: ignore[call-overload]
        int(holders),  # type: ignore[call-overload]
        str(dig),
        int(seq),  # type: ignore[call-overload]
        str(status),
    )


async def get(uow: UnitOfWork, dividend_id: int, *, lock: bool = False) -> Dividend:
    rows = await uow.fetch(
        f"SELECT {_COLUMNS} FROM dividends WHERE id = :id{uow.for_update if lock else ''}", {"id": dividend_id}
    )
    if not rows:
        raise UnknownDividend(f"no dividend {dividend_id}", dividend=dividend_id)
    return _dividend(rows[0])


async def unpaid(uow: UnitOfWork) -> list[Dividend]:
    rows = await uow.fetch(f"SELECT {_COLUMNS} FROM dividends WHERE status = 'declared' ORDER BY id")
    return [_dividend(r) for r in rows]


async def declare(
    market: Services, uow: UnitOfWork, operator_id: int, amount: int, *, record_size: int | None = None
) -> Dividend:
    """Declare a dividend of ``amount`` won; nothing is paid yet (the ``dividend`` batch pays it)."""
    operator = await members.require_role(uow, operator_id, "operator")
    validate.whole_number(amount, "amount", low=1, high=10**15)
    head = await market.ledger.head(uow)
    size = head.size if record_size is None else validate.whole_number(record_size, "record_size", low=1, high=10**15)
    if size > head.size:
        raise FutureRecordPoint(
            f"the record point {size:,} is in the future: the ledger has {head.size:,} entries",
            record_size=size,
            size=head.size,
        )
    fees = await market.ledger.account(uow, FEES)
    if amount > fees.available:
        raise DividendExceedsFees(
            f"fees:platform holds {fees.available:,}원; a dividend of {amount:,}원 cannot be paid from it",
            available=fees.available,
            amount=amount,
        )
    holdings = await holdings_at(uow, size)
    shares = allocate(amount, holdings)
    supply = sum(h for _, h in holdings)
    paid_holders = sum(1 for _, s in shares if s > 0)
    dig = digest(holdings, shares)
    rows = await uow.fetch(
        "INSERT INTO dividends (amount, record_size, supply, holders, digest, declared_seq, status, declared_by, "
        "created_ms) VALUES (:a, :r, :s, :h, :d, 0, 'declared', :by, :now) RETURNING id",
        {"a": amount, "r": size, "s": supply, "h": paid_holders, "d": dig, "by": operator.id, "now": market.clock()},
    )
    dividend_id = int(rows[0][0])
    recorded = await market.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind="dividend.declare",
            body={
                "dividend": dividend_id,
                "amount": amount,
                "record_size": size,
                "supply": supply,
                "holders": paid_holders,
                "digest": dig,
                "by": operator.id,
            },
            transfers=[Transfer(f"dividend-{dividend_id}-pool", FEES, POOL, amount, "BTL")],
        ),
    )
    await uow.execute(
        "UPDATE dividends SET declared_seq = :seq WHERE id = :id", {"seq": recorded.seq, "id": dividend_id}
    )
    return Dividend(dividend_id, amount, size, supply, paid_holders, dig, recorded.seq, "declared")


# ------------------------------------------------------------------------------------ payment


@dataclass
class DividendBatch:
    """Pays one declared dividend; the cursor is the number of paid holders (in account-id order)."""

    market: Services
    dividend_id: int
    per_entry: int = PER_ENTRY
    entries_per_chunk: int = ENTRIES_PER_CHUNK
    kind: str = KIND
    first_phase: str = "pay"
    _payees: list[tuple[str, int]] | None = field(default=None, repr=False)

    async def _allocation(self, uow: UnitOfWork, dividend: Dividend) -> list[tuple[str, int]]:
        if self._payees is None:
            holdings = await holdings_at(uow, dividend.record_size)
            shares = allocate(dividend.amount, holdings)
            if digest(holdings, shares) != dividend.digest:
                raise AllocationChanged(
                    f"the holdings at record point {dividend.record_size} no longer match dividend "
                    f"{dividend.id}'s declared digest; run `chestnut ledger verify`",
                    dividend=dividend.id,
                )
            self._payees = [(account, share) for account, share in shares if share > 0]
        return self._payees

    async def step(self, uow: UnitOfWork, run: Run) -> Advance:
        dividend = await get(uow, self.dividend_id, lock=True)
        payees = await self._allocation(uow, dividend)
        start = run.cursor
        end = min(len(payees), start + self.per_entry * self.entries_per_chunk)
        requests = []
        for first in range(start, end, self.per_entry):
            part = payees[first : min(end, first + self.per_entry)]
            requests.append(
                Request(
                    actor="system:operator",
                    kind="dividend.pay",
                    body={"dividend": dividend.id, "first": first, "count": len(part)},
                    transfers=[
                        Transfer(f"dividend-{dividend.id}-{account}", POOL, payee(account), share, "BTL")
                        for account, share in part
                    ],
                )
            )
        done = end >= len(payees)
        then = [write("UPDATE dividends SET status = 'paid' WHERE id = :id", {"id": dividend.id})] if done else []
        ledger_ops = (await self.market.ledger.prepare(uow, requests)).ops if requests else []
        if ledger_ops or then:
            await uow.batch([*ledger_ops, *then])
        notices = tuple(
            Notice(mid, "dividend.paid", {"dividend": dividend.id, "amount": share})
            for account, share in payees[start:end]
            if (mid := member_of(account)) is not None
        )
        return Advance(
            "pay",
            end,
            items=end - start,
            amount=sum(share for _, share in payees[start:end]),
            entries=len(requests),
            done=done,
            notices=notices,
        )


def summary(dividend: Dividend) -> dict[str, object]:
    return {
        "dividend": dividend.id,
        "amount": dividend.amount,
        "record_size": dividend.record_size,
        "supply": dividend.supply,
        "holders": dividend.holders,
        "digest": dividend.digest,
        "declared_seq": dividend.declared_seq,
        "status": dividend.status,
    }
