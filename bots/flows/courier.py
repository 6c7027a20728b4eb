"""The courier's chat: open jobs nearby, take one, confirm pickup, confirm delivery with the shopper's
code, and see what the deliveries earned.

::

    cj[:<page>[:a]] (the job board: 5 a page, nearest window first, the courier's area or all)
        ▶ ct:<order> (take; only now the address, recipient and phone show) ▶ cpu:<order> (picked up)
        ▶ courier.code (type the shopper's 6 digits) ▶ delivered
    cm[:<page>] (my deliveries in route order, a call button each) ▶ cv:<order> ▶ cpu | cdl:<order>
    ce (earnings: wallet and recent delivery fees) ▶ pco (cash-out: bots/flows/cashout.py)

A wrong code is the service's outcome, not an error: the attempt is counted (and committed) and the
courier is told how many tries are left; the third wrong one locks the job until the market office
looks at it. Something that is not six digits is not a guess and is simply asked for again.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from bots.context import Ctx
from bots.flows import checkout, payload
from bots.flows.answers import with_note
from bots.messages import Button, Reply, Screen
from bots.router import Router
from bots.texts import won
from commerce.delivery import fulfilment
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.delivery.rows import Job
from commerce.delivery.windows import Window
from commerce.errors import UnknownOrder
from commerce.orders import queries as order_queries
from commerce.orders.rows import Order
from commerce.shops import service as shops
from commerce.wallet import queries as wallet_queries

PER_PAGE = 5  # open jobs a page, and a sixth choice to move on
ROUTE_PAGE = 2  # taken jobs a page: a bubble each with two buttons, after the one that leads on (≤ 3 bubbles)
MAX_CHOICES = 6
ACTIVE = ("assigned", "picked_up", "locked")


def _not_courier(ctx: Ctx) -> Screen:
    ctx.go()
    return ctx.say(
        ctx.t("courier.not_courier", phone=ctx.config.office_phone),
        [Button(ctx.t("work.call_office"), phone=ctx.config.office_phone)],
    )


def _window(ctx: Ctx, start_ms: int | None, end_ms: int | None) -> str:
    if start_ms is None or end_ms is None:
        return ctx.t("delivery.confirm.no_window").split(": ", 1)[-1]
    return checkout.window_text(ctx, Window(start_ms, end_ms))


async def jobs(ctx: Ctx, args: list[str]) -> Screen:
    """The job board: open jobs five a page, the nearest window first, in the courier's own area
    (``cj:<page>``) or everywhere (``cj:<page>:a``); only the district shows before a job is taken."""
    ctx.go()
    if not ctx.member.has("courier"):
        return _not_courier(ctx)
    page = payload.number(args, 0) or 0
    everywhere = len(args) > 1 and args[1] == "a"
    area = None if everywhere else ctx.member.region
    found = await delivery_queries.board(ctx.uow, area=area, page=page, per_page=PER_PAGE)
    if not found.jobs and area is not None and page == 0:  # nothing in the courier's own area: show what there is
        found, area, everywhere = (
            await delivery_queries.board(ctx.uow, area=None, page=0, per_page=PER_PAGE),
            None,
            True,
        )
    scope = ":a" if everywhere else ""
    taken = len(await delivery_queries.route(ctx.uow, ctx.member.id, limit=50))
    # Moving on, most wanted first; as many as fit beside the jobs in six choices.
    ways = []
    if found.has_next:
        ways.append(ctx.button("courier.board.next", f"cj:{found.page + 1}{scope}"))
    if found.page > 0:
        ways.append(ctx.button("courier.board.prev", f"cj:{found.page - 1}{scope}"))
    if ctx.member.region:
        ways.append(
            ctx.button("courier.board.my_area", "cj:0")
            if everywhere
            else ctx.button("courier.board.all_areas", "cj:0:a")
        )
    ways += [ctx.button("courier.board.mine", "cm", n=taken), ctx.button("courier.earnings.button", "ce")]
    ways = ways[: MAX_CHOICES - len(found.jobs)]
    if not found.jobs:
        return ctx.say(ctx.t("courier.board.empty"), *([w] for w in ways))
    title = (
        ctx.t("courier.board.title", area=area, page=found.page + 1)
        if area
        else ctx.t("courier.board.title_all", page=found.page + 1)
    )
    lines = [title]
    for job in found.jobs:
        lines.append(
            ctx.t(
                "courier.board.item",
                id=job.order_id,
                market=job.market or "",
                shop=job.shop,
                district=job.district,
                window=_window(ctx, job.window_start_ms, job.window_end_ms),
                fee=won(job.fee, ctx.lang),
            )
        )
    rows = [[ctx.button("courier.board.take", f"ct:{job.order_id}", id=job.order_id)] for job in found.jobs]
    return ctx.say("\n".join(lines), *rows, ways)


async def _my_order(ctx: Ctx, args: list[str]) -> tuple[Order, Job] | None:
    order_id = payload.number(args, 0)
    if order_id is None:
        return None
    try:
        job = await delivery_queries.job(ctx.uow, order_id)
    except UnknownOrder:
        return None
    if job.courier_id != ctx.member.id:
        return None
    return await order_queries.get(ctx.uow, order_id), job


async def _job_card(ctx: Ctx, order: Order, job: Job, note: str = "") -> Screen:
    """One taken job: the shop to collect from, and — now that it is the courier's — where it goes,
    who receives it and their phone, with a map link for a shared location."""
    shop = await shops.get(ctx.uow, order.shop_id)
    text = ctx.t(
        "courier.job.card",
        id=order.id,
        status=ctx.t(f"work.job.{job.status}"),
        shop=shop.name,
        market=shop.market or shop.region,
        region=job.region,
        fee=won(order.delivery_fee, ctx.lang),
    )
    where = await fulfilment.for_order(ctx.uow, ctx.member.id, order.id)
    text += "\n" + ctx.t("delivery.confirm.window", window=_window(ctx, order.window_start_ms, order.window_end_ms))
    text += "\n" + ctx.t(
        "courier.job.address", address=where.full(), name=where.recipient_name, phone=where.recipient_phone
    )
    rows: list[list[Button]] = []
    if job.status == "assigned":
        rows.append([ctx.button("courier.job.picked_up_button", f"cpu:{order.id}")])
    elif job.status == "picked_up":
        rows.append([ctx.button("courier.deliver.button", f"cdl:{order.id}")])
    if where.recipient_phone:
        rows.append([Button(ctx.t("courier.mine.call", name=where.recipient_name), phone=where.recipient_phone)])
    if where.location is not None:
        rows.append([Button(ctx.t("courier.job.map"), url=map_link(where.location, shop.name))])
    if shop.phone:
        rows.append([Button(ctx.t("courier.job.call_shop"), phone=shop.phone)])
    rows.append([ctx.button("courier.mine.button", "cm")])
    return ctx.say((note + "\n" if note else "") + text, *rows)


def map_link(location: tuple[float, float], name: str) -> str:
    """Kakao Map's public link format: a pin at the point, named."""
    latitude, longitude = location
    return f"https://map.kakao.com/link/map/{quote(name)},{latitude:.6f},{longitude:.6f}"


