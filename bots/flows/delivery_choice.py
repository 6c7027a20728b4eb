"""Where the order goes, changed from the confirmation: a saved address, a new one, who receives there,
the delivery window, or collecting it at the shop or the market office. Every path ends back on the
confirmation (``checkout.confirmation``), which shows the whole choice with the won breakdown.

::

    confirmation ─받는 곳·시간 바꾸기→ dst:<shop> ─┬─ 🏠 a saved address ─→ dsa:<shop>:<address>
                                                  ├─ ➕ 다른 주소 → dso (the rest, ➕ 새 주소, 🗑 when full)
                                                  ├─ 🕐 도착 시간 → dwin → dw:<shop>:<start min>:<end min>
                                                  ├─ 👤 받는 분 → addr.recipient (typed "이름 010-…")
                                                  ├─ 🚪 동·호수 (a shared location has none) → addr.detail
                                                  └─ 🏪 / 🏢 찾아갈게요 → dpk:<shop>:s|o
    dnew:<shop> → addr.new: a location (Telegram) is saved at once; typed text is read back in full
                  → dsv:<shop>:<label> saves it under the label tapped (집, 딸네 집, …) | ✏️ 다시

Nothing is saved from typing before the member has seen it read back; a refusal (no 시/군/구, too long,
outside the shop's areas) changes nothing and says what to type instead.
"""

from __future__ import annotations

from bots.context import Ctx
from bots.flows import checkout, payload
from bots.flows.home import home
from bots.messages import Button, Screen
from bots.router import Router
from commerce.delivery import addresses, fulfilment
from commerce.delivery.errors import OutsideDeliveryArea
from commerce.delivery.rows import Address
from commerce.delivery.windows import Window
from commerce.shops import service as shops

SHOWN = 3  # saved addresses on the first screen; the rest behind "다른 주소"
MINUTE_MS = 60_000


def _shop_id(ctx: Ctx, args: list[str]) -> int:
    return payload.required(args[0] if args else "", "shop")


def _labels(ctx: Ctx, used: set[str]) -> list[str]:
    free = [label for label in ctx.t("delivery.address.labels").split(",") if label not in used]
    return free or [f"{ctx.t('delivery.address.labels').split(',')[0]} {len(used) + 1}"]


def _short(address: Address) -> str:
    text = address.full()
    return text if len(text) <= 18 else text[:17] + "…"


async def change(ctx: Ctx, args: list[str]) -> Screen:
    """받는 곳·시간 바꾸기: the saved addresses, the window, who receives, collecting."""
    shop = await shops.get(ctx.uow, _shop_id(ctx, args))
    choice = await fulfilment.current(ctx.services, ctx.uow, ctx.member.id, shop)
    book = await addresses.list_for(ctx.uow, ctx.member.id)
    current = checkout.destination_lines(ctx, shop, choice)[0]
    rows: list[list[Button]] = []
    if choice.address is not None:
        details = [ctx.button("delivery.choose.window", f"dwin:{shop.id}")]
        details.append(ctx.button("delivery.choose.recipient", f"drc:{shop.id}:{choice.address.id}"))
        rows.append(details)
        if choice.address.location is not None and not choice.address.detail:
            rows.append([ctx.button("delivery.choose.detail", f"ddt:{shop.id}:{choice.address.id}")])
    others = [a for a in book if choice.address is None or a.id != choice.address.id]
    room = 6 - sum(len(r) for r in rows) - 2  # keep "다른 주소" and "주문 확인으로"
    room -= len(fulfilment.pickup_places(shop)) if not choice.is_pickup else 0
    rows += [
        [ctx.button("delivery.choose.saved", f"dsa:{shop.id}:{a.id}", label=a.label, address=_short(a))]
        for a in others[:room]
    ]
    rows.append([ctx.button("delivery.choose.other", f"dso:{shop.id}")])
    if not choice.is_pickup:
        rows += [
            [ctx.button(f"delivery.pickup.{place}_button", f"dpk:{shop.id}:{place[0]}")]
            for place in fulfilment.pickup_places(shop)
        ]
    rows.append([ctx.button("delivery.choose.back", f"pay:{shop.id}")])
    return ctx.say(ctx.t("delivery.choose.title", current=current), *rows)


