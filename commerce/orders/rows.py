"""An order, its lines and a cart's lines as they are stored (``commerce.schema``): frozen dataclasses, one
mapper per table, each reading its row by column name. The columns a read selects are the dataclass's
fields (``ORDER_COLUMNS``…), so a new column is added here and to the table, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from commerce.statements import Named

STATES = ("placed", "paid", "accepted", "picked_up", "delivered", "confirmed", "settled", "cancelled", "refunded")


@dataclass(frozen=True, slots=True)
class Line:
    product_id: int
    name: str
    unit: str
    price: int
    qty: int

    @property
    def amount(self) -> int:
        return self.price * self.qty

    @classmethod
    def from_row(cls, row: Named) -> Line:
        return cls(**{name: row[name] for name in LINE_COLUMNS})


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    buyer_id: int
    shop_id: int
    state: str
    subtotal: int
    delivery_fee: int
    total: int
    address_id: int | None
    bnm_share: int | None
    btl_amount: int | None
    bnm_units: int | None
    bnm_price: int | None
    courier_id: int | None
    refund_due: int
    referrer_id: int | None
    placed_seq: int
    paid_seq: int | None
    settled_seq: int | None
    created_ms: int
    paid_ms: int | None
    delivered_ms: int | None
    pickup_at: str | None  # shop | office: collected there; None: delivered to the order's address
    window_start_ms: int | None  # the delivery window the buyer chose
    window_end_ms: int | None
    lines: tuple[Line, ...]

    @classmethod
    def from_row(cls, row: Named, lines: tuple[Line, ...] = ()) -> Order:
        """An order from a row holding ``ORDER_COLUMNS`` (others, like a joined shop's owner, are ignored),
        with its lines when they were read (settlement needs only the money columns)."""
        values: dict[str, Any] = {name: row[name] for name in ORDER_COLUMNS}
        return cls(**values, lines=lines)


@dataclass(frozen=True, slots=True)
class CartLine:
    product_id: int
    qty: int
    price_seen: int  # the price when the line was last set: a changed price is said as such

    @classmethod
    def from_row(cls, row: Named) -> CartLine:
        return cls(**{name: row[name] for name in CART_LINE_COLUMNS})


LINE_COLUMNS = tuple(f.name for f in fields(Line))
ORDER_COLUMNS = tuple(f.name for f in fields(Order) if f.name != "lines")
CART_LINE_COLUMNS = tuple(f.name for f in fields(CartLine))
