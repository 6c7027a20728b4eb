"""A product's card (price, shop, origin, rating, stock, what others said) with the buttons to buy, and
"어디서 왔나요?": the origin and every signed step, with the ledger entry that proves each.
"""

from __future__ import annotations

from bots.context import Ctx
from bots.flows import community, payload
from bots.messages import Button, Reply, Screen
from bots.router import Router
from bots.texts import won
from commerce.provenance import service as provenance
from commerce.reviews import queries as review_queries
from commerce.shops import catalog, product_code
from commerce.shops import service as shops


async def product(ctx: Ctx, args: list[str]) -> Screen:
    found = await catalog.get(ctx.uow, payload.arg(args, 0))
    owner = await shops.get(ctx.uow, found.shop_id)
    rating = await review_queries.rating_summary(ctx.uow, product_id=found.id)
    lines = [
        ctx.t("product.price", price=won(found.price, ctx.lang), unit=found.unit),
        ctx.t("product.shop", shop=owner.name, market=owner.market or owner.region),
        ctx.t("product.origin", region=found.origin_region, producer=found.origin_producer),
    ]
    if found.produced_on:
        lines.append(ctx.t("product.produced_on", date=found.produced_on))
    if found.certifications:
        lines.append(ctx.t("product.certs", certs=", ".join(found.certifications)))
    if rating.average_x10 is not None:
        lines.append(
            ctx.t("product.rating", avg=f"{rating.average_x10 // 10}.{rating.average_x10 % 10}", n=rating.count)
        )
    lines.append(ctx.t("product.stock", n=found.stock) if found.available else ctx.t("product.sold_out"))
    if talk := await community.card_line(ctx, found.id):
        lines.append(talk)
    buy = (
        [ctx.button("product.add", f"add:{found.id}:1", n=1), ctx.button("product.add", f"add:{found.id}:2", n=2)]
        if found.available
        else []
    )
    image = found.photos[0] if found.photos and found.photos[0].startswith(("http://", "https://", "tg:")) else None
    call = [Button(ctx.t("shop.call"), phone=owner.phone)] if owner.phone else []
    card = Reply(
        "\n".join(lines),
        title=found.name,
        image_url=image,
        buttons=tuple(
            tuple(r)
            for r in (
                buy,
                [ctx.button("product.where_from", f"pv:{found.id}")],
                [ctx.button("product.shop_button", f"sh:{owner.id}"), *call],
                community.product_row(ctx, found.id),  # comments and recommending: the sixth choice at most
            )
            if r
        ),
    )
    return ctx.screen(card)


STAGE_KEYS = {
    "harvested": "product.provenance.harvested",
    "processed": "product.provenance.processed",
    "packed": "product.provenance.packed",
    "handed_over": "product.provenance.handed_over",
    "delivered": "product.provenance.delivered",
    "collected": "product.provenance.collected",
}


async def where_from(ctx: Ctx, args: list[str]) -> Screen:
    """어디서 왔나요? — the origin and every signed step, with the ledger entry that proves it."""
    history = await provenance.history(ctx.uow, payload.arg(args, 0))
    p = history.product
    lines = [
        ctx.t("product.provenance.origin", region=p.origin_region, producer=p.origin_producer),
        ctx.t("product.provenance.listed", seq=p.listed_seq),
    ]
    for event in history.events[-8:]:
        note = f" — {event.note}" if event.note else ""
        lines.append(
            ctx.t(
                "product.provenance.step",
                stage=ctx.t(STAGE_KEYS.get(event.stage, "product.provenance.other")),
                seq=event.seq,
            )
            + note
        )
    if not history.events:
        lines.append(ctx.t("product.provenance.no_steps"))
    lines.append(ctx.t("product.provenance.proof_hint"))
    row = [ctx.button("product.back", f"p:{p.id}")]
    if ctx.config.public_url:  # the same steps on the product's page, where the browser checks each signature
        row.append(
            Button(
                ctx.t("product.provenance.page"), url=ctx.config.public_url.rstrip("/") + product_code.page_path(p.id)
            )
        )
    return ctx.screen(
        Reply("\n".join(lines), title=ctx.t("product.provenance.title", name=p.name), buttons=(tuple(row),))
    )


def register(router: Router) -> None:
    router.on("p", product, writes=False)
    router.on("pv", where_from, writes=False)
