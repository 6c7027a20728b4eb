"""What happens to a delivery that others act on (``commerce.events``: how events travel)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CourierAssigned:
    """A producer gave the delivery to a courier (a courier who took a job knows already)."""

    order_id: int
    courier_id: int


@dataclass(frozen=True, slots=True)
class OrderPickedUp:
    order_id: int
    buyer_id: int


@dataclass(frozen=True, slots=True)
class OrderDelivered:
    order_id: int
    buyer_id: int
