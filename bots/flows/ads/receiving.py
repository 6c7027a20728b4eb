"""Ads from the member's side: which ones they want (category, region, the night; re-confirmed every two
years), the one-tap opt-out, the ads they got, and opening one — the first open pays the member — or
a sponsored search result (``sponsored_button`` puts it on the search page).
"""

from __future__ import annotations

from ads import campaigns, consent, rewards, sponsored
from ads.errors import OpenTokenReused
from bots.context import Ctx
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import won
from commerce.shops import catalog
from commerce.shops import service as shops


async def _choices(ctx: Ctx) -> tuple[list[str], list[str]]:
    cats = await catalog.categories_listed(ctx.uow, limit=4)
    regs = await shops.regions(ctx.uow, limit=4)
    if ctx.member.region and ctx.member.region not in regs:
        regs = [ctx.member.region, *regs[:3]]
    return [consent.ANY, *cats], [consent.ANY, *regs]


def _name(ctx: Ctx, value: str) -> str:
    return ctx.t("ad.any") if value == consent.ANY else value


async def settings(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    v = await consent.view(ctx.uow, ctx.member.id, ctx.services.clock())
    none = ctx.t("ad.none")
    text = ctx.t(
        "ad.settings",
        categories=", ".join(_name(ctx, c) for c in v.categories) or none,
        regions=", ".join(_name(ctx, r) for r in v.regions) or none,
        night=ctx.t("ad.on") if v.night else ctx.t("ad.off"),
    )
    if v.expired:
        text += "\n" + ctx.t("ad.expired")
    rows = [
        [ctx.button("ad.categories", "adc"), ctx.button("ad.regions", "adr")],
        [ctx.button("ad.night", "adn"), ctx.button("ad.inbox", "adi")],
        [ctx.button("ad.reconfirm", "adrc")] if v.expired else [ctx.button("ad.stop_all", "adx")],
    ]
    return ctx.say(text, *rows)


async def _toggle_list(ctx: Ctx, scope: str, verb: str, values: list[str]) -> Screen:
    v = await consent.view(ctx.uow, ctx.member.id, ctx.services.clock())
    on = set(v.categories if scope == "category" else v.regions)
    rows = [
        [Button(("✅ " if value in on else "⬜ ") + _name(ctx, value), payload=f"{verb}:{i}")]
        for i, value in enumerate(values[:5])
    ]
    return ctx.say(ctx.t(f"ad.choose_{scope}"), *rows, [ctx.button("ad.back", "ad")])


async def categories(ctx: Ctx, _args: list[str]) -> Screen:
    cats, _regs = await _choices(ctx)
    return await _toggle_list(ctx, "category", "adct", cats)


async def regions(ctx: Ctx, _args: list[str]) -> Screen:
    _cats, regs = await _choices(ctx)
    return await _toggle_list(ctx, "region", "adrt", regs)


async def _toggle(ctx: Ctx, args: list[str], scope: str) -> Screen:
    cats, regs = await _choices(ctx)
    values = cats if scope == "category" else regs
    if not args or not args[0].isdigit() or int(args[0]) >= len(values):
        return await settings(ctx, [])
    value = values[int(args[0])]
    v = await consent.view(ctx.uow, ctx.member.id, ctx.services.clock())
    on = value in (v.categories if scope == "category" else v.regions)
    await consent.set_consent(ctx.services, ctx.uow, ctx.member.id, scope, value, granted=not on)
    return await (categories if scope == "category" else regions)(ctx, [])


async def toggle_category(ctx: Ctx, args: list[str]) -> Screen:
    return await _toggle(ctx, args, "category")


async def toggle_region(ctx: Ctx, args: list[str]) -> Screen:
    return await _toggle(ctx, args, "region")


async def toggle_night(ctx: Ctx, _args: list[str]) -> Screen:
    v = await consent.view(ctx.uow, ctx.member.id, ctx.services.clock())
    await consent.set_consent(ctx.services, ctx.uow, ctx.member.id, "night", "", granted=not v.night)
    return await settings(ctx, [])


async def reconfirm(ctx: Ctx, _args: list[str]) -> Screen:
    await consent.reconfirm(ctx.services, ctx.uow, ctx.member.id)
    return await settings(ctx, [])


async def stop(ctx: Ctx, args: list[str]) -> Screen:
    """The one-tap opt-out: immediate, for every ad, no question asked."""
    campaign_id = int(args[0]) if args and args[0].isdigit() else None
    await consent.opt_out(ctx.services, ctx.uow, ctx.member.id, campaign_id=campaign_id)
    ctx.go()
    return ctx.say(ctx.t("ad.stopped"), [ctx.button("ad.settings_button", "ad")])


async def inbox(ctx: Ctx, _args: list[str]) -> Screen:
    got = await rewards.received(ctx.uow, ctx.member.id, limit=5)
    if not got:
        return ctx.say(ctx.t("ad.inbox_empty"), [ctx.button("ad.back", "ad")])
    buttons = [[Button(ctx.t("ad.inbox_item", shop=r.shop), payload=f"ado:{r.campaign_id}:{r.token}")] for r in got]
    return ctx.say(ctx.t("ad.inbox_title"), *buttons)


async def _show_after_open(ctx: Ctx, product_id: int, key: str, **values: object) -> Screen:
    product = await catalog.get(ctx.uow, product_id)
    return ctx.say(
        ctx.t(key, **values) + "\n\n" + ctx.t("ad.product", name=product.name, price=won(product.price, ctx.lang)),
        [ctx.button("ad.see_product", f"p:{product.id}")],
    )


async def _opened(ctx: Ctx, result: rewards.OpenResult) -> Screen:
    key = {"paid": "ad.paid", "exhausted": "ad.thanks_exhausted", "held": "ad.thanks_held"}.get(
        result.outcome, "ad.thanks"
    )
    return await _show_after_open(ctx, result.campaign.product_id, key, amount=won(result.paid, ctx.lang))


async def open_(ctx: Ctx, args: list[str]) -> Screen:
    """The tracked "자세히 보기": pays the first open, then shows the product."""
    if len(args) < 2 or not args[0].isdigit():
        return ctx.say(ctx.t("ad.bad_button"))
    try:
        result = await rewards.open_ad(ctx.services, ctx.uow, ctx.member.id, int(args[0]), args[1])
    except OpenTokenReused:
        campaign = await campaigns.get(ctx.uow, int(args[0]))
        return await _show_after_open(ctx, campaign.product_id, "ad.thanks")
    return await _opened(ctx, result)


async def open_sponsored(ctx: Ctx, args: list[str]) -> Screen:
    if len(args) < 2 or not args[0].isdigit():
        return ctx.say(ctx.t("ad.bad_button"))
    try:
        result = await sponsored.open_sponsored(ctx.services, ctx.uow, ctx.member.id, int(args[0]), args[1])
    except OpenTokenReused:
        campaign = await campaigns.get(ctx.uow, int(args[0]))
        return await _show_after_open(ctx, campaign.product_id, "ad.thanks")
    return await _opened(ctx, result)


async def sponsored_button(ctx: Ctx, query: str) -> Button | None:
    """The one "(광고)" result for a search page (the search screen adds it), or None."""
    found = await sponsored.sponsored_for(ctx.uow, query, exclude_shop_owner=ctx.member.id)
    if found is None:
        return None
    product = await catalog.get(ctx.uow, found.product_id)
    token = await sponsored.open_token(ctx.services, ctx.uow, ctx.member.id, found.campaign_id)
    return Button(ctx.t("ad.sponsored", name=product.name), payload=f"ads:{found.campaign_id}:{token}")


def register(router: Router) -> None:
    for verb, handler in (("ad", settings), ("adc", categories), ("adr", regions), ("adi", inbox)):
        router.on(verb, handler, writes=False)
    for verb, writing in (
        ("adct", toggle_category),
        ("adrt", toggle_region),
        ("adn", toggle_night),
        ("adrc", reconfirm),
        ("adx", stop),
        ("ado", open_),
        ("ads", open_sponsored),
    ):
        router.on(verb, writing, writes=True)
    router.label("ad.typed_inbox", "adi")
    router.label("ad.typed_stop", "adx")
