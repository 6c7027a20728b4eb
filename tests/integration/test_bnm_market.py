"""The BNM market through the real services and the ledger, on SQLite and PostgreSQL.

What a member would check: a trade moves both sides at once, an open order's tokens cannot be spent
again, a cancel gives back exactly what is left, every refusal changes nothing, the reference price
follows real trading (and not one small trade), and a payment in 밤나무 uses it. A hypothesis state
machine then runs random place / cancel / spend sequences and checks after every step that no BNM or
BTL is created or lost, that the holds equal the open orders, and that the ledger verifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from commerce.exchange import queries, resting
from commerce.exchange import service as market
from commerce.exchange.accounts import ESCROW
from commerce.exchange.errors import (
    BadOrder,
    NoLiquidity,
    NotEnoughTokens,
    NotYourOrder,
    OrderClosed,
    OutsideBand,
    SelfTrade,
    TooManyOrders,
    UnknownMarketOrder,
)
from commerce.exchange.price import DAY_MS, source_of
from commerce.exchange.resting import RestingBook
from commerce.exchange.rows import MarketOrder, MarketTrade
from commerce.exchange.rules import DEFAULT_CONFIG, MarketConfig
from commerce.members import service as members
from commerce.orders import service as orders
from commerce.wallet import queries as wallet_queries
from commerce.wallet import service as wallet
from ledger.errors import ChestnutError, InsufficientBalance
from ledger.model import Transfer
from ledger.requests import Request
from ledger.storage.unit_of_work import UnitOfWork
from ledger.verify import verify_ledger
from tests.conftest import create_pg_database, drop_pg_database, require_postgres
from tests.support.identity import verify
from tests.support.market import cast

NOON_KST = 1_798_729_200_000 + 12 * 3_600_000  # 2027-01-01 12:00 in Seoul: "today" is well inside one day


@dataclass
class People:
    operator: int
    alice: int  # buys: 200,000원
    bob: int  # sells: 100 BNM
    carol: int  # both: 50,000원 and 50 BNM


async def grant_bnm(app: App, uow: UnitOfWork, member_id: int, units: int, tag: str) -> None:
    await app.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind="bnm.contribution",
            body={"member": member_id},
            transfers=[Transfer(f"bnm-{tag}", "treasury:bnm", members.wallet(member_id, "BNM"), units, "BNM")],
        ),
    )


async def people(app: App) -> People:
    m = app.services
    m.clock = lambda: NOON_KST
    async with app.db.unit_of_work() as uow:
        op = await members.register(m, uow, channel="web", external_id="op", display_name="사무장")
        await members.make_operator(m, uow, op.id)
        ids = []
        for name in ("alice", "bob", "carol"):
            person = await members.register(m, uow, channel="web", external_id=name, display_name=name)
            ids.append((await verify(app, uow, person.id)).id)  # trading BNM needs a verified phone
        alice, bob, carol = ids
        await wallet.topup_at_office(m, uow, op.id, alice, 200_000, receipt="R-a")
        await wallet.topup_at_office(m, uow, op.id, carol, 50_000, receipt="R-c")
        await grant_bnm(app, uow, bob, 100_000, "bob")
        await grant_bnm(app, uow, carol, 50_000, "carol")
        await uow.commit()
    return People(op.id, alice, bob, carol)


async def place(app: App, member_id: int, side: str, amount: int, price: int | None, **kw: Any) -> market.Placed:
    async with app.db.unit_of_work() as uow:
        placed = await market.place(app.services, uow, member_id, side=side, amount=amount, price=price, **kw)
        await uow.commit()
    return placed


async def cancel(app: App, member_id: int, order_id: int) -> MarketOrder:
    async with app.db.unit_of_work() as uow:
        order = await market.cancel(app.services, uow, member_id, order_id)
        await uow.commit()
    return order


async def balances(app: App, member_id: int) -> wallet_queries.Balances:
    async with app.db.snapshot() as snap:
        return await wallet_queries.balances(app.services, snap, member_id)


async def everything(app: App) -> tuple[Any, ...]:
    """The whole observable state: ledger size, every account, the market's rows."""
    async with app.db.snapshot() as snap:
        return (
            await snap.fetch("SELECT size FROM ledger_head"),
            await snap.fetch(
                "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts "
                "ORDER BY id"
            ),
            await snap.fetch("SELECT * FROM market_orders ORDER BY id"),
            await snap.fetch("SELECT * FROM market_trades ORDER BY id"),
            await snap.fetch("SELECT * FROM market_state"),
        )


