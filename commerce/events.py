"""Domain events: what happened in the market that someone should hear about.

A service publishes an event on its unit of work (``uow.publish``); subscribers registered by
bootstrap receive it only after the transaction committed, so nobody is told of an order that was
rolled back. Events carry ids only; a subscriber reads what it needs itself.
"""

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


@dataclass(frozen=True, slots=True)
class ClaimOpened:
    claim_id: int
    order_id: int
    shop_id: int


@dataclass(frozen=True, slots=True)
class ShopReviewed:
    """The market office approved (or turned down) a shop."""

    shop_id: int
    owner_id: int
    approved: bool


@dataclass(frozen=True, slots=True)
class TopupConfirmed:
    """밤톨 arrived in a member's wallet (cash at the office, or the gateway's payment)."""

    member_id: int
    amount: int
