"""Where orders go: addresses, delivery windows, pickup, who may read an order's address, the job
board, and erasing addresses once no claim can be opened (every test on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from chestnut.bootstrap import App
from commerce.claims import service as claims
from commerce.delivery import addresses, fulfilment
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.delivery.errors import (
    AddressBookFull,
    AddressNeeded,
    AlreadyTaken,
    InvalidAddress,
    OutsideDeliveryArea,
    PickupUnavailable,
    UnknownAddress,
    WindowUnavailable,
)
from commerce.delivery.windows import KST, Window
from commerce.errors import NotAllowed
from commerce.members import service as members
from commerce.members.rows import Member
from commerce.orders import service as orders
from commerce.orders.rows import Order
from commerce.shops import catalog, product_code
from commerce.shops import service as shops
from commerce.shops.rows import Shop
from commerce.wallet import service as wallet
from ledger.errors import ChestnutError
from ledger.storage.unit_of_work import UnitOfWork
from scheduler.housekeeping import housekeeping
from tests.support.identity import HOME, verify
from tests.support.market import Cast, cast
from web.app import make_web_app

# Tuesday 2026-12-08, 10:00 in Seoul: the test shop (09:00-19:00, one window a day) offers today and tomorrow.
TEN_AM = int(dt.datetime(2026, 12, 8, 10, 0, tzinfo=KST).timestamp() * 1000)
HOUR = 3_600_000
DAY = 24 * HOUR


@pytest.fixture
async def c(app: App) -> Cast:
    app.services.clock = lambda: TEN_AM
    return await cast(app)


async def snapshot(app: App) -> dict[str, Any]:
    """What a user could check: the ledger's size, orders, stock, carts, addresses and their choices."""
    async with app.db.snapshot() as snap:
        return {
            "size": (await app.ledger.head(snap)).size,
            **{
                table: await snap.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")
                for table in ("orders", "products", "cart_lines", "addresses", "cart_choices", "order_addresses")
            },
        }


async def refused(app: App, error: type[ChestnutError], action: Callable[[UnitOfWork], Awaitable[object]]) -> Any:
    before = await snapshot(app)
    with pytest.raises(error) as caught:
        async with app.db.unit_of_work() as uow:
            await action(uow)
            await uow.commit()
    assert await snapshot(app) == before, "a refused action changed something"
    return caught.value


async def new_shopper(app: App, name: str = "새손님", *, with_address: bool = False, topup: int = 50_000) -> int:
    async with app.db.unit_of_work() as uow:
        member = await members.register(app.services, uow, channel="kakao", external_id=name, display_name=name)
        await verify(app, uow, member.id, address=with_address)
        operator = (await members.with_role(uow, "operator", limit=1))[0]
        await wallet.topup_at_office(app.services, uow, operator.id, member.id, topup, receipt=f"R-{member.id}")
        await uow.commit()
    return member.id


async def new_courier(app: App, c: Cast, external_id: str) -> Member:
    async with app.db.unit_of_work() as uow:
        courier = await members.register(
            app.services, uow, channel="kakao", external_id=external_id, display_name="기사"
        )
        await members.grant_role(app.services, uow, c.operator, courier.id, "courier")
        await uow.commit()
    return courier


async def fill_cart(app: App, c: Cast, member_id: int, qty: int = 1) -> orders.Quote:
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(app.services, uow, member_id, c.product, qty)
        q = await orders.quote(app.services, uow, member_id, c.shop, bnm_share=0)
        await uow.commit()
    return q


async def pay(app: App, c: Cast, member_id: int, **where: Any) -> Order:
    async with app.db.unit_of_work() as uow:
        q = await orders.quote(app.services, uow, member_id, c.shop, bnm_share=0)
        total = q.subtotal + (0 if where.get("pickup_at") else q.delivery_fee or 3000)
        order = await orders.checkout(app.services, uow, member_id, c.shop, expected_total=total, bnm_share=0, **where)
        await uow.commit()
    return order


