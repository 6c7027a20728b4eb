"""Reviews' typed refusals: an unknown review, and a second review of one order line."""

from __future__ import annotations

from commerce.errors import CommerceError
from ledger.errors import NotFound


class UnknownReview(CommerceError, NotFound):
    code = "unknown_review"


class AlreadyReviewed(CommerceError):
    code = "already_reviewed"
    http_status = 409
