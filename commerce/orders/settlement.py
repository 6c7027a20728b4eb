"""Settlement and refunds of one order (the scheduler batches settlement over many).

Settling posts the buyer's escrow holds and, in the same operator-signed entry, pays: any agreed refund
back to the buyer, the delivery fee to the courier (to the producer when there was no courier), the
platform fee to ``fees:platform``, and the rest to the producer. BNM goes to the producer (the shop
accepted it); the courier and the fee are always paid in BTL, which the payment rules guarantee is
enough. After settlement, a refund moves BTL from the producer back to the buyer in an entry of the
kind ``refund.after_settlement`` — the one kind in which the rules let the operator debit a wallet.

A recommender's commission and a comment's brokering reward (``order_payees``, decided at checkout by
``community.referrals`` and ``community.comments``) are shares of the producer's BTL proceeds paid in this same
entry, so a cancelled or refunded order — which never settles — pays nobody.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from commerce import validate
from commerce.errors import InvalidInput, InvalidState
from commerce.members import service as members
from commerce.orders import queries, service
from commerce.orders.payment import escrow, hold_id
from commerce.orders.rows import Order
from commerce.services import BNM_UNITS, Services
from commerce.shops import service as shops
from ledger import reads
from ledger.model import Transfer
from ledger.requests import Request
from ledger.storage.ops import in_clause
from ledger.storage.unit_of_work import UnitOfWork

PLATFORM_FEES = "fees:platform"
REFUND_AFTER_SETTLEMENT = "refund.after_settlement"
OPEN_CLAIM_STATES = ("open", "answered", "escalated")


def platform_fee(market: Services, order: Order) -> int:
    return (order.subtotal - order.refund_due) * market.rules.platform_fee_bp // 10_000


@dataclass(frozen=True, slots=True)
class Payee:
    """Someone owed a share of an order's goods value at settlement (a recommender, a comment's author)."""

    role: str  # referral | broker: also the transfer's name, ``order-<id>-<role>``
    member_id: int
    bp: int  # basis points of the goods' value after refunds


async def payees(uow: UnitOfWork, order_ids: Sequence[int]) -> Mapping[int, tuple[Payee, ...]]:
    """The shares due on these orders (held or refused ones are not paid), for ``settlement_transfers``."""
    if not order_ids:
        return {}
    clause, params = in_clause("o", list(order_ids))
    rows = await uow.fetch(
        f"SELECT order_id, role, member_id, bp FROM order_payees WHERE order_id IN {clause} AND status = 'due' "
        "ORDER BY order_id, role",
        params,
    )
    found: dict[int, tuple[Payee, ...]] = {}
    for oid, role, member_id, bp in rows:
        found[int(oid)] = (*found.get(int(oid), ()), Payee(str(role), int(member_id), int(bp)))
    return found


def payee_amounts(order: Order, due: Sequence[Payee], available: int) -> list[tuple[Payee, int]]:
    """Each share in won (rounded down), never more in all than the producer's BTL part (``available``)."""
    goods = max(0, order.subtotal - order.refund_due)
    out: list[tuple[Payee, int]] = []
    for payee in due:
        amount = min(goods * payee.bp // 10_000, available)
        if amount > 0 and payee.member_id != order.buyer_id:
            out.append((payee, amount))
            available -= amount
    return out


def settlement_transfers(market: Services, order: Order, producer_id: int, due: Sequence[Payee] = ()) -> list[Transfer]:
    """Every transfer of an order's settlement, in the order they apply (posts first); ``due`` are the
    order's ``payees`` — every caller passes them, so a batch settles exactly as one order does."""
    btl = order.btl_amount or 0
    units = order.bnm_units or 0
    buyer_btl = members.wallet(order.buyer_id, "BTL")
    buyer_bnm = members.wallet(order.buyer_id, "BNM")
    fee = platform_fee(market, order)
    courier_pay = order.delivery_fee
    refund_btl = min(order.refund_due, btl - courier_pay - fee)
    rest = order.refund_due - refund_btl
    refund_units = 0
    if rest:
        assert order.bnm_price
        refund_units = min(units, -(-rest * BNM_UNITS // order.bnm_price))  # round up: in the buyer's favour
    producer_btl = btl - courier_pay - fee - refund_btl
    shares = payee_amounts(order, due, producer_btl)
    producer_btl -= sum(amount for _payee, amount in shares)
    producer_units = units - refund_units
    courier = members.wallet(order.courier_id if order.courier_id is not None else producer_id, "BTL")
    escrow_btl, escrow_bnm = escrow(order.id, "BTL"), escrow(order.id, "BNM")
    prefix = f"order-{order.id}-"
    plan: list[Transfer] = []

    def add(tid: str, debit: str, credit: str, amount: int, token: str, **kw: str) -> None:
        if amount > 0:
            plan.append(Transfer(prefix + tid, debit, credit, amount, token, **kw))  # type: ignore[arg-type]

    add("btl-post", buyer_btl, escrow_btl, btl, "BTL", type="post", pending_id=hold_id(order.id, "BTL"))
    add("bnm-post", buyer_bnm, escrow_bnm, units, "BNM", type="post", pending_id=hold_id(order.id, "BNM"))
    add("refund-btl", escrow_btl, buyer_btl, refund_btl, "BTL")
    add("refund-bnm", escrow_bnm, buyer_bnm, refund_units, "BNM")
    add("courier", escrow_btl, courier, courier_pay, "BTL")
    add("fee", escrow_btl, PLATFORM_FEES, fee, "BTL")
    for payee, amount in shares:
        add(payee.role, escrow_btl, members.wallet(payee.member_id, "BTL"), amount, "BTL")
    add("producer-btl", escrow_btl, members.wallet(producer_id, "BTL"), producer_btl, "BTL")
    add("producer-bnm", escrow_bnm, members.wallet(producer_id, "BNM"), producer_units, "BNM")
    return plan


async def settle_order(market: Services, uow: UnitOfWork, order_id: int) -> Order:
    # The order's row lock (see ``queries.lock``) keeps claim steps, which lock it too, from changing
    # ``refund_due`` or a claim's state between what we read here and the entry we append.
    order = await queries.lock(uow, order_id)
    if order.state == "settled":
        return order
    if order.state != "confirmed":
        raise InvalidState(f"order {order.id} is {order.state}, not confirmed", order=order.id, state=order.state)
    open_claims = await uow.fetch(
        f"SELECT COUNT(*) FROM claims WHERE order_id = :o AND status IN {OPEN_CLAIM_STATES}",
        {"o": order.id},
    )
    if int(open_claims[0][0]):
        raise InvalidState(f"order {order.id} has an open claim; it settles when the claim is decided", order=order.id)
    shop = await shops.get(uow, order.shop_id)
    recorded = await market.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind="order.settle",
            body={"order": order.id, "fee": platform_fee(market, order), "refund": order.refund_due},
            transfers=settlement_transfers(
                market, order, shop.owner_id, (await payees(uow, [order.id])).get(order.id, ())
            ),
        ),
    )
    await uow.execute(
        "UPDATE orders SET state = 'settled', settled_seq = :seq, updated_ms = :now WHERE id = :o",
        {"seq": recorded.seq, "now": market.clock(), "o": order.id},
    )
    return await queries.get(uow, order.id)


async def refund_order(market: Services, uow: UnitOfWork, operator_id: int, order_id: int, *, reason: str) -> Order:
    """A full refund before settlement: the holds are voided, the buyer has every won back."""
    order = await queries.lock(uow, order_id)
    operator = await members.require_role(uow, operator_id, "operator")
    if order.state in ("settled", "cancelled", "refunded", "placed"):
        raise InvalidState(f"order {order.id} is {order.state}", order=order.id, state=order.state)
    await service.release_holds(
        market,
        uow,
        order,
        actor="system:operator",
        kind="order.refund",
        countersign=False,
        note={"by": operator.id, "reason": validate.text(reason, "reason", max_len=200)},
    )
    await uow.execute(
        "UPDATE orders SET state = 'refunded', updated_ms = :now WHERE id = :o", {"now": market.clock(), "o": order.id}
    )
    return await queries.get(uow, order.id)


async def refundable_after_settlement(uow: UnitOfWork, order: Order) -> int:
    """What can still go back after settlement: the goods' value less everything already returned
    (refunds paid out at settlement, and every pay-back since — by an operator or through a claim)."""
    paid_back = await reads.transfers_total(uow, f"order-{order.id}-payback-")
    return max(0, order.subtotal - order.refund_due - paid_back)


async def pay_back(
    market: Services, uow: UnitOfWork, order: Order, amount: int, *, reference: str, note: dict[str, object]
) -> int:
    """The one way money goes back after settlement: producer → buyer, signed by the operator key, in
    the one kind the rules allow, capped so the returns never exceed the goods' value. Returns the seq.
    The caller holds the order's lock (``queries.lock``) and has decided who approved it (``note``)."""
    if order.state != "settled":
        raise InvalidState(f"order {order.id} is not settled yet", order=order.id, state=order.state)
    cap = await refundable_after_settlement(uow, order)
    validate.whole_number(amount, "amount", low=1, high=max(1, cap))
    if amount > cap:
        raise InvalidInput(f"at most {cap:,}원 can still be refunded on this order", field="amount", max=cap)
    shop = await shops.get(uow, order.shop_id)
    recorded = await market.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind=REFUND_AFTER_SETTLEMENT,
            body={"order": order.id, "amount": amount, "reference": reference, **note},
            transfers=[
                Transfer(
                    f"order-{order.id}-payback-{reference}",
                    members.wallet(shop.owner_id, "BTL"),
                    members.wallet(order.buyer_id, "BTL"),
                    amount,
                    "BTL",
                )
            ],
        ),
    )
    await uow.execute("UPDATE orders SET updated_ms = :now WHERE id = :o", {"now": market.clock(), "o": order.id})
    return recorded.seq


async def refund_after_settlement(
    market: Services, uow: UnitOfWork, operator_id: int, order_id: int, amount: int, *, reference: str
) -> int:
    """Producer → buyer after settlement, approved by an operator. Returns the entry's sequence number."""
    order = await queries.lock(uow, order_id)
    operator = await members.require_role(uow, operator_id, "operator")
    ref = validate.text(reference, "reference", max_len=40)
    if not (ref.isascii() and ref.replace("-", "").isalnum()):
        raise InvalidInput("reference is letters, digits and dashes", field="reference")
    return await pay_back(market, uow, order, amount, reference=ref, note={"by": operator.id})
