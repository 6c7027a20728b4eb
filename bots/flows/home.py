"""Home, help, language, a person to call, and deep links — reachable from every screen."""

from __future__ import annotations

from bots.context import Ctx
from bots.messages import Button, Reply, Screen
from bots.router import Router
from bots.texts import LANGS
from commerce.orders import queries as order_queries

WORK_PAYLOADS = {"producer": "ps", "courier": "cj", "operator": "op"}


async def reorder_button(ctx: Ctx) -> list[Button]:
    """ "지난번처럼", for a member who has an order to repeat (a new member has nothing to repeat yet)."""
    if await order_queries.order_to_repeat(ctx.uow, ctx.member.id) is None:
        return []
    return [ctx.button("home.reorder", "re")]


async def home_buttons(ctx: Ctx) -> list[list[Button]]:
    """At most six big buttons: the shopper's four, the member's work, and 'more'."""
    rows = [
        [ctx.button("home.shop", "mk"), *await reorder_button(ctx)],
        [ctx.button("home.orders", "orders"), ctx.button("home.wallet", "w")],
    ]
    work = [role for role in ("producer", "courier", "operator") if ctx.member.has(role)]
    last: list[Button] = []
    if len(work) == 1:
        last = [ctx.button(f"home.work.{work[0]}", WORK_PAYLOADS[work[0]])]
    elif work:
        last = [ctx.button("home.work", "work")]
    rows.append([*last, ctx.button("home.more", "more")])
    return rows


async def home(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    text = ctx.t("home.greeting", name=ctx.member.display_name)
    if ctx.member.phone is None:
        text += "\n" + ctx.t("home.no_phone", more=ctx.t("home.more"), phone=ctx.t("more.phone"))
    return ctx.say(text, *await home_buttons(ctx))


async def work(ctx: Ctx, _args: list[str]) -> Screen:
    rows = [
        [ctx.button(f"home.work.{role}", payload)] for role, payload in WORK_PAYLOADS.items() if ctx.member.has(role)
    ]
    return ctx.say(ctx.t("home.work.choose"), *rows)


async def more(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    rows = [
        [ctx.button("more.phone", "phone")] if ctx.member.phone is None else [],
        [ctx.button("more.bnm_pref", "pref"), ctx.button("more.lang", "lang")],
        # A producer's shop is on the home screen already; here, its hours, delivery windows and pickup.
        [ctx.button("terms.button", "pt") if ctx.member.has("producer") else ctx.button("more.open_shop", "ps")],
        [ctx.button("more.ads", "ad"), ctx.button("more.human", "human")],  # 도움말 stays in the menu
    ]
    return ctx.say(ctx.t("more.title"), *rows)


async def help_(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    return ctx.say(
        ctx.t("help.text", phone=ctx.config.office_phone),
        [ctx.button("home.shop", "mk"), *await reorder_button(ctx)],
        [Button(ctx.t("help.call"), phone=ctx.config.office_phone), ctx.button("menu.home", "home")],
        [ctx.button("abuse.list", "ab")],  # the member's record notices and appeals (bots/flows/trust.py)
    )


async def human(ctx: Ctx, _args: list[str]) -> Screen:
    """The human fallback: the market office's phone, one tap away."""
    ctx.go()
    return ctx.say(
        ctx.t("human.text", phone=ctx.config.office_phone),
        [Button(ctx.t("help.call"), phone=ctx.config.office_phone)],
        [ctx.button("menu.home", "home")],
    )


async def lang(ctx: Ctx, args: list[str]) -> Screen:
    from commerce.members import service as members

    if args and args[0] in LANGS:
        ctx.member = await members.set_preferences(ctx.uow, ctx.member.id, lang=args[0])
        return await home(ctx, [])
    return ctx.say(
        ctx.t("lang.choose"),
        [ctx.button("lang.korean", "lang:ko"), ctx.button("lang.english", "lang:en")],
    )


async def start(ctx: Ctx, args: list[str]) -> Screen:
    """``/start`` and deep links: ``p<id>`` a product, ``s<id>`` a shop, ``r<token>`` a recommendation."""
    from bots.flows.shopper import browse, product
    from community import referrals

    payload = args[0] if args else ""
    if payload.startswith("p") and payload[1:].isdigit():
        return await product.product(ctx, [payload[1:]])
    if payload.startswith("s") and payload[1:].isdigit():
        return await browse.shop(ctx, [payload[1:]])
    first = Reply(ctx.t("start.welcome", name=ctx.member.display_name))
    if payload.startswith("r"):
        opened = await referrals.resolve(ctx.uow, payload)
        if opened is not None:
            if opened.referrer_id is not None and opened.referrer_id != ctx.member.id:
                ctx.data["referrer"] = opened.referrer_id
            return await product.product(ctx, [str(opened.product_id)])
        if referrals.is_link(payload):  # a recommendation link we do not know: say so, then home
            first = Reply(ctx.t("start.link_unknown"))
    screen = await home(ctx, [])
    return Screen((first, *screen.replies), screen.menu, screen.expects, screen.lang)


def register(router: Router) -> None:
    for verb, handler in (("home", home), ("help", help_), ("human", human), ("more", more), ("work", work)):
        router.on(verb, handler, writes=False)
    router.on("lang", lang, writes=True)
    router.on_home(home, writes=False)
    router.on_start(start, writes=False)
    for key, payload in (
        ("menu.home", "home"),
        ("menu.help", "help"),
        ("home.shop", "mk"),
        ("home.reorder", "re"),
        ("home.orders", "orders"),
        ("home.wallet", "w"),
        ("home.more", "more"),
    ):
        router.label(key, payload)
