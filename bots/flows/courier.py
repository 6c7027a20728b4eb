"""The courier's chat: open jobs nearby, take one, confirm pickup, confirm delivery with the shopper's
code, and see what the deliveries earned.

::

    cj (open jobs, the courier's region first) ▶ ct:<order> (take) ▶ cpu:<order> (picked up)
        ▶ courier.code (type the shopper's 6 digits) ▶ delivered
    cm (my deliveries) ▶ cv:<order> ▶ cpu | cdl:<order> (enter the code again)
    ce (earnings: wallet and recent delivery fees) ▶ pco (cash-out: bots/flows/cashout.py)

A wrong code is the service's outcome, not an error: the attempt is counted (and committed) and the
courier is told how many tries are left; the third wrong one locks the job until the market office
looks at it. Something that is not six digits is not a guess and is simply asked for again.
"""

from __future__ import annotations

import re

from bots.dialogue import Ctx, Router
from bots.flows import payload
from bots.flows.producer import with_note
from bots.messages import Button, Screen
from bots.texts import won
from commerce import delivery, orders, shops, wallet
from commerce.errors import UnknownOrder
from ledger.db import UnitOfWork

JOBS_PER_SCREEN = 4  # four jobs, "my deliveries" and "earnings": six choices
ACTIVE = ("assigned", "picked_up", "locked")


async def my_jobs(uow: UnitOfWork, courier_id: int, *, limit: int = 5) -> list[delivery.Job]:
    return await delivery.jobs_of(uow, courier_id, limit=limit)


def _not_courier(ctx: Ctx) -> Screen:
    ctx.go()
    return ctx.say(
        ctx.t("cj.not_courier", phone=ctx.config.office_phone),
        [Button(ctx.t("work.call_office"), phone=ctx.config.office_phone)],
    )


