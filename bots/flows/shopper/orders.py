"""The shopper's orders: the list, an order (with the delivery code while it is on its way), cancelling
before the shop accepts, "잘 받았어요", a review by stars and a word, and a claim::

    home ─내 주문→ orders ─→ order ─→ cancel | 잘 받았어요 | 후기 | 문제 신고

A refusal on these screens leads back to the order it was about (``bots.refusals.ORDER_VERBS``).
"""

from __future__ import annotations

from bots.context import Ctx
from bots.flows import payload
from bots.flows.shopper.browse import PAGE
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import won
from commerce.claims import service as claims
from commerce.delivery import queries as delivery_queries
from commerce.errors import InvalidInput, NotAllowed
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.reviews import queries as review_queries
from commerce.reviews import service as reviews
from commerce.reviews.errors import AlreadyReviewed
from commerce.shops import service as shops

CLAIM_KINDS = claims.KINDS


STATE_KEYS = (
    "placed",
    "paid",
    "accepted",
    "picked_up",
    "delivered",
    "confirmed",
    "settled",
    "cancelled",
    "refunded",
)


CANCELLABLE = ("placed", "paid")  # before the shop accepts (commerce.orders.service.cancel_order)


def _state(ctx: Ctx, state: str) -> str:
    return ctx.t(f"state.{state}") if state in STATE_KEYS else state


