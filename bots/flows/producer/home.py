"""The producer's home: the shop at a glance, its sales, and what every producer screen shares — the
member's own shop, numbers from buttons, the draft of a multi-step answer, and the "that screen has
passed" answer to a button from a step already left.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bots.context import Ctx
from bots.flows import payload
from bots.flows.answers import with_note
from bots.messages import Button, Screen
from bots.router import Handler, Router
from bots.texts import bnm, won
from commerce.claims import queries as claim_queries
from commerce.orders import queries as order_queries
from commerce.shops import service as shops
from commerce.shops.rows import Shop
from commerce.wallet import queries as wallet_queries
from ledger.storage.unit_of_work import UnitOfWork

PAGE = 5  # list items per screen: five choices and a way back stay within six


async def my_shop(uow: UnitOfWork, member_id: int) -> Shop | None:
    return await shops.owned_by(uow, member_id)


async def stale(ctx: Ctx) -> Screen:
    return with_note(await shop_home(ctx, []), ctx.t("work.stale"))


def arg_int(args: list[str], i: int) -> int | None:
    return payload.number(args, i, signed=True)


def draft_of(ctx: Ctx, state: str, *keys: str) -> dict[str, Any] | None:
    """The conversation's draft if the flow is waiting in ``state`` and the draft has ``keys``."""
    if ctx.state != state or any(k not in ctx.data for k in keys):
        return None
    return dict(ctx.data)


def tap_again(ask: Callable[[Ctx], Awaitable[Screen]]) -> Handler:
    """A waiting state that wants a button: typed text gets the same question again, with a hint."""

    async def handler(ctx: Ctx, _args: list[str]) -> Screen:
        return with_note(await ask(ctx), ctx.t("work.tap"))

    return handler


async def shop_home(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    shop = await my_shop(ctx.uow, ctx.member.id)
    call = Button(ctx.t("work.call_office"), phone=ctx.config.office_phone)
    if shop is None:
        return ctx.say(ctx.t("producer.home.no_shop"), [ctx.button("producer.home.register", "psn")], [call])
    if shop.status == "pending":
        return ctx.say(ctx.t("producer.home.pending", name=shop.name, phone=ctx.config.office_phone), [call])
    if not shop.verified:
        return ctx.say(
            ctx.t("producer.home.suspended", name=shop.name, phone=ctx.config.office_phone),
            [call],
            [ctx.button("producer.home.register", "psn")],
        )
    new = await order_queries.list_for_shop(ctx.uow, shop.id, states=("paid",))
    open_claims = await claim_queries.for_shop(ctx.uow, shop.id)
    return ctx.say(
        ctx.t("producer.home.title", name=shop.name, orders=len(new), claims=len(open_claims)),
        [ctx.button("producer.home.add_product", "pa"), ctx.button("producer.home.products", "pl")],
        [
            ctx.button("producer.home.orders", "po", n=len(new)),
            ctx.button("producer.home.claims", "pcl", n=len(open_claims)),
        ],
        [
            ctx.button("producer.home.sales", "psale"),
            ctx.button("ad.campaigns.button", "adp"),
        ],  # cash-out: from 매출·잔액
    )


async def sales(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    shop = await my_shop(ctx.uow, ctx.member.id)
    if shop is None or not shop.verified:
        return await shop_home(ctx, [])
    done = await order_queries.list_for_shop(ctx.uow, shop.id, states=("delivered", "confirmed", "settled"))
    settled = [o for o in done if o.state == "settled"]
    b = await wallet_queries.balances(ctx.services, ctx.uow, ctx.member.id)
    text = ctx.t(
        "producer.sales.text",
        name=shop.name,
        count=len(done),
        sales=won(sum(o.subtotal for o in done), ctx.lang),
        settled=len(settled),
        btl=won(b.btl, ctx.lang),
        available=won(b.btl_available, ctx.lang),
        bnm=bnm(b.bnm_units),
    )
    return ctx.say(text, [ctx.button("cashout.start.button", "pco"), ctx.button("home.work.producer", "ps")])


def register(router: Router) -> None:
    router.on("ps", shop_home, writes=False)
    router.on("psale", sales, writes=False)
    router.label("home.work.producer", "ps")
