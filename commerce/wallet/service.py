"""Wallets: balances and history in both tokens, top-ups, cash-out requests.

BTL is minted only when cash comes in: at the market office (an operator records the cash) or through
a payment gateway (``commerce.wallet.gateway``): ``request_topup`` makes an order for the gateway's checkout,
``confirm_topup`` confirms it server-to-server and mints, once (ledger idempotency key ``pg:<order>``).
Cash-out requests hold the BTL (a pending transfer to ``reserve:cash``, signed by the member) until the
cash-out batch pays them (``cashout_paid``: posted, the BTL is burned) or gives them back
(``cashout_failed``: voided). Bank account numbers and holders stay in ``bank_accounts``; the ledger
sees only a salted reference.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass, replace

from commerce import events, validate
from commerce.errors import CommerceError, GatewayError, InvalidInput, InvalidState, NotAllowed
from commerce.exchange.accounts import ESCROW as MARKET_ESCROW
from commerce.members import identity
from commerce.members import service as members
from commerce.services import Services
from commerce.wallet import gateway
from ledger.db import Database, UnitOfWork, in_clause
from ledger.errors import NotFound
from ledger.model import MAX_AMOUNT, Transfer, split_entry
from ledger.service import ISSUERS, Request

log = logging.getLogger("chestnut.wallet")

MAX_TOPUP = 2_000_000  # won per top-up (prepaid-means limits keep single loads modest)


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
    if account.startswith("escrow:order:"):  # commerce.orders.service.escrow: a paid order's, one per order and token
        return "order"
    if account == ISSUERS["BTL"]:  # commerce.wallet.service.request_cashout: until the bank pays
        return "cashout"
    if account in MARKET_ESCROW.values():  # an open 밤나무 order not filled yet
        return "market"
    return "other"


async def holds(uow: UnitOfWork, member_id: int) -> list[Hold]:
    """What holds part of the member's balances (the gap between ``btl`` and ``btl_available``, and for
    BNM), grouped by what it waits for, in the order of ``HOLD_REASONS``; empty when nothing is held."""
    member = await members.get(uow, member_id)
    token_of = {members.wallet(member.id, "BTL"): "BTL", members.wallet(member.id, "BNM"): "BNM"}
    clause, params = in_clause("w", list(token_of))
    rows = await uow.fetch(
        f"SELECT debit, credit, amount FROM ledger_transfers WHERE debit IN {clause} "
        "AND type = 'pending' AND state = 'pending'",
        params,
    )
    amounts: dict[tuple[str, str], list[int]] = {}
    for debit, credit, amount in rows:  # one hold per order and token, per cash-out, per market order
        amounts.setdefault((token_of[str(debit)], _hold_reason(str(credit))), []).append(int(amount))
    return [
        Hold(token, reason, len(amounts[token, reason]), sum(amounts[token, reason]))
        for token in ("BTL", "BNM")
        for reason in HOLD_REASONS
        if (token, reason) in amounts
    ]


@dataclass(frozen=True, slots=True)
class OfficeTopup:
    seq: int  # the cash.topup entry
    minted: bool  # False: the receipt was on record already, and this changed nothing


async def topup_at_office(
    market: Services,
    uow: UnitOfWork,
    operator_id: int,
    member_id: int,
    amount: int,
    *,
    receipt: str,
    notify: bool = True,
) -> int:
    """An operator took ``amount`` won in cash for a member: mint that much BTL. Returns the entry seq.

    ``receipt`` (the office's receipt number) makes a repeated submission harmless. The member is told
    by chat (``TopupConfirmed``) unless ``notify`` is off (the chat's own play money, seen at once).
    """
    return (await office_topup(market, uow, operator_id, member_id, amount, receipt=receipt, notify=notify)).seq


async def office_receipt_recorded(uow: UnitOfWork, receipt: str) -> bool:
    """Whether an office top-up under ``receipt`` is on record (a top-up under it again mints nothing)."""
    return bool(await uow.fetch("SELECT 1 FROM topups WHERE id = :id", {"id": f"office-{receipt}"}))


async def office_topup(
    market: Services,
    uow: UnitOfWork,
    operator_id: int,
    member_id: int,
    amount: int,
    *,
    receipt: str,
    notify: bool = True,
) -> OfficeTopup:
    """``topup_at_office``, saying also whether this call minted or found the receipt recorded before."""
    operator = await members.require_role(uow, operator_id, "operator")
    member = await members.get(uow, member_id)
    validate.whole_number(amount, "amount", low=1, high=MAX_TOPUP)
    ref = validate.text(receipt, "receipt", max_len=40)
    if not (ref.isascii() and ref.replace("-", "").isalnum()):
        raise InvalidInput("a receipt number is letters, digits and dashes", field="receipt")
    recorded = await market.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind="cash.topup",
            body={"member": member.id, "amount": amount, "method": "office", "receipt": ref, "by": operator.id},
            transfers=[
                Transfer(f"topup-office-{ref}", "reserve:cash", members.wallet(member.id, "BTL"), amount, "BTL")
            ],
        ),
    )
    if not recorded.existing:
        now = market.clock()
        await uow.execute(
            "INSERT INTO topups (id, member_id, amount, method, status, seq, created_ms, updated_ms) "
            "VALUES (:id, :m, :a, 'office', 'confirmed', :seq, :now, :now)",
            {"id": f"office-{ref}", "m": member.id, "a": amount, "seq": recorded.seq, "now": now},
        )
        if notify:
            uow.publish(events.TopupConfirmed(member.id, amount))
    return OfficeTopup(recorded.seq, minted=not recorded.existing)


# ----------------------------------------------------------------------------- gateway top-ups

MIN_GATEWAY_TOPUP = 1_000  # won: below this the gateway's fee eats the top-up
ORDER_NAME = "밤톨 충전"


class UnknownTopup(NotFound):
    code = "unknown_topup"


class TopupAmountMismatch(CommerceError):
    """The amount confirmed (by the client or the gateway) is not the amount the member asked to top up."""

    code = "topup_amount_mismatch"


@dataclass(frozen=True, slots=True)
class TopupIntent:
    """What the client hands to the gateway's checkout."""

    order_id: str
    member_id: int
    amount: int
    order_name: str


@dataclass(frozen=True, slots=True)
class Topup:
    id: str  # the gateway order id (or office-<receipt>)
    member_id: int
    amount: int
    method: str  # office | gateway
    status: str  # requested | confirmed | failed
    payment_key: str | None
    seq: int | None  # the cash.topup entry, once confirmed


def topup_transfer_id(order_id: str) -> str:
    return f"pg-{order_id}"


async def request_topup(market: Services, uow: UnitOfWork, member_id: int, amount: int) -> TopupIntent:
    """A fresh gateway order for ``amount`` won; nothing is minted until the gateway confirms it."""
    member = await members.get(uow, member_id)
    validate.whole_number(amount, "amount", low=MIN_GATEWAY_TOPUP, high=MAX_TOPUP)
    order_id = f"topup-{secrets.token_hex(12)}"
    now = market.clock()
    await uow.execute(
        "INSERT INTO topups (id, member_id, amount, method, status, created_ms, updated_ms) "
        "VALUES (:id, :m, :a, 'gateway', 'requested', :now, :now)",
        {"id": order_id, "m": member.id, "a": amount, "now": now},
    )
    return TopupIntent(order_id, member.id, amount, f"{ORDER_NAME} {amount:,}원")


async def get_topup(uow: UnitOfWork, order_id: str, *, lock: bool = False) -> Topup:
    rows = await uow.fetch(
        "SELECT id, member_id, amount, method, status, payment_key, seq FROM topups WHERE id = :id"
        + (uow.for_update if lock else ""),
        {"id": order_id},
    )
    if not rows:
        raise UnknownTopup("no such top-up", order_id=order_id)
    tid, mid, amount, method, status, key, seq = rows[0]
    return Topup(str(tid), int(mid), int(amount), str(method), str(status), key, None if seq is None else int(seq))


async def _gateway_topup(uow: UnitOfWork, order_id: str, *, lock: bool) -> Topup:
    topup = await get_topup(uow, gateway.check_order_id(order_id), lock=lock)
    if topup.method != "gateway":
        raise UnknownTopup("no such gateway top-up", order_id=order_id)
    return topup


def _already_confirmed(topup: Topup, payment_key: str) -> Topup:
    """The first result for a repeat; a second, different payment for one order is refused."""
    if topup.payment_key != payment_key:
        raise InvalidState(
            "this top-up was already confirmed with another payment", order_id=topup.id, status=topup.status
        )
    return topup


async def confirmable_topup(
    uow: UnitOfWork, *, payment_key: str, order_id: str, amount: int, lock: bool = False
) -> Topup:
    """Check a confirmation request against the intent, before asking the gateway anything.

    Returns the top-up: ``confirmed`` means "already done, here is the first result" — the caller
    answers with it and does not call the gateway again.
    """
    gateway.check_payment_key(payment_key)
    validate.whole_number(amount, "amount", low=1, high=MAX_AMOUNT)
    topup = await _gateway_topup(uow, order_id, lock=lock)
    if amount != topup.amount:
        raise TopupAmountMismatch(
            "the amount does not match the top-up that was asked for", expected=topup.amount, found=amount
        )
    if topup.status == "confirmed":
        return _already_confirmed(topup, payment_key)
    return topup


async def settle_gateway_payment(
    market: Services, uow: UnitOfWork, payment: gateway.GatewayPayment, *, order_id: str
) -> Topup:
    """Mint the BTL of a payment the gateway reports done (idempotent: a repeat returns the first result).

    Everything is checked against our intent, not against what a client or webhook claimed: the
    gateway's order id, amount and status.
    """
    topup = await _gateway_topup(uow, order_id, lock=True)
    if payment.order_id != topup.id:
        raise GatewayError(
            "the payment gateway answered for another order", order_id=topup.id, gateway_order_id=payment.order_id
        )
    if topup.status == "confirmed":
        return _already_confirmed(topup, payment.payment_key)
    if payment.status != "done":
        raise gateway.PaymentRefused(
            "the payment gateway does not report this payment as done", order_id=topup.id, status=payment.status
        )
    if payment.amount != topup.amount:
        log.warning("gateway payment for %s is %d won, the top-up asked %d", topup.id, payment.amount, topup.amount)
        raise TopupAmountMismatch(
            "the gateway's amount does not match the top-up; the market office will sort it out",
            expected=topup.amount,
            found=payment.amount,
        )
    recorded = await market.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind="cash.topup",
            body={"member": topup.member_id, "amount": topup.amount, "method": "gateway", "order": topup.id},
            transfers=[
                Transfer(
                    topup_transfer_id(topup.id),
                    "reserve:cash",
                    members.wallet(topup.member_id, "BTL"),
                    topup.amount,
                    "BTL",
                )
            ],
            idempotency_key=f"pg:{topup.id}",
        ),
    )
    await uow.execute(
        "UPDATE topups SET status = 'confirmed', payment_key = :k, seq = :seq, updated_ms = :now WHERE id = :id",
        {"k": payment.payment_key, "seq": recorded.seq, "now": market.clock(), "id": topup.id},
    )
    uow.publish(events.TopupConfirmed(topup.member_id, topup.amount))
    return replace(topup, status="confirmed", payment_key=payment.payment_key, seq=recorded.seq)


