"""Reading wallets: balances and what holds part of them, a member's history in both tokens, top-ups,
bank accounts and cash-outs.

Balances and history come from the ledger's accounts and transfers: the wallet keeps no copy of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from commerce import schema, validate
from commerce.errors import InvalidInput
from commerce.exchange.accounts import ESCROW as MARKET_ESCROW
from commerce.members import service as members
from commerce.services import Services
from commerce.statements import Query, param
from commerce.wallet import gateway
from commerce.wallet.errors import UnknownCashout, UnknownTopup
from commerce.wallet.rows import BANK_ACCOUNT_COLUMNS, CASHOUT_COLUMNS, TOPUP_COLUMNS, BankAccount, Cashout, Topup
from ledger import reads
from ledger.model import MAX_AMOUNT, split_entry
from ledger.service import ISSUERS
from ledger.storage.unit_of_work import UnitOfWork

_topups, _accounts, _cashouts = schema.topups, schema.bank_accounts, schema.cashouts
TOPUP = Query(select(*(_topups.c[name] for name in TOPUP_COLUMNS)).where(_topups.c.id == param("id")))
OFFICE_RECEIPT = Query(select(_topups.c.id).where(_topups.c.id == param("id")))
_ACCOUNT = select(*(_accounts.c[name] for name in BANK_ACCOUNT_COLUMNS))
ACCOUNTS = Query(_ACCOUNT.where(_accounts.c.member_id == param("m")).order_by(_accounts.c.id))
ACCOUNT_BY_REF = Query(_ACCOUNT.where(_accounts.c.member_id == param("m"), _accounts.c.ref == param("r")))
ACCOUNT_OWNER = Query(select(_accounts.c.member_id, _accounts.c.ref).where(_accounts.c.id == param("id")))
_CASHOUT = select(*(_cashouts.c[name] for name in CASHOUT_COLUMNS))
CASHOUT = Query(_CASHOUT.where(_cashouts.c.id == param("id")))
PENDING_CASHOUTS = Query(_CASHOUT.where(_cashouts.c.status == "pending").order_by(_cashouts.c.id).limit(param("limit")))


@dataclass(frozen=True, slots=True)
class Balances:
    btl: int  # won, posted
    btl_available: int  # less what pending holds (escrow, cash-out) reserve
    bnm_units: int
    bnm_available: int


async def balances(market: Services, uow: UnitOfWork, member_id: int) -> Balances:
    member = await members.get(uow, member_id)
    btl = await market.ledger.account(uow, members.wallet(member.id, "BTL"))
    bnm = await market.ledger.account(uow, members.wallet(member.id, "BNM"))
    return Balances(btl.balance, btl.available, bnm.balance, bnm.available)


HOLD_REASONS = ("order", "cashout", "market", "other")


@dataclass(frozen=True, slots=True)
class Hold:
    """Part of a balance that is the member's but not spendable now, and what it waits for."""

    token: str
    reason: (
        str  # order: paid orders' escrow until settlement | cashout: until the bank pays | market: open 밤나무 orders
    )
    count: int  # how many orders, cash-outs or market orders
    amount: int


def _hold_reason(account: str) -> str:
    """What a hold from a wallet into ``account`` waits for (each is named by the service that makes it)."""
    if account.startswith("escrow:order:"):  # commerce.orders.payment.escrow: a paid order's, one per order and token
        return "order"
    if account == ISSUERS["BTL"]:  # commerce.wallet.cashouts.request_cashout: until the bank pays
        return "cashout"
    if account in MARKET_ESCROW.values():  # an open 밤나무 order not filled yet
        return "market"
    return "other"


async def holds(uow: UnitOfWork, member_id: int) -> list[Hold]:
    """What holds part of the member's balances (the gap between ``btl`` and ``btl_available``, and for
    BNM), grouped by what it waits for, in the order of ``HOLD_REASONS``; empty when nothing is held."""
    member = await members.get(uow, member_id)
    token_of = {members.wallet(member.id, "BTL"): "BTL", members.wallet(member.id, "BNM"): "BNM"}
    amounts: dict[tuple[str, str], list[int]] = {}
    for hold in await reads.open_holds(uow, list(token_of)):  # one per order and token, cash-out, market order
        amounts.setdefault((token_of[hold.debit], _hold_reason(hold.credit)), []).append(hold.amount)
    return [
        Hold(token, reason, len(amounts[token, reason]), sum(amounts[token, reason]))
        for token in ("BTL", "BNM")
        for reason in HOLD_REASONS
        if (token, reason) in amounts
    ]


# ------------------------------------------------------------------------------ top-ups, cash-outs


async def office_receipt_recorded(uow: UnitOfWork, receipt: str) -> bool:
    """Whether an office top-up under ``receipt`` is on record (a top-up under it again mints nothing)."""
    return bool(await OFFICE_RECEIPT.fetch(uow, {"id": f"office-{receipt}"}))


