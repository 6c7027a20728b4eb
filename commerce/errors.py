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


class InvalidState(CommerceError):
    """The order (or delivery, claim) is not in a state that allows this step."""

    code = "invalid_state"
    http_status = 409
