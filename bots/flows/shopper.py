"""The shopper: browse, search, a product and where it came from, the cart, paying, orders, reviews, claims.

A routine order needs no typing::

    home ─장보기→ markets ─→ shops ─→ products ─→ product card ─담기→ cart ─결제→ confirmation
                                                     │                            │ (밤나무 비율)
                                                     └─어디서 왔나요?→ provenance  └─결제하기→ paid (code shown)
    home ─지난번처럼→ confirmation (the last order at today's prices)
    home ─내 주문→ orders ─→ order ─→ cancel | 잘 받았어요 | 후기 | 문제 신고

The confirmation's "결제하기" button carries the total the member saw and a nonce naming that confirmation
(the cart's version, share and total), so a changed price is refused (never charged) and a double tap
pays once (the nonce is the checkout's idempotency key).
"""

from __future__ import annotations

from bots.dialogue import Ctx, Router
from bots.flows import ads as ads_flow
from bots.flows import checkout, community, home, payload
from bots.messages import Button, Reply, Screen
from bots.texts import won
from commerce.claims import service as claims
from commerce.delivery import service as delivery
from commerce.errors import InvalidInput, NotAllowed
from commerce.orders import service as orders
from commerce.provenance import service as provenance
from commerce.reviews import queries as review_queries
from commerce.reviews import service as reviews
from commerce.reviews.errors import AlreadyReviewed
from commerce.search import service as product_search
from commerce.shops import catalog, product_code
from commerce.shops import service as shops
from commerce.shops.rows import Product

PAGE = 5  # short lists (search hits, recent orders): five, leaving a sixth choice to move on
LABEL_MAX = 30  # a goods button naming its shop: goods, amount and shop still fit a phone's button
SHOP_MAX = 8  # the shop's part of such a label ("김씨네 과수원")
MAX_CHOICES = 6  # elderly first: never more buttons than this on one screen (the menu aside)
CLAIM_KINDS = claims.KINDS


def _int(arg: str, field: str = "id") -> int:
    return payload.required(arg, field)


def _arg(args: list[str], i: int, default: int = 0) -> int:
    return _int(args[i]) if len(args) > i and args[i] else default


def paged(ctx: Ctx, items: list[Button], verb: str, page: int, extras: list[Button]) -> list[list[Button]]:
    """One page of a list, one item a row, with ◀ ▶ when it does not fit — never over six choices.

    ``verb`` is the payload that shows page N as ``verb:N``; ``extras`` (a way back, the cart) stay
    on every page.
    """
    room = MAX_CHOICES - len(extras)
    if len(items) <= room:
        return [*([b] for b in items), extras]
    per = room - 2  # keep two places for ◀ and ▶
    last = (len(items) - 1) // per
    page = min(max(page, 0), last)
    nav = []
    if page > 0:
        nav.append(ctx.button("list.prev", f"{verb}:{page - 1}"))
    if page < last:
        nav.append(ctx.button("list.next", f"{verb}:{page + 1}"))
    return [*([b] for b in items[page * per : (page + 1) * per]), nav, extras]


# ------------------------------------------------------------------------------------ browsing


