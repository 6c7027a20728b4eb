"""A shop's products: the list, a product's card, stock and price in steps or typed, a provenance step
recorded in one tap, and the product's QR label::

    pl ▶ pm:<product> ▶ pst:<p>:<±n> | pstn ▶ stock | ppr ▶ price (or pprd:<p>:<±won>) | pev ▶ pevr (one tap)
"""

from __future__ import annotations

from bots.context import Ctx
from bots.flows.answers import expects_text, parse_amount, with_note
from bots.flows.producer.home import PAGE, arg_int, my_shop, shop_home, stale
from bots.messages import Button, Reply, Screen
from bots.router import Router
from bots.texts import won
from commerce.provenance import service as provenance
from commerce.shops import catalog, product_code
from commerce.shops.errors import UnknownProduct
from commerce.shops.rows import Product

PRICE_STEPS = (-1000, -500, 500, 1000)


async def _owned_product(ctx: Ctx, args: list[str]) -> Product | None:
    product_id = arg_int(args, 0)
    shop = await my_shop(ctx.uow, ctx.member.id)
    if product_id is None or shop is None:
        return None
    try:
        product = await catalog.get(ctx.uow, product_id)
    except UnknownProduct:
        return None
    return product if product.shop_id == shop.id else None


async def products(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    shop = await my_shop(ctx.uow, ctx.member.id)
    if shop is None or not shop.verified:
        return await shop_home(ctx, [])
    offset = max(0, arg_int(args, 0) or 0)
    items = await catalog.list_products(ctx.uow, shop_id=shop.id, limit=PAGE + 1, offset=offset)
    if not items:
        return ctx.say(ctx.t("producer.products.empty"), [ctx.button("producer.home.add_product", "pa")])
    lines = [ctx.t("producer.products.title")]
    lines += [
        ctx.t("producer.products.item", name=p.name, unit=p.unit, price=won(p.price, ctx.lang), stock=p.stock)
        for p in items[:PAGE]
    ]
    rows = [[Button(p.name, payload=f"pm:{p.id}")] for p in items[:PAGE]]
    turn = [ctx.button("work.more", f"pl:{offset + PAGE}")] if len(items) > PAGE else []
    return ctx.say("\n".join(lines), *rows, turn or [ctx.button("home.work.producer", "ps")])


def _product_card(ctx: Ctx, product: Product) -> Screen:
    pid = product.id
    stock_row = [
        ctx.button("producer.product.plus1", f"pst:{pid}:1"),
        ctx.button("producer.product.plus10", f"pst:{pid}:10"),
    ]
    if product.stock > 0:
        stock_row.append(ctx.button("producer.product.minus1", f"pst:{pid}:-1"))
    text = ctx.t(
        "producer.product.card",
        name=product.name,
        unit=product.unit,
        price=won(product.price, ctx.lang),
        stock=product.stock,
    )
    reply = Reply(
        text,
        image_url=product.photos[0] if product.photos else None,
        buttons=(
            tuple(stock_row),
            (
                ctx.button("producer.product.type_stock", f"pstn:{pid}"),
                ctx.button("producer.product.change_price", f"ppr:{pid}"),
            ),
            (ctx.button("producer.product.record_event", f"pev:{pid}"),),
        ),
    )
    return ctx.screen(reply)


async def product_card(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    product = await _owned_product(ctx, args)
    return await stale(ctx) if product is None else _product_card(ctx, product)


async def stock_step(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    product, delta = await _owned_product(ctx, args), arg_int(args, 1)
    if product is None or delta is None:
        return await stale(ctx)
    changed = await catalog.update_stock(ctx.services, ctx.uow, ctx.member.id, product.id, stock=product.stock + delta)
    return with_note(_product_card(ctx, changed), ctx.t("work.changed"))


async def stock_ask(ctx: Ctx, args: list[str]) -> Screen:
    product = await _owned_product(ctx, args)
    if product is None:
        return await stale(ctx)
    return expects_text(
        ctx, "producer.stock", ctx.t("producer.product.ask_stock", stock=product.stock), product=product.id
    )


async def stock_typed(ctx: Ctx, args: list[str]) -> Screen:
    stock, product_id = parse_amount(args[0]), ctx.data.get("product")
    if not isinstance(product_id, int):
        return await stale(ctx)
    if stock is None:
        return expects_text(ctx, ctx.state, ctx.t("work.number"), **ctx.data)
    changed = await catalog.update_stock(ctx.services, ctx.uow, ctx.member.id, product_id, stock=stock)
    ctx.go()
    return with_note(_product_card(ctx, changed), ctx.t("work.changed"))


def _price_prompt(ctx: Ctx, product: Product, prefix: str = "") -> Screen:
    steps = [
        Button(("+" if d > 0 else "−") + won(abs(d), ctx.lang), payload=f"pprd:{product.id}:{d}")
        for d in PRICE_STEPS
        if product.price + d > 0
    ]
    text = (prefix + "\n" if prefix else "") + ctx.t("producer.product.ask_price", price=won(product.price, ctx.lang))
    return expects_text(ctx, "producer.price", text, steps[:2], steps[2:], product=product.id)


async def price_ask(ctx: Ctx, args: list[str]) -> Screen:
    product = await _owned_product(ctx, args)
    return await stale(ctx) if product is None else _price_prompt(ctx, product)


async def price_step(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    product, delta = await _owned_product(ctx, args), arg_int(args, 1)
    if product is None or delta is None:
        return await stale(ctx)
    changed = await catalog.update_price(ctx.services, ctx.uow, ctx.member.id, product.id, product.price + delta)
    return with_note(_product_card(ctx, changed), ctx.t("work.changed"))


async def price_typed(ctx: Ctx, args: list[str]) -> Screen:
    price, product_id = parse_amount(args[0]), ctx.data.get("product")
    if not isinstance(product_id, int):
        return await stale(ctx)
    if price is None:
        return _price_prompt(ctx, await catalog.get(ctx.uow, product_id), ctx.t("work.number"))
    changed = await catalog.update_price(ctx.services, ctx.uow, ctx.member.id, product_id, price)
    ctx.go()
    return with_note(_product_card(ctx, changed), ctx.t("work.changed"))


async def event_choose(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    product = await _owned_product(ctx, args)
    if product is None:
        return await stale(ctx)
    stages = [[ctx.button(f"work.stage.{s}", f"pevr:{product.id}:{s}")] for s in provenance.PRODUCER_STAGES]
    back = [Button(product.name, payload=f"pm:{product.id}")]
    if ctx.config.public_url:  # the product card has its six choices already: the label is one tap further
        back.insert(0, ctx.button("trust.label", f"plbl:{product.id}"))
    return ctx.say(ctx.t("producer.provenance.ask", name=product.name), *stages, back)


async def label_image(ctx: Ctx, args: list[str]) -> Screen:
    """The product's QR label as an image (served by ``GET /p/<code>/label.png``), to print and stick on."""
    ctx.go()
    product = await _owned_product(ctx, args)
    if product is None:
        return await stale(ctx)
    code = product_code.encode(product.id)
    reply = Reply(
        ctx.t("trust.label_text", name=product.name, code=code),
        image_url=f"{ctx.config.public_url.rstrip('/')}/p/{code}/label.png",
        buttons=((Button(product.name, payload=f"pm:{product.id}"),),),
    )
    return ctx.screen(reply)


async def event_record(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    product = await _owned_product(ctx, args)
    stage = args[1] if len(args) > 1 else ""
    if product is None or stage not in provenance.PRODUCER_STAGES:
        return await stale(ctx)
    event = await provenance.record_event(ctx.services, ctx.uow, ctx.member.id, product.id, stage=stage)
    done = ctx.t("producer.provenance.done", stage=ctx.t(f"work.stage.{stage}"), seq=event.seq)
    return with_note(_product_card(ctx, product), done)


def register(router: Router) -> None:
    for verb, handler in (
        ("pl", products),
        ("pm", product_card),
        ("pstn", stock_ask),
        ("ppr", price_ask),
        ("pev", event_choose),
        ("plbl", label_image),
    ):
        router.on(verb, handler, writes=False)
    for verb, handler in (("pst", stock_step), ("pprd", price_step), ("pevr", event_record)):
        router.on(verb, handler, writes=True)
    router.waiting("producer.stock", stock_typed, writes=True)
    router.waiting("producer.price", price_typed, writes=True)
