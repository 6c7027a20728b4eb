"""What happens to an order that others act on (published on the unit of work, heard after commit)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OrderPaid:
    """The shop has a new order to accept."""

    order_id: int
    shop_id: int


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    order_id: int
    buyer_id: int
