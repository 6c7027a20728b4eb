"""Commerce's typed errors: a stable ``code`` and the data a chat needs to phrase the next step kindly.

(The ledger's own refusals — ``insufficient_balance`` with ``missing``, ``unauthorized_debit`` … — pass
through unchanged: a chat offers a top-up for the missing amount either way.)
"""

from __future__ import annotations

from ledger.errors import ChestnutError, NotFound


class CommerceError(ChestnutError):
    code = "commerce_error"


class UnknownMember(NotFound):
    code = "unknown_member"


class UnknownShop(NotFound):
    code = "unknown_shop"


class UnknownProduct(NotFound):
    code = "unknown_product"


class UnknownOrder(NotFound):
    code = "unknown_order"


class InvalidInput(CommerceError):
    """Text too long or with control characters, a quantity ≤ 0 or absurd, a price ≤ 0, …"""

    code = "invalid_input"


class NotAllowed(CommerceError):
    """The member lacks the role or is not a party of the order."""

    code = "not_allowed"
    http_status = 403


class InvalidState(CommerceError):
    """The order (or delivery, claim) is not in a state that allows this step."""

    code = "invalid_state"
    http_status = 409


class ShopNotVerified(CommerceError):
    code = "shop_not_verified"


class AlreadyReviewed(CommerceError):
    code = "already_reviewed"
    http_status = 409


class ClaimWindowClosed(CommerceError):
    code = "claim_window_closed"


class PhoneInUse(CommerceError):
    code = "phone_in_use"


class WrongCode(CommerceError):
    code = "wrong_verification_code"


class CodeRequestedRecently(CommerceError):
    code = "verification_code_requested_recently"
    http_status = 429


class CodeExpired(CommerceError):
    code = "verification_code_expired"


class PhoneCodeLimit(CommerceError):
    """Too many codes sent to one phone number within the hour (whoever asked): ``wait_s`` until the next."""

    code = "verification_code_limit"
    http_status = 429


class IdentityRequired(CommerceError):
    """The action needs a higher identity level (``needed``: phone | operator) than the member has (``have``)."""

    code = "identity_required"
    http_status = 403


class SmsError(CommerceError):
    """The SMS gateway failed to take a message (see ``commerce.members.sms``)."""

    code = "sms_failed"
    http_status = 502


class SmsNotConfigured(SmsError):
    """No SMS sender is configured and codes may not be shown: sign-up by typed number is closed."""

    code = "sms_not_configured"
    http_status = 503
