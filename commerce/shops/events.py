"""What happens to a shop that others act on (``commerce.events``: how events travel)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ShopReviewed:
    """The market office approved (or turned down) a shop."""

    shop_id: int
    owner_id: int
    approved: bool
