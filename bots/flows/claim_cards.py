"""A claim as the shop and the market office see it: the card, the four resolutions as buttons, and a
resolution in words. The producer answers claims (``bots.flows.producer.claims``) and the office decides
the escalated ones (``bots.flows.operator``) from the same card.
"""

from __future__ import annotations

from bots.context import Ctx
from bots.messages import Button
from bots.texts import won
from commerce.claims.rows import Claim
from commerce.orders.rows import Order

RESOLUTION_OF = {"f": "refund_full", "p": "refund_partial", "r": "replacement", "x": "reject"}


def claim_card_text(ctx: Ctx, claim: Claim, order: Order) -> str:
    return ctx.t(
        "producer.claim.card",
        id=claim.id,
        order=order.id,
        total=won(order.total, ctx.lang),
        kind=ctx.t(f"work.claim.{claim.kind}"),
        text=claim.text,
        answer=claim.answer or ctx.t("work.none"),
    )


def resolution_buttons(ctx: Ctx, verb: str, claim_id: int) -> list[list[Button]]:
    return [
        [
            ctx.button("producer.claim.refund_full", f"{verb}:{claim_id}:f"),
            ctx.button("producer.claim.refund_partial", f"{verb}:{claim_id}:p"),
        ],
        [
            ctx.button("producer.claim.replace", f"{verb}:{claim_id}:r"),
            ctx.button("producer.claim.reject", f"{verb}:{claim_id}:x"),
        ],
    ]


def resolution_label(ctx: Ctx, resolution: str, amount: int | None) -> str:
    return ctx.t(f"work.res.{resolution}", amount=won(amount or 0, ctx.lang))
