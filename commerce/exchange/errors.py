"""The market's typed refusals: a stable ``code`` and the figures a chat needs to say what to change.

Every one is raised before anything is written (or inside the unit of work, which then rolls back), so a
refused order leaves the book, the wallets and the ledger exactly as they were.
"""

from __future__ import annotations

from commerce.errors import CommerceError
from ledger.errors import NotFound


class MarketError(CommerceError):
    code = "market_error"


class BadOrder(MarketError):
    """A price or amount ≤ 0, off the tick or the lot, or beyond the market's limits; ``field`` names it."""

    code = "market_bad_order"


class OutsideBand(MarketError):
    """A limit (or protection) price outside today's band around the reference price: ``low``/``high``."""

    code = "market_outside_band"


class SelfTrade(MarketError):
    """The order would trade against the member's own resting order (a wash trade)."""

    code = "market_self_trade"


class NoLiquidity(MarketError):
    """A market order found nothing to trade with inside its protection limit."""

    code = "market_no_liquidity"


class TooManyOrders(MarketError):
    """The member already has ``limit`` open orders."""

    code = "market_too_many_orders"


class NotEnoughTokens(MarketError):
    """The order's hold is more than the member has available: ``token``, ``needed``, ``have``, ``missing``."""

    code = "market_insufficient"


class NotYourOrder(MarketError):
    code = "market_not_your_order"
    http_status = 403


class OrderClosed(MarketError):
    """The order is already filled or cancelled."""

    code = "market_order_closed"
    http_status = 409


class UnknownMarketOrder(NotFound):
    code = "market_unknown_order"