async def choose(ctx: Ctx, args: list[str]) -> Screen:
    shop = await shops.get(ctx.uow, _shop_id(ctx, args))
    address_id = payload.required(args[1] if len(args) > 1 else "", "address")
    await fulfilment.choose_address(ctx.services, ctx.uow, ctx.member.id, shop, address_id)
    return await checkout.confirmation(ctx, [str(shop.id)])


async def others(ctx: Ctx, args: list[str]) -> Screen:
    """Every saved address (five at most) and a new one; when the book is full, a way to make room."""
    shop_id = _shop_id(ctx, args)
    book = await addresses.list_for(ctx.uow, ctx.member.id)
    rows = [
        [ctx.button("delivery.choose.saved", f"dsa:{shop_id}:{a.id}", label=a.label, address=_short(a))] for a in book
    ]
    if len(book) < addresses.MAX_ADDRESSES:
        rows.append([ctx.button("delivery.more.new", f"dnew:{shop_id}")])
        text = ctx.t("delivery.more.title", max=addresses.MAX_ADDRESSES)
    else:
        rows = [*rows[:4], [ctx.button("delivery.more.remove", f"drm:{shop_id}:{book[-1].id}", label=book[-1].label)]]
        text = ctx.t("delivery.more.book_full", max=addresses.MAX_ADDRESSES)
    rows.append([ctx.button("delivery.choose.back", f"pay:{shop_id}")])
    return ctx.say(text, *rows)


async def remove(ctx: Ctx, args: list[str]) -> Screen:
    shop_id = _shop_id(ctx, args)
    found = await addresses.get_own(ctx.uow, ctx.member.id, payload.required(args[1] if len(args) > 1 else ""))
    await addresses.remove(ctx.uow, ctx.member.id, found.id)
    screen = await others(ctx, [str(shop_id)])
    return _with_note(screen, ctx.t("delivery.more.removed", label=found.label))


def _with_note(screen: Screen, note: str) -> Screen:
    first = screen.replies[0]
    replies = (
        type(first)(note + "\n\n" + first.text, first.title, first.image_url, first.buttons),
        *screen.replies[1:],
    )
    return Screen(replies, screen.menu, screen.expects, screen.lang)


async def new(ctx: Ctx, args: list[str]) -> Screen:
    """A new address: typed (every channel) or, on Telegram, the location button."""
    shop = await shops.get(ctx.uow, _shop_id(ctx, args))
    ctx.go("addr.new", shop=shop.id)
    if ctx.msg.channel == "telegram":
        text = (
            ctx.t("delivery.address.ask_location", button=ctx.t("delivery.address.share_location"))
            + "\n\n"
            + ctx.t("delivery.address.ask_typed")
        )
        location = [Button(ctx.t("delivery.address.share_location"), share_location=True)]
        return ctx.say(text, location, [ctx.button("delivery.choose.back", f"pay:{shop.id}")], expects="text")
    return ctx.say(
        ctx.t("delivery.address.ask_typed"), [ctx.button("delivery.choose.back", f"pay:{shop.id}")], expects="text"
    )


