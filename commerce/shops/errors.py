"""Shops' typed refusals: an unknown shop or product, and a shop the market office has not verified yet."""

from __future__ import annotations

from commerce.errors import CommerceError
from ledger.errors import NotFound


class UnknownShop(NotFound):
    code = "unknown_shop"


class UnknownProduct(NotFound):
    code = "unknown_product"


class ShopNotVerified(CommerceError):
    code = "shop_not_verified"
