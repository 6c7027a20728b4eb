"""Listing a product by chat: name, category, unit, price, stock, photo and origin, then a confirmation;
the product is findable at once::

    ps ─(verified)─ pa ▶ add.name ▶ add.cat ▶ add.unit ▶ add.price ▶ add.stock ▶ add.photo
                   ▶ add.region ▶ add.farm ▶ add.confirm ─paok▶ listed
"""

from __future__ import annotations

from typing import Any

from bots.context import Ctx
from bots.flows.answers import clean_text, expects_text, parse_amount, with_note
from bots.flows.producer.home import arg_int, draft_of, my_shop, shop_home, stale, tap_again
from bots.messages import Button, Reply, Screen
from bots.router import Router
from bots.texts import won
from commerce.shops import catalog
from commerce.shops import service as shops

UNIT_CHOICES = ("1kg", "500g", "1개", "1봉지", "1상자")  # the market's usual units; any other can be typed


async def add_start(ctx: Ctx, _args: list[str]) -> Screen:
    shop = await my_shop(ctx.uow, ctx.member.id)
    if shop is None or not shop.verified:
        return await shop_home(ctx, [])
    return expects_text(ctx, "producer.add.name", ctx.t("producer.add_product.ask_name"), shop=shop.id)


async def _ask_category(ctx: Ctx, page: int, **draft: Any) -> Screen:
    ctx.go("producer.add.cat", **draft)
    first = page == 0
    names = catalog.CATEGORIES[:5] if first else catalog.CATEGORIES[5:]
    offset = 0 if first else 5
    buttons = [ctx.button(f"work.category.{c}", f"pcat:{offset + i}") for i, c in enumerate(names)]
    turn = ctx.button("work.more", "pcat:next") if first else ctx.button("work.prev", "pcat:prev")
    return ctx.say(ctx.t("producer.add_product.ask_category", name=draft["name"]), buttons[:3], [*buttons[3:], turn])


async def _ask_unit(ctx: Ctx, **draft: Any) -> Screen:
    buttons = [Button(u, payload=f"punit:{i}") for i, u in enumerate(UNIT_CHOICES)]
    return expects_text(
        ctx, "producer.add.unit", ctx.t("producer.add_product.ask_unit"), buttons[:3], buttons[3:], **draft
    )


async def _ask_photo(ctx: Ctx, **draft: Any) -> Screen:
    ctx.go("producer.add.photo", **draft)
    return ctx.say(ctx.t("producer.add_product.ask_photo"), [ctx.button("work.skip", "pskip")], expects="photo")


async def _ask_region(ctx: Ctx, **draft: Any) -> Screen:
    return expects_text(
        ctx,
        "producer.add.region",
        ctx.t("producer.add_product.ask_region"),
        [ctx.button("producer.add_product.same_region", "psame")],
        **draft,
    )


async def _ask_farm(ctx: Ctx, **draft: Any) -> Screen:
    return expects_text(
        ctx,
        "producer.add.farm",
        ctx.t("producer.add_product.ask_farm"),
        [ctx.button("producer.add_product.same_farm", "psame")],
        **draft,
    )


async def _add_confirm(ctx: Ctx, **draft: Any) -> Screen:
    ctx.go("producer.add.confirm", **draft)
    text = ctx.t(
        "producer.add_product.confirm",
        name=draft["name"],
        category=ctx.t(f"work.category.{draft['category']}"),
        unit=draft["unit"],
        price=won(draft["price"], ctx.lang),
        stock=draft["stock"],
        region=draft["region"],
        farm=draft["farm"],
        photo=ctx.t("producer.add_product.photo_yes") if draft.get("photo") else ctx.t("producer.add_product.photo_no"),
    )
    reply = Reply(
        text,
        image_url=draft.get("photo"),
        buttons=((ctx.button("producer.add_product.submit", "paok"), ctx.button("work.cancel", "ps")),),
    )
    return ctx.screen(reply)


async def add_name_typed(ctx: Ctx, args: list[str]) -> Screen:
    name = clean_text(args[0], 60)
    if name is None:
        return expects_text(
            ctx, ctx.state, ctx.t("work.text_long", max=60) + "\n" + ctx.t("producer.add_product.ask_name"), **ctx.data
        )
    return await _ask_category(ctx, 0, **ctx.data, name=name)


async def add_category(ctx: Ctx, args: list[str]) -> Screen:
    draft = draft_of(ctx, "producer.add.cat", "shop", "name")
    if draft is None or not args:
        return await stale(ctx)
    if args[0] in ("next", "prev"):
        return await _ask_category(ctx, 1 if args[0] == "next" else 0, **draft)
    i = arg_int(args, 0)
    if i is None or not 0 <= i < len(catalog.CATEGORIES):
        return await stale(ctx)
    return await _ask_unit(ctx, **draft, category=catalog.CATEGORIES[i])


async def add_unit(ctx: Ctx, args: list[str]) -> Screen:
    draft, i = draft_of(ctx, "producer.add.unit", "shop", "name", "category"), arg_int(args, 0)
    if draft is None or i is None or not 0 <= i < len(UNIT_CHOICES):
        return await stale(ctx)
    return expects_text(
        ctx,
        "producer.add.price",
        ctx.t("producer.add_product.ask_price", unit=UNIT_CHOICES[i]),
        **draft,
        unit=UNIT_CHOICES[i],
    )