async def my_orders(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    found = await order_queries.list_for_buyer(ctx.uow, ctx.member.id, limit=PAGE)
    if not found:
        return ctx.say(ctx.t("orders.none"), [ctx.button("home.shop", "mk")])
    rows = [
        [
            Button(
                ctx.t("orders.item", id=o.id, total=won(o.total, ctx.lang), state=_state(ctx, o.state)),
                payload=f"o:{o.id}",
            )
        ]
        for o in found
    ]
    return ctx.say(ctx.t("orders.title"), *rows)


async def order(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await order_queries.get(ctx.uow, payload.arg(args, 0))
    if found.buyer_id != ctx.member.id:
        raise NotAllowed("only the buyer sees this order here", order=found.id)
    owner = await shops.get(ctx.uow, found.shop_id)
    lines = [ctx.t("order.title", id=found.id, shop=owner.name, state=_state(ctx, found.state))]
    lines += [
        ctx.t("cart.line", name=x.name, unit=x.unit, qty=x.qty, amount=won(x.amount, ctx.lang)) for x in found.lines
    ]
    lines.append(ctx.t("pay.total", amount=won(found.total, ctx.lang)))
    rows: list[list[Button]] = []
    if found.state in ("paid", "accepted", "picked_up"):
        code = await delivery_queries.delivery_code(ctx.uow, ctx.member.id, found.id)
        lines.append(ctx.t("order.code", code=code))
    if found.state in CANCELLABLE:
        rows.append([ctx.button("order.cancel", f"ocx:{found.id}")])
    if found.state in ("picked_up", "delivered"):
        rows.append([ctx.button("order.received", f"rcv:{found.id}")])
    if found.state in ("delivered", "confirmed", "settled"):
        review = (
            [ctx.button("order.review", f"rv:{found.id}")]
            if await review_queries.not_reviewed(ctx.uow, found.id)
            else []
        )
        rows.append([*review, ctx.button("order.claim", f"cl:{found.id}")])
    rows.append(
        [*([Button(ctx.t("shop.call"), phone=owner.phone)] if owner.phone else []), ctx.button("home.orders", "orders")]
    )
    return ctx.say("\n".join(lines), *rows)


async def cancel(ctx: Ctx, args: list[str]) -> Screen:
    order_id = payload.arg(args, 0)
    found = await order_queries.get(ctx.uow, order_id)
    if found.buyer_id != ctx.member.id:
        raise NotAllowed("only the buyer cancels this order here", order=found.id)
    if found.state not in CANCELLABLE:  # a button from before the shop took it, or a second tap
        key = "order.cancelled_before" if found.state == "cancelled" else "order.cancel_too_late"
        return ctx.say(
            ctx.t(key, id=found.id, state=_state(ctx, found.state)),
            [ctx.button("order.view", f"o:{found.id}"), ctx.button("home.orders", "orders")],
        )
    if len(args) < 2 or args[1] != "y":
        return ctx.say(
            ctx.t("order.cancel_sure", id=order_id),
            [ctx.button("order.cancel_yes", f"ocx:{order_id}:y"), ctx.button("order.cancel_no", f"o:{order_id}")],
        )
    await orders.cancel_order(ctx.services, ctx.uow, ctx.member.id, order_id)
    return ctx.say(ctx.t("order.cancelled", id=order_id), [ctx.button("home.orders", "orders")])


async def received(ctx: Ctx, args: list[str]) -> Screen:
    found = await orders.confirm_receipt(ctx.services, ctx.uow, ctx.member.id, payload.arg(args, 0))
    if not await review_queries.not_reviewed(ctx.uow, found.id):  # reviewed while it was marked delivered
        return ctx.say(ctx.t("order.thanks_reviewed", id=found.id), [ctx.button("home.orders", "orders")])
    return ctx.say(ctx.t("order.thanks", id=found.id), [ctx.button("order.review", f"rv:{found.id}")])


async def review(ctx: Ctx, args: list[str]) -> Screen:
    """후기: pick the product (when the order had several), tap the stars, then a word or skip."""
    found = await order_queries.get(ctx.uow, payload.arg(args, 0))
    if found.buyer_id != ctx.member.id:
        raise NotAllowed("only the buyer reviews this order", order=found.id)
    if len(args) < 2:
        left = set(await review_queries.not_reviewed(ctx.uow, found.id))
        lines = [x for x in found.lines if x.product_id in left]
        if not lines:  # every product reviewed already (a button from before)
            raise AlreadyReviewed("every product of this order has a review", order=found.id)
        if len(lines) > 1:
            rows = [[Button(x.name, payload=f"rv:{found.id}:{x.product_id}")] for x in lines[:PAGE]]
            return ctx.say(ctx.t("review.which"), *rows)
        args = [args[0], str(lines[0].product_id)]
    product_id = payload.arg(args, 1)
    if len(args) < 3:
        stars = [Button("⭐" * n, payload=f"rv:{found.id}:{product_id}:{n}") for n in (5, 4, 3, 2, 1)]
        return ctx.say(ctx.t("review.stars"), stars[:2], stars[2:])
    rating = payload.arg(args, 2)
    ctx.go("review.text", order=found.id, product=product_id, rating=rating)
    return ctx.say(ctx.t("review.words"), [ctx.button("review.skip", "rvt")], expects="text")


async def review_words(ctx: Ctx, args: list[str]) -> Screen:
    data = ctx.data
    if not {"order", "product", "rating"} <= data.keys():
        return await my_orders(ctx, [])
    text = args[0] if args and ctx.state == "review.text" else ""
    await reviews.post_review(
        ctx.services,
        ctx.uow,
        ctx.member.id,
        int(data["order"]),
        int(data["product"]),
        rating=int(data["rating"]),
        text=text,
        photo=ctx.msg.photo_url,
    )
    ctx.go()
    return ctx.say(ctx.t("review.thanks"), [ctx.button("menu.home", "home")])


async def claim(ctx: Ctx, args: list[str]) -> Screen:
    order_id = payload.arg(args, 0)
    if len(args) < 2:
        rows = [[Button(ctx.t(f"claim.kind.{k}"), payload=f"cl:{order_id}:{i}")] for i, k in enumerate(CLAIM_KINDS)]
        return ctx.say(ctx.t("claim.which"), *rows)
    kind_index = payload.arg(args, 1)
    if kind_index >= len(CLAIM_KINDS):
        raise InvalidInput("unknown claim kind", field="kind")
    ctx.go("claim.text", order=order_id, kind=CLAIM_KINDS[kind_index])
    return ctx.say(ctx.t("claim.describe"), expects="text")


async def claim_words(ctx: Ctx, args: list[str]) -> Screen:
    data = ctx.data
    text = args[0] if args else ""
    if not text:
        return ctx.say(ctx.t("claim.describe"), expects="text")
    opened = await claims.open_claim(
        ctx.services, ctx.uow, ctx.member.id, int(data["order"]), kind=str(data["kind"]), text=text
    )
    ctx.go()
    return ctx.say(ctx.t("claim.opened", id=opened.id), [ctx.button("home.orders", "orders")])


def register(router: Router) -> None:
    for verb, handler in (("orders", my_orders), ("o", order), ("rv", review), ("cl", claim)):
        router.on(verb, handler, writes=False)
    for verb, handler in (("ocx", cancel), ("rcv", received), ("rvt", review_words)):
        router.on(verb, handler, writes=True)
    router.waiting("review.text", review_words, writes=True)
    router.waiting("claim.text", claim_words, writes=True)