async def confirm_topup(
    market: Services,
    uow: UnitOfWork,
    pg: gateway.PaymentGateway,
    *,
    payment_key: str,
    order_id: str,
    amount: int,
) -> Topup:
    """Confirm a checkout with the gateway and mint the BTL, all in ``uow``.

    The top-up row stays locked while the gateway answers, so a racing confirmation (the redirect and
    the webhook) waits and then gets the first result. The HTTP callbacks use the same steps with no
    transaction open during the gateway call (``confirm_topup_callback``).
    """
    topup = await confirmable_topup(uow, payment_key=payment_key, order_id=order_id, amount=amount, lock=True)
    if topup.status == "confirmed":
        return topup
    payment = await pg.confirm(payment_key=payment_key, order_id=topup.id, amount=topup.amount)
    return await settle_gateway_payment(market, uow, payment, order_id=topup.id)


async def topup_failed(market: Services, uow: UnitOfWork, order_id: str, *, payment_key: str | None = None) -> Topup:
    """The gateway reports the payment canceled, aborted or expired: a requested top-up is marked failed.

    A confirmed top-up stays confirmed (its BTL may be spent already): a cancellation after the fact is
    logged for the market office, never silently burned. A failed top-up can still be confirmed later if
    the gateway reports the payment done after all.
    """
    topup = await _gateway_topup(uow, order_id, lock=True)
    if topup.status == "confirmed":
        log.warning("gateway reports confirmed top-up %s as failed; needs the market office", topup.id)
        return topup
    if topup.status == "failed":
        return topup
    await uow.execute(
        "UPDATE topups SET status = 'failed', payment_key = COALESCE(payment_key, :k), updated_ms = :now "
        "WHERE id = :id",
        {"k": payment_key, "now": market.clock(), "id": topup.id},
    )
    return replace(topup, status="failed", payment_key=topup.payment_key or payment_key)