async def typed_or_shared(ctx: Ctx, args: list[str]) -> Screen:
    """In ``addr.new``: a shared location is saved at once (its district shown on the confirmation);
    typed text is read back in full, with the labels to save it under."""
    shop_id = ctx.data.get("shop")
    if not isinstance(shop_id, int):
        ctx.go()
        return await home(ctx, [])
    shop = await shops.get(ctx.uow, shop_id)
    book = await addresses.list_for(ctx.uow, ctx.member.id)
    label = _labels(ctx, {a.label for a in book})[0]
    if ctx.msg.location is not None:
        latitude, longitude = ctx.msg.location
        region = addresses.region_of_location(latitude, longitude)
        saved = await addresses.add_location(
            ctx.services,
            ctx.uow,
            ctx.member.id,
            label=label,
            latitude=latitude,
            longitude=longitude,
            text=ctx.t("delivery.address.location_text", region=region),
        )
        await fulfilment.choose_address(ctx.services, ctx.uow, ctx.member.id, shop, saved.id)
        ctx.go()
        return await checkout.confirmation(
            ctx, [str(shop.id)], note=ctx.t("delivery.address.location_saved", region=region, label=label)
        )
    street, detail = addresses.split_typed(args[0] if args else "")
    clean, region = addresses.check_text(street)  # refused before anything is saved
    if not shop.delivers_to(region):
        raise OutsideDeliveryArea("outside the shop's areas", shop=shop.id, region=region, areas=list(shop.areas))
    ctx.go("addr.readback", shop=shop.id, typed=clean, detail=detail[: addresses.MAX_DETAIL])
    labels = _labels(ctx, {a.label for a in book})[:3]
    rows = [
        [ctx.button("delivery.read_back.save_as", f"dsv:{shop.id}:{i}", label=name)] for i, name in enumerate(labels)
    ]
    rows.append([ctx.button("delivery.read_back.retype", f"dnew:{shop.id}")])
    full = f"{clean} {detail}".strip()
    return ctx.say(ctx.t("delivery.read_back.title", address=full, region=region), *rows, expects="text")


async def save(ctx: Ctx, args: list[str]) -> Screen:
    """The read-back address is right: save it under the label tapped and deliver this cart there."""
    shop_id = _shop_id(ctx, args)
    typed, detail = ctx.data.get("typed"), ctx.data.get("detail", "")
    if ctx.state != "addr.readback" or not isinstance(typed, str) or ctx.data.get("shop") != shop_id:
        return await new(ctx, [str(shop_id)])  # an old button: ask again rather than guess
    book = await addresses.list_for(ctx.uow, ctx.member.id)
    labels = _labels(ctx, {a.label for a in book})
    index = payload.number(args, 1) or 0
    label = labels[index] if index < len(labels) else labels[0]
    saved = await addresses.add(ctx.services, ctx.uow, ctx.member.id, label=label, text=typed, detail=str(detail))
    shop = await shops.get(ctx.uow, shop_id)
    await fulfilment.choose_address(ctx.services, ctx.uow, ctx.member.id, shop, saved.id)
    ctx.go()
    return await checkout.confirmation(ctx, [str(shop_id)], note=ctx.t("delivery.read_back.saved", label=label))


async def typed_in_readback(ctx: Ctx, args: list[str]) -> Screen:
    """Typing again while the read-back waits: a corrected address, read back anew."""
    ctx.state = "addr.new"
    return await typed_or_shared(ctx, args)


async def windows_list(ctx: Ctx, args: list[str]) -> Screen:
    shop = await shops.get(ctx.uow, _shop_id(ctx, args))
    offered = fulfilment.offered_windows(shop, ctx.services.clock())[:5]
    rows = [
        [
            ctx.button(
                "delivery.windows.item",
                f"dw:{shop.id}:{w.start_ms // MINUTE_MS}:{w.end_ms // MINUTE_MS}",
                window=checkout.window_text(ctx, w),
            )
        ]
        for w in offered
    ]
    rows.append([ctx.button("delivery.choose.back", f"pay:{shop.id}")])
    return ctx.say(ctx.t("delivery.windows.title", shop=shop.name), *rows)


async def choose_window(ctx: Ctx, args: list[str]) -> Screen:
    shop = await shops.get(ctx.uow, _shop_id(ctx, args))
    start, end = payload.number(args, 1), payload.number(args, 2)
    if start is None or end is None:
        return await windows_list(ctx, [str(shop.id)])
    window = Window(start * MINUTE_MS, end * MINUTE_MS)
    await fulfilment.choose_window(ctx.services, ctx.uow, ctx.member.id, shop, window)
    return await checkout.confirmation(ctx, [str(shop.id)])


