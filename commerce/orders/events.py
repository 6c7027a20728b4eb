"""What happens to an order that others act on (``commerce.events``: how events travel)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OrderPaid:
    """An order was paid into escrow: its shop has a new order to accept, and — in the same transaction —
    the recommendation it came by is attributed and the comment its buyer credited is credited."""

    order_id: int
    shop_id: int
    referrer_id: int | None = None  # the recommender whose link the buyer came by
    comment_id: int | None = None  # the comment the buyer said convinced them


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    order_id: int
    buyer_id: int
