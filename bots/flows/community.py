"""Recommendations and comments in the chat: share a product, talk about it, credit the comment that
convinced you, and see what recommending earned.

::

    product card ─💬 댓글·추천→ comments ─❓/💡/🙋→ (type the words) → comments
                                   └─📣 친구에게 추천→ share (Telegram link, web link, Kakao text)
    confirmation ─💬 이 댓글 덕분에 샀어요→ pick a comment → confirmation (the pay button carries it)
    pay → orders.checkout with the comment, whose ``OrderPaid`` attributes the recommendation and credits
          the comment in the same transaction — both are paid only when the order settles
    더보기/share ─💰 추천으로 번 돈→ earnings

Verbs are ``rc…`` (``cm`` is the courier's). Flows hold no rule: ``community.referrals`` and ``community.comments`` do.
"""

from __future__ import annotations

from urllib.parse import quote

from ads import reward_settings
from bots.context import Ctx
from bots.flows import payload
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import bnm, won
from commerce.errors import InvalidInput
from commerce.orders import queries as order_queries
from commerce.shops import catalog
from commerce.shops import service as shops
from community import comments, referrals

KIND_CODES = {"q": "question", "t": "tip", "a": "answer"}
SHOWN = 4  # comments per screen: short enough to read aloud


def _int(arg: str) -> int:
    return payload.required(arg)