async def take(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order_id = payload.number(args, 0)
    if order_id is None:
        return await jobs(ctx, [])
    await delivery.take_job(ctx.services, ctx.uow, ctx.member.id, order_id)
    found = await _my_order(ctx, [str(order_id)])
    assert found is not None  # just taken
    return await _job_card(ctx, *found, note=ctx.t("courier.take.done", id=order_id))


async def mine(ctx: Ctx, args: list[str]) -> Screen:
    """내 배달: the taken jobs in the order to drive them (by window, a district together), each with
    a call button to whoever receives it."""
    ctx.go()
    if not ctx.member.has("courier"):
        return _not_courier(ctx)
    page = payload.number(args, 0) or 0
    taken = await delivery_queries.route(ctx.uow, ctx.member.id, limit=50)
    if not taken:
        return ctx.say(ctx.t("courier.mine.empty"), [ctx.button("home.work.courier", "cj")])
    shown = taken[page * ROUTE_PAGE : (page + 1) * ROUTE_PAGE]
    nav = [ctx.button("home.work.courier", "cj")]
    if len(taken) > (page + 1) * ROUTE_PAGE:
        nav.insert(0, ctx.button("courier.board.next", f"cm:{page + 1}"))
    replies = [Reply(ctx.t("courier.mine.title"), buttons=(tuple(nav),))]
    for n, (job, window_start) in enumerate(shown, start=page * ROUTE_PAGE + 1):
        order = await order_queries.get(ctx.uow, job.order_id)
        where = await fulfilment.for_order(ctx.uow, ctx.member.id, job.order_id)
        window = _window(ctx, window_start, order.window_end_ms)
        text = ctx.t("courier.mine.item", n=n, id=job.order_id, window=window, district=job.region)
        text += "\n" + ctx.t(f"work.job.{job.status}") + " · " + where.full()
        buttons = [ctx.button("courier.mine.open", f"cv:{job.order_id}", id=job.order_id)]
        if where.recipient_phone:
            buttons.append(Button(ctx.t("courier.mine.call", name=where.recipient_name), phone=where.recipient_phone))
        replies.append(Reply(text, buttons=(tuple(buttons),)))
    return ctx.screen(*replies)


async def view(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await _my_order(ctx, args)
    if found is None:
        return with_note(await mine(ctx, []), ctx.t("work.stale"))
    return await _job_card(ctx, *found)


async def pickup(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await _my_order(ctx, args)
    if found is None:
        return with_note(await mine(ctx, []), ctx.t("work.stale"))
    order = await delivery.confirm_pickup(ctx.services, ctx.uow, ctx.member.id, found[0].id)
    return _ask_code(ctx, order.id, ctx.t("courier.pickup.done"))


def _ask_code(ctx: Ctx, order_id: int, note: str = "") -> Screen:
    ctx.go("courier.code", order=order_id)
    text = (note + "\n" if note else "") + ctx.t("courier.deliver.ask", id=order_id)
    return ctx.say(text, [ctx.button("courier.mine.button", "cm")], expects="code")


async def code_ask(ctx: Ctx, args: list[str]) -> Screen:
    found = await _my_order(ctx, args)
    if found is None:
        ctx.go()
        return with_note(await mine(ctx, []), ctx.t("work.stale"))
    return _ask_code(ctx, found[0].id)


async def code_typed(ctx: Ctx, args: list[str]) -> Screen:
    order_id = ctx.data.get("order")
    if not isinstance(order_id, int):
        ctx.go()
        return with_note(await mine(ctx, []), ctx.t("work.stale"))
    code = re.sub(r"[\s-]", "", args[0])
    if not (len(code) == 6 and code.isdigit()):
        return _ask_code(ctx, order_id, ctx.t("courier.deliver.not_code"))
    outcome = await delivery.confirm_delivery(ctx.services, ctx.uow, ctx.member.id, order_id, code)
    if outcome.ok:
        ctx.go()
        return ctx.say(
            ctx.t("courier.deliver.done", id=order_id, fee=won(outcome.order.delivery_fee, ctx.lang)),
            [ctx.button("home.work.courier", "cj"), ctx.button("courier.earnings.button", "ce")],
        )
    if outcome.locked:
        ctx.go()
        return ctx.say(
            ctx.t("courier.deliver.locked", phone=ctx.config.office_phone),
            [Button(ctx.t("work.call_office"), phone=ctx.config.office_phone)],
        )
    return _ask_code(ctx, order_id, ctx.t("courier.deliver.wrong", left=outcome.attempts_left))


async def earnings(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    b = await wallet_queries.balances(ctx.services, ctx.uow, ctx.member.id)
    items = await wallet_queries.history(ctx.services, ctx.uow, ctx.member.id, limit=50)
    fees = [i for i in items if i.token == "BTL" and i.amount > 0 and i.transfer_id.endswith("-courier")][:5]  # noqa: S105
    lines = [
        ctx.t("courier.earnings.line", order=i.transfer_id.split("-")[1], amount=won(i.amount, ctx.lang))
        for i in fees
        if i.transfer_id.count("-") == 2
    ]
    text = ctx.t(
        "courier.earnings.text",
        btl=won(b.btl, ctx.lang),
        available=won(b.btl_available, ctx.lang),
        lines="\n".join(lines) or ctx.t("courier.earnings.none"),
    )
    return ctx.say(text, [ctx.button("cashout.start.button", "pco"), ctx.button("home.work.courier", "cj")])


def register(router: Router) -> None:
    for verb, handler in (("cj", jobs), ("cm", mine), ("cv", view), ("cdl", code_ask), ("ce", earnings)):
        router.on(verb, handler, writes=False)
    router.on("ct", take, writes=True)
    router.on("cpu", pickup, writes=True)
    router.waiting("courier.code", code_typed, writes=True)
    router.label("home.work.courier", "cj")
