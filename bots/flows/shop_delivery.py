"""The shop's side of where orders go: where each order goes (on the order card), handing a collected
order over with the buyer's code, and the shop's opening hours, delivery windows and pickup.

::

    pod:<order> (bots.flows.producer.orders) ─ 🤝 손님께 드렸어요 → pho:<order> → shop.handover (6 digits) → done
    더보기 ─ 🕐 영업·배달 시간 → pt ─┬─ ⏰ → pth:<preset>
                                   ├─ 🛵 → ptw:<preset>  (영업 시간 동안 한 번 | 오전·오후 | 오전·점심·저녁)
                                   └─ 🏪/🚫 → ptp:1|0

Producers pick presets; nothing here needs typing but the buyer's code. A wrong code counts, as at a
courier's door: three locks the order until the market office looks at it.
"""

from __future__ import annotations

import re

from bots.context import Ctx
from bots.flows import checkout, payload
from bots.messages import Button, Screen
from bots.router import Router
from commerce.delivery import fulfilment, windows
from commerce.delivery import service as delivery
from commerce.errors import UnknownOrder
from commerce.orders import queries as order_queries
from commerce.orders.rows import Order
from commerce.shops import service as shops
from commerce.shops.rows import Shop


async def destination_lines(ctx: Ctx, order: Order) -> list[str]:
    """Where a shop's order goes, for the shop's own order card (the shop may see it; nobody else)."""
    if order.pickup_at is not None:
        place = ctx.t(f"delivery.pickup.{order.pickup_at}_button")
        return [ctx.t("courier.job.shopper_collects", place=place)]
    where = await fulfilment.for_order(ctx.uow, ctx.member.id, order.id)
    lines = []
    if order.window_start_ms is not None and order.window_end_ms is not None:
        window = windows.Window(order.window_start_ms, order.window_end_ms)
        lines.append(ctx.t("delivery.confirm.window", window=checkout.window_text(ctx, window)))
    if where.text:
        lines.append(
            ctx.t("courier.job.address", address=where.full(), name=where.recipient_name, phone=where.recipient_phone)
        )
    return lines


def handover_row(ctx: Ctx, order: Order) -> list[Button]:
    if order.pickup_at is not None and order.state in ("paid", "accepted"):
        return [ctx.button("handover.button", f"pho:{order.id}")]
    return []


async def shop_order(ctx: Ctx, order_id: int | None) -> Order | None:
    """An order of the member's own shop, or None (an old button, another shop's order, none at all)."""
    shop = await shops.owned_by(ctx.uow, ctx.member.id)
    if order_id is None or shop is None:
        return None
    try:
        order = await order_queries.get(ctx.uow, order_id)
    except UnknownOrder:
        return None
    return order if order.shop_id == shop.id else None


async def handover(ctx: Ctx, args: list[str]) -> Screen:
    order = await shop_order(ctx, payload.number(args, 0))
    if order is None:
        ctx.go()
        return ctx.say(ctx.t("work.stale"), [ctx.button("home.work.producer", "ps")])
    ctx.go("shop.handover", order=order.id)
    return ctx.say(ctx.t("handover.ask", id=order.id), [ctx.button("producer.order.list", "po")], expects="code")


async def handover_code(ctx: Ctx, args: list[str]) -> Screen:
    order_id = ctx.data.get("order")
    if not isinstance(order_id, int):
        ctx.go()
        return ctx.say(ctx.t("work.stale"), [ctx.button("home.work.producer", "ps")])
    code = re.sub(r"[\s-]", "", args[0] if args else "")
    if not (len(code) == 6 and code.isdigit()):
        return ctx.say(ctx.t("courier.deliver.not_code") + "\n" + ctx.t("handover.ask", id=order_id), expects="code")
    outcome = await delivery.hand_over(ctx.services, ctx.uow, ctx.member.id, order_id, code)
    if outcome.ok:
        ctx.go()
        return ctx.say(ctx.t("handover.done", id=order_id), [ctx.button("producer.order.list", "po")])
    if outcome.locked:
        ctx.go()
        return ctx.say(
            ctx.t("courier.deliver.locked", phone=ctx.config.office_phone),
            [Button(ctx.t("work.call_office"), phone=ctx.config.office_phone)],
        )
    return ctx.say(
        ctx.t("handover.wrong", left=outcome.attempts_left), [ctx.button("producer.order.list", "po")], expects="code"
    )


# --------------------------------------------------------------------------------- the shop's terms

WINDOW_PRESETS = tuple(windows.PRESETS)  # hours | halves | thirds


def _windows_text(ctx: Ctx, shop: Shop) -> str:
    for name, value in windows.PRESETS.items():
        if value == shop.windows:
            return ctx.t(f"terms.windows.{name}")
    return shop.windows


async def terms(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    shop = await shops.owned_by(ctx.uow, ctx.member.id)
    if shop is None:
        return ctx.say(ctx.t("producer.home.no_shop"), [ctx.button("producer.home.register", "psn")])
    text = ctx.t(
        "terms.title",
        shop=shop.name,
        hours=shop.hours,
        windows=_windows_text(ctx, shop),
        pickup=ctx.t("terms.yes" if shop.pickup else "terms.no"),
    )
    toggle = ctx.button("terms.pickup_off", "ptp:0") if shop.pickup else ctx.button("terms.pickup_on", "ptp:1")
    return ctx.say(
        text,
        [ctx.button("terms.hours", "pth")],
        [ctx.button("terms.windows", "ptw")],
        [toggle],
        [ctx.button("home.work.producer", "ps")],
    )


async def _set(ctx: Ctx, **change: object) -> Screen:
    shop = await shops.owned_by(ctx.uow, ctx.member.id)
    if shop is None:
        return await terms(ctx, [])
    await shops.set_terms(ctx.services, ctx.uow, ctx.member.id, shop.id, **change)  # type: ignore[arg-type]
    screen = await terms(ctx, [])
    first = screen.replies[0]
    saved = type(first)(ctx.t("terms.saved") + "\n" + first.text, first.title, first.image_url, first.buttons)
    return Screen((saved,), screen.menu, screen.expects, screen.lang)


async def hours(ctx: Ctx, args: list[str]) -> Screen:
    index = payload.number(args, 0)
    if index is not None and index < len(windows.HOURS_PRESETS):
        return await _set(ctx, hours=windows.HOURS_PRESETS[index])
    rows = [[Button(h, payload=f"pth:{i}")] for i, h in enumerate(windows.HOURS_PRESETS)]
    return ctx.say(ctx.t("terms.choose_hours"), *rows, [ctx.button("terms.button", "pt")])


async def delivery_windows(ctx: Ctx, args: list[str]) -> Screen:
    index = payload.number(args, 0)
    if index is not None and index < len(WINDOW_PRESETS):
        return await _set(ctx, delivery_windows=windows.PRESETS[WINDOW_PRESETS[index]])
    rows = [[ctx.button(f"terms.windows.{name}", f"ptw:{i}")] for i, name in enumerate(WINDOW_PRESETS)]
    return ctx.say(ctx.t("terms.choose_windows"), *rows, [ctx.button("terms.button", "pt")])


async def pickup(ctx: Ctx, args: list[str]) -> Screen:
    return await _set(ctx, pickup=payload.number(args, 0) == 1)


def register(router: Router) -> None:
    router.on("pho", handover, writes=False)
    router.on("pt", terms, writes=False)
    for verb, handler in (("pth", hours), ("ptw", delivery_windows), ("ptp", pickup)):
        router.on(verb, handler, writes=True)
    router.waiting("shop.handover", handover_code, writes=True)
