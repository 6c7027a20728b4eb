"""The token mix of a payment: how much BNM and BTL pay a total in won (ARCHITECTURE.md, Money).

BNM is valued at the reference price (won per 1 BNM = 1,000 units). The BNM part is rounded up to whole
units — in the payer's disfavour by less than one unit — and the BTL part is the exact remainder of
what those units are worth, so the payer never pays less than the total and the seller is never short.
"""

from __future__ import annotations

from dataclasses import dataclass

from commerce.services import BNM_UNITS


@dataclass(frozen=True, slots=True)
class Split:
    total: int  # won
    share: int  # percent asked in BNM
    price: int  # won per 1 BNM
    bnm_units: int
    btl: int

    @property
    def bnm_value(self) -> int:
        """What the BNM part is worth in whole won (the BTL part is the rest of the total)."""
        return self.total - self.btl


def split_payment(total: int, share: int, price: int) -> Split:
    if total < 0 or not 0 <= share <= 100 or price <= 0:
        raise ValueError("total ≥ 0, share 0..100, price > 0")
    if share == 0 or total == 0:
        return Split(total, share, price, 0, total)
    # units = ceil(total × share/100 ÷ (price/1000)), in integers only.
    units = -(-(total * share * BNM_UNITS) // (100 * price))
    worth = units * price // BNM_UNITS
    return Split(total, share, price, units, max(0, total - worth))
