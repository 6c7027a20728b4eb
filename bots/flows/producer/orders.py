"""A shop's orders: the list, an order's card (where it goes: ``bots.flows.shop_delivery``), accepting
it, handing its delivery to a courier, or declining it (the buyer gets it all back)::

    po ▶ pod:<order> ▶ pacc ▶ pasg ▶ pasc:<order>:<courier>     pod ▶ pdec ▶ pdecy
"""

from __future__ import annotations

from bots.context import Ctx
from bots.flows import shop_delivery
from bots.flows.producer.home import PAGE, arg_int, my_shop, shop_home, stale
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import won
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.errors import UnknownOrder
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.orders.rows import Order
from ledger.storage.unit_of_work import UnitOfWork


def state_label(ctx: Ctx, state: str) -> str:
    return ctx.t(f"work.state.{state}")


async def couriers_near(uow: UnitOfWork, region: str, *, limit: int = PAGE) -> list[tuple[int, str]]:
    """Couriers a producer can hand a delivery to, those of the shop's region first."""
    return [(m.id, m.display_name) for m in await members.with_role(uow, "courier", region=region, limit=limit)]


async def order_list(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    shop = await my_shop(ctx.uow, ctx.member.id)
    if shop is None or not shop.verified:
        return await shop_home(ctx, [])
    pending = await order_queries.list_for_shop(ctx.uow, shop.id, states=("paid", "accepted"))
    if not pending:
        return ctx.say(ctx.t("producer.orders.empty"), [ctx.button("home.work.producer", "ps")])
    lines = [ctx.t("producer.orders.title")]
    lines += [
        ctx.t("producer.orders.item", id=o.id, total=won(o.total, ctx.lang), state=state_label(ctx, o.state))
        for o in pending[:PAGE]
    ]
    if len(pending) > PAGE:
        lines.append(ctx.t("work.and_more", n=len(pending) - PAGE))
    rows = [[ctx.button("producer.orders.button", f"pod:{o.id}", id=o.id)] for o in pending[:PAGE]]
    return ctx.say("\n".join(lines), *rows)


async def _shop_order(ctx: Ctx, args: list[str]) -> Order | None:
    return await shop_delivery.shop_order(ctx, arg_int(args, 0))


async def order_card(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order = await _shop_order(ctx, args)
    if order is None:
        return await stale(ctx)
    lines = [ctx.t("producer.order.title", id=order.id, state=state_label(ctx, order.state))]
    lines += [
        ctx.t("producer.order.line", name=ln.name, unit=ln.unit, qty=ln.qty, amount=won(ln.amount, ctx.lang))
        for ln in order.lines
    ]
    lines.append(
        ctx.t(
            "producer.order.total",
            subtotal=won(order.subtotal, ctx.lang),
            fee=won(order.delivery_fee, ctx.lang),
            total=won(order.total, ctx.lang),
        )
    )
    try:
        job = await delivery_queries.job(ctx.uow, order.id)
    except UnknownOrder:
        job = None
    if job is not None and order.pickup_at is None:
        lines.append(ctx.t("producer.order.delivery", status=ctx.t(f"work.job.{job.status}")))
    lines += await shop_delivery.destination_lines(ctx, order)
    rows: list[list[Button]] = []
    if order.state == "paid":
        rows.append(
            [
                ctx.button("producer.order.accept", f"pacc:{order.id}"),
                ctx.button("producer.order.decline", f"pdec:{order.id}"),
            ]
        )
    if job is not None and job.status == "open" and order.state in ("paid", "accepted"):
        rows.append([ctx.button("producer.order.assign", f"pasg:{order.id}")])
    rows.append(shop_delivery.handover_row(ctx, order))
    rows.append([ctx.button("producer.order.list", "po")])
    return ctx.say("\n".join(lines), *rows)


async def order_accept(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order = await _shop_order(ctx, args)
    if order is None:
        return await stale(ctx)
    accepted = await orders.accept_order(ctx.services, ctx.uow, ctx.member.id, order.id)
    return ctx.say(
        ctx.t("producer.order.accepted", id=accepted.id),
        [ctx.button("producer.order.assign", f"pasg:{accepted.id}"), ctx.button("producer.assign.leave_open", "po")],
    )


async def order_assign(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order, shop = await _shop_order(ctx, args), await my_shop(ctx.uow, ctx.member.id)
    if order is None or shop is None:
        return await stale(ctx)
    people = await couriers_near(ctx.uow, shop.region)
    if not people:
        return ctx.say(ctx.t("producer.assign.none"), [ctx.button("producer.order.list", "po")])
    rows = [[Button(name, payload=f"pasc:{order.id}:{cid}")] for cid, name in people]
    return ctx.say(ctx.t("producer.assign.ask", id=order.id), *rows, [ctx.button("producer.assign.leave_open", "po")])


async def order_assign_to(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order, courier_id = await _shop_order(ctx, args), arg_int(args, 1)
    if order is None or courier_id is None:
        return await stale(ctx)
    await delivery.assign_courier(ctx.services, ctx.uow, ctx.member.id, order.id, courier_id)
    courier = await members.get(ctx.uow, courier_id)
    return ctx.say(
        ctx.t("producer.assign.done", name=courier.display_name, id=order.id), [ctx.button("producer.order.list", "po")]
    )


async def order_decline(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order = await _shop_order(ctx, args)
    if order is None:
        return await stale(ctx)
    return ctx.say(
        ctx.t("producer.decline.ask", id=order.id, total=won(order.total, ctx.lang)),
        [ctx.button("producer.decline.yes", f"pdecy:{order.id}"), ctx.button("work.no", f"pod:{order.id}")],
    )


async def order_decline_yes(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order = await _shop_order(ctx, args)
    if order is None:
        return await stale(ctx)
    cancelled = await orders.cancel_order(ctx.services, ctx.uow, ctx.member.id, order.id)
    return ctx.say(ctx.t("producer.decline.done", id=cancelled.id), [ctx.button("producer.order.list", "po")])


def register(router: Router) -> None:
    for verb, handler in (("po", order_list), ("pod", order_card), ("pasg", order_assign), ("pdec", order_decline)):
        router.on(verb, handler, writes=False)
    for verb, handler in (("pacc", order_accept), ("pasc", order_assign_to), ("pdecy", order_decline_yes)):
        router.on(verb, handler, writes=True)
