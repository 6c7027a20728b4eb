"""The market's fair-play rules: tick and lot sizes, the day's price band, the limits on one order, and the
checks an order's figures pass before anything is read (each refusal a ``BadOrder`` naming the field)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commerce.exchange import book as engine
from commerce.exchange.book import LIMIT
from commerce.exchange.errors import BadOrder
from commerce.services import BNM_UNITS


@dataclass(frozen=True, slots=True)
class MarketConfig:
    """The market's fair-play rules.

    Tick × lot = 10원 × 100 units = 1원 per 1,000 units: every order's worth and every trade's value
    (price × units / 1,000) is a whole number of won, so no trade ever rounds.
    """

    tick: int = 10  # won per BNM
    lot: int = 100  # BNM units (0.1 BNM)
    band_bp: int = 3_000  # ±30 % around the day's reference price
    max_open_orders: int = 20  # resting orders per member
    max_units: int = 10_000_000  # 10,000 BNM in one order
    max_price: int = 10_000_000  # won per BNM
    max_fills: int = 200  # resting orders one placement may trade with


DEFAULT_CONFIG = MarketConfig()


@dataclass(frozen=True, slots=True)
class Band:
    low: int
    high: int
    anchor: int  # the reference price as the day began


def worth(price: int, units: int) -> int:
    """Won for ``units`` at ``price`` won per BNM (exact for prices on the tick and amounts on the lot)."""
    return price * units // BNM_UNITS


def band_of(anchor: int, config: MarketConfig) -> Band:
    tick = config.tick
    low = max(tick, -(-(anchor * (10_000 - config.band_bp)) // (10_000 * tick)) * tick)  # up to the tick
    high = anchor * (10_000 + config.band_bp) // (10_000 * tick) * tick  # down to the tick
    return Band(low, max(low, high), anchor)


def _check_int(value: Any, name: str, *, step: int, high: int) -> int:
    if type(value) is not int or value <= 0:
        raise BadOrder(f"{name} must be a whole number above 0", field=name, reason="not_positive")
    if value > high:
        raise BadOrder(f"{name} may be at most {high}", field=name, reason="too_large", high=high)
    if value % step:
        raise BadOrder(f"{name} must be a multiple of {step}", field=name, reason="off_step", step=step)
    return value


def check_order(
    *, side: str, kind: str, amount: int, price: int | None, client_key: str | None, config: MarketConfig
) -> tuple[int, int | None]:
    """An order's amount and price as placing takes them (a market order may leave its price to the
    band); ``BadOrder`` for a side, kind, amount, price or one-time key that is not one."""
    if side not in engine.SIDES:
        raise BadOrder("side must be 'buy' or 'sell'", field="side", reason="unknown")
    if kind not in engine.KINDS:
        raise BadOrder("kind must be 'limit' or 'market'", field="kind", reason="unknown")
    amount = _check_int(amount, "amount", step=config.lot, high=config.max_units)
    if kind == LIMIT or price is not None:
        price = _check_int(price, "price", step=config.tick, high=config.max_price)
    if client_key is not None and (not isinstance(client_key, str) or not 0 < len(client_key) <= 64):
        raise BadOrder("client_key is 1–64 characters", field="client_key", reason="bad")
    return amount, price
