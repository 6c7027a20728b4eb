"""The BNM reference price: what payments value 밤나무 at, read through ``commerce.services.PriceSource``.

A price that one member could move with one small trade would let them pay for goods with BNM valued
at a price they set. So the reference is built to resist that:

1. **Window VWAP.** The volume-weighted average price of the trades of the last ``window_ms`` (24 h).
2. **Minimum volume.** If the window holds less than ``min_volume`` units (10 BNM), the sample reaches
   back to earlier trades — the *last trades* — until it does; if all the trading there ever was is
   still less, the operator's price (``OperatorPrice``) stands in for the missing volume. With no
   trades at all the reference *is* the operator's price. A trade therefore moves the reference at
   most in proportion to its share of ``min_volume`` (or of the window's volume, when that is more).
3. **Outlier clipping.** Before averaging, each trade's price is clipped to ±``clip_bp`` (10 %) of the
   sample's volume-weighted median, so a few odd prints cannot drag the average far.

Integer arithmetic throughout; the result rounds half up to whole won and is never below 1.
``reference_from`` is the pure rule (unit-tested); ``MarketPrice`` reads the trades and applies it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from commerce.services import OperatorPrice, PriceSource
from ledger.service import now_ms
from ledger.storage.ops import Op, Row, read
from ledger.storage.unit_of_work import UnitOfWork

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
KST_OFFSET_MS = 9 * HOUR_MS  # Korea keeps UTC+9 all year: "today" starts at midnight in Seoul
_OPERATOR_PRICE_SQL = "SELECT value FROM market_settings WHERE key = 'bnm_reference_price'"  # OperatorPrice's


@dataclass(frozen=True, slots=True)
class PriceRules:
    window_ms: int = DAY_MS
    min_volume: int = 10_000  # BNM units (10 BNM) before trades alone set the price
    clip_bp: int = 1_000  # ±10 % of the sample's median
    sample_limit: int = 500  # the most recent trades looked at


@dataclass(frozen=True, slots=True)
class Trade:
    price: int
    units: int
    time_ms: int


@dataclass(frozen=True, slots=True)
class Reference:
    """The reference price and how it was found (shown on ``GET /market/price`` and in the chat)."""

    price: int  # won per 1 BNM
    source: str  # "window" | "recent" | "blend" | "operator"
    volume: int  # units of trades in the sample
    trades: int
    operator_price: int
    at_ms: int


def weighted_median(trades: Sequence[Trade]) -> int:
    ordered = sorted(trades, key=lambda t: t.price)
    total = sum(t.units for t in ordered)
    seen = 0
    for t in ordered:
        seen += t.units
        if 2 * seen >= total:
            return t.price
    return ordered[-1].price


def reference_from(trades: Sequence[Trade], at_ms: int, operator_price: int, rules: PriceRules) -> Reference:
    """The reference price at ``at_ms`` from ``trades`` (newest first, none after ``at_ms``)."""
    sample: list[Trade] = []
    volume = window_volume = 0
    since = at_ms - rules.window_ms
    for t in trades:
        if t.time_ms >= since:
            window_volume += t.units
        elif volume >= rules.min_volume:
            break
        sample.append(t)
        volume += t.units
    if not sample:
        return Reference(operator_price, "operator", 0, 0, operator_price, at_ms)
    median = weighted_median(sample)
    low = median * (10_000 - rules.clip_bp) // 10_000
    high = -(-median * (10_000 + rules.clip_bp) // 10_000)
    weighted = sum(min(max(t.price, low), high) * t.units for t in sample)
    weight = volume
    if window_volume >= rules.min_volume:
        source = "window"
    elif volume >= rules.min_volume:
        source = "recent"
    else:
        source = "blend"
        weighted += operator_price * (rules.min_volume - volume)
        weight = rules.min_volume
    price = max(1, (2 * weighted + weight) // (2 * weight))
    return Reference(price, source, volume, len(sample), operator_price, at_ms)


def day_start(at_ms: int) -> int:
    """Midnight in Korea at or before ``at_ms`` (unix ms)."""
    return (at_ms + KST_OFFSET_MS) // DAY_MS * DAY_MS - KST_OFFSET_MS


class MarketPrice:
    """The market's ``PriceSource``: the reference from recent trades, the operator's price as fallback."""

    def __init__(
        self,
        fallback: PriceSource | None = None,
        rules: PriceRules | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.fallback = fallback if fallback is not None else OperatorPrice()
        self.rules = rules if rules is not None else PriceRules()
        self.clock = clock
        self._anchor_day: int | None = None  # the day whose anchor trades are known, and they
        self._anchor_trades: list[Trade] = []
        self._anchor_refs: dict[int, Reference] = {}  # the anchor by operator price

    async def reference_price(self, uow: UnitOfWork) -> int:
        return (await self.reference(uow)).price

    async def reference(self, uow: UnitOfWork, *, at_ms: int | None = None) -> Reference:
        at = self.clock() if at_ms is None else at_ms
        return await self.from_rows(uow, await uow.batch(self.reads(at)), at)

    def reads(self, at_ms: int) -> list[Op]:
        """The statements the reference at ``at_ms`` needs, for a caller to run in a batch of its own."""
        ops = [
            # By time (its index), not id: the day's band asks for trades before midnight, which an id-order
            # scan would reach only after walking back through every trade of the day.
            read(
                "SELECT price, units, time_ms FROM market_trades WHERE time_ms <= :at "
                "ORDER BY time_ms DESC, id DESC LIMIT :n",
                {"at": at_ms, "n": self.rules.sample_limit},
            )
        ]
        if type(self.fallback) is OperatorPrice:  # its one read, in the same batch (OperatorPrice's own SQL)
            ops.append(read(_OPERATOR_PRICE_SQL))
        return ops

    async def from_rows(self, uow: UnitOfWork, rows: Sequence[Sequence[Row]], at_ms: int) -> Reference:
        trades = _trades(rows[0])
        if len(rows) > 1:
            operator = int(rows[1][0][0]) if rows[1] else OperatorPrice.DEFAULT
        else:
            operator = await self.fallback.reference_price(uow)
        return reference_from(trades, at_ms, operator, self.rules)

    async def band_anchor(self, uow: UnitOfWork, *, at_ms: int | None = None) -> Reference:
        """The reference as today began (Korean time): the day's price band is drawn around it."""
        at = self.clock() if at_ms is None else at_ms
        return await self.anchor_from(uow, await uow.batch(self.anchor_reads(at)), at)

    # Every placement checks the day's band, whose anchor reads up to ``sample_limit`` trades from before
    # midnight. Those trades do not change once the day is under way, so they are read once a day; the
    # operator's price (which may change any time) is still read each time. Not in the first minute of
    # a day: a trade stamped just before midnight may still be on its way to its commit then.
    ANCHOR_SETTLED_MS = 60_000

    def anchor_reads(self, at_ms: int) -> list[Op]:
        """The statements ``anchor_from`` needs for the band anchor at ``at_ms``, for a caller's batch."""
        if self._anchor_day == day_start(at_ms) and type(self.fallback) is OperatorPrice:
            return [read(_OPERATOR_PRICE_SQL)]
        return self.reads(day_start(at_ms) - 1)

    async def anchor_from(self, uow: UnitOfWork, rows: Sequence[Sequence[Row]], at_ms: int) -> Reference:
        """The band anchor at ``at_ms`` from the results of ``anchor_reads`` (told apart by their shape:
        the day's trades may have become known between the two calls)."""
        anchor_at = day_start(at_ms) - 1
        day = day_start(at_ms)
        short = type(self.fallback) is OperatorPrice and len(rows) == 1  # only the operator's price was read
        if short and self._anchor_day == day:
            operator = int(rows[0][0][0]) if rows[0] else OperatorPrice.DEFAULT
            known = self._anchor_refs.get(operator)
            if known is None:
                if len(self._anchor_refs) >= 16:  # the operator's price changed many times today
                    self._anchor_refs.clear()
                known = reference_from(self._anchor_trades, anchor_at, operator, self.rules)
                self._anchor_refs[operator] = known
            return known
        if short:  # the known day changed since the reads were made (another placement, across midnight)
            rows = await uow.batch(self.reads(anchor_at))
        ref = await self.from_rows(uow, rows, anchor_at)
        if at_ms - day >= self.ANCHOR_SETTLED_MS:
            self._anchor_day, self._anchor_trades = day, _trades(rows[0])
            self._anchor_refs = {ref.operator_price: ref}
        return ref


def _trades(rows: Sequence[Row]) -> list[Trade]:
    return [Trade(int(p), int(u), int(t)) for p, u, t in rows]


def source_of(prices: PriceSource) -> MarketPrice:
    """The market's price source, whichever ``PriceSource`` the ``Services`` was built with."""
    return prices if isinstance(prices, MarketPrice) else MarketPrice(fallback=prices)
