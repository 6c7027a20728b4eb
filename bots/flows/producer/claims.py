"""Answering a claim on one of the shop's orders: a full or partial refund, a replacement, or a refusal
with a reason; anything that moves money is shown once more before it is sent::

    pcl ▶ pclv:<claim> ▶ pcla:<claim>:<f|p|r|x> [▶ claim.amount | claim.reason] ▶ claim.confirm ─pcly▶ answered
"""

from __future__ import annotations

from bots.context import Ctx
from bots.flows import shop_delivery
from bots.flows.answers import clean_text, expects_text, parse_amount, with_note
from bots.flows.claim_cards import RESOLUTION_OF, claim_card_text, resolution_buttons, resolution_label
from bots.flows.producer.home import PAGE, arg_int, draft_of, my_shop, shop_home, stale
from bots.messages import Screen
from bots.router import Router
from bots.texts import won
from commerce.claims import queries as claim_queries
from commerce.claims import service as claims
from commerce.claims.errors import UnknownClaim
from commerce.claims.rows import Claim
from commerce.orders.rows import Order


async def claim_list(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    shop = await my_shop(ctx.uow, ctx.member.id)
    if shop is None or not shop.verified:
        return await shop_home(ctx, [])
    inbox = await claim_queries.for_shop(ctx.uow, shop.id)
    if not inbox:
        return ctx.say(ctx.t("producer.claims.empty"), [ctx.button("home.work.producer", "ps")])
    lines = [ctx.t("producer.claims.title")]
    lines += [
        ctx.t("producer.claims.item", id=c.id, order=c.order_id, kind=ctx.t(f"work.claim.{c.kind}"))
        for c in inbox[:PAGE]
    ]
    return ctx.say(
        "\n".join(lines), *[[ctx.button("producer.claims.button", f"pclv:{c.id}", id=c.id)] for c in inbox[:PAGE]]
    )


async def _shop_claim(ctx: Ctx, claim_id: int | None) -> tuple[Claim, Order] | None:
    if claim_id is None:
        return None
    try:
        claim = await claim_queries.get(ctx.uow, claim_id)
    except UnknownClaim:
        return None
    order = await shop_delivery.shop_order(ctx, claim.order_id)
    return None if order is None else (claim, order)


async def claim_card(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await _shop_claim(ctx, arg_int(args, 0))
    if found is None:
        return await stale(ctx)
    claim, order = found
    if claim.status != "open":
        return ctx.say(claim_card_text(ctx, claim, order), [ctx.button("producer.claims.list", "pcl")])
    return ctx.say(claim_card_text(ctx, claim, order), *resolution_buttons(ctx, "pcla", claim.id))


def _claim_confirm(ctx: Ctx, claim_id: int, resolution: str, amount: int | None, reason: str) -> Screen:
    ctx.go("producer.claim.confirm", claim=claim_id, resolution=resolution, amount=amount, reason=reason)
    text = ctx.t("producer.claim.confirm", id=claim_id, resolution=resolution_label(ctx, resolution, amount))
    if reason:
        text += "\n" + ctx.t("work.reason", reason=reason)
    if resolution in ("refund_full", "refund_partial"):
        text += "\n" + ctx.t("producer.claim.money_note")
    return ctx.say(
        text, [ctx.button("producer.claim.send", f"pcly:{claim_id}"), ctx.button("work.no", f"pclv:{claim_id}")]
    )


async def claim_choose(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await _shop_claim(ctx, arg_int(args, 0))
    resolution = RESOLUTION_OF.get(args[1] if len(args) > 1 else "")
    if found is None or resolution is None:
        return await stale(ctx)
    claim, order = found
    if resolution == "refund_partial":
        return expects_text(
            ctx,
            "producer.claim.amount",
            ctx.t("producer.claim.ask_amount", subtotal=won(order.subtotal, ctx.lang)),
            claim=claim.id,
        )
    if resolution == "reject":
        return expects_text(ctx, "producer.claim.reason", ctx.t("producer.claim.ask_reason"), claim=claim.id)
    return _claim_confirm(ctx, claim.id, resolution, None, "")


async def claim_amount_typed(ctx: Ctx, args: list[str]) -> Screen:
    amount, claim_id = parse_amount(args[0]), ctx.data.get("claim")
    if not isinstance(claim_id, int):
        return await stale(ctx)
    if amount is None:
        return expects_text(ctx, ctx.state, ctx.t("work.number"), **ctx.data)
    return _claim_confirm(ctx, claim_id, "refund_partial", amount, "")


async def claim_reason_typed(ctx: Ctx, args: list[str]) -> Screen:
    reason, claim_id = clean_text(args[0], claims.MAX_TEXT), ctx.data.get("claim")
    if not isinstance(claim_id, int):
        return await stale(ctx)
    if reason is None:
        return expects_text(ctx, ctx.state, ctx.t("work.text_long", max=claims.MAX_TEXT), **ctx.data)
    return _claim_confirm(ctx, claim_id, "reject", None, reason)


async def claim_send(ctx: Ctx, args: list[str]) -> Screen:
    d = draft_of(ctx, "producer.claim.confirm", "claim", "resolution")
    if d is None or d["claim"] != arg_int(args, 0):
        return await stale(ctx)
    await claims.answer_claim(
        ctx.services,
        ctx.uow,
        ctx.member.id,
        int(d["claim"]),
        resolution=d["resolution"],
        amount=d.get("amount"),
        text=d.get("reason") or "",
    )
    ctx.go()
    return ctx.say(
        ctx.t("producer.claim.done"),
        [ctx.button("producer.claims.list", "pcl"), ctx.button("home.work.producer", "ps")],
    )


async def claim_still_choosing(ctx: Ctx, _args: list[str]) -> Screen:
    """Text while a confirmation waits: the confirmation again, with a word on which button to press."""
    d = draft_of(ctx, "producer.claim.confirm", "claim", "resolution")
    if d is None:
        return await stale(ctx)
    screen = _claim_confirm(ctx, d["claim"], d["resolution"], d.get("amount"), d.get("reason") or "")
    return with_note(screen, ctx.t("work.tap"))


def register(router: Router) -> None:
    for verb, handler in (("pcl", claim_list), ("pclv", claim_card), ("pcla", claim_choose)):
        router.on(verb, handler, writes=False)
    router.on("pcly", claim_send, writes=True)
    for state, waiting in (
        ("producer.claim.amount", claim_amount_typed),
        ("producer.claim.reason", claim_reason_typed),
        ("producer.claim.confirm", claim_still_choosing),
    ):
        router.waiting(state, waiting, writes=False)
