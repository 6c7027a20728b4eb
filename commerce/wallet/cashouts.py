"""Cash-outs: BTL back to cash in a member's bank account.

A request holds the BTL (a pending transfer to ``reserve:cash``, signed by the member) until the
cash-out batch (``scheduler.cashout_batch``) pays it (``cashout_paid``: posted, the BTL is burned) or
gives it back (``cashout_failed``: voided). Bank account numbers and holders stay in ``bank_accounts``;
the ledger sees only a salted reference.
"""

from __future__ import annotations

import re
from dataclasses import replace

from commerce import validate
from commerce.errors import InvalidInput, InvalidState, NotAllowed
from commerce.members import identity
from commerce.members import service as members
from commerce.services import Services
from commerce.wallet import queries
from commerce.wallet.errors import UnknownBankAccount
from commerce.wallet.rows import BankAccount, Cashout, mask
from ledger.model import MAX_AMOUNT, Transfer
from ledger.requests import Request
from ledger.storage.unit_of_work import UnitOfWork

_BANK_CODE = re.compile(r"^\d{3}$")
_ACCOUNT_NO = re.compile(r"^\d+(-\d+)*$")


def cashout_transfer_id(cashout_id: int) -> str:
    return f"cashout-{cashout_id}"


async def register_bank_account(
    market: Services, uow: UnitOfWork, member_id: int, bank_code: str, account_no: str, holder: str
) -> BankAccount:
    """Keep a member's bank account for cash-outs; the ledger gets only a salted reference to it.

    Registering the same account again answers with the one already kept.
    """
    member = await members.get(uow, member_id)
    bank = validate.text(bank_code, "bank_code", max_len=3)
    if not _BANK_CODE.match(bank):
        raise InvalidInput("a bank code is 3 digits (e.g. 011 for NH)", field="bank_code")
    number = validate.text(account_no, "account_no", max_len=20)
    if len(number) < 8 or not _ACCOUNT_NO.match(number):
        raise InvalidInput("an account number is 8–20 digits and dashes", field="account_no")
    name = validate.text(holder, "holder", max_len=40)
    ref = await market.personal_ref(uow, "bank-account", f"{bank}:{number.replace('-', '')}")
    kept = await queries.ACCOUNT_BY_REF.fetch(uow, {"m": member.id, "r": ref})
    if kept:
        return BankAccount.from_row(kept[0])
    rows = await uow.fetch(
        "INSERT INTO bank_accounts (member_id, bank_code, account_no, holder, ref, created_ms) "
        "VALUES (:m, :b, :n, :h, :r, :now) RETURNING id",
        {"m": member.id, "b": bank, "n": number, "h": name, "r": ref, "now": market.clock()},
    )
    account_id = int(rows[0][0])
    await market.ledger.record(
        uow,
        Request(
            actor=member.key_label,
            kind="bank.register",
            body={"member": member.id, "bank_account": account_id, "ref": ref},
        ),
    )
    return BankAccount(account_id, member.id, bank, mask(number), name)