async def verified(app: App) -> None:
    report = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert report.ok, f"entry {report.first_bad_seq}: {report.problem}"


# ------------------------------------------------------------------------------------------ trading


async def test_a_trade_settles_both_sides_in_one_entry(app: App) -> None:
    p = await people(app)
    ask = await place(app, p.bob, "sell", 10_000, 1_000)  # 10 BNM at 1,000원
    assert ask.order.status == "open" and not ask.trades
    assert (await balances(app, p.bob)).bnm_available == 90_000  # the 10 BNM are held

    bid = await place(app, p.alice, "buy", 4_000, 1_000)
    assert [(t.price, t.units, t.value) for t in bid.trades] == [(1_000, 4_000, 4_000)]
    assert bid.order.status == "filled"

    a, b = await balances(app, p.alice), await balances(app, p.bob)
    assert (a.btl, a.bnm_units) == (196_000, 4_000)
    assert (b.btl, b.bnm_units, b.bnm_available) == (4_000, 90_000, 90_000)  # the other 6 BNM: in the escrow

    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT entry FROM ledger_entries WHERE seq = :s", {"s": bid.trades[0].seq})
    signed = json.loads(bytes(rows[0][0]))["signed"]
    assert signed["kind"] == "market.trade"
    moved = {(t["debit"], t["credit"], t["amount"], t["type"]) for t in signed["transfers"]}
    assert (members.wallet(p.bob, "BNM"), "escrow:market:bnm", 10_000, "post") in moved
    assert (members.wallet(p.alice, "BTL"), "escrow:market:btl", 4_000, "post") in moved
    assert ("escrow:market:bnm", members.wallet(p.alice, "BNM"), 4_000, "single") in moved
    assert ("escrow:market:btl", members.wallet(p.bob, "BTL"), 4_000, "single") in moved
    await verified(app)


async def test_partial_fills_price_improvement_and_cancel_give_back_exactly_what_is_left(app: App) -> None:
    p = await people(app)
    await place(app, p.bob, "sell", 3_000, 1_000)
    await place(app, p.carol, "sell", 3_000, 1_100)
    bid = await place(app, p.alice, "buy", 10_000, 1_200)  # holds 12,000원; trades 3 BNM @1,000 and 3 @1,100
    assert [(t.price, t.units) for t in bid.trades] == [(1_000, 3_000), (1_100, 3_000)]
    assert (bid.order.status, bid.order.remaining, bid.order.traded_btl) == ("open", 4_000, 6_300)
    a = await balances(app, p.alice)
    assert (a.btl, a.btl_available, a.bnm_units) == (200_000 - 12_000, 188_000, 6_000)

    async with app.db.snapshot() as snap:
        book = await queries.book_view(snap)
    assert [(lv.price, lv.units) for lv in book.bids] == [(1_200, 4_000)] and not book.asks

    closed = await cancel(app, p.alice, bid.order.id)
    assert closed.status == "cancelled"
    a = await balances(app, p.alice)
    assert (a.btl, a.bnm_units) == (200_000 - 6_300, 6_000)  # 12,000 held − 6,300 spent came back
    await verified(app)


