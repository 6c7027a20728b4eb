"""Refusals of placing and paying an order (``UnknownOrder`` and the states' ``InvalidState`` are shared,
in ``commerce.errors``)."""

from __future__ import annotations

from commerce.errors import CommerceError


class OutOfStock(CommerceError):
    code = "out_of_stock"


class PriceChanged(CommerceError):
    """The total differs from what the member confirmed: show the new total and ask again."""

    code = "price_changed"


class EmptyCart(CommerceError):
    code = "empty_cart"


class NoEarlierOrder(CommerceError):
    """ "지난번처럼" asked of a member with no earlier order to repeat (none paid, or all cancelled)."""

    code = "no_earlier_order"


class BnmShareTooHigh(CommerceError):
    code = "bnm_share_too_high"
