"""What commerce needs on the ledger before the first order: its system accounts and its one rule."""

from __future__ import annotations

from commerce.exchange.accounts import ESCROW as MARKET_ESCROW
from commerce.orders.settlement import PLATFORM_FEES, REFUND_AFTER_SETTLEMENT
from ledger import reads
from ledger.model import AccountSpec
from ledger.requests import Request
from ledger.service import Ledger
from ledger.storage.unit_of_work import UnitOfWork

# Kinds in which the operator may debit a member's wallet without the member's own signature.
OPERATOR_DEBIT_KINDS: tuple[str, ...] = (REFUND_AFTER_SETTLEMENT,)
SYSTEM_ACCOUNTS = (
    AccountSpec(PLATFORM_FEES, "BTL"),  # the cooperative's income: platform fees
    AccountSpec("pool:dividend", "BTL"),  # declared dividends waiting to be paid
    *(AccountSpec(account, token) for token, account in MARKET_ESCROW.items()),  # BNM market: open orders' holds
)


async def ensure_market_ready(ledger: Ledger, uow: UnitOfWork) -> bool:
    """Open missing system accounts and add missing rules; True if it recorded anything."""
    changed = False
    head = await ledger.head(uow)
    if head.rules is not None and not set(OPERATOR_DEBIT_KINDS) <= head.rules.operator_debit_kinds:
        kinds = sorted(head.rules.operator_debit_kinds | set(OPERATOR_DEBIT_KINDS))
        await ledger.record(
            uow, Request(actor="system:operator", kind="ledger.rules", body={"operator_debit_kinds": kinds})
        )
        changed = True
    existing = await reads.existing_accounts(uow, [a.id for a in SYSTEM_ACCOUNTS])
    missing = [a for a in SYSTEM_ACCOUNTS if a.id not in existing]
    if missing:
        await ledger.record(uow, Request(actor="system:operator", kind="market.accounts", accounts=missing))
        changed = True
    return changed
