"""The matching engine (commerce.exchange.book) and the reference-price rule (commerce.exchange.price), in memory.

The engine is checked case by case (price-time priority, partial fills, cancels, market orders,
self-trade, no liquidity) and then against a naive reference matcher over random order streams: the
same fills in the same order, and the same book after every order.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commerce.exchange.book import BUY, LIMIT, MARKET, SELL, Book, Fill, Order
from commerce.exchange.errors import BadOrder, NoLiquidity, SelfTrade
from commerce.exchange.price import DAY_MS, PriceRules, Trade, day_start, reference_from


def order(oid: int, member: int, side: str, price: int, units: int, kind: str = LIMIT) -> Order:
    return Order(oid, member, side, price, units, kind)


def snapshot(book: Book) -> list[tuple[str, int, int, int]]:
    return [(side, o.id, o.price, o.remaining) for side in (BUY, SELL) for o in book.orders(side)]


# ------------------------------------------------------------------------------------------ cases


def test_better_price_fills_first_then_earlier_order_at_the_same_price() -> None:
    book = Book()
    book.place(order(1, 10, SELL, 1100, 500))
    book.place(order(2, 11, SELL, 1000, 500))  # better price, later
    book.place(order(3, 12, SELL, 1000, 500))  # same price, later still
    placed = book.place(order(4, 20, BUY, 1100, 1200))
    assert [(f.maker, f.price, f.units) for f in placed.fills] == [(2, 1000, 500), (3, 1000, 500), (1, 1100, 200)]
    assert not placed.rested and placed.order.remaining == 0
    assert snapshot(book) == [(SELL, 1, 1100, 300)]


def test_bids_fill_highest_first_and_trade_at_the_makers_price() -> None:
    book = Book()
    book.place(order(1, 10, BUY, 900, 500))
    book.place(order(2, 11, BUY, 950, 500))
    placed = book.place(order(3, 20, SELL, 800, 700))
    assert [(f.maker, f.price, f.units) for f in placed.fills] == [(2, 950, 500), (1, 900, 200)]
    assert all(f.buy_order in (1, 2) and f.sell_order == 3 for f in placed.fills)
    assert book.best(BUY) == 900 and book.best(SELL) is None


def test_a_partly_filled_maker_keeps_its_place_in_the_queue() -> None:
    book = Book()
    book.place(order(1, 10, SELL, 1000, 1000))
    book.place(order(2, 11, SELL, 1000, 1000))
    book.place(order(3, 20, BUY, 1000, 300))
    placed = book.place(order(4, 21, BUY, 1000, 900))
    assert [(f.maker, f.units) for f in placed.fills] == [(1, 700), (2, 200)]
    assert snapshot(book) == [(SELL, 2, 1000, 800)]


def test_the_rest_of_a_limit_order_rests_at_its_price() -> None:
    book = Book()
    book.place(order(1, 10, SELL, 1000, 300))
    placed = book.place(order(2, 20, BUY, 1050, 1000))
    assert placed.rested and placed.filled == 300
    assert snapshot(book) == [(BUY, 2, 1050, 700)]
    assert [(lv.price, lv.units, lv.orders) for lv in book.depth(BUY)] == [(1050, 700, 1)]


def test_orders_that_do_not_cross_both_rest() -> None:
    book = Book()
    assert not book.place(order(1, 10, BUY, 990, 100)).fills
    assert not book.place(order(2, 11, SELL, 1000, 100)).fills
    assert (book.best(BUY), book.best(SELL)) == (990, 1000)


def test_cancel_takes_the_order_off_and_frees_the_level() -> None:
    book = Book()
    book.place(order(1, 10, SELL, 1000, 100))
    book.place(order(2, 11, SELL, 1000, 100))
    book.place(order(3, 12, SELL, 1010, 100))
    assert book.cancel(1) is not None
    assert book.cancel(1) is None  # twice: nothing more
    assert book.cancel(99) is None
    placed = book.place(order(4, 20, BUY, 1010, 200))
    assert [f.maker for f in placed.fills] == [2, 3]
    assert len(book) == 0 and book.best(SELL) is None


def test_market_order_takes_up_to_its_protection_and_never_rests() -> None:
    book = Book()
    book.place(order(1, 10, SELL, 1000, 100))
    book.place(order(2, 11, SELL, 1200, 100))
    placed = book.place(order(3, 20, BUY, 1100, 500, MARKET))
    assert [(f.maker, f.units) for f in placed.fills] == [(1, 100)]
    assert not placed.rested and placed.order.remaining == 400
    assert snapshot(book) == [(SELL, 2, 1200, 100)]


def test_market_order_with_no_liquidity_is_refused_and_changes_nothing() -> None:
    book = Book()
    book.place(order(1, 10, SELL, 1200, 100))
    before = snapshot(book)
    with pytest.raises(NoLiquidity):
        book.place(order(2, 20, BUY, 1100, 100, MARKET))
    with pytest.raises(NoLiquidity):
        book.place(order(3, 20, SELL, 900, 100, MARKET))  # no bids at all
    assert snapshot(book) == before


def test_self_trade_is_refused_whole_and_changes_nothing() -> None:
    book = Book()
    book.place(order(1, 10, SELL, 1000, 100))
    book.place(order(2, 20, SELL, 1010, 100))
    before = snapshot(book)
    with pytest.raises(SelfTrade):
        book.place(order(3, 20, BUY, 1010, 200))  # would reach member 20's own ask after order 1
    assert snapshot(book) == before
    # An order filled before it reaches the member's own order is fine.
    placed = book.place(order(4, 20, BUY, 1010, 100))
    assert [f.maker for f in placed.fills] == [1]


def test_malformed_orders_are_refused() -> None:
    book = Book()
    for bad in (order(1, 1, "hold", 1000, 1), order(2, 1, BUY, 0, 1), order(3, 1, BUY, 1000, 0)):
        with pytest.raises(BadOrder):
            book.place(bad)
    book.place(order(4, 1, BUY, 1000, 1))
    with pytest.raises(BadOrder):
        book.place(order(4, 1, BUY, 1000, 1))  # the same id twice
    assert snapshot(book) == [(BUY, 4, 1000, 1)]


# ------------------------------------------------------------------------ against a naive matcher


@dataclass
class NaiveOrder:
    id: int
    member: int
    side: str
    price: int
    remaining: int
    arrival: int


class NaiveBook:
    """The rules read literally: scan every resting order for the best one, again and again."""

    def __init__(self) -> None:
        self.resting: list[NaiveOrder] = []
        self.arrivals = 0

    def _best(self, side: str, limit: int) -> NaiveOrder | None:
        crossing = [
            o for o in self.resting if o.side != side and (o.price <= limit if side == BUY else o.price >= limit)
        ]
        if not crossing:
            return None
        return min(crossing, key=lambda o: (o.price if side == BUY else -o.price, o.arrival))

    def place(self, o: Order) -> list[Fill]:
        saved = [NaiveOrder(**vars(r)) for r in self.resting]
        left, fills = o.remaining, []
        while left:
            maker = self._best(o.side, o.price)
            if maker is None:
                break
            if maker.member == o.member:
                self.resting = saved
                raise SelfTrade("self")
            take = min(left, maker.remaining)
            fills.append(Fill(maker.id, o.id, maker.member, o.member, o.side, maker.price, take))
            maker.remaining -= take
            left -= take
            if not maker.remaining:
                self.resting.remove(maker)
        if o.kind == MARKET and not fills:
            self.resting = saved
            raise NoLiquidity("none")
        if o.kind == LIMIT and left:
            self.arrivals += 1
            self.resting.append(NaiveOrder(o.id, o.member, o.side, o.price, left, self.arrivals))
        return fills

    def cancel(self, oid: int) -> None:
        self.resting = [o for o in self.resting if o.id != oid]

    def snapshot(self) -> list[tuple[str, int, int, int]]:
        out = []
        for side, sign in ((BUY, -1), (SELL, 1)):
            mine = sorted((o for o in self.resting if o.side == side), key=lambda o: (sign * o.price, o.arrival))
            out += [(side, o.id, o.price, o.remaining) for o in mine]
        return out


steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("place"),
            st.integers(1, 4),  # member: few, so self-trades happen
            st.sampled_from((BUY, SELL)),
            st.integers(95, 105),  # a narrow price range, so orders cross and queue at one price
            st.integers(1, 8),
            st.sampled_from((LIMIT, LIMIT, LIMIT, MARKET)),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 60)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_the_engine_matches_a_naive_matcher_on_random_streams(stream: list[tuple[object, ...]]) -> None:
    book, naive = Book(), NaiveBook()
    for n, step in enumerate(stream):
        if step[0] == "cancel":
            oid = int(step[1])  # type: ignore[call-overload]
            book.cancel(oid)
            naive.cancel(oid)
        else:
            _, member, side, price, units, kind = step
            args = (n, member, side, price, units, kind)
            try:
                want = naive.place(Order(*args))  # type: ignore[arg-type]
            except (SelfTrade, NoLiquidity) as exc:
                with pytest.raises(type(exc)):
                    book.place(Order(*args))  # type: ignore[arg-type]
            else:
                assert list(book.place(Order(*args)).fills) == want  # type: ignore[arg-type]
        assert snapshot(book) == naive.snapshot()
        bid, ask = book.best(BUY), book.best(SELL)
        assert bid is None or ask is None or bid < ask  # never a crossed book


# ------------------------------------------------------------------------------- reference price

NOW = 1_800_000_000_000
RULES = PriceRules()


def trades(*items: tuple[int, int, int]) -> list[Trade]:
    """(price, units, minutes ago), newest first."""
    return [Trade(p, u, NOW - minutes * 60_000) for p, u, minutes in items]


def test_no_trades_means_the_operator_price() -> None:
    ref = reference_from([], NOW, 1000, RULES)
    assert (ref.price, ref.source) == (1000, "operator")


def test_window_vwap_when_the_window_has_enough_volume() -> None:
    ref = reference_from(trades((1100, 10_000, 5), (1000, 10_000, 60)), NOW, 700, RULES)
    assert (ref.price, ref.source, ref.volume) == (1050, "window", 20_000)


def test_a_tiny_trade_does_not_move_an_established_price() -> None:
    base = trades((1000, 20_000, 30))
    before = reference_from(base, NOW, 1000, RULES).price
    after = reference_from([Trade(1290, 100, NOW), *base], NOW, 1000, RULES).price
    assert before == after == 1000


def test_a_tiny_first_trade_moves_the_operator_price_only_by_its_share_of_the_minimum_volume() -> None:
    ref = reference_from(trades((1300, 100, 1)), NOW, 1000, RULES)
    assert ref.source == "blend"
    assert ref.price == 1003  # (1,300 × 100 + 1,000 × 9,900) / 10,000


def test_outliers_are_clipped_to_the_median_band() -> None:
    # One large print at double the price among steady trading counts at +10 %, not +100 %.
    ref = reference_from(trades((2000, 5_000, 1), (1000, 10_000, 2), (1000, 10_000, 3)), NOW, 1000, RULES)
    assert ref.price == 1020  # (1,100 × 5,000 + 1,000 × 20,000) / 25,000


def test_trades_outside_the_window_count_only_while_the_volume_is_short() -> None:
    old = (900, 20_000, 60 * 30)  # 30 hours ago, outside the 24 h window
    # The window has enough: the old trade is ignored.
    assert reference_from(trades((1000, 10_000, 10), old), NOW, 500, RULES).price == 1000
    # The window is thin: the last trades fill the sample up (clipped to ±10 % of their median 900).
    ref = reference_from(trades((1000, 5_000, 10), old), NOW, 500, RULES)
    assert (ref.source, ref.price) == ("recent", 918)  # (990 × 5,000 + 900 × 20,000) / 25,000
    # No trade in the window at all: the last trades set it.
    assert reference_from(trades(old), NOW, 500, RULES).price == 900


def test_the_day_starts_at_midnight_in_korea() -> None:
    # 2027-01-01 00:00 KST = 2026-12-31 15:00 UTC.
    midnight_kst = 1_798_729_200_000
    assert day_start(midnight_kst) == midnight_kst
    assert day_start(midnight_kst + DAY_MS - 1) == midnight_kst
    assert day_start(midnight_kst - 1) == midnight_kst - DAY_MS
