"""Paying an order: the token mix, the BNM share a shop allows, and the escrow holds (ARCHITECTURE.md, Money).

BNM is valued at the reference price (won per 1 BNM = 1,000 units). The BNM part is rounded up to whole
units — in the payer's disfavour by less than one unit — and the BTL part is the exact remainder of
what those units are worth, so the payer never pays less than the total and the seller is never short.

Paying moves the whole amount into the order's escrow accounts as *pending* transfers, in the same
signed entry (``order.pay``, countersigned by the operator, whose consent opens the escrow accounts)
that carries the order's new state with it (``payment_writes``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from commerce import validate
from commerce.members import service as members
from commerce.members.rows import Member
from commerce.orders.errors import BnmShareTooHigh
from commerce.services import BNM_UNITS, Services
from commerce.shops.rows import Shop
from ledger.model import AccountSpec, Transfer
from ledger.requests import Request
from ledger.storage.ops import Op, write
from ledger.storage.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Split:
    total: int  # won
    share: int  # percent asked in BNM
    price: int  # won per 1 BNM
    bnm_units: int
    btl: int

    @property
    def bnm_value(self) -> int:
        """What the BNM part is worth in whole won (the BTL part is the rest of the total)."""
        return self.total - self.btl


def split_payment(total: int, share: int, price: int) -> Split:
    if total < 0 or not 0 <= share <= 100 or price <= 0:
        raise ValueError("total ≥ 0, share 0..100, price > 0")
    if share == 0 or total == 0:
        return Split(total, share, price, 0, total)
    # units = ceil(total × share/100 ÷ (price/1000)), in integers only.
    units = -(-(total * share * BNM_UNITS) // (100 * price))
    worth = units * price // BNM_UNITS
    return Split(total, share, price, units, max(0, total - worth))


def escrow(order_id: int, token: str) -> str:
    return f"escrow:order:{order_id}:{token.lower()}"


def hold_id(order_id: int, token: str) -> str:
    return f"order-{order_id}-{token.lower()}"


def max_share(market: Services, shop: Shop, subtotal: int, delivery_fee: int, price: int | None = None) -> int:
    """The largest BNM share allowed: the shop's limit, and enough BTL left for the courier and the fee.

    BNM is rounded up to whole units, worth up to ``price``/1000 won each, so the bound from the totals
    alone can be a share too high; at a known price the exact largest share is found by trying downwards
    (a step or two at most). Without a price (an early check) the bound from the totals is returned.
    """
    total = subtotal + delivery_fee
    if total == 0:
        return 0
    needed = delivery_fee + subtotal * market.rules.platform_fee_bp // 10_000
    share = min(shop.bnm_max_share, max(0, (total - needed) * 100 // total))
    if price:
        while share > 0 and split_payment(total, share, price).btl < needed:
            share -= 1
    return share


def check_share(
    market: Services, member: Member, shop: Shop, subtotal: int, delivery_fee: int, bnm_share: int | None
) -> int:
    """The share asked (the member's preference by default), refused above what the shop allows."""
    share = member.bnm_share_pref if bnm_share is None else bnm_share
    validate.whole_number(share, "bnm_share", low=0, high=100)
    allowed = max_share(market, shop, subtotal, delivery_fee)
    if share > allowed:
        raise BnmShareTooHigh(
            f"{shop.name} accepts at most {allowed}% in 밤나무 for this order", max_share=allowed, asked=share
        )
    return share


@dataclass(frozen=True, slots=True)
class Payment:
    split: Split
    accounts: tuple[AccountSpec, ...]
    transfers: tuple[Transfer, ...]


async def plan_payment(
    market: Services,
    uow: UnitOfWork,
    member: Member,
    shop: Shop,
    order_id: int,
    subtotal: int,
    delivery_fee: int,
    bnm_share: int | None,
) -> Payment:
    """The split at today's price, the escrow accounts it opens and the holds that fill them."""
    share = check_share(market, member, shop, subtotal, delivery_fee, bnm_share)
    # The price matters only when BNM is used; an all-BTL payment needs no price read.
    price = await market.prices.reference_price(uow) if share else 0
    if share and share > (exact := max_share(market, shop, subtotal, delivery_fee, price)):
        raise BnmShareTooHigh(
            f"{shop.name} accepts at most {exact}% in 밤나무 for this order", max_share=exact, asked=share
        )
    total = subtotal + delivery_fee
    split = split_payment(total, share, price) if share else Split(total, 0, 0, 0, total)
    accounts = [AccountSpec(escrow(order_id, "BTL"), "BTL")]
    transfers = []
    if split.btl:
        transfers.append(_hold(member.id, order_id, "BTL", split.btl))
    if split.bnm_units:
        accounts.append(AccountSpec(escrow(order_id, "BNM"), "BNM"))
        transfers.append(_hold(member.id, order_id, "BNM", split.bnm_units))
    return Payment(split, tuple(accounts), tuple(transfers))


def _hold(member_id: int, order_id: int, token: str, amount: int) -> Transfer:
    return Transfer(
        hold_id(order_id, token),
        members.wallet(member_id, token),
        escrow(order_id, token),
        amount,
        token,
        type="pending",
    )


def pay_request(member: Member, order_id: int, payment: Payment) -> Request:
    split = payment.split
    return Request(
        actor=member.key_label,
        kind="order.pay",
        body={
            "order": order_id,
            "total": split.total,
            "btl": split.btl,
            "bnm_units": split.bnm_units,
            "bnm_price": split.price or None,
            "share": split.share,
        },
        accounts=payment.accounts,
        transfers=payment.transfers,
        countersign=True,  # the operator's consent opens the order's escrow accounts
    )


def payment_writes(market: Services, order_id: int, payment: Payment, region: str, pickup: bool, seq: int) -> list[Op]:
    """The order marked paid (by the ``order.pay`` entry ``seq``) and its delivery opened."""
    now = market.clock()
    split = payment.split
    return [
        write(
            "UPDATE orders SET state = 'paid', bnm_share = :share, btl_amount = :btl, bnm_units = :units, "
            "bnm_price = :price, paid_seq = :seq, paid_ms = :now, updated_ms = :now WHERE id = :o",
            {
                "share": split.share,
                "btl": split.btl,
                "units": split.bnm_units,
                "price": split.price or None,
                "seq": seq,
                "now": now,
                "o": order_id,
            },
        ),
        write(
            # A pickup is never on the couriers' board: the shop hands it over with the same code.
            "INSERT INTO deliveries (order_id, region, courier_id, status, code, wrong_attempts, updated_ms) "
            "VALUES (:o, :region, NULL, :status, :code, 0, :now)",
            {
                "o": order_id,
                "region": region,
                "status": "pickup" if pickup else "open",
                "code": f"{secrets.randbelow(10**6):06d}",
                "now": now,
            },
        ),
    ]
