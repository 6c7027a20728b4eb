"""A producer's ad campaigns by chat: the product, the words, a photo, the audience, the reward per open,
how often one member may get it and the budget, then a confirmation; afterwards the report, pause,
resume, and ending it (what is unspent goes back).
"""

from __future__ import annotations

from ads import campaigns, reports
from ads.campaigns import Audience
from bots.context import Ctx
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import won
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.shops.rows import Shop

REWARDS = (50, 100, 300, 500)
LIMITS = (1, 2, 3)
BUDGETS = (10_000, 30_000, 50_000, 100_000)
AUDIENCES = ("consent", "buyers", "market")


async def _shop(ctx: Ctx) -> Shop | None:
    return await shops.owned_by(ctx.uow, ctx.member.id)


async def producer_home(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    shop = await _shop(ctx)
    if shop is None or not ctx.member.has("producer"):
        return ctx.say(ctx.t("ad.campaigns.no_shop"), [ctx.button("home.work.producer", "ps")])
    mine = await campaigns.of_shop(ctx.uow, shop.id, limit=4)
    rows = [
        [ctx.button("ad.campaigns.item", f"adpc:{c.id}", id=c.id, status=ctx.t(f"ad.status.{c.status}"))] for c in mine
    ]
    return ctx.say(ctx.t("ad.campaigns.title", shop=shop.name), *rows, [ctx.button("ad.campaigns.new", "adpn")])


async def new_campaign(ctx: Ctx, _args: list[str]) -> Screen:
    shop = await _shop(ctx)
    if shop is None:
        return await producer_home(ctx, [])
    products = await catalog.list_products(ctx.uow, shop_id=shop.id, limit=5)
    if not products:
        return ctx.say(ctx.t("ad.new.no_products"), [ctx.button("home.work.producer", "ps")])
    rows = [[Button(p.name, payload=f"adpp:{p.id}")] for p in products]
    return ctx.say(ctx.t("ad.new.choose_product"), *rows)


async def chose_product(ctx: Ctx, args: list[str]) -> Screen:
    if not args or not args[0].isdigit():
        return await new_campaign(ctx, [])
    ctx.go("ad.message", product=int(args[0]))
    return ctx.say(ctx.t("ad.new.ask_message"), expects="text")


async def message_typed(ctx: Ctx, _args: list[str]) -> Screen:
    text = (ctx.msg.text or "").strip()
    if not text or len(text) > campaigns.MAX_MESSAGE:
        return ctx.say(ctx.t("ad.new.ask_message"), expects="text")
    ctx.go("ad.draft", **{**ctx.data, "message": text})
    return ctx.say(
        ctx.t("ad.new.ask_photo"), [ctx.button("ad.new.photo_yes", "adph:1"), ctx.button("ad.new.photo_no", "adph:0")]
    )


def _draft_ok(ctx: Ctx, *keys: str) -> bool:
    return ctx.state == "ad.draft" and all(k in ctx.data for k in keys)


async def chose_photo(ctx: Ctx, args: list[str]) -> Screen:
    if not _draft_ok(ctx, "product", "message"):
        return await producer_home(ctx, [])
    ctx.go("ad.draft", **{**ctx.data, "photo": args[:1] == ["1"]})
    rows = [[ctx.button(f"ad.new.audience.{a}", f"adpa:{i}")] for i, a in enumerate(AUDIENCES)]
    return ctx.say(ctx.t("ad.new.ask_audience"), *rows)


async def chose_audience(ctx: Ctx, args: list[str]) -> Screen:
    if not _draft_ok(ctx, "product", "message") or not args or not args[0].isdigit() or int(args[0]) >= len(AUDIENCES):
        return await producer_home(ctx, [])
    ctx.go("ad.draft", **{**ctx.data, "audience": int(args[0])})
    return ctx.say(ctx.t("ad.new.ask_reward"), [Button(won(r, ctx.lang), payload=f"adpr:{r}") for r in REWARDS])


async def chose_reward(ctx: Ctx, args: list[str]) -> Screen:
    if not _draft_ok(ctx, "audience") or not args or not args[0].isdigit():
        return await producer_home(ctx, [])
    ctx.go("ad.draft", **{**ctx.data, "reward": int(args[0])})
    return ctx.say(ctx.t("ad.new.ask_limit"), [ctx.button("ad.new.limit", f"adpl:{n}", n=n) for n in LIMITS])


async def chose_limit(ctx: Ctx, args: list[str]) -> Screen:
    if not _draft_ok(ctx, "reward") or not args or not args[0].isdigit():
        return await producer_home(ctx, [])
    ctx.go("ad.draft", **{**ctx.data, "limit": int(args[0])})
    rows = [Button(won(b, ctx.lang), payload=f"adpb:{b}") for b in BUDGETS]
    return ctx.say(ctx.t("ad.new.ask_budget"), rows[:2], rows[2:])


async def chose_budget(ctx: Ctx, args: list[str]) -> Screen:
    if not _draft_ok(ctx, "limit") or not args or not args[0].isdigit():
        return await producer_home(ctx, [])
    d = {**ctx.data, "budget": int(args[0])}
    ctx.go("ad.draft", **d)
    product = await catalog.get(ctx.uow, int(d["product"]))
    text = ctx.t(
        "ad.new.confirm",
        product=product.name,
        message=d["message"],
        audience=ctx.t(f"ad.new.audience.{AUDIENCES[int(d['audience'])]}"),
        reward=won(int(d["reward"]), ctx.lang),
        limit=int(d["limit"]),
        budget=won(int(d["budget"]), ctx.lang),
        opens=int(d["budget"]) // max(1, int(d["reward"])),
    )
    return ctx.say(
        text,
        [ctx.button("ad.new.start", "adpy", budget=won(int(d["budget"]), ctx.lang))],
        [ctx.button("ad.new.cancel", "adp")],
    )


async def confirm(ctx: Ctx, _args: list[str]) -> Screen:
    if not _draft_ok(ctx, "budget"):
        return await producer_home(ctx, [])
    d = ctx.data
    product = await catalog.get(ctx.uow, int(d["product"]))
    shop = await shops.get(ctx.uow, product.shop_id)
    which = AUDIENCES[int(d["audience"])]
    audience = Audience(
        past_buyers=which == "buyers", markets=(shop.market,) if which == "market" and shop.market else ()
    )
    campaign = await campaigns.create(
        ctx.services,
        ctx.uow,
        ctx.member.id,
        product_id=product.id,
        message=str(d["message"]),
        reward=int(d["reward"]),
        budget=int(d["budget"]),
        per_member_limit=int(d["limit"]),
        photo=product.photos[0] if d.get("photo") and product.photos else None,
        audience=audience,
    )
    campaign = await campaigns.start(ctx.services, ctx.uow, ctx.member.id, campaign.id)
    count = await campaigns.recipients(ctx.uow, campaign.id)
    ctx.go()
    return ctx.say(
        ctx.t("ad.new.started", id=campaign.id, n=int(count), budget=won(campaign.budget, ctx.lang)),
        [ctx.button("ad.campaign.report", f"adpc:{campaign.id}")],
    )


async def campaign_card(ctx: Ctx, args: list[str]) -> Screen:
    if not args or not args[0].isdigit():
        return await producer_home(ctx, [])
    ctx.go()
    r = await reports.report(ctx.services, ctx.uow, ctx.member.id, int(args[0]))
    text = ctx.t(
        "ad.campaign.report_text",
        id=r.campaign_id,
        status=ctx.t(f"ad.status.{r.status}"),
        sent=r.sent,
        delivered=r.delivered,
        opened=r.opened,
        paid=won(r.paid, ctx.lang),
        remaining=won(r.remaining, ctx.lang),
        orders=r.orders,
        cpo=won(r.cost_per_order, ctx.lang) if r.cost_per_order is not None else "-",
    )
    cid = r.campaign_id
    actions = []
    if r.status == "running":
        actions.append(ctx.button("ad.campaign.pause", f"adpz:{cid}"))
    if r.status == "paused":
        actions.append(ctx.button("ad.campaign.resume", f"adpg:{cid}"))
    if r.status != "ended":
        actions.append(ctx.button("ad.campaign.end", f"adpe:{cid}"))
    return ctx.say(text, actions, [ctx.button("ad.campaign.back", "adp")])


async def pause(ctx: Ctx, args: list[str]) -> Screen:
    if args and args[0].isdigit():
        await campaigns.pause(ctx.services, ctx.uow, ctx.member.id, int(args[0]))
    return await campaign_card(ctx, args)


async def resume(ctx: Ctx, args: list[str]) -> Screen:
    if args and args[0].isdigit():
        await campaigns.resume(ctx.services, ctx.uow, ctx.member.id, int(args[0]))
    return await campaign_card(ctx, args)


async def end_ask(ctx: Ctx, args: list[str]) -> Screen:
    if not args or not args[0].isdigit():
        return await producer_home(ctx, [])
    return ctx.say(
        ctx.t("ad.campaign.end_ask"),
        [ctx.button("ad.campaign.end_yes", f"adpey:{args[0]}"), ctx.button("ad.campaign.back", f"adpc:{args[0]}")],
    )


async def end_yes(ctx: Ctx, args: list[str]) -> Screen:
    if not args or not args[0].isdigit():
        return await producer_home(ctx, [])
    campaign = await campaigns.end(ctx.services, ctx.uow, ctx.member.id, int(args[0]))
    return ctx.say(
        ctx.t("ad.campaign.ended", refund=won(campaign.refunded, ctx.lang)), [ctx.button("ad.campaign.back", "adp")]
    )


def register(router: Router) -> None:
    for verb, handler in (
        ("adp", producer_home),
        ("adpn", new_campaign),
        ("adpp", chose_product),
        ("adph", chose_photo),
        ("adpa", chose_audience),
        ("adpr", chose_reward),
        ("adpl", chose_limit),
        ("adpb", chose_budget),
        ("adpc", campaign_card),
        ("adpe", end_ask),
    ):
        router.on(verb, handler, writes=False)
    for verb, handler in (("adpy", confirm), ("adpz", pause), ("adpg", resume), ("adpey", end_yes)):
        router.on(verb, handler, writes=True)
    router.waiting("ad.message", message_typed, writes=False)
