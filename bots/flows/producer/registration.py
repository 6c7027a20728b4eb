"""Opening a shop by chat: its name, kind, market, region, phone, BNM share and delivery fee, then a
confirmation; an operator approves it (``bots.flows.operator``)::

    ps ─(no shop)─ psn ▶ shop.name ▶ shop.kind ▶ shop.market [▶ shop.market_t] ▶ shop.region
                   ▶ shop.phone ▶ shop.share ▶ shop.fee ▶ shop.confirm ─psok▶ pending (an operator approves)
"""

from __future__ import annotations

from typing import Any

from bots.context import Ctx
from bots.flows.answers import clean_text, expects_text, parse_amount, with_note
from bots.flows.producer.home import arg_int, draft_of, stale, tap_again
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import won
from commerce import validate
from commerce.errors import InvalidInput
from commerce.shops import service as shops

BNM_SHARES = (0, 30, 50, 100)
DELIVERY_FEES = (0, 2000, 3000, 4000)


async def shop_new(ctx: Ctx, _args: list[str]) -> Screen:
    return expects_text(ctx, "producer.shop.name", ctx.t("producer.register.ask_name"))


async def _ask_kind(ctx: Ctx, **draft: Any) -> Screen:
    ctx.go("producer.shop.kind", **draft)
    kinds = [ctx.button(f"work.kind.{k}", f"psk:{i}") for i, k in enumerate(shops.KINDS)]
    return ctx.say(ctx.t("producer.register.ask_kind"), kinds[:2], kinds[2:])


async def _ask_market(ctx: Ctx, **draft: Any) -> Screen:
    names = [name for name, _n in await shops.list_markets(ctx.uow)][:4]
    ctx.go("producer.shop.market", **draft, markets=names)
    rows = [[Button(name, payload=f"psm:{i}")] for i, name in enumerate(names)]
    rows.append(
        [ctx.button("producer.register.market_other", "psm:o"), ctx.button("producer.register.market_none", "psm:n")]
    )
    return ctx.say(ctx.t("producer.register.ask_market"), *rows)


async def _ask_phone(ctx: Ctx, **draft: Any) -> Screen:
    rows = [[ctx.button("producer.register.phone_mine", "psp:me")]] if ctx.member.phone else []
    rows.append([ctx.button("work.skip", "psp:skip")])
    return expects_text(ctx, "producer.shop.phone", ctx.t("producer.register.ask_phone"), *rows, **draft)


async def _ask_share(ctx: Ctx, **draft: Any) -> Screen:
    ctx.go("producer.shop.share", **draft)
    return ctx.say(ctx.t("producer.register.ask_share"), [Button(f"{n}%", payload=f"psb:{n}") for n in BNM_SHARES])


async def _ask_fee(ctx: Ctx, **draft: Any) -> Screen:
    buttons = [
        Button(ctx.t("producer.register.fee_free") if fee == 0 else won(fee, ctx.lang), payload=f"psf:{fee}")
        for fee in DELIVERY_FEES
    ]
    return expects_text(ctx, "producer.shop.fee", ctx.t("producer.register.ask_fee"), buttons[:2], buttons[2:], **draft)


async def _shop_confirm(ctx: Ctx, **draft: Any) -> Screen:
    ctx.go("producer.shop.confirm", **draft)
    none = ctx.t("work.none")
    text = ctx.t(
        "producer.register.confirm",
        name=draft["name"],
        kind=ctx.t(f"work.kind.{draft['kind']}"),
        market=draft.get("market") or none,
        region=draft["region"],
        phone=draft.get("phone") or none,
        share=draft["share"],
        fee=won(draft["fee"], ctx.lang),
    )
    return ctx.say(text, [ctx.button("producer.register.submit", "psok"), ctx.button("work.cancel", "ps")])


async def shop_name_typed(ctx: Ctx, args: list[str]) -> Screen:
    name = clean_text(args[0], 60)
    if name is None:
        return expects_text(
            ctx, ctx.state, ctx.t("work.text_long", max=60) + "\n" + ctx.t("producer.register.ask_name")
        )
    return await _ask_kind(ctx, name=name)


async def shop_kind(ctx: Ctx, args: list[str]) -> Screen:
    draft, i = draft_of(ctx, "producer.shop.kind", "name"), arg_int(args, 0)
    if draft is None or i is None or not 0 <= i < len(shops.KINDS):
        return await stale(ctx)
    return await _ask_market(ctx, **draft, kind=shops.KINDS[i])


async def shop_market(ctx: Ctx, args: list[str]) -> Screen:
    draft = draft_of(ctx, "producer.shop.market", "name", "kind", "markets")
    if draft is None or not args:
        return await stale(ctx)
    names: list[str] = draft.pop("markets")
    if args[0] == "o":
        return expects_text(ctx, "producer.shop.market_t", ctx.t("producer.register.ask_market_name"), **draft)
    i = arg_int(args, 0)
    market = None if args[0] == "n" else names[i] if i is not None and 0 <= i < len(names) else ""
    if market == "":
        return await stale(ctx)
    return expects_text(ctx, "producer.shop.region", ctx.t("producer.register.ask_region"), **draft, market=market)