# --------------------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("가" * 201, "too_long"),
        ("!!! ... ???", "no_letters"),
        ("망원동 12-3", "no_district"),
    ],
)
async def test_an_unusable_address_is_refused_with_its_reason_and_nothing_saved(
    app: App, c: Cast, text: str, reason: str
) -> None:
    error = await refused(
        app, InvalidAddress, lambda uow: addresses.add(app.services, uow, c.shopper, label="집", text=text)
    )
    assert error.code == "invalid_address" and error.data["reason"] == reason


async def test_a_sixth_address_is_refused(app: App, c: Cast) -> None:
    async with app.db.unit_of_work() as uow:
        for n in range(4):  # the cast's shopper has one already
            await addresses.add(app.services, uow, c.shopper, label=f"곳{n}", text=f"수원시 팔달구 정조로 {n}")
        await uow.commit()
    await refused(
        app, AddressBookFull, lambda uow: addresses.add(app.services, uow, c.shopper, label="여섯", text=HOME)
    )


async def test_a_first_order_without_an_address_is_refused_before_paying(app: App, c: Cast) -> None:
    newcomer = await new_shopper(app)
    q = await fill_cart(app, c, newcomer)
    assert q.choice.needs_address
    error = await refused(
        app,
        AddressNeeded,
        lambda uow: orders.checkout(app.services, uow, newcomer, c.shop, expected_total=q.total, bnm_share=0),
    )
    assert error.code == "address_needed"


async def test_another_members_address_is_unknown_and_changes_nothing(app: App, c: Cast) -> None:
    other = await new_shopper(app, "남의집", with_address=True)
    async with app.db.snapshot() as snap:
        (theirs,) = await addresses.list_for(snap, other)
    await fill_cart(app, c, c.shopper)
    shop = await _shop(app, c)
    await refused(
        app, UnknownAddress, lambda uow: fulfilment.choose_address(app.services, uow, c.shopper, shop, theirs.id)
    )
    await refused(
        app,
        UnknownAddress,
        lambda uow: orders.checkout(
            app.services, uow, c.shopper, c.shop, expected_total=9_000, bnm_share=0, address_id=theirs.id
        ),
    )


async def test_an_address_outside_the_shops_area_is_refused_naming_the_areas_it_serves(app: App, c: Cast) -> None:
    async with app.db.unit_of_work() as uow:
        far = await addresses.add(app.services, uow, c.shopper, label="딸네 집", text="부산 중구 자갈치로 1")
        await uow.commit()
    await fill_cart(app, c, c.shopper)
    shop = await _shop(app, c)
    error = await refused(
        app, OutsideDeliveryArea, lambda uow: fulfilment.choose_address(app.services, uow, c.shopper, shop, far.id)
    )
    assert error.data["areas"] == ["수원시"] and error.data["region"] == "부산 중구"


async def test_a_location_outside_every_known_district_is_refused(app: App, c: Cast) -> None:
    await refused(
        app,
        InvalidAddress,
        lambda uow: addresses.add_location(
            app.services, uow, c.shopper, label="밭", latitude=36.5, longitude=127.9, text="공유한 위치"
        ),
    )


# ----------------------------------------------------------------------------------------- windows


async def test_windows_in_the_past_or_not_offered_are_refused(app: App, c: Cast) -> None:
    await fill_cart(app, c, c.shopper)
    shop = await _shop(app, c)
    day = dt.datetime(2026, 12, 8, tzinfo=KST)
    yesterday = Window(_ms(day - dt.timedelta(days=1), 9), _ms(day - dt.timedelta(days=1), 19))
    error = await refused(
        app, WindowUnavailable, lambda uow: fulfilment.choose_window(app.services, uow, c.shopper, shop, yesterday)
    )
    assert error.data["reason"] == "past" and len(error.data["offered"]) == 2
    night = Window(_ms(day, 22), _ms(day, 23))
    error = await refused(
        app, WindowUnavailable, lambda uow: fulfilment.choose_window(app.services, uow, c.shopper, shop, night)
    )
    assert error.data["reason"] == "not_offered"


