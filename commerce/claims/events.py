"""What happens to a claim that others act on (``commerce.events``: how events travel)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClaimOpened:
    claim_id: int
    order_id: int
    shop_id: int