async def apply_gateway_status(
    market: Services, uow: UnitOfWork, payment: gateway.GatewayPayment, *, order_id: str
) -> Topup:
    """Bring a top-up in line with the payment as the gateway reports it."""
    if payment.order_id != order_id:
        raise GatewayError(
            "the payment gateway answered for another order", order_id=order_id, gateway_order_id=payment.order_id
        )
    if payment.status == "done":
        return await settle_gateway_payment(market, uow, payment, order_id=order_id)
    if payment.status in gateway.FAILED_STATUSES:
        return await topup_failed(market, uow, order_id, payment_key=payment.payment_key)
    return await _gateway_topup(uow, order_id, lock=False)


# The gateway's HTTP callbacks run these: the same steps, but no transaction is open while the gateway
# answers (on SQLite a writer holds the one write lock), so each step checks again in its own unit of work.


async def confirm_topup_callback(
    market: Services, db: Database, pg: gateway.PaymentGateway, *, payment_key: str, order_id: str, amount: int
) -> Topup:
    """``confirm_topup`` for the checkout redirect: check in a snapshot, confirm, then mint in a unit of work."""
    async with db.snapshot() as snap:
        topup = await confirmable_topup(snap, payment_key=payment_key, order_id=order_id, amount=amount)
    if topup.status == "confirmed":
        return topup
    payment = await pg.confirm(payment_key=payment_key, order_id=topup.id, amount=topup.amount)
    async with db.unit_of_work() as uow:
        topup = await settle_gateway_payment(market, uow, payment, order_id=topup.id)
        await uow.commit()
    return topup


