"""What happens to a claim that others act on (published on the unit of work, heard after commit)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClaimOpened:
    claim_id: int
    order_id: int
    shop_id: int