async def pickup(ctx: Ctx, args: list[str]) -> Screen:
    shop = await shops.get(ctx.uow, _shop_id(ctx, args))
    place = {"s": "shop", "o": "office"}.get(args[1] if len(args) > 1 else "", "")
    await fulfilment.choose_pickup(ctx.services, ctx.uow, ctx.member.id, shop, place)
    ctx.go()
    return await checkout.confirmation(ctx, [str(shop.id)])


async def recipient(ctx: Ctx, args: list[str]) -> Screen:
    """받는 분 바꾸기: typed "이름 010-…", or back to the member themself."""
    shop_id = _shop_id(ctx, args)
    address = await addresses.get_own(ctx.uow, ctx.member.id, payload.required(args[1] if len(args) > 1 else ""))
    if len(args) > 2 and args[2] == "me":
        await addresses.set_recipient(ctx.uow, ctx.member.id, address.id, name=None, phone=None)
        ctx.go()
        return await checkout.confirmation(ctx, [str(shop_id)])
    ctx.go("addr.recipient", shop=shop_id, address=address.id)
    rows = [
        [ctx.button("delivery.recipient.me", f"drc:{shop_id}:{address.id}:me")],
        [ctx.button("delivery.choose.back", f"pay:{shop_id}")],
    ]
    return ctx.say(ctx.t("delivery.recipient.ask"), *rows, expects="text")


async def recipient_typed(ctx: Ctx, args: list[str]) -> Screen:
    shop_id, address_id = ctx.data.get("shop"), ctx.data.get("address")
    if not isinstance(shop_id, int) or not isinstance(address_id, int):
        ctx.go()
        return await home(ctx, [])
    name, phone = addresses.parse_recipient(args[0] if args else "")
    await addresses.set_recipient(ctx.uow, ctx.member.id, address_id, name=name, phone=phone)
    ctx.go()
    return await checkout.confirmation(ctx, [str(shop_id)], note=ctx.t("delivery.recipient.saved", name=name))


async def detail(ctx: Ctx, args: list[str]) -> Screen:
    shop_id = _shop_id(ctx, args)
    address = await addresses.get_own(ctx.uow, ctx.member.id, payload.required(args[1] if len(args) > 1 else ""))
    ctx.go("addr.detail", shop=shop_id, address=address.id)
    return ctx.say(ctx.t("delivery.detail.ask"), [ctx.button("delivery.choose.back", f"pay:{shop_id}")], expects="text")


async def detail_typed(ctx: Ctx, args: list[str]) -> Screen:
    shop_id, address_id = ctx.data.get("shop"), ctx.data.get("address")
    if not isinstance(shop_id, int) or not isinstance(address_id, int):
        ctx.go()
        return await home(ctx, [])
    await addresses.set_detail(ctx.uow, ctx.member.id, address_id, args[0] if args else "")
    ctx.go()
    return await checkout.confirmation(ctx, [str(shop_id)])


def register(router: Router) -> None:
    for verb, handler in (("dso", others), ("dnew", new), ("dwin", windows_list), ("ddt", detail)):
        router.on(verb, handler, writes=False)
    for verb, handler in (
        ("dst", change),  # the current choice: forgotten when it no longer holds
        ("dsa", choose),
        ("drm", remove),
        ("dsv", save),
        ("dw", choose_window),
        ("dpk", pickup),
        ("drc", recipient),
    ):
        router.on(verb, handler, writes=True)
    router.waiting("addr.new", typed_or_shared, writes=True)
    router.waiting("addr.readback", typed_in_readback, writes=True)
    router.waiting("addr.recipient", recipient_typed, writes=True)
    router.waiting("addr.detail", detail_typed, writes=True)