async def shop_market_typed(ctx: Ctx, args: list[str]) -> Screen:
    market = clean_text(args[0], 60)
    if market is None:
        return expects_text(ctx, ctx.state, ctx.t("work.text_long", max=60), **ctx.data)
    return expects_text(ctx, "producer.shop.region", ctx.t("producer.register.ask_region"), **ctx.data, market=market)


async def shop_region_typed(ctx: Ctx, args: list[str]) -> Screen:
    region = clean_text(args[0], 64)
    if region is None or "," in region:
        return expects_text(
            ctx, ctx.state, ctx.t("work.text_long", max=64) + "\n" + ctx.t("producer.register.ask_region"), **ctx.data
        )
    return await _ask_phone(ctx, **ctx.data, region=region)


async def shop_phone_typed(ctx: Ctx, args: list[str]) -> Screen:
    try:
        phone = validate.phone(args[0])
    except InvalidInput:
        return with_note(await _ask_phone(ctx, **ctx.data), ctx.t("work.not_phone"))
    return await _ask_share(ctx, **ctx.data, phone=phone)


async def shop_phone(ctx: Ctx, args: list[str]) -> Screen:
    draft = draft_of(ctx, "producer.shop.phone", "name", "kind", "region")
    if draft is None:
        return await stale(ctx)
    phone = ctx.member.phone if args and args[0] == "me" else None
    return await _ask_share(ctx, **draft, phone=phone)


async def shop_share(ctx: Ctx, args: list[str]) -> Screen:
    draft, share = draft_of(ctx, "producer.shop.share", "name", "kind", "region"), arg_int(args, 0)
    if draft is None or share not in BNM_SHARES:
        return await stale(ctx)
    return await _ask_fee(ctx, **draft, share=share)


async def shop_fee(ctx: Ctx, args: list[str]) -> Screen:
    draft, fee = draft_of(ctx, "producer.shop.fee", "name", "kind", "region", "share"), arg_int(args, 0)
    if draft is None or fee is None:
        return await stale(ctx)
    return await _shop_confirm(ctx, **draft, fee=fee)


async def shop_fee_typed(ctx: Ctx, args: list[str]) -> Screen:
    fee = parse_amount(args[0])
    if fee is None:
        return with_note(await _ask_fee(ctx, **ctx.data), ctx.t("work.number"))
    return await _shop_confirm(ctx, **ctx.data, fee=fee)


async def shop_submit(ctx: Ctx, _args: list[str]) -> Screen:
    d = draft_of(ctx, "producer.shop.confirm", "name", "kind", "region", "share", "fee")
    if d is None:
        return await stale(ctx)
    await shops.open_shop(
        ctx.services,
        ctx.uow,
        ctx.member.id,
        name=d["name"],
        kind=d["kind"],
        region=d["region"],
        market_name=d.get("market"),
        phone=d.get("phone"),
        bnm_max_share=d["share"],
        delivery_fee=d["fee"],
    )
    ctx.go()
    return ctx.say(
        ctx.t("producer.register.submitted"), [Button(ctx.t("work.call_office"), phone=ctx.config.office_phone)]
    )


async def _again_kind(ctx: Ctx) -> Screen:
    return await _ask_kind(ctx, **ctx.data) if "name" in ctx.data else await stale(ctx)


async def _again_market(ctx: Ctx) -> Screen:
    draft = {k: v for k, v in ctx.data.items() if k != "markets"}
    return await _ask_market(ctx, **draft) if "kind" in draft else await stale(ctx)


async def _again_share(ctx: Ctx) -> Screen:
    return await _ask_share(ctx, **ctx.data) if "region" in ctx.data else await stale(ctx)


async def _again_shop_confirm(ctx: Ctx) -> Screen:
    return await _shop_confirm(ctx, **ctx.data) if "fee" in ctx.data else await stale(ctx)


def register(router: Router) -> None:
    for verb, handler in (
        ("psn", shop_new),
        ("psk", shop_kind),
        ("psm", shop_market),
        ("psp", shop_phone),
        ("psb", shop_share),
        ("psf", shop_fee),
    ):
        router.on(verb, handler, writes=False)
    router.on("psok", shop_submit, writes=True)
    for state, waiting in (
        ("producer.shop.name", shop_name_typed),
        ("producer.shop.kind", tap_again(_again_kind)),
        ("producer.shop.market", tap_again(_again_market)),
        ("producer.shop.market_t", shop_market_typed),
        ("producer.shop.region", shop_region_typed),
        ("producer.shop.phone", shop_phone_typed),
        ("producer.shop.share", tap_again(_again_share)),
        ("producer.shop.fee", shop_fee_typed),
        ("producer.shop.confirm", tap_again(_again_shop_confirm)),
    ):
        router.waiting(state, waiting, writes=False)