async def jobs(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    if not ctx.member.has("courier"):
        return _not_courier(ctx)
    region = ctx.member.region
    found = await delivery.open_jobs(ctx.uow, region, limit=JOBS_PER_SCREEN)
    if not found and region is not None:  # nothing in the courier's own region: show what there is
        found, region = await delivery.open_jobs(ctx.uow, None, limit=JOBS_PER_SCREEN), None
    mine = await my_jobs(ctx.uow, ctx.member.id)
    footer = [ctx.button("cj.mine", "cm", n=len(mine)), ctx.button("cj.earnings", "ce")]
    if not found:
        return ctx.say(ctx.t("cj.empty"), footer)
    lines = [ctx.t("cj.title_region", region=region) if region else ctx.t("cj.title")]
    for job in found:
        order = await orders.get(ctx.uow, job.order_id)
        shop = await shops.get(ctx.uow, order.shop_id)
        lines.append(
            ctx.t("cj.item", id=order.id, shop=shop.name, region=job.region, fee=won(order.delivery_fee, ctx.lang))
        )
    rows = [[ctx.button("cj.take", f"ct:{job.order_id}", id=job.order_id)] for job in found]
    return ctx.say("\n".join(lines), *rows, footer)


async def _my_order(ctx: Ctx, args: list[str]) -> tuple[orders.Order, delivery.Job] | None:
    order_id = payload.number(args, 0)
    if order_id is None:
        return None
    try:
        job = await delivery.job(ctx.uow, order_id)
    except UnknownOrder:
        return None
    if job.courier_id != ctx.member.id:
        return None
    return await orders.get(ctx.uow, order_id), job


async def _job_card(ctx: Ctx, order: orders.Order, job: delivery.Job, note: str = "") -> Screen:
    shop = await shops.get(ctx.uow, order.shop_id)
    text = ctx.t(
        "cv.card",
        id=order.id,
        status=ctx.t(f"work.job.{job.status}"),
        shop=shop.name,
        market=shop.market or shop.region,
        region=job.region,
        fee=won(order.delivery_fee, ctx.lang),
    )
    rows: list[list[Button]] = []
    if job.status == "assigned":
        rows.append([ctx.button("ct.pickup", f"cpu:{order.id}")])
    elif job.status == "picked_up":
        rows.append([ctx.button("cdl.button", f"cdl:{order.id}")])
    if shop.phone:
        rows.append([Button(ctx.t("ct.call_shop"), phone=shop.phone)])
    rows.append([ctx.button("cj.mine_short", "cm")])
    return ctx.say((note + "\n" if note else "") + text, *rows)


async def take(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order_id = payload.number(args, 0)
    if order_id is None:
        return await jobs(ctx, [])
    await delivery.take_job(ctx.market, ctx.uow, ctx.member.id, order_id)
    found = await _my_order(ctx, [str(order_id)])
    assert found is not None  # just taken
    return await _job_card(ctx, *found, note=ctx.t("ct.done", id=order_id))


async def mine(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    if not ctx.member.has("courier"):
        return _not_courier(ctx)
    taken = await my_jobs(ctx.uow, ctx.member.id)
    if not taken:
        return ctx.say(ctx.t("cm.empty"), [ctx.button("home.work.courier", "cj")])
    lines = [ctx.t("cm.title")]
    lines += [ctx.t("cm.item", id=j.order_id, status=ctx.t(f"work.job.{j.status}"), region=j.region) for j in taken]
    rows = [[ctx.button("cm.button", f"cv:{j.order_id}", id=j.order_id)] for j in taken]
    return ctx.say("\n".join(lines), *rows, [ctx.button("home.work.courier", "cj")])


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
    order = await delivery.confirm_pickup(ctx.market, ctx.uow, ctx.member.id, found[0].id)
    return _ask_code(ctx, order.id, ctx.t("cpu.done"))


def _ask_code(ctx: Ctx, order_id: int, note: str = "") -> Screen:
    ctx.go("courier.code", order=order_id)
    text = (note + "\n" if note else "") + ctx.t("cdl.ask", id=order_id)
    return ctx.say(text, [ctx.button("cj.mine_short", "cm")], expects="code")


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
        return _ask_code(ctx, order_id, ctx.t("cdl.not_code"))
    outcome = await delivery.confirm_delivery(ctx.market, ctx.uow, ctx.member.id, order_id, code)
    if outcome.ok:
        ctx.go()
        return ctx.say(
            ctx.t("cdl.done", id=order_id, fee=won(outcome.order.delivery_fee, ctx.lang)),
            [ctx.button("home.work.courier", "cj"), ctx.button("cj.earnings", "ce")],
        )
    if outcome.locked:
        ctx.go()
        return ctx.say(
            ctx.t("cdl.locked", phone=ctx.config.office_phone),
            [Button(ctx.t("work.call_office"), phone=ctx.config.office_phone)],
        )
    return _ask_code(ctx, order_id, ctx.t("cdl.wrong", left=outcome.attempts_left))


async def earnings(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    b = await wallet.balances(ctx.market, ctx.uow, ctx.member.id)
    items = await wallet.history(ctx.market, ctx.uow, ctx.member.id, limit=50)
    fees = [i for i in items if i.token == "BTL" and i.amount > 0 and i.transfer_id.endswith("-courier")][:5]  # noqa: S105
    lines = [
        ctx.t("ce.line", order=i.transfer_id.split("-")[1], amount=won(i.amount, ctx.lang))
        for i in fees
        if i.transfer_id.count("-") == 2
    ]
    text = ctx.t(
        "ce.text",
        btl=won(b.btl, ctx.lang),
        available=won(b.btl_available, ctx.lang),
        lines="\n".join(lines) or ctx.t("ce.none"),
    )
    return ctx.say(text, [ctx.button("ps.cashout", "pco"), ctx.button("home.work.courier", "cj")])


def register(router: Router) -> None:
    router.on("cj", jobs)
    router.on("ct", take)
    router.on("cm", mine)
    router.on("cv", view)
    router.on("cpu", pickup)
    router.on("cdl", code_ask)
    router.on("ce", earnings)
    router.waiting("courier.code", code_typed)
    router.label("home.work.courier", "cj")
