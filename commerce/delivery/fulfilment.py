"""Where an order goes: delivered to one of the buyer's addresses in a window, or collected at the shop
or at the market office — chosen on the confirmation screen, before paying.

The choice for a cart is kept in ``cart_choices`` until the cart becomes an order; with nothing chosen,
the address used last that the shop delivers to is preselected, with the first window offered. When the
order is placed its address is copied into ``order_addresses`` (with who receives there and their phone),
which only the buyer, the shop's owner and the assigned courier can read (``for_order``). The ledger's
``order.place`` carries only the address reference (a salted hash), the pickup place and the window.

The copy is erased (``erase_finished``) once no claim can be opened any more: ``claim_window_days``
after delivery, at once for a cancelled order, never while a claim is open. A/S claims, open for a year,
do not need the old address: a replacement goes where the buyer says then.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from commerce import schema
from commerce.delivery import addresses, windows
from commerce.delivery.errors import OutsideDeliveryArea, PickupUnavailable, UnknownAddress
from commerce.delivery.rows import CART_CHOICE_COLUMNS, Address, CartChoice
from commerce.delivery.windows import Window
from commerce.errors import NotAllowed, UnknownOrder
from commerce.members.rows import Member
from commerce.services import Services
from commerce.shops.rows import Shop
from commerce.statements import Query, param
from ledger.storage.ops import Op, Row, write
from ledger.storage.unit_of_work import UnitOfWork

PICKUP_PLACES = ("shop", "office")
DAY_MS = 86_400_000
_choices, _orders, _shops, _deliveries = schema.cart_choices, schema.orders, schema.shops, schema.deliveries
_copies = schema.order_addresses
CHOICE = Query(
    select(*(_choices.c[name] for name in CART_CHOICE_COLUMNS)).where(
        _choices.c.member_id == param("m"), _choices.c.shop_id == param("s")
    )
)
# Who may see where an order goes (its buyer, its shop's owner, its courier), and when it goes.
PARTIES = Query(
    select(
        _orders.c.buyer_id,
        _shops.c.owner_id,
        _deliveries.c.courier_id,
        _orders.c.pickup_at,
        _orders.c.window_start_ms,
        _orders.c.window_end_ms,
    )
    .select_from(
        _orders.join(_shops, _shops.c.id == _orders.c.shop_id).outerjoin(
            _deliveries, _deliveries.c.order_id == _orders.c.id
        )
    )
    .where(_orders.c.id == param("o"))
)
ORDER_ADDRESS = Query(select(_copies).where(_copies.c.order_id == param("o")))


@dataclass(frozen=True, slots=True)
class Choice:
    """An address and a window, or a pickup place (``shop`` | ``office``) — or, before the member has
    any address, neither (``needs_address``)."""

    address: Address | None = None
    window: Window | None = None
    pickup_at: str | None = None

    @property
    def is_pickup(self) -> bool:
        return self.pickup_at is not None

    @property
    def needs_address(self) -> bool:
        return self.pickup_at is None and self.address is None

    def fee(self, shop: Shop) -> int:
        return 0 if self.is_pickup else shop.delivery_fee

    def key(self) -> str:
        """What the buyer saw, in a few characters: part of the confirmation's nonce."""
        if self.pickup_at is not None:
            return f"pickup:{self.pickup_at}"
        window = f"{self.window.start_ms}-{self.window.end_ms}" if self.window else ""
        return f"address:{self.address.id if self.address else ''}:{window}"


@dataclass(frozen=True, slots=True)
class Destination:
    """One order's destination as its shop and courier see it."""

    order_id: int
    pickup_at: str | None
    window: Window | None
    label: str
    text: str
    detail: str
    recipient_name: str
    recipient_phone: str
    location: tuple[float, float] | None
    erased: bool

    def full(self) -> str:
        return f"{self.text} {self.detail}".strip()


def reads(member_id: int, shop_id: int) -> list[Op]:
    """The reads ``resolve`` needs, to go in the caller's batch: the stored choice, the address book."""
    return [CHOICE.read({"m": member_id, "s": shop_id}), addresses.BOOK.read({"m": member_id})]


def _stored(rows: list[Row]) -> CartChoice | None:
    return CartChoice.from_row(CHOICE.named(rows)[0]) if rows else None


def pickup_places(shop: Shop) -> tuple[str, ...]:
    """Where this shop's buyers may collect: the shop if it says so; the market office for shops in a market."""
    return tuple(p for p in PICKUP_PLACES if (p == "shop" and shop.pickup) or (p == "office" and shop.market))


def offered_windows(shop: Shop, now_ms: int) -> list[Window]:
    return windows.offered(shop.hours, shop.windows, now_ms)


