"""The cart: goods go in straight to the order's confirmation (``bots.flows.checkout``); the cart screen
changes quantities, two lines at a time, and leads on to paying or to more goods.
"""

from __future__ import annotations

from bots.context import Ctx
from bots.flows import checkout, home, payload
from bots.flows.shopper.browse import PAGE
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import won
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.shops import catalog
from commerce.shops import service as shops


async def add(ctx: Ctx, args: list[str]) -> Screen:
    """담기: into the cart and straight on to the confirmation (더 담기 and 장바구니 are on it)."""
    product_id, qty = payload.arg(args, 0), payload.arg(args, 1, 1)
    await orders.add_to_cart(ctx.services, ctx.uow, ctx.member.id, product_id, qty)
    found = await catalog.get(ctx.uow, product_id)
    items = await order_queries.cart(ctx.uow, ctx.member.id, found.shop_id)
    count = sum(item.qty for item in items)
    note = ctx.t("cart.added", name=found.name, qty=qty, count=count)
    return await checkout.confirmation(ctx, [str(found.shop_id)], note=note)


async def cart(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    if not args:
        shop_ids = await order_queries.cart_shops(ctx.uow, ctx.member.id)
        if not shop_ids:
            return ctx.say(ctx.t("cart.empty"), [ctx.button("home.shop", "mk"), *await home.reorder_button(ctx)])
        if len(shop_ids) > 1:
            names = [await shops.get(ctx.uow, s) for s in shop_ids[:PAGE]]
            return ctx.say(ctx.t("cart.which_shop"), *[[Button(s.name, payload=f"cart:{s.id}")] for s in names])
        args = [str(shop_ids[0])]
    shop_id = payload.arg(args, 0)
    items = await order_queries.cart(ctx.uow, ctx.member.id, shop_id)
    if not items:
        return ctx.say(ctx.t("cart.empty"), [ctx.button("home.shop", "mk")])
    products = await catalog.get_many(ctx.uow, [item.product_id for item in items])
    lines = [ctx.t("cart.title", shop=(await shops.get(ctx.uow, shop_id)).name)]
    rows: list[list[Button]] = []
    for item in items:
        pid, qty = item.product_id, item.qty
        p = products[pid]
        lines.append(ctx.t("cart.line", name=p.name, unit=p.unit, qty=qty, amount=won(p.price * qty, ctx.lang)))
        if len(rows) < 2:  # ± for two lines, then 결제 and 더 담기: six choices
            rows.append(
                [
                    Button(ctx.t("cart.less", name=p.name), payload=f"qty:{pid}:{qty - 1}"),
                    Button(ctx.t("cart.more_one", name=p.name), payload=f"qty:{pid}:{qty + 1}"),
                ]
            )
    return ctx.say(
        "\n".join(lines),
        *rows,
        [ctx.button("cart.checkout", f"pay:{shop_id}")],
        [ctx.button("cart.more", f"sh:{shop_id}")],
    )


async def quantity(ctx: Ctx, args: list[str]) -> Screen:
    product_id, qty = payload.arg(args, 0), payload.arg(args, 1)
    found = await catalog.get(ctx.uow, product_id)
    await orders.set_quantity(ctx.services, ctx.uow, ctx.member.id, product_id, qty)
    return await cart(ctx, [str(found.shop_id)])


def register(router: Router) -> None:
    router.on("cart", cart, writes=False)
    router.on("add", add, writes=True)
    router.on("qty", quantity, writes=True)
    router.label("cart.open", "cart")