async def test_the_shops_windows_are_offered_and_the_chosen_one_goes_on_the_order(app: App, c: Cast) -> None:
    async with app.db.unit_of_work() as uow:
        await shops.set_terms(app.services, uow, c.producer, c.shop, delivery_windows="09-13,13-19")
        await uow.commit()
    await fill_cart(app, c, c.shopper)
    shop = await _shop(app, c)
    offered = fulfilment.offered_windows(shop, TEN_AM)
    day = dt.datetime(2026, 12, 8, tzinfo=KST)
    assert offered[0] == Window(_ms(day, 9), _ms(day, 13))  # 10:00 now: today's morning still closes in 3 h
    assert len(offered) == 4  # today and tomorrow, morning and afternoon
    async with app.db.unit_of_work() as uow:
        await fulfilment.choose_window(app.services, uow, c.shopper, shop, offered[3])
        await uow.commit()
    order = await pay(app, c, c.shopper)
    assert (order.window_start_ms, order.window_end_ms) == (offered[3].start_ms, offered[3].end_ms)


# ------------------------------------------------------------------------------------------ pickup


async def test_pickup_at_a_shop_without_pickup_is_refused(app: App, c: Cast) -> None:
    await fill_cart(app, c, c.shopper)
    shop = await _shop(app, c)
    await refused(
        app, PickupUnavailable, lambda uow: fulfilment.choose_pickup(app.services, uow, c.shopper, shop, "shop")
    )


async def test_a_pickup_order_costs_no_delivery_and_is_handed_over_with_the_code(app: App, c: Cast) -> None:
    async with app.db.unit_of_work() as uow:
        await shops.set_terms(app.services, uow, c.producer, c.shop, pickup=True)
        await uow.commit()
    q = await fill_cart(app, c, c.shopper, qty=2)
    order = await pay(app, c, c.shopper, pickup_at="shop")
    assert order.pickup_at == "shop" and order.delivery_fee == 0 and order.total == q.subtotal
    async with app.db.snapshot() as snap:
        board = await delivery_queries.board(snap, area=None)
        code = await delivery_queries.delivery_code(snap, c.shopper, order.id)
    assert order.id not in [j.order_id for j in board.jobs]  # never on the couriers' board
    async with app.db.unit_of_work() as uow:
        with pytest.raises(NotAllowed):
            await delivery.hand_over(app.services, uow, c.courier, order.id, code)
    async with app.db.unit_of_work() as uow:
        wrong = await delivery.hand_over(app.services, uow, c.producer, order.id, "000000" if code != "000000" else "1")
        await uow.commit()
    assert not wrong.ok and wrong.attempts_left == 2
    async with app.db.unit_of_work() as uow:
        done = await delivery.hand_over(app.services, uow, c.producer, order.id, code)
        await uow.commit()
    assert done.ok and done.order.state == "delivered"


async def test_a_collected_order_shows_on_the_products_page_as_a_step_its_entry_proves(app: App, c: Cast) -> None:
    """The page's step names the kinds of entry that may prove it; the browser checks the entry against
    them (``verify.js``), so a handover shown as a courier's delivery would fail there."""
    async with app.db.unit_of_work() as uow:
        await shops.set_terms(app.services, uow, c.producer, c.shop, pickup=True)
        await uow.commit()
    await fill_cart(app, c, c.shopper)
    order = await pay(app, c, c.shopper, pickup_at="shop")
    async with app.db.snapshot() as snap:
        code = await delivery_queries.delivery_code(snap, c.shopper, order.id)
    async with app.db.unit_of_work() as uow:
        await delivery.hand_over(app.services, uow, c.producer, order.id, code)
        await uow.commit()
    async with TestClient(TestServer(make_web_app(app))) as http:
        page = await (await http.get(product_code.page_path(c.product))).text()
        steps = dict(re.findall(r'<li data-seq="(\d+)" data-kind="([^"]+)"><span class="stage">🧺', page))
        assert len(steps) == 1, page
        ((seq, kinds),) = steps.items()
        entry = (await (await http.get(f"/ledger/entries?start={seq}&end={int(seq) + 1}")).json())["entries"][0]
    assert entry["decoded"]["signed"]["kind"] in kinds.split("|")
    assert "가게가 서명" in page