async def markets(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await shops.list_markets(ctx.uow)
    items = [ctx.button("browse.market", f"mkt:{i}:0", name=name, count=n) for i, (name, n) in enumerate(found)]
    return ctx.say(
        ctx.t("browse.markets"), *paged(ctx, items, "mk", _arg(args, 0), [ctx.button("browse.by_category", "kat")])
    )


async def market(ctx: Ctx, args: list[str]) -> Screen:
    found = await shops.list_markets(ctx.uow)
    index, page = _arg(args, 0), _arg(args, 1)
    if index >= len(found):
        return await markets(ctx, [])
    name = found[index][0]
    items = [Button(s.name, payload=f"sh:{s.id}:0") for s in await shops.list_shops(ctx.uow, market=name)]
    rows = paged(ctx, items, f"mkt:{index}", page, [ctx.button("browse.back_markets", "mk")])
    return ctx.say(ctx.t("browse.shops", market=name), *rows)


async def shop(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await shops.get(ctx.uow, _arg(args, 0))
    products = [p for p in await catalog.list_products(ctx.uow, shop_id=found.id) if p.active]
    items = [Button(_product_label(ctx, p), payload=f"p:{p.id}") for p in products]
    text = ctx.t(
        "browse.shop", name=found.name, market=found.market or found.region, fee=won(found.delivery_fee, ctx.lang)
    )
    if not products:
        text += "\n" + ctx.t("browse.shop_empty")
    call = [Button(ctx.t("shop.call"), phone=found.phone)] if found.phone else []
    extras = [*call, ctx.button("cart.open", f"cart:{found.id}")]
    return ctx.say(text, *paged(ctx, items, f"sh:{found.id}", _arg(args, 1), extras))


def _product_label(ctx: Ctx, p: Product, shop: str = "") -> str:
    return _goods_label(ctx, p.name, p.unit, p.price, available=p.available, shop=shop)


def _goods_label(ctx: Ctx, name: str, unit: str, price: int, *, available: bool, shop: str = "") -> str:
    """ "사과 1kg 6,000원", and " · 김씨네 과수원" where goods of several shops are listed together (the same
    goods at the same price from two shops must not look like one button twice); the name gives way
    first when that is long."""
    tail = f" {unit} {won(price, ctx.lang)}" + ("" if available else " " + ctx.t("product.sold_out_tag"))
    if not shop:
        return name + tail
    tail += " · " + (shop if len(shop) <= SHOP_MAX else shop[: SHOP_MAX - 1].rstrip() + "…")
    room = max(LABEL_MAX - len(tail), 2)
    return (name if len(name) <= room else name[: room - 1].rstrip() + "…") + tail


async def categories(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    items = [Button(name, payload=f"kat:{i}:0") for i, name in enumerate(catalog.CATEGORIES)]
    rows = paged(ctx, items, "kats", _arg(args, 0), [ctx.button("browse.back_markets", "mk")])
    return ctx.say(ctx.t("browse.categories"), *rows)


async def category(ctx: Ctx, args: list[str]) -> Screen:
    if not args:
        return await categories(ctx, [])
    index, page = _arg(args, 0), _arg(args, 1)
    if index >= len(catalog.CATEGORIES):
        return await categories(ctx, [])
    name = catalog.CATEGORIES[index]
    products = [p for p in await catalog.list_products(ctx.uow, category=name) if p.available]
    shop_names = await shops.names(ctx.uow, [p.shop_id for p in products])
    items = [Button(_product_label(ctx, p, shop_names.get(p.shop_id, "")), payload=f"p:{p.id}") for p in products]
    text = ctx.t("browse.category", name=name) if products else ctx.t("browse.category_empty", name=name)
    return ctx.say(text, *paged(ctx, items, f"kat:{index}", page, [ctx.button("browse.back_categories", "kats")]))


# How people ask in a chat ("사과 주세요", "배추 있어요?"): the request around the goods' name.
REQUEST_ENDINGS = ("사고 싶어요", "살래요", "주세요", "있나요", "있어요", "없나요", "있니", "줘요", "줘", "요")
FILLERS = ("좀", "혹시", "그", "저기")


def plain_query(text: str) -> str:
    """The goods' name in a polite request: endings, fillers and punctuation off (search forgives the rest)."""
    words = text.strip().rstrip("?!.~ ").split()
    words = [w for w in words if w not in FILLERS]
    joined = " ".join(words)
    for ending in REQUEST_ENDINGS:
        if joined.endswith(ending) and len(joined) > len(ending):
            return joined[: -len(ending)].strip()
    return joined


async def search(ctx: Ctx, args: list[str]) -> Screen:
    """Whatever was typed with no question pending: the forgiving search (초성, typos, spacing)."""
    ctx.go()
    query = args[0] if args else ""
    hits: list[product_search.Hit] = []
    for attempt in dict.fromkeys((query, plain_query(query))):  # as typed, then without "주세요"
        try:
            hits = await product_search.search(ctx.uow, ctx.index, attempt, region=ctx.member.region, limit=PAGE)
        except InvalidInput:
            hits = []
        if hits:
            break
    if not hits:
        return ctx.say(
            ctx.t("search.none", query=query[:30]),
            [ctx.button("home.shop", "mk"), ctx.button("browse.by_category", "kat")],
        )
    rows = [
        [
            Button(
                _goods_label(ctx, h.name, h.unit, h.price, available=h.in_stock, shop=h.shop_name),
                payload=f"p:{h.product_id}",
            )
        ]
        for h in hits
    ]
    # One sponsored result at most, marked "(광고)", first; the page keeps ≤ 6 choices (bots.flows.ads).
    if (ad := await ads_flow.sponsored_button(ctx, query)) is not None:
        rows = [[ad], *rows[: PAGE - 1]]
    return ctx.say(ctx.t("search.found", query=query[:30]), *rows, [ctx.button("home.shop", "mk")])


# ------------------------------------------------------------------------------------- product


async def product(ctx: Ctx, args: list[str]) -> Screen:
    found = await catalog.get(ctx.uow, _arg(args, 0))
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
    "harvested": "prov.harvested",
    "processed": "prov.processed",
    "packed": "prov.packed",
    "handed_over": "prov.handed_over",
    "delivered": "prov.delivered",
}


async def where_from(ctx: Ctx, args: list[str]) -> Screen:
    """어디서 왔나요? — the origin and every signed step, with the ledger entry that proves it."""
    history = await provenance.history(ctx.uow, _arg(args, 0))
    p = history.product
    lines = [
        ctx.t("prov.origin", region=p.origin_region, producer=p.origin_producer),
        ctx.t("prov.listed", seq=p.listed_seq),
    ]
    for event in history.events[-8:]:
        note = f" — {event.note}" if event.note else ""
        lines.append(ctx.t("prov.step", stage=ctx.t(STAGE_KEYS.get(event.stage, "prov.other")), seq=event.seq) + note)
    if not history.events:
        lines.append(ctx.t("prov.no_steps"))
    lines.append(ctx.t("prov.proof_hint"))
    row = [ctx.button("product.back", f"p:{p.id}")]
    if ctx.config.public_url:  # the same steps on the product's page, where the browser checks each signature
        row.append(Button(ctx.t("prov.page"), url=ctx.config.public_url.rstrip("/") + product_code.page_path(p.id)))
    return ctx.screen(Reply("\n".join(lines), title=ctx.t("prov.title", name=p.name), buttons=(tuple(row),)))


# ---------------------------------------------------------------------------------------- cart


async def add(ctx: Ctx, args: list[str]) -> Screen:
    """담기: into the cart and straight on to the confirmation (더 담기 and 장바구니 are on it)."""
    product_id, qty = _arg(args, 0), _arg(args, 1, 1)
    await orders.add_to_cart(ctx.services, ctx.uow, ctx.member.id, product_id, qty)
    found = await catalog.get(ctx.uow, product_id)
    items = await orders.cart(ctx.uow, ctx.member.id, found.shop_id)
    count = sum(q for _p, q, _pr in items)
    note = ctx.t("cart.added", name=found.name, qty=qty, count=count)
    return await checkout.confirmation(ctx, [str(found.shop_id)], note=note)


async def cart(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    if not args:
        shop_ids = await orders.cart_shops(ctx.uow, ctx.member.id)
        if not shop_ids:
            return ctx.say(ctx.t("cart.empty"), [ctx.button("home.shop", "mk"), *await home.reorder_button(ctx)])
        if len(shop_ids) > 1:
            names = [await shops.get(ctx.uow, s) for s in shop_ids[:PAGE]]
            return ctx.say(ctx.t("cart.which_shop"), *[[Button(s.name, payload=f"cart:{s.id}")] for s in names])
        args = [str(shop_ids[0])]
    shop_id = _arg(args, 0)
    items = await orders.cart(ctx.uow, ctx.member.id, shop_id)
    if not items:
        return ctx.say(ctx.t("cart.empty"), [ctx.button("home.shop", "mk")])
    products = await catalog.get_many(ctx.uow, [p for p, _q, _pr in items])
    lines = [ctx.t("cart.title", shop=(await shops.get(ctx.uow, shop_id)).name)]
    rows: list[list[Button]] = []
    for pid, qty, _seen in items:
        p = products[pid]
        lines.append(ctx.t("cart.line", name=p.name, unit=p.unit, qty=qty, amount=won(p.price * qty, ctx.lang)))
        if len(rows) < 2:  # ± for two lines, then 결제 and 더 담기: six choices
            rows.append(
                [
                    Button(ctx.t("cart.less", name=p.name), payload=f"qty:{pid}:{qty - 1}"),
                    Button(ctx.t("cart.more_one", name=p.name), payload=f"qty:{pid}:{qty + 1}"),
                ]
            )
    return ctx.say(
        "\n".join(lines),
        *rows,
        [ctx.button("cart.checkout", f"pay:{shop_id}")],
        [ctx.button("cart.more", f"sh:{shop_id}")],
    )


async def quantity(ctx: Ctx, args: list[str]) -> Screen:
    product_id, qty = _arg(args, 0), _arg(args, 1)
    found = await catalog.get(ctx.uow, product_id)
    await orders.set_quantity(ctx.services, ctx.uow, ctx.member.id, product_id, qty)
    return await cart(ctx, [str(found.shop_id)])


# -------------------------------------------------------------------------------------- orders

STATE_KEYS = (
    "placed",
    "paid",
    "accepted",
    "picked_up",
    "delivered",
    "confirmed",
    "settled",
    "cancelled",
    "refunded",
)


CANCELLABLE = ("placed", "paid")  # before the shop accepts (commerce.orders.service.cancel_order)


def _state(ctx: Ctx, state: str) -> str:
    return ctx.t(f"state.{state}") if state in STATE_KEYS else state


async def my_orders(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    found = await orders.list_for_buyer(ctx.uow, ctx.member.id, limit=PAGE)
    if not found:
        return ctx.say(ctx.t("orders.none"), [ctx.button("home.shop", "mk")])
    rows = [
        [
            Button(
                ctx.t("orders.item", id=o.id, total=won(o.total, ctx.lang), state=_state(ctx, o.state)),
                payload=f"o:{o.id}",
            )
        ]
        for o in found
    ]
    return ctx.say(ctx.t("orders.title"), *rows)


async def order(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await orders.get(ctx.uow, _arg(args, 0))
    if found.buyer_id != ctx.member.id:
        raise NotAllowed("only the buyer sees this order here", order=found.id)
    owner = await shops.get(ctx.uow, found.shop_id)
    lines = [ctx.t("order.title", id=found.id, shop=owner.name, state=_state(ctx, found.state))]
    lines += [
        ctx.t("cart.line", name=x.name, unit=x.unit, qty=x.qty, amount=won(x.amount, ctx.lang)) for x in found.lines
    ]
    lines.append(ctx.t("pay.total", amount=won(found.total, ctx.lang)))
    rows: list[list[Button]] = []
    if found.state in ("paid", "accepted", "picked_up"):
        code = await delivery.delivery_code(ctx.uow, ctx.member.id, found.id)
        lines.append(ctx.t("order.code", code=code))
    if found.state in CANCELLABLE:
        rows.append([ctx.button("order.cancel", f"ocx:{found.id}")])
    if found.state in ("picked_up", "delivered"):
        rows.append([ctx.button("order.received", f"rcv:{found.id}")])
    if found.state in ("delivered", "confirmed", "settled"):
        review = (
            [ctx.button("order.review", f"rv:{found.id}")]
            if await review_queries.not_reviewed(ctx.uow, found.id)
            else []
        )
        rows.append([*review, ctx.button("order.claim", f"cl:{found.id}")])
    rows.append(
        [*([Button(ctx.t("shop.call"), phone=owner.phone)] if owner.phone else []), ctx.button("home.orders", "orders")]
    )
    return ctx.say("\n".join(lines), *rows)


async def cancel(ctx: Ctx, args: list[str]) -> Screen:
    order_id = _arg(args, 0)
    found = await orders.get(ctx.uow, order_id)
    if found.buyer_id != ctx.member.id:
        raise NotAllowed("only the buyer cancels this order here", order=found.id)
    if found.state not in CANCELLABLE:  # a button from before the shop took it, or a second tap
        key = "order.cancelled_before" if found.state == "cancelled" else "order.cancel_too_late"
        return ctx.say(
            ctx.t(key, id=found.id, state=_state(ctx, found.state)),
            [ctx.button("order.view", f"o:{found.id}"), ctx.button("home.orders", "orders")],
        )
    if len(args) < 2 or args[1] != "y":
        return ctx.say(
            ctx.t("order.cancel_sure", id=order_id),
            [ctx.button("order.cancel_yes", f"ocx:{order_id}:y"), ctx.button("order.cancel_no", f"o:{order_id}")],
        )
    await orders.cancel_order(ctx.services, ctx.uow, ctx.member.id, order_id)
    return ctx.say(ctx.t("order.cancelled", id=order_id), [ctx.button("home.orders", "orders")])


async def received(ctx: Ctx, args: list[str]) -> Screen:
    found = await orders.confirm_receipt(ctx.services, ctx.uow, ctx.member.id, _arg(args, 0))
    if not await review_queries.not_reviewed(ctx.uow, found.id):  # reviewed while it was marked delivered
        return ctx.say(ctx.t("order.thanks_reviewed", id=found.id), [ctx.button("home.orders", "orders")])
    return ctx.say(ctx.t("order.thanks", id=found.id), [ctx.button("order.review", f"rv:{found.id}")])


async def review(ctx: Ctx, args: list[str]) -> Screen:
    """후기: pick the product (when the order had several), tap the stars, then a word or skip."""
    found = await orders.get(ctx.uow, _arg(args, 0))
    if found.buyer_id != ctx.member.id:
        raise NotAllowed("only the buyer reviews this order", order=found.id)
    if len(args) < 2:
        left = set(await review_queries.not_reviewed(ctx.uow, found.id))
        lines = [x for x in found.lines if x.product_id in left]
        if not lines:  # every product reviewed already (a button from before)
            raise AlreadyReviewed("every product of this order has a review", order=found.id)
        if len(lines) > 1:
            rows = [[Button(x.name, payload=f"rv:{found.id}:{x.product_id}")] for x in lines[:PAGE]]
            return ctx.say(ctx.t("review.which"), *rows)
        args = [args[0], str(lines[0].product_id)]
    product_id = _arg(args, 1)
    if len(args) < 3:
        stars = [Button("⭐" * n, payload=f"rv:{found.id}:{product_id}:{n}") for n in (5, 4, 3, 2, 1)]
        return ctx.say(ctx.t("review.stars"), stars[:2], stars[2:])
    rating = _arg(args, 2)
    ctx.go("review.text", order=found.id, product=product_id, rating=rating)
    return ctx.say(ctx.t("review.words"), [ctx.button("review.skip", "rvt")], expects="text")


async def review_words(ctx: Ctx, args: list[str]) -> Screen:
    data = ctx.data
    if not {"order", "product", "rating"} <= data.keys():
        return await my_orders(ctx, [])
    text = args[0] if args and ctx.state == "review.text" else ""
    await reviews.post_review(
        ctx.services,
        ctx.uow,
        ctx.member.id,
        int(data["order"]),
        int(data["product"]),
        rating=int(data["rating"]),
        text=text,
        photo=ctx.msg.photo_url,
    )
    ctx.go()
    return ctx.say(ctx.t("review.thanks"), [ctx.button("menu.home", "home")])


async def claim(ctx: Ctx, args: list[str]) -> Screen:
    order_id = _arg(args, 0)
    if len(args) < 2:
        rows = [[Button(ctx.t(f"claim.kind.{k}"), payload=f"cl:{order_id}:{i}")] for i, k in enumerate(CLAIM_KINDS)]
        return ctx.say(ctx.t("claim.which"), *rows)
    kind_index = _arg(args, 1)
    if kind_index >= len(CLAIM_KINDS):
        raise InvalidInput("unknown claim kind", field="kind")
    ctx.go("claim.text", order=order_id, kind=CLAIM_KINDS[kind_index])
    return ctx.say(ctx.t("claim.describe"), expects="text")


async def claim_words(ctx: Ctx, args: list[str]) -> Screen:
    data = ctx.data
    text = args[0] if args else ""
    if not text:
        return ctx.say(ctx.t("claim.describe"), expects="text")
    opened = await claims.open_claim(
        ctx.services, ctx.uow, ctx.member.id, int(data["order"]), kind=str(data["kind"]), text=text
    )
    ctx.go()
    return ctx.say(ctx.t("claim.opened", id=opened.id), [ctx.button("home.orders", "orders")])


def register(router: Router) -> None:
    for verb, handler in (
        ("mk", markets),
        ("mkt", market),
        ("sh", shop),
        ("kat", category),
        ("kats", categories),
        ("p", product),
        ("pv", where_from),
        ("add", add),
        ("cart", cart),
        ("qty", quantity),
        ("orders", my_orders),
        ("o", order),
        ("ocx", cancel),
        ("rcv", received),
        ("rv", review),
        ("rvt", review_words),
        ("cl", claim),
    ):
        router.on(verb, handler)
    router.waiting("review.text", review_words)
    router.waiting("claim.text", claim_words)
    router.fallback = search
    router.label("cart.open", "cart")