async def test_an_order_sweeping_many_resting_orders_fills_them_in_price_time_order(app: App) -> None:
    """A buy that goes through a dozen asks at rising prices meets them best price first, and at one
    price the earlier first; what it leaves of the last is still on the book."""
    p = await people(app)
    n = 12
    for i in range(n):  # bob and carol alternate, so no one trades with themselves; prices rise by a tick
        await place(app, p.bob if i % 2 else p.carol, "sell", 1_000, 1_000 + 10 * (i // 2))
    sweep = await place(app, p.alice, "buy", (n - 1) * 1_000, 1_200)
    assert [(t.price, t.units) for t in sweep.trades] == [(1_000 + 10 * (i // 2), 1_000) for i in range(n - 1)]
    assert [t.seller_id for t in sweep.trades] == [
        p.bob if i % 2 else p.carol for i in range(n - 1)
    ]  # time, at a price
    assert sweep.order.status == "filled"
    async with app.db.snapshot() as snap:
        book = await queries.book_view(snap)
    assert [(lv.price, lv.units) for lv in book.asks] == [(1_000 + 10 * ((n - 1) // 2), 1_000)]
    await verified(app)


async def test_an_order_needing_more_fills_than_allowed_is_refused_and_changes_nothing(app: App) -> None:
    """At most ``max_fills`` resting orders per placement: one that would need more is refused whole; one
    that needs exactly that many trades, and what it has left rests."""
    p = await people(app)
    for i in range(4):
        await place(app, p.bob if i % 2 else p.carol, "sell", 1_000, 1_000)
    config = MarketConfig(max_fills=3)
    before = await everything(app)
    with pytest.raises(BadOrder) as refused:
        await place(app, p.alice, "buy", 3_100, 1_000, config=config)  # the fourth ask would be the fourth fill
    assert refused.value.data["reason"] == "too_many_fills"
    assert await everything(app) == before
    ok = await place(app, p.alice, "buy", 3_000, 1_000, config=config)
    assert len(ok.trades) == 3 and ok.order.status == "filled"
    await verified(app)


async def test_the_fills_of_one_placement_are_settled_by_one_trade_entry(app: App) -> None:
    p = await people(app)
    await place(app, p.bob, "sell", 2_000, 1_000)
    await place(app, p.carol, "sell", 1_000, 1_010)
    await place(app, p.bob, "sell", 1_000, 1_020)
    bid = await place(app, p.alice, "buy", 4_000, 1_020)
    assert [(t.price, t.units) for t in bid.trades] == [(1_000, 2_000), (1_010, 1_000), (1_020, 1_000)]
    assert len({t.seq for t in bid.trades}) == 1  # one entry for the three trades …
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT kind, entry FROM ledger_entries WHERE seq >= :s", {"s": bid.order.placed_seq})
    assert [kind for kind, _ in rows] == ["market.place", "market.trade"]
    signed = json.loads(bytes(rows[1][1]))["signed"]
    assert [(t["trade"], t["price"], t["units"], t["value"]) for t in signed["body"]["trades"]] == [
        (t.id, t.price, t.units, t.value) for t in bid.trades
    ]
    moved = {(t["debit"], t["credit"], t["amount"]) for t in signed["transfers"]}  # … that settles each
    for seller, units, won in ((p.bob, 2_000, 2_000), (p.carol, 1_000, 1_010), (p.bob, 1_000, 1_020)):
        assert ("escrow:market:bnm", members.wallet(p.alice, "BNM"), units) in moved
        assert ("escrow:market:btl", members.wallet(seller, "BTL"), won) in moved
    a, b, c = [await balances(app, x) for x in (p.alice, p.bob, p.carol)]
    assert (a.btl, a.bnm_units) == (200_000 - 4_030, 4_000)
    assert (b.btl, c.btl) == (3_020, 50_000 + 1_010)
    await verified(app)


async def test_the_band_follows_the_operators_price_set_during_the_day(app: App) -> None:
    """With no trading before today the band is drawn around the operator's price; the day's earlier
    trades are read once a day, but a new operator price counts at once."""
    p = await people(app)
    await place(app, p.bob, "sell", 1_000, 1_300)  # inside 700–1,300 around the default 1,000
    with pytest.raises(OutsideBand):
        await place(app, p.bob, "sell", 1_000, 1_310)
    async with app.db.unit_of_work() as uow:
        await uow.execute(
            "INSERT INTO market_settings (key, value) VALUES ('bnm_reference_price', '2000') "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
        await uow.commit()
    assert (await place(app, p.bob, "sell", 1_000, 2_600)).order.status == "open"  # now 1,400–2,600
    with pytest.raises(OutsideBand):
        await place(app, p.alice, "buy", 1_000, 1_300)
    await verified(app)


async def test_a_buy_filled_below_its_limit_gets_the_difference_back(app: App) -> None:
    p = await people(app)
    await place(app, p.bob, "sell", 5_000, 900)
    bid = await place(app, p.alice, "buy", 5_000, 1_000)  # held 5,000원, paid 4,500원
    assert bid.order.status == "filled"
    a = await balances(app, p.alice)
    assert (a.btl, a.btl_available, a.bnm_units) == (195_500, 195_500, 5_000)
    await verified(app)


async def test_market_order_fills_within_its_protection_and_gives_back_the_rest(app: App) -> None:
    p = await people(app)
    await place(app, p.bob, "sell", 2_000, 1_000)
    await place(app, p.bob, "sell", 2_000, 1_250)
    got = await place(app, p.alice, "buy", 5_000, 1_100, kind="market")
    assert [(t.price, t.units) for t in got.trades] == [(1_000, 2_000)]
    assert (got.order.status, got.order.remaining) == ("cancelled", 3_000)  # the rest never rests
    a = await balances(app, p.alice)
    assert (a.btl, a.btl_available, a.bnm_units) == (198_000, 198_000, 2_000)
    await verified(app)


async def test_a_market_sell_without_bids_is_refused(app: App) -> None:
    p = await people(app)
    before = await everything(app)
    with pytest.raises(NoLiquidity):
        await place(app, p.carol, "sell", 1_000, None, kind="market")
    assert await everything(app) == before


async def test_held_tokens_cannot_be_spent_twice(app: App) -> None:
    p = await people(app)
    await place(app, p.bob, "sell", 100_000, 1_000)  # everything he has
    with pytest.raises(NotEnoughTokens) as err:
        await place(app, p.bob, "sell", 100, 1_000)
    assert (err.value.data["token"], err.value.data["missing"]) == ("BNM", 100)
    before = await everything(app)
    with pytest.raises(InsufficientBalance):  # a gift signed by bob himself, of BNM the order holds
        async with app.db.unit_of_work() as uow:
            await app.ledger.record(
                uow,
                Request(
                    actor=members.key_label(p.bob),
                    kind="bnm.gift",
                    transfers=[
                        Transfer("gift-1", members.wallet(p.bob, "BNM"), members.wallet(p.carol, "BNM"), 1, "BNM")
                    ],
                ),
            )
            await uow.commit()
    assert await everything(app) == before


async def test_a_double_tap_places_once(app: App) -> None:
    p = await people(app)
    first = await place(app, p.alice, "buy", 1_000, 1_000, client_key="nonce-1")
    again = await place(app, p.alice, "buy", 1_000, 1_000, client_key="nonce-1")
    assert again.earlier and again.order == first.order
    async with app.db.snapshot() as snap:
        assert len(await queries.open_orders(snap, p.alice)) == 1


# ------------------------------------------------------------------------------------------ bad input


async def test_every_bad_input_is_a_typed_error_and_changes_nothing(app: App) -> None:
    p = await people(app)
    mine = await place(app, p.bob, "sell", 1_000, 1_200)
    gone = await place(app, p.bob, "sell", 1_000, 1_250)
    await place(app, p.carol, "sell", 1_000, 1_200)  # behind bob's ask at the same price
    await cancel(app, p.bob, gone.order.id)

    def order(member: int, side: str, amount: object, price: object, **kw: Any) -> Callable[[], Awaitable[Any]]:
        return lambda: place(app, member, side, amount, price, **kw)  # type: ignore[arg-type]

    cases: list[tuple[str, type[ChestnutError], Callable[[], Awaitable[Any]]]] = [
        ("amount zero", BadOrder, order(p.alice, "buy", 0, 1_000)),
        ("amount negative", BadOrder, order(p.alice, "buy", -100, 1_000)),
        ("amount off the lot", BadOrder, order(p.alice, "buy", 150, 1_000)),
        ("amount not a number", BadOrder, order(p.alice, "buy", "100", 1_000)),
        ("amount beyond the limit", BadOrder, order(p.alice, "buy", 10**12, 1_000)),
        ("price zero", BadOrder, order(p.alice, "buy", 100, 0)),
        ("price negative", BadOrder, order(p.alice, "buy", 100, -10)),
        ("price off the tick", BadOrder, order(p.alice, "buy", 100, 1_005)),
        ("price missing on a limit order", BadOrder, order(p.alice, "buy", 100, None)),
        ("unknown side", BadOrder, order(p.alice, "hold", 100, 1_000)),
        ("unknown kind", BadOrder, order(p.alice, "buy", 100, 1_000, kind="stop")),
        ("more BTL than held", NotEnoughTokens, order(p.alice, "buy", 200_100, 1_000)),
        ("more BNM than held", NotEnoughTokens, order(p.carol, "sell", 50_100, 1_000)),
        ("above the band", OutsideBand, order(p.alice, "buy", 100, 1_310)),
        ("below the band", OutsideBand, order(p.carol, "sell", 100, 690)),
        ("protection outside the band", OutsideBand, order(p.alice, "buy", 100, 2_000, kind="market")),
        ("self-trade", SelfTrade, order(p.carol, "buy", 2_000, 1_200)),  # bob's ask first, then her own
        ("market order, no liquidity", NoLiquidity, order(p.alice, "buy", 100, 1_100, kind="market")),
        ("cancel someone else's order", NotYourOrder, lambda: cancel(app, p.alice, mine.order.id)),
        ("cancel a closed order", OrderClosed, lambda: cancel(app, p.bob, gone.order.id)),
        ("cancel an unknown order", UnknownMarketOrder, lambda: cancel(app, p.bob, 9_999)),
    ]
    for label, error, go in cases:
        before = await everything(app)
        with pytest.raises(error) as err:
            await go()
        assert err.value.code.startswith("market_"), label
        assert await everything(app) == before, f"{label} changed something"
    await verified(app)


async def test_open_orders_per_member_are_limited(app: App) -> None:
    p = await people(app)
    limit = DEFAULT_CONFIG.max_open_orders
    for i in range(limit):
        await place(app, p.carol, "sell", 100, 1_200 + 10 * (i % 5))
    before = await everything(app)
    with pytest.raises(TooManyOrders):
        await place(app, p.carol, "sell", 100, 1_250)
    assert await everything(app) == before
    # An order that fills at once never rests, so the limit does not stop it.
    await place(app, p.bob, "sell", 100, 1_000)
    done = await place(app, p.carol, "buy", 100, 1_000)
    assert done.order.status == "filled"


# ------------------------------------------------------------------------------------ the reference price


async def reference(app: App) -> int:
    async with app.db.snapshot() as snap:
        return await app.services.prices.reference_price(snap)


async def test_the_reference_follows_trading_not_one_small_trade_and_payments_use_it(app: App) -> None:
    c = await cast(app, bnm_max_share=50)
    m = app.services
    m.clock = lambda: NOON_KST
    async with app.db.unit_of_work() as uow:
        seller = await members.register(m, uow, channel="web", external_id="seller", display_name="판매자")
        await verify(app, uow, seller.id)
        await grant_bnm(app, uow, seller.id, 50_000, "seller")
        await grant_bnm(app, uow, c.shopper, 20_000, "shopper")
        await uow.commit()
    assert await reference(app) == 1_000  # nobody traded yet: the operator's price

    await place(app, seller.id, "sell", 20_000, 1_200)
    await place(app, c.shopper, "buy", 20_000, 1_200)  # 20 BNM at 1,200원: enough volume on its own
    assert await reference(app) == 1_200
    await place(app, seller.id, "sell", 100, 1_290)
    await place(app, c.shopper, "buy", 100, 1_290)  # a tiny trade 7.5 % higher
    assert await reference(app) == 1_200

    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, 2)  # 12,000원 + 3,000원 delivery
        order = await orders.checkout(m, uow, c.shopper, c.shop, expected_total=15_000, bnm_share=40)
        await uow.commit()
    # 40 % of 15,000원 = 6,000원 in BNM at 1,200원 each = 5.000 BNM; the rest in BTL.
    assert (order.bnm_price, order.bnm_units, order.btl_amount) == (1_200, 5_000, 9_000)
    await verified(app)


async def test_the_window_ages_out_and_the_band_follows_the_days_reference(app: App) -> None:
    p = await people(app)
    yesterday = NOON_KST - DAY_MS - 3_600_000  # 11:00 yesterday, 25 hours ago
    app.services.clock = lambda: yesterday
    await place(app, p.bob, "sell", 20_000, 1_200)
    await place(app, p.alice, "buy", 20_000, 1_200)
    app.services.clock = lambda: NOON_KST
    async with app.db.snapshot() as snap:
        ref = await source_of(app.services.prices).reference(snap)
        band = await queries.band(app.services, snap)
    assert (ref.price, ref.source) == (1_200, "recent")  # outside today's 24 h window, still the last trades
    assert (band.anchor, band.low, band.high) == (1_200, 840, 1_560)
    with pytest.raises(OutsideBand):
        await place(app, p.alice, "buy", 100, 1_570)
    assert (await place(app, p.alice, "buy", 100, 1_560)).order.status == "open"


async def test_the_band_anchor_is_read_again_when_the_known_day_changed_in_between(app: App) -> None:
    """The day's anchor trades are read once a day. A placement's reads are made before its decision:
    if another placement (on another day, across midnight) replaced the known day in between, the
    anchor is read again in full, not taken from the operator's price alone."""
    p = await people(app)
    prices = source_of(app.services.prices)
    app.services.clock = lambda: NOON_KST - DAY_MS  # yesterday's trading, at 1,200
    await place(app, p.bob, "sell", 20_000, 1_200)
    await place(app, p.alice, "buy", 20_000, 1_200)
    async with app.db.snapshot() as snap:
        assert (await prices.band_anchor(snap, at_ms=NOON_KST)).price == 1_200  # today's day is now known
        reads = prices.anchor_reads(NOON_KST)
        assert len(reads) == 1  # so only the operator's price is read …
        rows = await snap.batch(reads)
        await prices.band_anchor(snap, at_ms=NOON_KST + DAY_MS)  # … while tomorrow's becomes the known day
        assert (await prices.anchor_from(snap, rows, NOON_KST)).price == 1_200


# ------------------------------------------------------------------------ the process's copy of the book


async def test_orders_another_process_placed_or_cancelled_are_matched_as_the_database_has_them(
    app: App, settings: Settings
) -> None:
    """Each process matches against its own copy of the open book; what another one placed or cancelled
    meanwhile (a second server, a CLI command) must be met, or not, exactly as the database says."""
    p = await people(app)
    await place(app, p.bob, "sell", 2_000, 1_000)  # this process's copy now has bob's ask
    other = await build(settings)
    other.services.clock = app.services.clock
    try:
        await place(other, p.carol, "sell", 1_000, 990)  # the other process adds a better ask
        bid = await place(app, p.alice, "buy", 1_000, 1_000)
        assert [(t.price, t.seller_id) for t in bid.trades] == [(990, p.carol)]
        await cancel(other, p.bob, (await open_of(other, p.bob))[0])  # … and takes bob's away
        with pytest.raises(NoLiquidity):  # nothing left to sell: bob's ask is not met from an old copy
            await place(app, p.alice, "buy", 1_000, None, kind="market")
    finally:
        await other.close()
    await verified(app)


async def test_an_order_whose_transaction_rolled_back_is_not_matched_later(app: App) -> None:
    p = await people(app)
    before = await everything(app)
    async with app.db.unit_of_work() as uow:  # placed, then the transaction ends without a commit
        await market.place(app.services, uow, p.bob, side="sell", amount=1_000, price=1_000)
    assert await everything(app) == before
    with pytest.raises(NoLiquidity):
        await place(app, p.alice, "buy", 1_000, None, kind="market")
    await verified(app)


async def test_members_placing_at_once_leave_the_copy_and_the_database_the_same_book(app: App) -> None:
    """Sixteen placements in flight at a time (group commits on SQLite, row locks on PostgreSQL): every
    copy this process used was the database's book, and the ledger verifies."""
    p = await people(app)
    rng = random.Random(7)

    async def trader(n: int) -> None:
        for i in range(6):
            who = (p.alice, p.bob, p.carol)[(n + i) % 3]
            side = "buy" if rng.random() < 0.5 else "sell"
            price = 1_000 + (10 if side == "buy" else -10) * rng.randrange(-1, 3)
            with contextlib.suppress(SelfTrade, TooManyOrders, NotEnoughTokens):
                traded.extend((await place(app, who, side, 100 * (1 + rng.randrange(10)), price)).trades)

    traded: list[MarketTrade] = []
    await asyncio.gather(*(trader(n) for n in range(16)))
    assert len(traded) > 10
    await copy_is_the_book(app)
    await verified(app)


async def copy_is_the_book(app: App) -> None:
    """The process's copy of the open book, if it holds one for the database's current version, is
    exactly the open orders the database has."""
    copy = app.services.resting_book
    if not isinstance(copy, RestingBook):
        return
    async with app.db.snapshot() as snap:
        (version,), *_ = await snap.fetch("SELECT book_version FROM market_state")
        rows = await snap.fetch(resting.OPEN_ORDERS.sql)
    if copy.version != int(version):
        return
    fresh = RestingBook(copy.version, rows)
    assert copy.orders == fresh.orders, "the copy of the book differs from the database's"
    assert +copy.open_by_member == +fresh.open_by_member
    for side in ("buy", "sell"):
        assert [(o.id, o.remaining) for o in copy.book.orders(side)] == [
            (o.id, o.remaining) for o in fresh.book.orders(side)
        ], "the copy's priority differs from the database's"


async def open_of(app: App, member_id: int) -> list[int]:
    async with app.db.snapshot() as snap:
        return [o.id for o in await queries.open_orders(snap, member_id)]


# ------------------------------------------------------------------------------------ the state machine


class BnmMachine(RuleBasedStateMachine):
    """Random place / cancel / spend on a fresh database; the books are checked after every step."""

    backend = "sqlite"
    PRICES = (990, 1_000, 1_000, 1_010, 1_010, 1_050, 0, 1_005, 1_400)  # 0, off tick, outside band: refused
    LOTS = (1, 2, 5, 10, 10, 30, 0, 1_000)  # ×100 units; 0 refused, 1,000 (100 BNM) mostly too much

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.home = Path(tempfile.mkdtemp(prefix="chestnut-bnm-"))
        self.url: str | None = None
        if self.backend == "postgresql":
            self.url = self.run(create_pg_database())
        self.app: App = self.run(build(Settings(home=self.home, database_url=self.url, environment="test")))
        self.p: People = self.run(people(self.app))
        self.members = [self.p.alice, self.p.bob, self.p.carol]
        self.btl_total, self.bnm_total = 250_000, 150_000
        self.order_ids: list[int] = []
        self.gifts = 0
        self.tick = 0

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    async def _step(self, fn: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
        self.tick += 1
        self.app.services.clock = lambda: NOON_KST + self.tick
        before = await everything(self.app)
        try:
            async with self.app.db.unit_of_work() as uow:
                out = await fn(uow)
                await uow.commit()
        except ChestnutError:
            assert await everything(self.app) == before, "a refused step changed something"
            return None
        return out

    @rule(
        who=st.integers(0, 2),
        side=st.sampled_from(("buy", "sell")),
        price=st.sampled_from(PRICES),
        lots=st.sampled_from(LOTS),
        kind=st.sampled_from(("limit", "limit", "limit", "market")),
    )
    def place(self, who: int, side: str, price: int, lots: int, kind: str) -> None:
        m = self.app.services
        placed = self.run(
            self._step(
                lambda uow: market.place(
                    m, uow, self.members[who], side=side, amount=lots * 100, price=price, kind=kind
                )
            )
        )
        if placed is not None:
            self.order_ids.append(placed.order.id)

    @rule(who=st.integers(0, 2), pick=st.integers(0, 1_000))
    def cancel(self, who: int, pick: int) -> None:
        if not self.order_ids:
            return
        oid = self.order_ids[pick % len(self.order_ids)]
        self.run(self._step(lambda uow: market.cancel(self.app.services, uow, self.members[who], oid)))

    @rule(who=st.integers(0, 2), to=st.integers(0, 2), token=st.sampled_from(("BTL", "BNM")), share=st.integers(1, 4))
    def spend(self, who: int, to: int, token: str, share: int) -> None:
        """Spend a quarter, half, … of what the wallet shows *posted*: beyond what is available is refused."""
        if who == to:
            return
        payer, payee = self.members[who], self.members[to]
        posted = self.run(balances(self.app, payer))
        amount = (posted.btl if token == "BTL" else posted.bnm_units) * share // 4  # noqa: S105 - a token name
        if amount <= 0:
            return
        self.gifts += 1
        tid = f"gift-{self.gifts}"
        done = self.run(
            self._step(
                lambda uow: self.app.ledger.record(
                    uow,
                    Request(
                        actor=members.key_label(payer),
                        kind="wallet.gift",
                        transfers=[
                            Transfer(tid, members.wallet(payer, token), members.wallet(payee, token), amount, token)
                        ],
                    ),
                )
            )
        )
        available = posted.btl_available if token == "BTL" else posted.bnm_available  # noqa: S105
        assert (done is not None) == (amount <= available), "held tokens were spent, or free ones refused"

    @invariant()
    def nothing_created_or_lost_and_holds_equal_open_orders(self) -> None:
        async def check() -> None:
            async with self.app.db.snapshot() as snap:
                accounts = {
                    r[0]: [int(v) for v in r[1:]]
                    for r in await snap.fetch(
                        "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts"
                    )
                }
                open_orders = await queries.all_open_orders(snap)
            for token, total in (("BTL", self.btl_total), ("BNM", self.bnm_total)):
                wallets = [members.wallet(mid, token) for mid in self.members]
                held = sum(accounts[w][1] - accounts[w][0] for w in wallets)  # posted, pending included
                escrow = accounts[ESCROW[token]]
                assert held + escrow[1] - escrow[0] == total, f"{token} created or lost"
                owed = sum(o.still_held for o in open_orders if o.token == token)
                assert escrow[1] - escrow[0] + escrow[3] == owed, f"{token} holds differ from the open orders"
                for mid in self.members:
                    pending = sum(
                        o.held for o in open_orders if o.member_id == mid and o.token == token and not o.filled
                    )
                    assert accounts[members.wallet(mid, token)][2] == pending
            bids = [o.price for o in open_orders if o.side == "buy"]
            asks = [o.price for o in open_orders if o.side == "sell"]
            assert not bids or not asks or max(bids) < min(asks), "a crossed book"
            await copy_is_the_book(self.app)

        self.run(check())

    @invariant()
    def ledger_verifies(self) -> None:
        self.run(verified(self.app))

    def teardown(self) -> None:
        self.run(self.app.close())
        if self.url is not None:
            self.run(drop_pg_database(self.url))
        self.loop.close()
        shutil.rmtree(self.home, ignore_errors=True)


class BnmMachinePostgres(BnmMachine):
    backend = "postgresql"


_machine_settings = settings(
    max_examples=10,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
BnmMachine.TestCase.settings = _machine_settings
BnmMachinePostgres.TestCase.settings = settings(_machine_settings, max_examples=3)


def test_random_trading_on_sqlite_creates_and_loses_nothing() -> None:
    BnmMachine.TestCase().runTest()


def test_random_trading_on_postgresql_creates_and_loses_nothing() -> None:
    require_postgres()
    BnmMachinePostgres.TestCase().runTest()
