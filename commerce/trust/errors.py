"""Trust's typed refusals: an unknown abuse case, and a claim while the member's claims need an operator."""

from __future__ import annotations

from commerce.errors import CommerceError
from ledger.errors import NotFound


class UnknownCase(CommerceError, NotFound):
    code = "unknown_abuse_case"


class ClaimsNeedApproval(CommerceError):
    """A member whose claims need an operator's approval: the office decides this one with them."""

    code = "claims_need_approval"
    http_status = 403