def resolve(
    shop: Shop,
    choice_rows: list[Row],
    address_rows: list[Row],
    now_ms: int,
    *,
    address_id: int | None = None,
    pickup_at: str | None = None,
    window: Window | None = None,
) -> Choice:
    """The choice an order would be placed with: what the caller names, else what the member chose for
    this cart, else the preselection. Refuses, before anything is paid, an address that is not the
    member's or outside the shop's areas, a pickup the shop does not offer, a window named by the
    caller that is past or not offered (a stored window gone stale is replaced by the first one).

    ``choice_rows`` and ``address_rows`` are what ``reads`` returned."""
    stored = _stored(choice_rows)
    if pickup_at is None and address_id is None and stored is not None:
        pickup_at, address_id = stored.pickup_at, stored.address_id
    if pickup_at is not None:
        if pickup_at not in pickup_places(shop):
            raise PickupUnavailable(f"{shop.name} has no pickup at {pickup_at}", shop=shop.id, place=pickup_at)
        return Choice(pickup_at=pickup_at)
    book = [Address.from_row(row) for row in addresses.BOOK.named(address_rows)]
    if address_id is not None:
        chosen = next((a for a in book if a.id == address_id), None)
        if chosen is None:
            raise UnknownAddress("not one of the member's addresses", address=address_id)
    else:  # preselected: the one used last that the shop serves (none: ask where, as for a new member)
        chosen = next((a for a in book if shop.delivers_to(a.region)), None)
    if chosen is None:
        return Choice()
    if not shop.delivers_to(chosen.region):
        raise OutsideDeliveryArea(
            f"{shop.name} does not deliver to {chosen.region}",
            shop=shop.id,
            region=chosen.region,
            areas=list(shop.areas),
        )
    offered = offered_windows(shop, now_ms)
    if window is not None:
        window = windows.check(shop.hours, shop.windows, window, now_ms)
    elif stored is not None and stored.window in offered:
        window = stored.window
    else:
        window = offered[0] if offered else None
    return Choice(address=chosen, window=window)


async def current(market: Services, uow: UnitOfWork, member_id: int, shop: Shop) -> Choice:
    """The choice the confirmation shows for the member's cart at ``shop``."""
    choice_rows, address_rows = await uow.batch(reads(member_id, shop.id))
    try:
        return resolve(shop, choice_rows, address_rows, market.clock())
    except (OutsideDeliveryArea, PickupUnavailable, UnknownAddress):
        # What was chosen no longer holds (the shop changed its terms, the address was removed):
        # forget it and show the preselection instead.
        await _forget(uow, member_id, shop.id)
        return resolve(shop, [], address_rows, market.clock())


async def _forget(uow: UnitOfWork, member_id: int, shop_id: int) -> None:
    await uow.execute("DELETE FROM cart_choices WHERE member_id = :m AND shop_id = :s", {"m": member_id, "s": shop_id})


async def _store(market: Services, uow: UnitOfWork, member_id: int, shop_id: int, choice: Choice) -> None:
    await uow.execute(
        "INSERT INTO cart_choices (member_id, shop_id, address_id, pickup_at, window_start_ms, window_end_ms, "
        "updated_ms) VALUES (:m, :s, :a, :p, :ws, :we, :now) ON CONFLICT (member_id, shop_id) DO UPDATE SET "
        "address_id = excluded.address_id, pickup_at = excluded.pickup_at, window_start_ms = excluded.window_start_ms, "
        "window_end_ms = excluded.window_end_ms, updated_ms = excluded.updated_ms",
        {
            "m": member_id,
            "s": shop_id,
            "a": choice.address.id if choice.address else None,
            "p": choice.pickup_at,
            "ws": choice.window.start_ms if choice.window else None,
            "we": choice.window.end_ms if choice.window else None,
            "now": market.clock(),
        },
    )


async def choose_address(market: Services, uow: UnitOfWork, member_id: int, shop: Shop, address_id: int) -> Choice:
    """Deliver this cart to one of the member's addresses (refused if the shop does not serve it)."""
    choice_rows, address_rows = await uow.batch(reads(member_id, shop.id))
    choice = resolve(shop, choice_rows, address_rows, market.clock(), address_id=address_id)
    await _store(market, uow, member_id, shop.id, choice)
    return choice


async def choose_window(market: Services, uow: UnitOfWork, member_id: int, shop: Shop, window: Window) -> Choice:
    """Deliver in this window (refused when past or not one the shop offers)."""
    choice_rows, address_rows = await uow.batch(reads(member_id, shop.id))
    choice = resolve(shop, choice_rows, address_rows, market.clock(), window=window)
    await _store(market, uow, member_id, shop.id, choice)
    return choice


