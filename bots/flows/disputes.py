"""The market office decides escalated claims: a full or partial refund, a replacement, or a refusal,
always with a reason, shown once more before it is recorded (any refund is paid at once)::

    op ▶ opcl (escalated claims) ▶ opcv:<claim> ▶ opcd:<claim>:<f|p|r|x> [▶ operator.claim.amount]
        ▶ operator.claim.reason ▶ operator.claim.confirm ─opcdy▶ decided

The card and the resolutions are the shop's own (``bots.flows.claim_cards``); the services check the
operator role on every step.
"""

from __future__ import annotations

from bots.context import Ctx
from bots.flows import payload
from bots.flows.answers import clean_text, expects_text, parse_amount, with_note
from bots.flows.claim_cards import RESOLUTION_OF, claim_card_text, resolution_buttons, resolution_label
from bots.flows.operator import PAGE, denied
from bots.messages import Screen
from bots.router import Router
from bots.texts import won
from commerce.claims import queries as claim_queries
from commerce.claims import service as claims
from commerce.claims.errors import UnknownClaim
from commerce.claims.rows import Claim
from commerce.orders import queries as order_queries
from commerce.orders.rows import Order


async def claim_list(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    if not ctx.member.has("operator"):
        return denied(ctx)
    queue = await claim_queries.escalated(ctx.uow, limit=PAGE)
    if not queue:
        return ctx.say(ctx.t("operator.claims.empty"), [ctx.button("home.work.operator", "op")])
    rows = [[ctx.button("operator.claims.button", f"opcv:{c.id}", id=c.id)] for c in queue]
    return ctx.say(ctx.t("operator.claims.title"), *rows, [ctx.button("home.work.operator", "op")])


async def _escalated(ctx: Ctx, claim_id: object) -> tuple[Claim, Order] | None:
    if not isinstance(claim_id, int) or not ctx.member.has("operator"):
        return None
    try:
        claim = await claim_queries.get(ctx.uow, claim_id)
    except UnknownClaim:
        return None
    if claim.status != "escalated":
        return None
    return claim, await order_queries.get(ctx.uow, claim.order_id)


def _claim_id(args: list[str]) -> int | None:
    return payload.number(args, 0)


async def claim_card(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await _escalated(ctx, _claim_id(args))
    if found is None:
        return with_note(await claim_list(ctx, []), ctx.t("work.stale"))
    claim, order = found
    return ctx.say(claim_card_text(ctx, claim, order), *resolution_buttons(ctx, "opcd", claim.id))


async def claim_choose(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await _escalated(ctx, _claim_id(args))
    resolution = RESOLUTION_OF.get(args[1] if len(args) > 1 else "")
    if found is None or resolution is None:
        return with_note(await claim_list(ctx, []), ctx.t("work.stale"))
    claim, order = found
    if resolution == "refund_partial":
        text = ctx.t("producer.claim.ask_amount", subtotal=won(order.subtotal, ctx.lang))
        return expects_text(ctx, "operator.claim.amount", text, claim=claim.id, resolution=resolution)
    return expects_text(
        ctx, "operator.claim.reason", ctx.t("operator.claim.ask_reason"), claim=claim.id, resolution=resolution
    )


async def claim_amount_typed(ctx: Ctx, args: list[str]) -> Screen:
    amount = parse_amount(args[0])
    if "claim" not in ctx.data:
        return await claim_list(ctx, [])
    if amount is None:
        return expects_text(ctx, ctx.state, ctx.t("work.number"), **ctx.data)
    return expects_text(ctx, "operator.claim.reason", ctx.t("operator.claim.ask_reason"), **ctx.data, amount=amount)


def _claim_confirm(ctx: Ctx) -> Screen:
    d = ctx.data
    ctx.go("operator.claim.confirm", **d)
    text = ctx.t(
        "operator.claim.confirm",
        id=d["claim"],
        resolution=resolution_label(ctx, d["resolution"], d.get("amount")),
        reason=d["reason"],
    )
    return ctx.say(
        text, [ctx.button("operator.claim.yes", f"opcdy:{d['claim']}"), ctx.button("work.no", f"opcv:{d['claim']}")]
    )


async def claim_reason_typed(ctx: Ctx, args: list[str]) -> Screen:
    reason = clean_text(args[0], claims.MAX_TEXT)
    if "claim" not in ctx.data:
        return await claim_list(ctx, [])
    if reason is None:
        return expects_text(ctx, ctx.state, ctx.t("work.text_long", max=claims.MAX_TEXT), **ctx.data)
    ctx.data = {**ctx.data, "reason": reason}
    return _claim_confirm(ctx)


async def claim_still_choosing(ctx: Ctx, _args: list[str]) -> Screen:
    if "reason" not in ctx.data:
        return await claim_list(ctx, [])
    return with_note(_claim_confirm(ctx), ctx.t("work.tap"))


async def claim_decide(ctx: Ctx, args: list[str]) -> Screen:
    d = ctx.data
    if ctx.state != "operator.claim.confirm" or "reason" not in d or d.get("claim") != _claim_id(args):
        ctx.go()
        return with_note(await claim_list(ctx, []), ctx.t("work.stale"))
    claim = await claims.decide(
        ctx.services,
        ctx.uow,
        ctx.member.id,
        int(d["claim"]),
        resolution=str(d["resolution"]),
        amount=d.get("amount"),
        text=str(d["reason"]),
    )
    ctx.go()
    done = ctx.t("operator.claim.done", id=claim.id, resolution=resolution_label(ctx, d["resolution"], d.get("amount")))
    return with_note(await claim_list(ctx, []), done)


def register(router: Router) -> None:
    for verb, handler in (("opcl", claim_list), ("opcv", claim_card), ("opcd", claim_choose)):
        router.on(verb, handler, writes=False)
    router.on("opcdy", claim_decide, writes=True)
    for state, waiting in (
        ("operator.claim.amount", claim_amount_typed),
        ("operator.claim.reason", claim_reason_typed),
        ("operator.claim.confirm", claim_still_choosing),
    ):
        router.waiting(state, waiting, writes=False)
