"""The exchange's names on the ledger: its two escrows, the kinds of its entries, the operator who signs
trades, and the id of an order's hold.

``escrow:market:btl`` and ``escrow:market:bnm`` hold what open orders reserve once they have traded
(``commerce.exchange.fills``); bootstrap opens them (``commerce.setup``), and a member's wallet names a
pending hold into one of them as an open market order's (``commerce.wallet.service``).
"""

from __future__ import annotations

ESCROW = {"BTL": "escrow:market:btl", "BNM": "escrow:market:bnm"}
PLACE_KIND, TRADE_KIND, CANCEL_KIND = "market.place", "market.trade", "market.cancel"
OPERATOR = "system:operator"


def hold_id(order_id: int) -> str:
    """The pending transfer that reserves an order's worth on the member's wallet until its first fill."""
    return f"mkt-{order_id}-hold"
