"""Commerce's typed errors: a stable ``code`` and the data a chat needs to phrase the next step kindly.

(The ledger's own refusals — ``insufficient_balance`` with ``missing``, ``unauthorized_debit`` … — pass
through unchanged: a chat offers a top-up for the missing amount either way.)
"""

from __future__ import annotations

from ledger.errors import ChestnutError, NotFound


class CommerceError(ChestnutError):
    code = "commerce_error"


class UnknownOrder(NotFound):
    code = "unknown_order"


class InvalidInput(CommerceError):
    """Text too long or with control characters, a quantity ≤ 0 or absurd, a price ≤ 0, …"""

    code = "invalid_input"


class NotAllowed(CommerceError):
    """The member lacks the role or is not a party of the order."""

    code = "not_allowed"
    http_status = 403


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


class InvalidState(CommerceError):
    """The order (or delivery, claim) is not in a state that allows this step."""

    code = "invalid_state"
    http_status = 409


class OutsideDeliveryArea(CommerceError):
    code = "outside_delivery_area"


class WrongDeliveryCode(CommerceError):
    code = "wrong_delivery_code"


class DeliveryLocked(CommerceError):
    code = "delivery_locked"


class AlreadyTaken(CommerceError):
    code = "already_taken"
    http_status = 409


class GatewayError(CommerceError):
    code = "payment_gateway_error"
    http_status = 502


class BadSignature(CommerceError):
    code = "bad_callback_signature"
    http_status = 401


class InvalidAddress(InvalidInput):
    """An address that cannot be delivered to as written: ``reason`` is empty | too_long | no_letters |
    no_district (no 시/군/구 in it) | unknown_place (a shared location outside every known district)."""

    code = "invalid_address"


class UnknownAddress(NotFound):
    """Not one of the member's saved addresses (another member's id is unknown too: nothing leaks)."""

    code = "unknown_address"


class AddressBookFull(CommerceError):
    code = "address_book_full"


class AddressNeeded(CommerceError):
    """A delivery with no address chosen or saved yet: ask for one before paying."""

    code = "address_needed"


class WindowUnavailable(CommerceError):
    """A delivery window in the past, or one the shop does not offer; ``offered`` has what it does."""

    code = "window_unavailable"


class PickupUnavailable(CommerceError):
    """Collecting at the shop (or the market office) is not something this shop offers."""

    code = "pickup_unavailable"
