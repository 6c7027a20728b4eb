"""Finding goods: markets, their shops, a shop's goods, categories, and the forgiving search (초성,
typos, spacing, "사과 주세요"), with at most one sponsored result marked "(광고)". Every list is paged
so a screen never offers more than six choices.
"""

from __future__ import annotations

from bots.context import Ctx
from bots.flows import payload
from bots.flows.ads import receiving as ads_flow
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import won
from commerce.errors import InvalidInput
from commerce.search import service as product_search
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.shops.rows import Product

PAGE = 5  # short lists (search hits, recent orders): five, leaving a sixth choice to move on
LABEL_MAX = 30  # a goods button naming its shop: goods, amount and shop still fit a phone's button
SHOP_MAX = 8  # the shop's part of such a label ("김씨네 과수원")
MAX_CHOICES = 6  # elderly first: never more buttons than this on one screen (the menu aside)


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


async def markets(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await shops.list_markets(ctx.uow)
    items = [ctx.button("browse.market", f"mkt:{i}:0", name=name, count=n) for i, (name, n) in enumerate(found)]
    return ctx.say(
        ctx.t("browse.markets"),
        *paged(ctx, items, "mk", payload.arg(args, 0), [ctx.button("browse.by_category", "kat")]),
    )


async def market(ctx: Ctx, args: list[str]) -> Screen:
    found = await shops.list_markets(ctx.uow)
    index, page = payload.arg(args, 0), payload.arg(args, 1)
    if index >= len(found):
        return await markets(ctx, [])
    name = found[index][0]
    items = [Button(s.name, payload=f"sh:{s.id}:0") for s in await shops.list_shops(ctx.uow, market=name)]
    rows = paged(ctx, items, f"mkt:{index}", page, [ctx.button("browse.back_markets", "mk")])
    return ctx.say(ctx.t("browse.shops", market=name), *rows)


async def shop(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await shops.get(ctx.uow, payload.arg(args, 0))
    products = [p for p in await catalog.list_products(ctx.uow, shop_id=found.id) if p.active]
    items = [Button(_product_label(ctx, p), payload=f"p:{p.id}") for p in products]
    text = ctx.t(
        "browse.shop", name=found.name, market=found.market or found.region, fee=won(found.delivery_fee, ctx.lang)
    )
    if not products:
        text += "\n" + ctx.t("browse.shop_empty")
    call = [Button(ctx.t("shop.call"), phone=found.phone)] if found.phone else []
    extras = [*call, ctx.button("cart.open", f"cart:{found.id}")]
    return ctx.say(text, *paged(ctx, items, f"sh:{found.id}", payload.arg(args, 1), extras))


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
    rows = paged(ctx, items, "kats", payload.arg(args, 0), [ctx.button("browse.back_markets", "mk")])
    return ctx.say(ctx.t("browse.categories"), *rows)


async def category(ctx: Ctx, args: list[str]) -> Screen:
    if not args:
        return await categories(ctx, [])
    index, page = payload.arg(args, 0), payload.arg(args, 1)
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
    # One sponsored result at most, marked "(광고)", first; the page keeps ≤ 6 choices (bots.flows.ads.receiving).
    if (ad := await ads_flow.sponsored_button(ctx, query)) is not None:
        rows = [[ad], *rows[: PAGE - 1]]
    return ctx.say(ctx.t("search.found", query=query[:30]), *rows, [ctx.button("home.shop", "mk")])


def register(router: Router) -> None:
    for verb, handler in (("mk", markets), ("mkt", market), ("sh", shop), ("kat", category), ("kats", categories)):
        router.on(verb, handler, writes=False)
    router.on_text(search, writes=False)