# ----------------------------------------------------------------------------- who reads an address


async def test_only_the_shop_and_the_assigned_courier_read_where_an_order_goes(app: App, c: Cast) -> None:
    await fill_cart(app, c, c.shopper)
    order = await pay(app, c, c.shopper)
    other_courier = await new_courier(app, c, "c2")
    operator = c.operator
    async with app.db.snapshot() as snap:
        seen = await fulfilment.for_order(snap, c.producer, order.id)
        assert seen.full() == f"{HOME} 101동 1203호" and seen.recipient_name == "이할머니"
        assert seen.recipient_phone.startswith("010")
        for stranger in (c.courier, other_courier.id, operator):  # before anyone took the job
            with pytest.raises(NotAllowed):
                await fulfilment.for_order(snap, stranger, order.id)
        page = await delivery_queries.board(snap, area="수원시")
    (job,) = page.jobs
    assert job.district == "경기 수원시 팔달구" and "매산로" not in repr(job)  # only the district before taking
    async with app.db.unit_of_work() as uow:
        await delivery.take_job(app.services, uow, c.courier, order.id)
        await uow.commit()
    async with app.db.snapshot() as snap:
        assert (await fulfilment.for_order(snap, c.courier, order.id)).text == HOME
        with pytest.raises(NotAllowed):
            await fulfilment.for_order(snap, other_courier.id, order.id)


async def test_a_recipient_other_than_the_member_goes_with_the_order(app: App, c: Cast) -> None:
    async with app.db.unit_of_work() as uow:
        (home,) = await addresses.list_for(uow, c.shopper)
        await addresses.set_recipient(uow, c.shopper, home.id, name="김영자", phone="010-2222-3333")
        await uow.commit()
    await fill_cart(app, c, c.shopper)
    order = await pay(app, c, c.shopper)
    async with app.db.snapshot() as snap:
        seen = await fulfilment.for_order(snap, c.producer, order.id)
    assert (seen.recipient_name, seen.recipient_phone) == ("김영자", "01022223333")


async def test_no_address_or_phone_reaches_the_ledger(app: App, c: Cast) -> None:
    async with app.db.unit_of_work() as uow:
        (home,) = await addresses.list_for(uow, c.shopper)
        await addresses.set_recipient(uow, c.shopper, home.id, name="김영자", phone="010-2222-3333")
        await uow.commit()
    await fill_cart(app, c, c.shopper)
    order = await pay(app, c, c.shopper)
    async with app.db.snapshot() as snap:
        entries = b"".join(bytes(r[0]) for r in await snap.fetch("SELECT entry FROM ledger_entries"))
        shopper = await members.get(snap, c.shopper)
    assert shopper.phone
    for secret in ("매산로", "1203호", "김영자", "01022223333", "2222-3333", shopper.phone):
        assert secret.encode() not in entries, secret
    assert home.ref.encode() in entries and str(order.id).encode() in entries  # the reference is there


# ---------------------------------------------------------------------------------- the job board


