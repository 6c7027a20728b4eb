"""The token mix: BNM rounded up by less than one unit (payer's disfavour), BTL the exact remainder."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.orders.payment import split_payment
from commerce.services import BNM_UNITS


@given(
    total=st.integers(min_value=0, max_value=50_000_000),
    share=st.integers(min_value=0, max_value=100),
    price=st.integers(min_value=1, max_value=10_000_000),
)
def test_split_is_exact_and_never_short(total: int, share: int, price: int) -> None:
    s = split_payment(total, share, price)
    unit_value = Fraction(price, BNM_UNITS)
    target = Fraction(total * share, 100)
    bnm_value = s.bnm_units * unit_value
    assert s.btl >= 0 and s.bnm_units >= 0
    # The BNM part covers its share, and is over it by less than one unit (the payer's disfavour).
    assert bnm_value >= target
    assert bnm_value - target < unit_value or s.bnm_units == 0
    # The seller is never short: BTL + what the units are worth ≥ total; the excess is under 1 won + 1 unit.
    paid = s.btl + bnm_value
    assert paid >= total
    if s.btl > 0:
        assert paid - total < 1
    assert s.btl + s.bnm_value == total


def test_known_figures() -> None:
    # 10,000원, 30% in BNM at 1,234원/BNM: 3,000원 → 2,431.1… units → 2,432 units worth 3,001.088원.
    s = split_payment(10_000, 30, 1_234)
    assert (s.bnm_units, s.btl) == (2_432, 6_999)
    assert split_payment(15_000, 0, 1_000).btl == 15_000
    assert split_payment(8_000, 100, 1_000) == split_payment(8_000, 100, 1_000)
    assert split_payment(8_000, 100, 1_000).btl == 0


@pytest.mark.parametrize(("total", "share", "price"), [(-1, 0, 1), (1, 101, 1), (1, -1, 1), (1, 10, 0)])
def test_nonsense_is_refused(total: int, share: int, price: int) -> None:
    with pytest.raises(ValueError):
        split_payment(total, share, price)