async def add_unit_typed(ctx: Ctx, args: list[str]) -> Screen:
    unit = clean_text(args[0], 20)
    if unit is None:
        return with_note(await _ask_unit(ctx, **ctx.data), ctx.t("work.text_long", max=20))
    return expects_text(
        ctx, "producer.add.price", ctx.t("producer.add_product.ask_price", unit=unit), **ctx.data, unit=unit
    )


async def add_price_typed(ctx: Ctx, args: list[str]) -> Screen:
    price = parse_amount(args[0])
    if price is None:
        return expects_text(
            ctx,
            ctx.state,
            ctx.t("work.number") + "\n" + ctx.t("producer.add_product.ask_price", unit=ctx.data.get("unit", "")),
            **ctx.data,
        )
    catalog.check_price(price, ctx.services)  # the service's own check: a refusal keeps this step waiting
    return expects_text(ctx, "producer.add.stock", ctx.t("producer.add_product.ask_stock"), **ctx.data, price=price)


async def add_stock_typed(ctx: Ctx, args: list[str]) -> Screen:
    stock = parse_amount(args[0])
    if stock is None:
        return expects_text(
            ctx, ctx.state, ctx.t("work.number") + "\n" + ctx.t("producer.add_product.ask_stock"), **ctx.data
        )
    return await _ask_photo(ctx, **ctx.data, stock=stock)


async def add_photo_sent(ctx: Ctx, _args: list[str]) -> Screen:
    photo = clean_text(ctx.msg.photo_url or "", 200)
    if photo is None:
        return with_note(await _ask_photo(ctx, **ctx.data), ctx.t("producer.add_product.photo_please"))
    return await _ask_region(ctx, **ctx.data, photo=photo)


async def add_skip_photo(ctx: Ctx, _args: list[str]) -> Screen:
    draft = draft_of(ctx, "producer.add.photo", "shop", "name", "stock")
    if draft is None:
        return await stale(ctx)
    return await _ask_region(ctx, **draft, photo=None)


async def add_same(ctx: Ctx, _args: list[str]) -> Screen:
    """ "The shop's region" / "the shop's name" for the origin: most producers sell what they grow."""
    if ctx.state not in ("producer.add.region", "producer.add.farm") or "shop" not in ctx.data:
        return await stale(ctx)
    shop = await shops.get(ctx.uow, int(ctx.data["shop"]))
    if ctx.state == "producer.add.region":
        return await _ask_farm(ctx, **ctx.data, region=shop.region)
    return await _add_confirm(ctx, **ctx.data, farm=shop.name)


async def add_region_typed(ctx: Ctx, args: list[str]) -> Screen:
    region = clean_text(args[0], 64)
    if region is None:
        return with_note(await _ask_region(ctx, **ctx.data), ctx.t("work.text_long", max=64))
    return await _ask_farm(ctx, **ctx.data, region=region)


async def add_farm_typed(ctx: Ctx, args: list[str]) -> Screen:
    farm = clean_text(args[0], 64)
    if farm is None:
        return with_note(await _ask_farm(ctx, **ctx.data), ctx.t("work.text_long", max=64))
    return await _add_confirm(ctx, **ctx.data, farm=farm)


async def add_submit(ctx: Ctx, _args: list[str]) -> Screen:
    d = draft_of(ctx, "producer.add.confirm", "shop", "name", "category", "unit", "price", "stock", "region", "farm")
    if d is None:
        return await stale(ctx)
    product = await catalog.add_product(
        ctx.services,
        ctx.uow,
        ctx.member.id,
        int(d["shop"]),
        name=d["name"],
        category=d["category"],
        unit=d["unit"],
        price=d["price"],
        stock=d["stock"],
        origin_region=d["region"],
        origin_producer=d["farm"],
        photos=[d["photo"]] if d.get("photo") else [],
    )
    ctx.go()
    return ctx.say(
        ctx.t("producer.add_product.done", name=product.name, seq=product.listed_seq),
        [ctx.button("producer.add_product.again", "pa"), ctx.button("producer.home.products", "pl")],
        [ctx.button("home.work.producer", "ps")],
    )


async def _again_category(ctx: Ctx) -> Screen:
    return await _ask_category(ctx, 0, **ctx.data) if "name" in ctx.data else await stale(ctx)


async def _again_add_confirm(ctx: Ctx) -> Screen:
    return await _add_confirm(ctx, **ctx.data) if "farm" in ctx.data else await stale(ctx)


async def _again_photo(ctx: Ctx, _args: list[str]) -> Screen:
    """Text where a photo is wanted: a photo, or 'skip' — said again."""
    if ctx.msg.photo_url:
        return await add_photo_sent(ctx, _args)
    return with_note(await _ask_photo(ctx, **ctx.data), ctx.t("producer.add_product.photo_please"))


def register(router: Router) -> None:
    for verb, handler in (
        ("pa", add_start),
        ("pcat", add_category),
        ("punit", add_unit),
        ("pskip", add_skip_photo),
        ("psame", add_same),
    ):
        router.on(verb, handler, writes=False)
    router.on("paok", add_submit, writes=True)
    for state, waiting in (
        ("producer.add.name", add_name_typed),
        ("producer.add.cat", tap_again(_again_category)),
        ("producer.add.unit", add_unit_typed),
        ("producer.add.price", add_price_typed),
        ("producer.add.stock", add_stock_typed),
        ("producer.add.photo", _again_photo),
        ("producer.add.region", add_region_typed),
        ("producer.add.farm", add_farm_typed),
        ("producer.add.confirm", tap_again(_again_add_confirm)),
    ):
        router.waiting(state, waiting, writes=False)