async def test_the_board_pages_by_five_nearest_window_first_in_the_couriers_area(app: App, c: Cast) -> None:
    async with app.db.unit_of_work() as uow:
        await catalog.update_stock(app.services, uow, c.producer, c.product, stock=100)
        await uow.commit()
    buyers = [await new_shopper(app, f"손님{i}", with_address=True) for i in range(7)]
    shop = await _shop(app, c)
    tomorrow = fulfilment.offered_windows(shop, TEN_AM)[1]
    paid = []
    for i, buyer in enumerate(buyers):
        await fill_cart(app, c, buyer)
        if i % 2:  # every other order for tomorrow: today's come first whatever their number
            async with app.db.unit_of_work() as uow:
                await fulfilment.choose_window(app.services, uow, buyer, shop, tomorrow)
                await uow.commit()
        paid.append(await pay(app, c, buyer))
    async with app.db.snapshot() as snap:
        first = await delivery_queries.board(snap, area="수원시", page=0)
        second = await delivery_queries.board(snap, area="수원시", page=1)
        elsewhere = await delivery_queries.board(snap, area="서울 마포구")
    assert len(first.jobs) == 5 and first.has_next and len(second.jobs) == 2 and not second.has_next
    listed = [j.order_id for j in first.jobs + second.jobs]
    today = [o.id for i, o in enumerate(paid) if i % 2 == 0]
    later = [o.id for i, o in enumerate(paid) if i % 2]
    assert listed == sorted(today, reverse=True) + sorted(later, reverse=True)
    assert elsewhere.jobs == ()


async def test_two_couriers_taking_one_job_one_wins_and_the_other_is_told(app: App, c: Cast) -> None:
    await fill_cart(app, c, c.shopper)
    order = await pay(app, c, c.shopper)
    rival = await new_courier(app, c, "c3")

    async def take(courier: int) -> str:
        try:
            async with app.db.unit_of_work() as uow:
                await delivery.take_job(app.services, uow, courier, order.id)
                await uow.commit()
        except AlreadyTaken as exc:
            return exc.code
        return "taken"

    outcomes = await asyncio.gather(take(c.courier), take(rival.id))
    assert sorted(outcomes) == ["already_taken", "taken"]


# --------------------------------------------------------------------------------------- erasing


async def test_addresses_are_erased_after_the_claim_window_but_not_while_a_claim_is_open(app: App, c: Cast) -> None:
    async with app.db.unit_of_work() as uow:
        await catalog.update_stock(app.services, uow, c.producer, c.product, stock=100)
        await uow.commit()
    delivered = []
    for _ in range(2):
        await fill_cart(app, c, c.shopper)
        order = await pay(app, c, c.shopper)
        async with app.db.unit_of_work() as uow:
            await delivery.take_job(app.services, uow, c.courier, order.id)
            await delivery.confirm_pickup(app.services, uow, c.courier, order.id)
            code = await delivery_queries.delivery_code(uow, c.shopper, order.id)
            await delivery.confirm_delivery(app.services, uow, c.courier, order.id, code)
            await uow.commit()
        delivered.append(order.id)
    async with app.db.unit_of_work() as uow:
        await claims.open_claim(app.services, uow, c.shopper, delivered[1], kind="damaged", text="상자가 젖었어요")
        await uow.commit()
    await fill_cart(app, c, c.shopper)
    cancelled = await pay(app, c, c.shopper)
    async with app.db.unit_of_work() as uow:
        await orders.cancel_order(app.services, uow, c.shopper, cancelled.id)
        await uow.commit()

    report = await housekeeping(app.services, app.db)
    assert report.addresses_erased == 1  # the cancelled order's, at once
    app.services.clock = lambda: TEN_AM + 8 * DAY  # past the 7-day claim window
    report = await housekeeping(app.services, app.db)
    assert report.addresses_erased == 1  # the first delivered order; the one with an open claim stays
    async with app.db.snapshot() as snap:
        rows = {
            int(r[0]): (str(r[1]), r[2] is not None)
            for r in await snap.fetch("SELECT order_id, text, erased_ms FROM order_addresses")
        }
        kept = await fulfilment.for_order(snap, c.producer, delivered[1])
    assert rows[delivered[0]] == ("", True) and rows[cancelled.id] == ("", True)
    assert rows[delivered[1]] == (HOME, False) and kept.full().startswith(HOME)


def _ms(day: dt.datetime, hour: int) -> int:
    return int((day + dt.timedelta(hours=hour)).timestamp() * 1000)


async def _shop(app: App, c: Cast) -> Shop:
    async with app.db.snapshot() as snap:
        return await shops.get(snap, c.shop)
