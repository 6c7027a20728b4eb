"""Top-ups: BTL is minted only when cash comes in.

At the market office an operator records the cash (``topup_at_office``); through a payment gateway
(``commerce.wallet.gateway``) ``request_topup`` makes an order for the gateway's checkout and
``confirm_topup`` confirms it server-to-server and mints, once (ledger idempotency key ``pg:<order>``).
Cash-outs, the other way, are in ``cashouts``; balances and history in ``queries``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace

from commerce import events, validate
from commerce.errors import InvalidInput, InvalidState
from commerce.members import service as members
from commerce.services import Services
from commerce.wallet import gateway, queries
from commerce.wallet.errors import GatewayError, PaymentRefused, TopupAmountMismatch
from commerce.wallet.events import TopupConfirmed
from commerce.wallet.rows import Topup
from ledger.model import MAX_AMOUNT, Transfer
from ledger.requests import Request
from ledger.storage.unit_of_work import Database, UnitOfWork

log = logging.getLogger("chestnut.wallet")

MAX_TOPUP = 2_000_000  # won per top-up (prepaid-means limits keep single loads modest)


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
            await events.emit(market, uow, TopupConfirmed(member.id, amount))
    return OfficeTopup(recorded.seq, minted=not recorded.existing)


# ----------------------------------------------------------------------------- gateway top-ups

MIN_GATEWAY_TOPUP = 1_000  # won: below this the gateway's fee eats the top-up
ORDER_NAME = "밤톨 충전"


@dataclass(frozen=True, slots=True)
class TopupIntent:
    """What the client hands to the gateway's checkout."""

    order_id: str
    member_id: int
    amount: int
    order_name: str


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
    topup = await queries.gateway_topup(uow, order_id, lock=lock)
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
    topup = await queries.gateway_topup(uow, order_id, lock=True)
    if payment.order_id != topup.id:
        raise GatewayError(
            "the payment gateway answered for another order", order_id=topup.id, gateway_order_id=payment.order_id
        )
    if topup.status == "confirmed":
        return _already_confirmed(topup, payment.payment_key)
    if payment.status != "done":
        raise PaymentRefused(
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
    await events.emit(market, uow, TopupConfirmed(topup.member_id, topup.amount))
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
    topup = await queries.gateway_topup(uow, order_id, lock=True)
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
    return await queries.gateway_topup(uow, order_id, lock=False)


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
        topup = await queries.gateway_topup(snap, event.order_id, lock=False)
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