async def payment_status_callback(
    market: Services, db: Database, pg: gateway.PaymentGateway, event: gateway.PaymentEvent
) -> Topup:
    """A signed webhook said a payment changed. DONE is confirmed by asking the gateway, never the body;
    CANCELED/ABORTED/EXPIRED mark a requested top-up failed (no money moves on a failure)."""
    async with db.snapshot() as snap:
        topup = await _gateway_topup(snap, event.order_id, lock=False)
    if topup.status == "confirmed" or event.status == "pending":
        return topup
    payment = await pg.get_payment(event.payment_key) if event.status == "done" else None
    async with db.unit_of_work() as uow:
        if payment is None:
            topup = await topup_failed(market, uow, topup.id, payment_key=event.payment_key)
        else:
            topup = await apply_gateway_status(market, uow, payment, order_id=topup.id)
        await uow.commit()
    return topup


# ----------------------------------------------------------------------------- bank accounts and cash-outs

_BANK_CODE = re.compile(r"^\d{3}$")
_ACCOUNT_NO = re.compile(r"^\d+(-\d+)*$")


class UnknownBankAccount(NotFound):
    code = "unknown_bank_account"


class UnknownCashout(NotFound):
    code = "unknown_cashout"


@dataclass(frozen=True, slots=True)
class BankAccount:
    id: int
    member_id: int
    bank_code: str
    account_masked: str  # "****-5678": enough for a chat to say which account
    holder: str


@dataclass(frozen=True, slots=True)
class Cashout:
    id: int
    member_id: int
    bank_account_id: int
    amount: int
    status: str  # pending | paid | failed
    transfer_id: str  # the pending ledger transfer holding the BTL
    seq: int  # the cash.cashout entry
    reason: str | None


def cashout_transfer_id(cashout_id: int) -> str:
    return f"cashout-{cashout_id}"


def _mask(account_no: str) -> str:
    digits = account_no.replace("-", "")
    return "****-" + digits[-4:]


def _bank_account(row: tuple[object, ...]) -> BankAccount:
    aid, mid, bank, number, holder = row
    return BankAccount(int(aid), int(mid), str(bank), _mask(str(number)), str(holder))  # type: ignore[call-overload]


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
    rows = await uow.fetch(
        "SELECT id, member_id, bank_code, account_no, holder FROM bank_accounts WHERE member_id = :m AND ref = :r",
        {"m": member.id, "r": ref},
    )
    if rows:
        return _bank_account(rows[0])
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
    return BankAccount(account_id, member.id, bank, _mask(number), name)


async def bank_accounts(uow: UnitOfWork, member_id: int) -> list[BankAccount]:
    member = await members.get(uow, member_id)
    rows = await uow.fetch(
        "SELECT id, member_id, bank_code, account_no, holder FROM bank_accounts WHERE member_id = :m ORDER BY id",
        {"m": member.id},
    )
    return [_bank_account(r) for r in rows]


_CASHOUT_COLUMNS = "id, member_id, bank_account_id, amount, status, transfer_id, seq, reason"