async def get_topup(uow: UnitOfWork, order_id: str, *, lock: bool = False) -> Topup:
    rows = await TOPUP.fetch(uow, {"id": order_id}, lock=uow.for_update if lock else "")
    if not rows:
        raise UnknownTopup("no such top-up", order_id=order_id)
    return Topup.from_row(rows[0])


async def gateway_topup(uow: UnitOfWork, order_id: str, *, lock: bool) -> Topup:
    """A top-up through the gateway (an office top-up's id is unknown here)."""
    topup = await get_topup(uow, gateway.check_order_id(order_id), lock=lock)
    if topup.method != "gateway":
        raise UnknownTopup("no such gateway top-up", order_id=order_id)
    return topup


async def bank_accounts(uow: UnitOfWork, member_id: int) -> list[BankAccount]:
    member = await members.get(uow, member_id)
    return [BankAccount.from_row(row) for row in await ACCOUNTS.fetch(uow, {"m": member.id})]


async def get_cashout(uow: UnitOfWork, cashout_id: int, *, lock: bool = False) -> Cashout:
    if type(cashout_id) is not int:
        raise InvalidInput("a cash-out id is a whole number", field="cashout_id")
    rows = await CASHOUT.fetch(uow, {"id": cashout_id}, lock=uow.for_update if lock else "")
    if not rows:
        raise UnknownCashout(f"no cash-out {cashout_id}", cashout=cashout_id)
    return Cashout.from_row(rows[0])


async def pending_cashouts(uow: UnitOfWork, *, limit: int = 100) -> list[Cashout]:
    """The cash-outs the batch still has to pay, oldest first."""
    values = {"limit": validate.whole_number(limit, "limit", low=1, high=10_000)}
    return [Cashout.from_row(row) for row in await PENDING_CASHOUTS.fetch(uow, values)]


# ----------------------------------------------------------------------------- history


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One money movement of a member's wallet, as the member sees it.

    ``amount`` is signed from the member's side (+ in, − out; BNM in units). A hold (pending transfer)
    is one item whose ``state`` follows it: ``pending`` while held, then ``posted`` (with the amount
    actually taken, and the entry that took it in ``resolved_seq``/``resolved_kind``) or ``voided``
    (it never left). So the ``posted`` items of a token sum to its balance and the ``pending`` ones to
    what is held.
    """

    seq: int
    time_ms: int
    kind: str  # the entry's action kind: cash.topup, order.pay, cash.cashout, …
    transfer_id: str
    token: str
    amount: int
    state: str  # posted | pending | voided
    counterparty: str  # the other account: reserve:cash, escrow:order:7, wallet:3:btl, …
    resolved_seq: int | None = None
    resolved_kind: str | None = None


MAX_HISTORY = 100


async def history(
    market: Services, uow: UnitOfWork, member_id: int, *, limit: int = 20, before_seq: int | None = None
) -> list[HistoryItem]:
    """The member's movements in both tokens, newest first; page on with ``before_seq`` = the last seq.

    An entry's movements are never split across pages, so a page may hold a few more than ``limit``.
    """
    member = await members.get(uow, member_id)
    validate.whole_number(limit, "limit", low=1, high=MAX_HISTORY)
    before = (
        MAX_AMOUNT if before_seq is None else validate.whole_number(before_seq, "before_seq", low=0, high=MAX_AMOUNT)
    )
    wallets = [members.wallet(member.id, "BTL"), members.wallet(member.id, "BNM")]
    moves = await reads.movements(uow, wallets, before=before, limit=limit)
    if len(moves) == limit:  # complete the oldest entry on this page
        seen = {m.transfer_id for m in moves}
        moves += [m for m in await reads.movements_in(uow, wallets, moves[-1].seq) if m.transfer_id not in seen]
    held = [m.transfer_id for m in moves if m.type == "pending" and m.state != "pending"]
    resolutions = {r.pending_id: r for r in await reads.resolutions(uow, wallets, held)} if held else {}
    return [_item(m, set(wallets), resolutions) for m in moves]


def _item(m: reads.Movement, wallets: set[str], resolutions: dict[str, reads.Resolution]) -> HistoryItem:
    outgoing = m.debit in wallets
    state = "posted" if m.type == "single" else str(m.state)
    resolved = resolutions.get(m.transfer_id)
    moved = resolved.amount if resolved is not None and state == "posted" else m.amount
    return HistoryItem(
        seq=m.seq,
        time_ms=int(json.loads(split_entry(m.entry).action_bytes)["time"]),
        kind=m.kind,
        transfer_id=m.transfer_id,
        token=m.token,
        amount=-moved if outgoing else moved,
        state=state,
        counterparty=m.credit if outgoing else m.debit,
        resolved_seq=None if resolved is None else resolved.seq,
        resolved_kind=None if resolved is None else resolved.kind,
    )