def _short(text: str, n: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


def _percent(bp: int) -> str:
    whole, frac = divmod(bp, 100)
    return f"{whole}%" if not frac else f"{whole}.{frac:02d}".rstrip("0") + "%"


# ------------------------------------------------------------------------- the product card's parts


async def card_line(ctx: Ctx, product_id: int) -> str | None:
    """One line for the product card: how many comments, and the latest one."""
    latest = await comments.for_product(ctx.uow, product_id, limit=1)
    if not latest:
        return None
    total = await comments.count(ctx.uow, product_id)
    return ctx.t("community.card.line", n=total, text=_short(latest[0].text))


def product_row(ctx: Ctx, product_id: int) -> list[Button]:
    """The card's one extra button: the comments, and from there, recommending."""
    return [ctx.button("community.card.button", f"rcc:{product_id}")]


# ---------------------------------------------------------------------------------- comments


async def comment_list(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    product = await catalog.get(ctx.uow, _int(args[0]) if args else 0)
    found = await comments.for_product(ctx.uow, product.id, limit=SHOWN)
    lines = [ctx.t("community.comments.title", name=product.name)]
    kinds = {"question": "❓", "answer": "🙋", "tip": "💡"}
    lines += [f"{kinds.get(x.kind, '💬')} {x.author}: {_short(x.text, 80)}" for x in found]
    if not found:
        lines.append(ctx.t("community.comments.none"))
    rows: list[list[Button]] = []
    if product.active:
        rows.append(
            [
                ctx.button("community.comments.ask", f"rcw:{product.id}:q"),
                ctx.button("community.comments.tip", f"rcw:{product.id}:t"),
            ]
        )
        question = next((x for x in found if x.kind == "question" and x.author_id != ctx.member.id), None)
        if question is not None:
            rows.append(
                [ctx.button("community.comments.answer", f"rcw:{product.id}:a:{question.id}", who=question.author)]
            )
        rows.append([ctx.button("community.comments.share", f"rcs:{product.id}")])
    rows.append([ctx.button("product.back", f"p:{product.id}")])
    return ctx.say("\n".join(lines), *rows)


async def write(ctx: Ctx, args: list[str]) -> Screen:
    """Ask for the words of a question, a tip, or an answer to a question."""
    if len(args) < 2 or args[1] not in KIND_CODES:
        raise InvalidInput("this comment button is incomplete", field="payload")
    product_id = _int(args[0])
    reply_to = _int(args[2]) if args[1] == "a" and len(args) > 2 else None
    if args[1] == "a" and reply_to is None:
        raise InvalidInput("an answer needs its question", field="payload")
    ctx.go("rc.comment", product=product_id, kind=KIND_CODES[args[1]], reply_to=reply_to)
    return ctx.say(
        ctx.t(f"community.write.{KIND_CODES[args[1]]}"),
        [ctx.button("community.write.back", f"rcc:{product_id}")],
        expects="text",
    )


async def written(ctx: Ctx, args: list[str]) -> Screen:
    data = ctx.data
    text = args[0] if args else ""
    if not isinstance(data.get("product"), int) or not text:
        return ctx.say(ctx.t("community.write.tip"), expects="text")
    reply_to = data.get("reply_to")
    await comments.post(
        ctx.services,
        ctx.uow,
        ctx.member.id,
        int(data["product"]),
        kind=str(data.get("kind", "tip")),
        text=text,
        reply_to=reply_to if isinstance(reply_to, int) else None,
    )
    screen = await comment_list(ctx, [str(data["product"])])
    return ctx.say(ctx.t("community.comments.posted") + "\n\n" + screen.replies[0].text, *screen.replies[0].buttons)


# ------------------------------------------------------------------------------------ sharing


async def share(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    shared = await referrals.share(
        ctx.services,
        ctx.uow,
        ctx.member.id,
        _int(args[0]) if args else 0,
        bot_username=ctx.config.bot_username,
        public_url=ctx.config.public_url,
    )
    product = await catalog.get(ctx.uow, shared.product_id)
    days = await reward_settings.value(ctx.uow, "referral_window_days")
    lines = [ctx.t("community.share.title", name=product.name)]
    if shared.commission_bp:
        lines.append(ctx.t("community.share.pays", days=days, pct=_percent(shared.commission_bp)))
    else:
        lines.append(ctx.t("community.share.free"))
    lines.append(ctx.t("community.share.web", link=shared.web))
    lines.append(ctx.t("community.share.kakao", text=shared.kakao_text))
    rows: list[list[Button]] = []
    if shared.telegram:
        url = f"https://t.me/share/url?url={quote(shared.telegram, safe='')}&text={quote(product.name, safe='')}"
        rows.append([Button(ctx.t("community.share.telegram"), url=url)])
    rows.append([ctx.button("community.earnings.button", "rce")])
    owner = await shops.get(ctx.uow, product.shop_id)
    if owner.owner_id == ctx.member.id:  # the producer sets what recommenders of the shop earn
        rows.append([ctx.button("community.commission.button", f"rcp:{owner.id}")])
    rows.append([ctx.button("product.back", f"p:{product.id}")])
    return ctx.say("\n".join(lines), *rows)


COMMISSIONS = (0, 300, 500, 1000, 2000)  # basis points offered as buttons; the service refuses over 5,000


async def commission(ctx: Ctx, args: list[str]) -> Screen:
    """The shop's owner picks the recommenders' commission (a confirmation is the screen itself)."""
    shop = await shops.require_owner(ctx.uow, ctx.member.id, _int(args[0]) if args else 0)
    if len(args) > 1:
        shop = await referrals.set_commission(ctx.services, ctx.uow, ctx.member.id, shop.id, _int(args[1]))
        return ctx.say(
            ctx.t("community.commission.set", shop=shop.name, pct=_percent(shop.referral_bp)),
            [ctx.button("home.work.producer", "ps")],
        )
    buttons = [Button(_percent(bp), payload=f"rcp:{shop.id}:{bp}") for bp in COMMISSIONS]
    return ctx.say(
        ctx.t("community.commission.choose", shop=shop.name, pct=_percent(shop.referral_bp)), buttons[:3], buttons[3:]
    )


async def earnings(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    e = await referrals.earnings(ctx.uow, ctx.member.id)
    text = ctx.t(
        "community.earnings.text",
        referral=won(e.referral_btl, ctx.lang),
        broker=won(e.broker_btl, ctx.lang),
        waiting=e.pending_orders,
        held=e.held_orders,
        bnm=bnm(e.contribution_units),
    )
    return ctx.say(text, [ctx.button("home.wallet", "w"), ctx.button("menu.home", "home")])


# --------------------------------------------------------------------- at the confirmation screen


async def confirmation_extras(
    ctx: Ctx, shop_id: int, share_pct: int, args: list[str], product_ids: list[int]
) -> tuple[list[str], str, list[Button]]:
    """What the confirmation adds: the credited comment's line and the pay payload's suffix, or the
    "이 댓글 덕분에 샀어요" button when others commented on what is in the cart."""
    if len(args) > 2 and args[2]:
        chosen = await comments.get(ctx.uow, _int(args[2]))
        if chosen.product_id in product_ids and chosen.author_id != ctx.member.id:
            return [ctx.t("community.credit.chosen", who=chosen.author, text=_short(chosen.text))], f":{chosen.id}", []
    if await comments.creditable(ctx.uow, ctx.member.id, product_ids, limit=1):
        return [], "", [ctx.button("community.credit.button", f"rcb:{shop_id}:{share_pct}")]
    return [], "", []


async def choose_comment(ctx: Ctx, args: list[str]) -> Screen:
    """Pick the comment that convinced you; it goes back to the confirmation with it."""
    shop_id = _int(args[0]) if args else 0
    share_pct = _int(args[1]) if len(args) > 1 else 0
    items = await order_queries.cart(ctx.uow, ctx.member.id, shop_id)
    found = await comments.creditable(ctx.uow, ctx.member.id, [item.product_id for item in items], limit=SHOWN)
    rows = [[Button(f"{x.author}: {_short(x.text, 24)}", payload=f"pay:{shop_id}:{share_pct}:{x.id}")] for x in found]
    rows.append([ctx.button("community.credit.back", f"pay:{shop_id}:{share_pct}")])
    return ctx.say(ctx.t("community.credit.choose"), *rows)


def register(router: Router) -> None:
    for verb, handler in (("rcc", comment_list), ("rcw", write), ("rce", earnings), ("rcb", choose_comment)):
        router.on(verb, handler, writes=False)
    router.on("rcs", share, writes=True)
    router.on("rcp", commission, writes=True)
    router.waiting("rc.comment", written, writes=True)