def _cashout(row: tuple[object, ...]) -> Cashout:
    cid, mid, aid, amount, status, tid, seq, reason = row
    return Cashout(
        int(cid),  # type: ignore[call-overload]
        int(mid),  # type: ignore[call-overload]
        int(aid),  # type: ignore[call-overload]
        int(amount),  # type: ignore[call-overload]
        str(status),
        str(tid),
        int(seq),  # type: ignore[call-overload]
        None if reason is None else str(reason),
    )


async def get_cashout(uow: UnitOfWork, cashout_id: int, *, lock: bool = False) -> Cashout:
    if type(cashout_id) is not int:
        raise InvalidInput("a cash-out id is a whole number", field="cashout_id")
    rows = await uow.fetch(
        f"SELECT {_CASHOUT_COLUMNS} FROM cashouts WHERE id = :id" + (uow.for_update if lock else ""),
        {"id": cashout_id},
    )
    if not rows:
        raise UnknownCashout(f"no cash-out {cashout_id}", cashout=cashout_id)
    return _cashout(rows[0])


async def pending_cashouts(uow: UnitOfWork, *, limit: int = 100) -> list[Cashout]:
    """The cash-outs the batch still has to pay, oldest first."""
    rows = await uow.fetch(
        f"SELECT {_CASHOUT_COLUMNS} FROM cashouts WHERE status = 'pending' ORDER BY id LIMIT :limit",
        {"limit": validate.whole_number(limit, "limit", low=1, high=10_000)},
    )
    return [_cashout(r) for r in rows]


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
    rows = await uow.fetch("SELECT member_id, ref FROM bank_accounts WHERE id = :id", {"id": bank_account_id})
    if not rows:
        raise UnknownBankAccount("register a bank account first", bank_account=bank_account_id)
    owner, ref = int(rows[0][0]), str(rows[0][1])
    if owner != member.id:
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
    cashout = await get_cashout(uow, cashout_id, lock=True)
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
    cashout = await get_cashout(uow, cashout_id, lock=True)
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
    wallets = {members.wallet(member.id, "BTL"), members.wallet(member.id, "BNM")}
    touches = "(t.debit IN (:w1, :w2) OR t.credit IN (:w1, :w2))"
    w = {"w1": members.wallet(member.id, "BTL"), "w2": members.wallet(member.id, "BNM")}
    columns = "t.seq, e.kind, e.entry, t.id, t.debit, t.credit, t.token, t.amount, t.type, t.state"
    movements = f"t.type IN ('single', 'pending') AND {touches}"
    rows = await uow.fetch(
        f"SELECT {columns} FROM ledger_transfers t JOIN ledger_entries e ON e.seq = t.seq "
        f"WHERE {movements} AND t.seq < :before ORDER BY t.seq DESC, t.id LIMIT :limit",
        {**w, "before": before, "limit": limit},
    )
    if len(rows) == limit:  # complete the oldest entry on this page
        last = int(rows[-1][0])
        seen = {r[3] for r in rows}
        more = await uow.fetch(
            f"SELECT {columns} FROM ledger_transfers t JOIN ledger_entries e ON e.seq = t.seq "
            f"WHERE {movements} AND t.seq = :last ORDER BY t.id",
            {**w, "last": last},
        )
        rows += [r for r in more if r[3] not in seen]
    held = [r[3] for r in rows if r[8] == "pending" and r[9] != "pending"]
    resolutions: dict[str, tuple[int, str, int]] = {}
    if held:
        clause, params = in_clause("p", held)
        for pending_id, seq, kind, amount in await uow.fetch(
            "SELECT t.pending_id, t.seq, e.kind, t.amount FROM ledger_transfers t JOIN ledger_entries e "
            f"ON e.seq = t.seq WHERE t.type IN ('post', 'void') AND {touches} AND t.pending_id IN {clause}",
            {**w, **params},
        ):
            resolutions[str(pending_id)] = (int(seq), str(kind), int(amount))
    items = []
    for seq, kind, entry, tid, debit, credit, token, amount, ttype, tstate in rows:
        outgoing = debit in wallets
        state = "posted" if ttype == "single" else str(tstate)
        resolved = resolutions.get(str(tid))
        moved = resolved[2] if resolved is not None and state == "posted" else int(amount)
        items.append(
            HistoryItem(
                seq=int(seq),
                time_ms=int(json.loads(split_entry(bytes(entry)).action_bytes)["time"]),
                kind=str(kind),
                transfer_id=str(tid),
                token=str(token),
                amount=-moved if outgoing else moved,
                state=state,
                counterparty=str(credit if outgoing else debit),
                resolved_seq=None if resolved is None else resolved[0],
                resolved_kind=None if resolved is None else resolved[1],
            )
        )
    return items