async def request_cashout(
    market: Services, uow: UnitOfWork, member_id: int, bank_account_id: int, amount: int
) -> Cashout:
    """The member asks for ``amount`` won to their bank account: the BTL is held (a pending transfer to
    ``reserve:cash``, signed by the member) until the cash-out batch pays it or gives it back.

    More than the available balance is the ledger's ``InsufficientBalance`` (with ``missing``).
    """
    member = identity.require(await members.get(uow, member_id), identity.PHONE, action="cashout")
    validate.whole_number(amount, "amount", low=1, high=MAX_AMOUNT)
    if type(bank_account_id) is not int:
        raise InvalidInput("choose one of your bank accounts", field="bank_account")
    accounts = await queries.ACCOUNT_OWNER.fetch(uow, {"id": bank_account_id})
    if not accounts:
        raise UnknownBankAccount("register a bank account first", bank_account=bank_account_id)
    ref = str(accounts[0]["ref"])
    if accounts[0]["member_id"] != member.id:
        raise NotAllowed("that bank account is not one of yours", member=member.id, bank_account=bank_account_id)
    # The row comes first for its id (the transfer's name); a refusal below rolls it back with the rest.
    rows = await uow.fetch(
        "INSERT INTO cashouts (member_id, bank_account_id, amount, status, transfer_id, seq, created_ms) "
        "VALUES (:m, :a, :amount, 'pending', '', 0, :now) RETURNING id",
        {"m": member.id, "a": bank_account_id, "amount": amount, "now": market.clock()},
    )
    cashout_id = int(rows[0][0])
    transfer_id = cashout_transfer_id(cashout_id)
    recorded = await market.ledger.record(
        uow,
        Request(
            actor=member.key_label,
            kind="cash.cashout",
            body={"member": member.id, "cashout": cashout_id, "amount": amount, "bank_account": ref},
            transfers=[
                Transfer(transfer_id, members.wallet(member.id, "BTL"), "reserve:cash", amount, "BTL", type="pending")
            ],
        ),
    )
    await uow.execute(
        "UPDATE cashouts SET transfer_id = :t, seq = :seq WHERE id = :id",
        {"t": transfer_id, "seq": recorded.seq, "id": cashout_id},
    )
    return Cashout(cashout_id, member.id, bank_account_id, amount, "pending", transfer_id, recorded.seq, None)


async def cashout_paid(market: Services, uow: UnitOfWork, cashout_id: int) -> Cashout:
    """The bank paid the cash-out: the operator posts the hold and the BTL is burned into ``reserve:cash``.

    Idempotent: paying a paid cash-out answers with it; a failed one cannot be paid (``InvalidState``).
    """
    cashout = await queries.get_cashout(uow, cashout_id, lock=True)
    if cashout.status == "paid":
        return cashout
    if cashout.status != "pending":
        raise InvalidState(f"cash-out {cashout.id} is {cashout.status}", cashout=cashout.id, status=cashout.status)
    await _resolve_cashout(market, uow, cashout, "post", kind="cash.cashout_paid", note={})
    await uow.execute("UPDATE cashouts SET status = 'paid' WHERE id = :id", {"id": cashout.id})
    return replace(cashout, status="paid")


async def cashout_failed(market: Services, uow: UnitOfWork, cashout_id: int, reason: str) -> Cashout:
    """The bank could not pay: the operator voids the hold and the member has the BTL back.

    Idempotent: failing a failed cash-out answers with it (and its first reason); a paid one cannot fail.
    """
    why = validate.text(reason, "reason", max_len=200)
    cashout = await queries.get_cashout(uow, cashout_id, lock=True)
    if cashout.status == "failed":
        return cashout
    if cashout.status != "pending":
        raise InvalidState(f"cash-out {cashout.id} is {cashout.status}", cashout=cashout.id, status=cashout.status)
    await _resolve_cashout(market, uow, cashout, "void", kind="cash.cashout_failed", note={"reason": why})
    await uow.execute("UPDATE cashouts SET status = 'failed', reason = :r WHERE id = :id", {"r": why, "id": cashout.id})
    return replace(cashout, status="failed", reason=why)


async def _resolve_cashout(
    market: Services, uow: UnitOfWork, cashout: Cashout, how: str, *, kind: str, note: dict[str, str]
) -> int:
    recorded = await market.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind=kind,
            body={"member": cashout.member_id, "cashout": cashout.id, "amount": cashout.amount, **note},
            transfers=[
                Transfer(
                    f"{cashout.transfer_id}-{how}",
                    members.wallet(cashout.member_id, "BTL"),
                    "reserve:cash",
                    cashout.amount,
                    "BTL",
                    type=how,
                    pending_id=cashout.transfer_id,
                )
            ],
        ),
    )
    return recorded.seq
