"""Claims' typed refusals: an unknown claim, and a claim opened after its window closed."""

from __future__ import annotations

from commerce.errors import CommerceError
from ledger.errors import NotFound


class UnknownClaim(CommerceError, NotFound):
    code = "unknown_claim"


class ClaimWindowClosed(CommerceError):
    code = "claim_window_closed"