async def choose_pickup(market: Services, uow: UnitOfWork, member_id: int, shop: Shop, place: str) -> Choice:
    choice = resolve(shop, [], [], market.clock(), pickup_at=place)
    await _store(market, uow, member_id, shop.id, choice)
    return choice


async def repeat(market: Services, uow: UnitOfWork, member_id: int, shop: Shop, previous: Choice) -> Choice:
    """지난번처럼: the previous order's place again — its pickup, or its address in the same time of day
    on the next day that has it — where that still holds; the preselection otherwise."""
    choice_rows, address_rows = await uow.batch(reads(member_id, shop.id))
    window = None
    if previous.window is not None:
        same = (previous.window.starts().time(), previous.window.ends().time())
        offered = offered_windows(shop, market.clock())
        window = next((w for w in offered if (w.starts().time(), w.ends().time()) == same), None)
    try:
        choice = resolve(
            shop,
            [],
            address_rows,
            market.clock(),
            address_id=previous.address.id if previous.address else None,
            pickup_at=previous.pickup_at,
            window=window,
        )
    except (OutsideDeliveryArea, PickupUnavailable, UnknownAddress):
        choice = resolve(shop, choice_rows, address_rows, market.clock())
    await _store(market, uow, member_id, shop.id, choice)
    return choice


def placement_writes(market: Services, order_id: int, member: Member, shop_id: int, choice: Choice) -> list[Op]:
    """The order's copy of its destination, the address marked as used last, the cart's choice gone."""
    ops = [write("DELETE FROM cart_choices WHERE member_id = :m AND shop_id = :s", {"m": member.id, "s": shop_id})]
    address = choice.address
    if address is None:
        return ops
    return [
        *ops,
        write(
            "INSERT INTO order_addresses (order_id, label, text, detail, recipient_name, recipient_phone, lat_e6, "
            "lon_e6) VALUES (:o, :l, :t, :d, :n, :p, :lat, :lon)",
            {
                "o": order_id,
                "l": address.label,
                "t": address.text,
                "d": address.detail,
                "n": address.recipient_name or member.display_name,
                "p": address.recipient_phone or member.phone or "",
                "lat": address.lat_e6,
                "lon": address.lon_e6,
            },
        ),
        write("UPDATE addresses SET used_ms = :now WHERE id = :a", {"now": market.clock(), "a": address.id}),
    ]


async def for_order(uow: UnitOfWork, viewer_id: int, order_id: int) -> Destination:
    """Where the order goes — for its buyer, its shop's owner and its assigned courier only."""
    rows, addr = await uow.batch([PARTIES.read({"o": order_id}), ORDER_ADDRESS.read({"o": order_id})])
    if not rows:
        raise UnknownOrder(f"no order {order_id}", order=order_id)
    order = PARTIES.named(rows)[0]
    if viewer_id not in (order["buyer_id"], order["owner_id"], order["courier_id"]):
        raise NotAllowed("only the order's buyer, shop and courier see where it goes", order=order_id)
    start, end = order["window_start_ms"], order["window_end_ms"]
    window = Window(start, end) if start is not None and end is not None else None
    if not addr:
        return Destination(order_id, order["pickup_at"], window, "", "", "", "", "", None, False)
    copy = ORDER_ADDRESS.named(addr)[0]
    lat, lon = copy["lat_e6"], copy["lon_e6"]
    return Destination(
        order_id,
        None,
        window,
        copy["label"],
        copy["text"],
        copy["detail"],
        copy["recipient_name"],
        copy["recipient_phone"],
        (lat / 1e6, lon / 1e6) if lat is not None and lon is not None else None,
        copy["erased_ms"] is not None,
    )


async def erase_finished(market: Services, uow: UnitOfWork, *, limit: int = 1000) -> int:
    """Erase the address copies of orders no claim can be opened for any more; returns how many."""
    from commerce.orders.settlement import OPEN_CLAIM_STATES

    now = market.clock()
    cut = now - market.rules.claim_window_days * DAY_MS
    states = ", ".join(f"'{s}'" for s in OPEN_CLAIM_STATES)
    rows = await uow.fetch(
        "UPDATE order_addresses SET text = '', detail = '', recipient_name = '', recipient_phone = '', "
        "lat_e6 = NULL, lon_e6 = NULL, erased_ms = :now WHERE erased_ms IS NULL AND order_id IN ("
        "SELECT o.id FROM orders o WHERE (o.state = 'cancelled' OR (o.state IN ('delivered', 'confirmed', "
        "'settled', 'refunded') AND COALESCE(o.delivered_ms, o.updated_ms) < :cut)) "
        f"AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.order_id = o.id AND c.status IN ({states})) "
        "ORDER BY o.id LIMIT :n) RETURNING order_id",
        {"now": now, "cut": cut, "n": limit},
    )
    return len(rows)
