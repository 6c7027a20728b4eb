"""Refusals about where an order goes and its delivery: addresses, windows, pickups, the courier's code."""

from __future__ import annotations

from commerce.errors import CommerceError, InvalidInput
from ledger.errors import NotFound


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


class OutsideDeliveryArea(CommerceError):
    code = "outside_delivery_area"


class AlreadyTaken(CommerceError):
    code = "already_taken"
    http_status = 409


class WrongDeliveryCode(CommerceError):
    code = "wrong_delivery_code"


class DeliveryLocked(CommerceError):
    code = "delivery_locked"
