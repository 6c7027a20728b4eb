"""What commerce services need, built once by bootstrap and passed in (nothing at import time)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ledger.errors import KeyStoreError
from ledger.keys import KeyStore
from ledger.service import Ledger, now_ms
from ledger.storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from commerce.events import Handlers
    from commerce.members.sms import SmsSender

BNM_UNITS = 1000  # 1 BNM = 1,000 units


class PepperNotLoaded(KeyStoreError):
    code = "pepper_not_loaded"


@dataclass(frozen=True, slots=True)
class MarketRules:
    platform_fee_bp: int = 150  # 1.5 % of the goods, below SmartStore's 2–3.3 %
    claim_window_days: int = 7
    auto_confirm_days: int = 3
    max_quantity: int = 999
    max_price: int = 100_000_000
    phone_code_ttl_s: int = 600
    phone_code_attempts: int = 5
    phone_codes_per_hour: int = 5  # codes sent to one phone number per hour, whoever asks (SMS flood)
    delivery_code_attempts: int = 3
    office_hours: str = "09:00-18:00"  # the market office, where buyers may collect orders (Seoul time)


class PriceSource(Protocol):
    """The BNM reference price, in won per 1 BNM (the BNM market issue supplies the real one)."""

    async def reference_price(self, uow: UnitOfWork) -> int: ...


class OperatorPrice:
    """Until members trade BNM: the price an operator set, kept in ``market_settings``."""

    DEFAULT = 1000

    async def reference_price(self, uow: UnitOfWork) -> int:
        rows = await uow.fetch("SELECT value FROM market_settings WHERE key = 'bnm_reference_price'")
        return int(rows[0][0]) if rows else self.DEFAULT


@dataclass
class Services:
    """The commerce services' dependencies: ledger, keys, price source, rules, clock, SMS sender, and the
    handlers that run in the transaction of the domain event they are registered for (``commerce.events``)."""

    ledger: Ledger
    keys: KeyStore
    prices: PriceSource = field(default_factory=OperatorPrice)
    rules: MarketRules = field(default_factory=MarketRules)
    clock: Callable[[], int] = now_ms
    sms: SmsSender | None = None  # sign-up codes go out by SMS when set (``commerce.members.identity``)
    # The BNM market's copy of its open orders in this process (``commerce.exchange.resting.RestingBook``).
    resting_book: object | None = None
    # The deployment's secret for personal-data hashes, from its file (``commerce.members.pepper``, by bootstrap).
    pepper_secret: bytes | None = field(default=None, repr=False)
    # Filled by bootstrap: {event type: handlers}, run by ``commerce.events.emit`` in the emitting transaction.
    handlers: Handlers = field(default_factory=dict)

    async def pepper(self, uow: UnitOfWork | None = None) -> bytes:
        """A per-deployment secret for hashing personal data onto the ledger (never in the database)."""
        if self.pepper_secret is None:
            raise PepperNotLoaded(
                "the market has no pepper: bootstrap loads it from its file (commerce.members.pepper)"
            )
        return self.pepper_secret

    async def personal_ref(self, uow: UnitOfWork, kind: str, value: str) -> str:
        """A salted hash that stands for personal data on the ledger (phone, address, bank account)."""
        digest = hmac.new(await self.pepper(uow), f"{kind}\n{value}".encode(), hashlib.sha256)
        return digest.hexdigest()
