"""The producer's chat: open a shop, list goods with their origin, keep stock and prices, record
provenance, take orders and hand them to couriers, answer claims, see sales, cash out.

Every step calls one commerce service and renders its answer; the services check every rule. The
flow only parses what was typed ("1만2천" → 12000) and keeps the draft of a multi-step answer in the
conversation state. Waiting states (text expected) and the buttons between them::

    ps ─(no shop)─ psn ▶ shop.name ▶ shop.kind ▶ shop.market [▶ shop.market_t] ▶ shop.region
                   ▶ shop.phone ▶ shop.share ▶ shop.fee ▶ shop.confirm ─psok▶ pending (an operator approves)
    ps ─(verified)─ pa ▶ add.name ▶ add.cat ▶ add.unit ▶ add.price ▶ add.stock ▶ add.photo
                   ▶ add.region ▶ add.farm ▶ add.confirm ─paok▶ listed (findable at once)
    pl ▶ pm:<product> ▶ pst:<p>:<±n> | pstn ▶ stock | ppr ▶ price (or pprd:<p>:<±won>) | pev ▶ pevr (one tap)
    po ▶ pod:<order> ▶ pacc ▶ pasg ▶ pasc:<order>:<courier>     pod ▶ pdec ▶ pdecy (the buyer gets it all back)
    pcl ▶ pclv:<claim> ▶ pcla:<claim>:<f|p|r|x> [▶ claim.amount | claim.reason] ▶ claim.confirm ─pcly▶ answered
    psale (sales and balance) ▶ pco (cash-out: bots/flows/cashout.py, every member's)

A button from a step already passed (the draft is gone or belongs to another step) is answered with
"that screen has passed" and the shop's home — never acted on.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bots.dialogue import Ctx, Handler, Router
from bots.flows import payload, shop_delivery
from bots.messages import Button, Reply, Screen
from bots.texts import bnm, won
from commerce import validate
from commerce.claims import queries as claim_queries
from commerce.claims import service as claims
from commerce.claims.errors import UnknownClaim
from commerce.claims.rows import Claim
from commerce.delivery import service as delivery
from commerce.errors import InvalidInput, UnknownOrder
from commerce.members import service as members
from commerce.orders import service as orders
from commerce.provenance import service as provenance
from commerce.shops import catalog, product_code
from commerce.shops import service as shops
from commerce.shops.errors import UnknownProduct
from commerce.shops.rows import Product, Shop
from commerce.wallet import service as wallet
from ledger.db import UnitOfWork

BNM_SHARES = (0, 30, 50, 100)
DELIVERY_FEES = (0, 2000, 3000, 4000)
UNIT_CHOICES = ("1kg", "500g", "1개", "1봉지", "1상자")  # the market's usual units; any other can be typed
PRICE_STEPS = (-1000, -500, 500, 1000)
PAGE = 5  # list items per screen: five choices and a way back stay within six


# ------------------------------------------------------------------------------ shared helpers


def parse_amount(text: str) -> int | None:
    """A whole number as people type it: "12000", "12,000원", "1만2천", "3만", "10개" — None if not one."""
    s = re.sub(r"[\s,]", "", text or "").lower()
    s = re.sub(r"(원|won|개|kg)$", "", s)
    if not s or len(s) > 16:
        return None
    m = re.fullmatch(r"(?:(\d+)만)?(?:(\d+)천)?(\d*)", s)
    if m is None or not any(m.groups()):
        return None
    man, cheon, rest = m.groups()
    return int(man or 0) * 10_000 + int(cheon or 0) * 1_000 + int(rest or 0)


def with_note(screen: Screen, text: str) -> Screen:
    """The same screen with a short line above it: a hint after an answer that did not fit, or "done"."""
    return replace(screen, replies=(Reply(text), *screen.replies))


def clean_text(value: str, max_len: int) -> str | None:
    """The typed answer as the services will store it, or None (too long, empty, control characters)."""
    try:
        return validate.text(value, "answer", max_len=max_len)
    except InvalidInput:
        return None


def expects_text(ctx: Ctx, state: str, text: str, *rows: list[Button], **draft: Any) -> Screen:
    ctx.go(state, **draft)
    return ctx.say(text, *rows, expects="text")


async def my_shop(uow: UnitOfWork, member_id: int) -> Shop | None:
    return await shops.owned_by(uow, member_id)


async def couriers_near(uow: UnitOfWork, region: str, *, limit: int = PAGE) -> list[tuple[int, str]]:
    """Couriers a producer can hand a delivery to, those of the shop's region first."""
    return [(m.id, m.display_name) for m in await members.with_role(uow, "courier", region=region, limit=limit)]


async def _stale(ctx: Ctx) -> Screen:
    return with_note(await shop_home(ctx, []), ctx.t("work.stale"))


def _arg_int(args: list[str], i: int) -> int | None:
    return payload.number(args, i, signed=True)


def _state_label(ctx: Ctx, state: str) -> str:
    return ctx.t(f"work.state.{state}")


# ------------------------------------------------------------------------------------ shop home


async def shop_home(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    shop = await my_shop(ctx.uow, ctx.member.id)
    call = Button(ctx.t("work.call_office"), phone=ctx.config.office_phone)
    if shop is None:
        return ctx.say(ctx.t("ps.none"), [ctx.button("ps.register", "psn")], [call])
    if shop.status == "pending":
        return ctx.say(ctx.t("ps.pending", name=shop.name, phone=ctx.config.office_phone), [call])
    if not shop.verified:
        return ctx.say(
            ctx.t("ps.suspended", name=shop.name, phone=ctx.config.office_phone),
            [call],
            [ctx.button("ps.register", "psn")],
        )
    new = await orders.list_for_shop(ctx.uow, shop.id, states=("paid",))
    open_claims = await claim_queries.for_shop(ctx.uow, shop.id)
    return ctx.say(
        ctx.t("ps.home", name=shop.name, orders=len(new), claims=len(open_claims)),
        [ctx.button("ps.add", "pa"), ctx.button("ps.products", "pl")],
        [ctx.button("ps.orders", "po", n=len(new)), ctx.button("ps.claims", "pcl", n=len(open_claims))],
        [ctx.button("ps.sales", "psale"), ctx.button("ad.producer", "adp")],  # cash-out: from 매출·잔액
    )


# ------------------------------------------------------------------------- registering a shop


async def shop_new(ctx: Ctx, _args: list[str]) -> Screen:
    return expects_text(ctx, "producer.shop.name", ctx.t("ps.ask_name"))


async def _ask_kind(ctx: Ctx, **draft: Any) -> Screen:
    ctx.go("producer.shop.kind", **draft)
    kinds = [ctx.button(f"work.kind.{k}", f"psk:{i}") for i, k in enumerate(shops.KINDS)]
    return ctx.say(ctx.t("ps.ask_kind"), kinds[:2], kinds[2:])


async def _ask_market(ctx: Ctx, **draft: Any) -> Screen:
    names = [name for name, _n in await shops.list_markets(ctx.uow)][:4]
    ctx.go("producer.shop.market", **draft, markets=names)
    rows = [[Button(name, payload=f"psm:{i}")] for i, name in enumerate(names)]
    rows.append([ctx.button("ps.market_other", "psm:o"), ctx.button("ps.market_none", "psm:n")])
    return ctx.say(ctx.t("ps.ask_market"), *rows)


async def _ask_phone(ctx: Ctx, **draft: Any) -> Screen:
    rows = [[ctx.button("ps.phone_mine", "psp:me")]] if ctx.member.phone else []
    rows.append([ctx.button("work.skip", "psp:skip")])
    return expects_text(ctx, "producer.shop.phone", ctx.t("ps.ask_phone"), *rows, **draft)


async def _ask_share(ctx: Ctx, **draft: Any) -> Screen:
    ctx.go("producer.shop.share", **draft)
    return ctx.say(ctx.t("ps.ask_share"), [Button(f"{n}%", payload=f"psb:{n}") for n in BNM_SHARES])


async def _ask_fee(ctx: Ctx, **draft: Any) -> Screen:
    buttons = [
        Button(ctx.t("ps.fee_free") if fee == 0 else won(fee, ctx.lang), payload=f"psf:{fee}") for fee in DELIVERY_FEES
    ]
    return expects_text(ctx, "producer.shop.fee", ctx.t("ps.ask_fee"), buttons[:2], buttons[2:], **draft)


async def _shop_confirm(ctx: Ctx, **draft: Any) -> Screen:
    ctx.go("producer.shop.confirm", **draft)
    none = ctx.t("work.none")
    text = ctx.t(
        "ps.confirm",
        name=draft["name"],
        kind=ctx.t(f"work.kind.{draft['kind']}"),
        market=draft.get("market") or none,
        region=draft["region"],
        phone=draft.get("phone") or none,
        share=draft["share"],
        fee=won(draft["fee"], ctx.lang),
    )
    return ctx.say(text, [ctx.button("ps.submit", "psok"), ctx.button("work.cancel", "ps")])


def _draft(ctx: Ctx, state: str, *keys: str) -> dict[str, Any] | None:
    """The conversation's draft if the flow is waiting in ``state`` and the draft has ``keys``."""
    if ctx.state != state or any(k not in ctx.data for k in keys):
        return None
    return dict(ctx.data)


async def shop_name_typed(ctx: Ctx, args: list[str]) -> Screen:
    name = clean_text(args[0], 60)
    if name is None:
        return expects_text(ctx, ctx.state, ctx.t("work.text_long", max=60) + "\n" + ctx.t("ps.ask_name"))
    return await _ask_kind(ctx, name=name)


async def shop_kind(ctx: Ctx, args: list[str]) -> Screen:
    draft, i = _draft(ctx, "producer.shop.kind", "name"), _arg_int(args, 0)
    if draft is None or i is None or not 0 <= i < len(shops.KINDS):
        return await _stale(ctx)
    return await _ask_market(ctx, **draft, kind=shops.KINDS[i])


async def shop_market(ctx: Ctx, args: list[str]) -> Screen:
    draft = _draft(ctx, "producer.shop.market", "name", "kind", "markets")
    if draft is None or not args:
        return await _stale(ctx)
    names: list[str] = draft.pop("markets")
    if args[0] == "o":
        return expects_text(ctx, "producer.shop.market_t", ctx.t("ps.ask_market_name"), **draft)
    i = _arg_int(args, 0)
    market = None if args[0] == "n" else names[i] if i is not None and 0 <= i < len(names) else ""
    if market == "":
        return await _stale(ctx)
    return expects_text(ctx, "producer.shop.region", ctx.t("ps.ask_region"), **draft, market=market)


async def shop_market_typed(ctx: Ctx, args: list[str]) -> Screen:
    market = clean_text(args[0], 60)
    if market is None:
        return expects_text(ctx, ctx.state, ctx.t("work.text_long", max=60), **ctx.data)
    return expects_text(ctx, "producer.shop.region", ctx.t("ps.ask_region"), **ctx.data, market=market)


async def shop_region_typed(ctx: Ctx, args: list[str]) -> Screen:
    region = clean_text(args[0], 64)
    if region is None or "," in region:
        return expects_text(ctx, ctx.state, ctx.t("work.text_long", max=64) + "\n" + ctx.t("ps.ask_region"), **ctx.data)
    return await _ask_phone(ctx, **ctx.data, region=region)


async def shop_phone_typed(ctx: Ctx, args: list[str]) -> Screen:
    try:
        phone = validate.phone(args[0])
    except InvalidInput:
        return with_note(await _ask_phone(ctx, **ctx.data), ctx.t("work.not_phone"))
    return await _ask_share(ctx, **ctx.data, phone=phone)


async def shop_phone(ctx: Ctx, args: list[str]) -> Screen:
    draft = _draft(ctx, "producer.shop.phone", "name", "kind", "region")
    if draft is None:
        return await _stale(ctx)
    phone = ctx.member.phone if args and args[0] == "me" else None
    return await _ask_share(ctx, **draft, phone=phone)


async def shop_share(ctx: Ctx, args: list[str]) -> Screen:
    draft, share = _draft(ctx, "producer.shop.share", "name", "kind", "region"), _arg_int(args, 0)
    if draft is None or share not in BNM_SHARES:
        return await _stale(ctx)
    return await _ask_fee(ctx, **draft, share=share)


async def shop_fee(ctx: Ctx, args: list[str]) -> Screen:
    draft, fee = _draft(ctx, "producer.shop.fee", "name", "kind", "region", "share"), _arg_int(args, 0)
    if draft is None or fee is None:
        return await _stale(ctx)
    return await _shop_confirm(ctx, **draft, fee=fee)


async def shop_fee_typed(ctx: Ctx, args: list[str]) -> Screen:
    fee = parse_amount(args[0])
    if fee is None:
        return with_note(await _ask_fee(ctx, **ctx.data), ctx.t("work.number"))
    return await _shop_confirm(ctx, **ctx.data, fee=fee)


async def shop_submit(ctx: Ctx, _args: list[str]) -> Screen:
    d = _draft(ctx, "producer.shop.confirm", "name", "kind", "region", "share", "fee")
    if d is None:
        return await _stale(ctx)
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
    return ctx.say(ctx.t("ps.submitted"), [Button(ctx.t("work.call_office"), phone=ctx.config.office_phone)])


# ------------------------------------------------------------------------------ adding a product


async def add_start(ctx: Ctx, _args: list[str]) -> Screen:
    shop = await my_shop(ctx.uow, ctx.member.id)
    if shop is None or not shop.verified:
        return await shop_home(ctx, [])
    return expects_text(ctx, "producer.add.name", ctx.t("pa.ask_name"), shop=shop.id)


async def _ask_category(ctx: Ctx, page: int, **draft: Any) -> Screen:
    ctx.go("producer.add.cat", **draft)
    first = page == 0
    names = catalog.CATEGORIES[:5] if first else catalog.CATEGORIES[5:]
    offset = 0 if first else 5
    buttons = [ctx.button(f"work.category.{c}", f"pcat:{offset + i}") for i, c in enumerate(names)]
    turn = ctx.button("work.more", "pcat:next") if first else ctx.button("work.prev", "pcat:prev")
    return ctx.say(ctx.t("pa.ask_cat", name=draft["name"]), buttons[:3], [*buttons[3:], turn])


async def _ask_unit(ctx: Ctx, **draft: Any) -> Screen:
    buttons = [Button(u, payload=f"punit:{i}") for i, u in enumerate(UNIT_CHOICES)]
    return expects_text(ctx, "producer.add.unit", ctx.t("pa.ask_unit"), buttons[:3], buttons[3:], **draft)


async def _ask_photo(ctx: Ctx, **draft: Any) -> Screen:
    ctx.go("producer.add.photo", **draft)
    return ctx.say(ctx.t("pa.ask_photo"), [ctx.button("work.skip", "pskip")], expects="photo")


async def _ask_region(ctx: Ctx, **draft: Any) -> Screen:
    return expects_text(
        ctx, "producer.add.region", ctx.t("pa.ask_region"), [ctx.button("pa.same_region", "psame")], **draft
    )


async def _ask_farm(ctx: Ctx, **draft: Any) -> Screen:
    return expects_text(ctx, "producer.add.farm", ctx.t("pa.ask_farm"), [ctx.button("pa.same_farm", "psame")], **draft)


async def _add_confirm(ctx: Ctx, **draft: Any) -> Screen:
    ctx.go("producer.add.confirm", **draft)
    text = ctx.t(
        "pa.confirm",
        name=draft["name"],
        category=ctx.t(f"work.category.{draft['category']}"),
        unit=draft["unit"],
        price=won(draft["price"], ctx.lang),
        stock=draft["stock"],
        region=draft["region"],
        farm=draft["farm"],
        photo=ctx.t("pa.photo_yes") if draft.get("photo") else ctx.t("pa.photo_no"),
    )
    reply = Reply(
        text,
        image_url=draft.get("photo"),
        buttons=((ctx.button("pa.submit", "paok"), ctx.button("work.cancel", "ps")),),
    )
    return ctx.screen(reply)


async def add_name_typed(ctx: Ctx, args: list[str]) -> Screen:
    name = clean_text(args[0], 60)
    if name is None:
        return expects_text(ctx, ctx.state, ctx.t("work.text_long", max=60) + "\n" + ctx.t("pa.ask_name"), **ctx.data)
    return await _ask_category(ctx, 0, **ctx.data, name=name)


async def add_category(ctx: Ctx, args: list[str]) -> Screen:
    draft = _draft(ctx, "producer.add.cat", "shop", "name")
    if draft is None or not args:
        return await _stale(ctx)
    if args[0] in ("next", "prev"):
        return await _ask_category(ctx, 1 if args[0] == "next" else 0, **draft)
    i = _arg_int(args, 0)
    if i is None or not 0 <= i < len(catalog.CATEGORIES):
        return await _stale(ctx)
    return await _ask_unit(ctx, **draft, category=catalog.CATEGORIES[i])


async def add_unit(ctx: Ctx, args: list[str]) -> Screen:
    draft, i = _draft(ctx, "producer.add.unit", "shop", "name", "category"), _arg_int(args, 0)
    if draft is None or i is None or not 0 <= i < len(UNIT_CHOICES):
        return await _stale(ctx)
    return expects_text(
        ctx, "producer.add.price", ctx.t("pa.ask_price", unit=UNIT_CHOICES[i]), **draft, unit=UNIT_CHOICES[i]
    )


async def add_unit_typed(ctx: Ctx, args: list[str]) -> Screen:
    unit = clean_text(args[0], 20)
    if unit is None:
        return with_note(await _ask_unit(ctx, **ctx.data), ctx.t("work.text_long", max=20))
    return expects_text(ctx, "producer.add.price", ctx.t("pa.ask_price", unit=unit), **ctx.data, unit=unit)


async def add_price_typed(ctx: Ctx, args: list[str]) -> Screen:
    price = parse_amount(args[0])
    if price is None:
        return expects_text(
            ctx,
            ctx.state,
            ctx.t("work.number") + "\n" + ctx.t("pa.ask_price", unit=ctx.data.get("unit", "")),
            **ctx.data,
        )
    catalog.check_price(price, ctx.services)  # the service's own check: a refusal keeps this step waiting
    return expects_text(ctx, "producer.add.stock", ctx.t("pa.ask_stock"), **ctx.data, price=price)


async def add_stock_typed(ctx: Ctx, args: list[str]) -> Screen:
    stock = parse_amount(args[0])
    if stock is None:
        return expects_text(ctx, ctx.state, ctx.t("work.number") + "\n" + ctx.t("pa.ask_stock"), **ctx.data)
    return await _ask_photo(ctx, **ctx.data, stock=stock)


async def add_photo_sent(ctx: Ctx, _args: list[str]) -> Screen:
    photo = clean_text(ctx.msg.photo_url or "", 200)
    if photo is None:
        return with_note(await _ask_photo(ctx, **ctx.data), ctx.t("pa.photo_please"))
    return await _ask_region(ctx, **ctx.data, photo=photo)


async def add_skip_photo(ctx: Ctx, _args: list[str]) -> Screen:
    draft = _draft(ctx, "producer.add.photo", "shop", "name", "stock")
    if draft is None:
        return await _stale(ctx)
    return await _ask_region(ctx, **draft, photo=None)


async def add_same(ctx: Ctx, _args: list[str]) -> Screen:
    """ "The shop's region" / "the shop's name" for the origin: most producers sell what they grow."""
    if ctx.state not in ("producer.add.region", "producer.add.farm") or "shop" not in ctx.data:
        return await _stale(ctx)
    shop = await shops.get(ctx.uow, int(ctx.data["shop"]))
    if ctx.state == "producer.add.region":
        return await _ask_farm(ctx, **ctx.data, region=shop.region)
    return await _add_confirm(ctx, **ctx.data, farm=shop.name)


async def add_region_typed(ctx: Ctx, args: list[str]) -> Screen:
    region = clean_text(args[0], 64)
    if region is None:
        return with_note(await _ask_region(ctx, **ctx.data), ctx.t("work.text_long", max=64))
    return await _ask_farm(ctx, **ctx.data, region=region)


async def add_farm_typed(ctx: Ctx, args: list[str]) -> Screen:
    farm = clean_text(args[0], 64)
    if farm is None:
        return with_note(await _ask_farm(ctx, **ctx.data), ctx.t("work.text_long", max=64))
    return await _add_confirm(ctx, **ctx.data, farm=farm)


async def add_submit(ctx: Ctx, _args: list[str]) -> Screen:
    d = _draft(ctx, "producer.add.confirm", "shop", "name", "category", "unit", "price", "stock", "region", "farm")
    if d is None:
        return await _stale(ctx)
    product = await catalog.add_product(
        ctx.services,
        ctx.uow,
        ctx.member.id,
        int(d["shop"]),
        name=d["name"],
        category=d["category"],
        unit=d["unit"],
        price=d["price"],
        stock=d["stock"],
        origin_region=d["region"],
        origin_producer=d["farm"],
        photos=[d["photo"]] if d.get("photo") else [],
    )
    ctx.go()
    return ctx.say(
        ctx.t("pa.done", name=product.name, seq=product.listed_seq),
        [ctx.button("pa.again", "pa"), ctx.button("ps.products", "pl")],
        [ctx.button("home.work.producer", "ps")],
    )


# ------------------------------------------------------------------- stock, price and provenance


async def _owned_product(ctx: Ctx, args: list[str]) -> Product | None:
    product_id = _arg_int(args, 0)
    shop = await my_shop(ctx.uow, ctx.member.id)
    if product_id is None or shop is None:
        return None
    try:
        product = await catalog.get(ctx.uow, product_id)
    except UnknownProduct:
        return None
    return product if product.shop_id == shop.id else None


async def products(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    shop = await my_shop(ctx.uow, ctx.member.id)
    if shop is None or not shop.verified:
        return await shop_home(ctx, [])
    offset = max(0, _arg_int(args, 0) or 0)
    items = await catalog.list_products(ctx.uow, shop_id=shop.id, limit=PAGE + 1, offset=offset)
    if not items:
        return ctx.say(ctx.t("pl.empty"), [ctx.button("ps.add", "pa")])
    lines = [ctx.t("pl.title")]
    lines += [
        ctx.t("pl.item", name=p.name, unit=p.unit, price=won(p.price, ctx.lang), stock=p.stock) for p in items[:PAGE]
    ]
    rows = [[Button(p.name, payload=f"pm:{p.id}")] for p in items[:PAGE]]
    turn = [ctx.button("work.more", f"pl:{offset + PAGE}")] if len(items) > PAGE else []
    return ctx.say("\n".join(lines), *rows, turn or [ctx.button("home.work.producer", "ps")])


def _product_card(ctx: Ctx, product: Product) -> Screen:
    pid = product.id
    stock_row = [ctx.button("pm.plus1", f"pst:{pid}:1"), ctx.button("pm.plus10", f"pst:{pid}:10")]
    if product.stock > 0:
        stock_row.append(ctx.button("pm.minus1", f"pst:{pid}:-1"))
    text = ctx.t(
        "pm.card", name=product.name, unit=product.unit, price=won(product.price, ctx.lang), stock=product.stock
    )
    reply = Reply(
        text,
        image_url=product.photos[0] if product.photos else None,
        buttons=(
            tuple(stock_row),
            (ctx.button("pm.stock_type", f"pstn:{pid}"), ctx.button("pm.price", f"ppr:{pid}")),
            (ctx.button("pm.event", f"pev:{pid}"),),
        ),
    )
    return ctx.screen(reply)


async def product_card(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    product = await _owned_product(ctx, args)
    return await _stale(ctx) if product is None else _product_card(ctx, product)


async def stock_step(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    product, delta = await _owned_product(ctx, args), _arg_int(args, 1)
    if product is None or delta is None:
        return await _stale(ctx)
    changed = await catalog.update_stock(ctx.services, ctx.uow, ctx.member.id, product.id, stock=product.stock + delta)
    return with_note(_product_card(ctx, changed), ctx.t("work.changed"))


async def stock_ask(ctx: Ctx, args: list[str]) -> Screen:
    product = await _owned_product(ctx, args)
    if product is None:
        return await _stale(ctx)
    return expects_text(ctx, "producer.stock", ctx.t("pm.ask_stock", stock=product.stock), product=product.id)


async def stock_typed(ctx: Ctx, args: list[str]) -> Screen:
    stock, product_id = parse_amount(args[0]), ctx.data.get("product")
    if not isinstance(product_id, int):
        return await _stale(ctx)
    if stock is None:
        return expects_text(ctx, ctx.state, ctx.t("work.number"), **ctx.data)
    changed = await catalog.update_stock(ctx.services, ctx.uow, ctx.member.id, product_id, stock=stock)
    ctx.go()
    return with_note(_product_card(ctx, changed), ctx.t("work.changed"))


def _price_prompt(ctx: Ctx, product: Product, prefix: str = "") -> Screen:
    steps = [
        Button(("+" if d > 0 else "−") + won(abs(d), ctx.lang), payload=f"pprd:{product.id}:{d}")
        for d in PRICE_STEPS
        if product.price + d > 0
    ]
    text = (prefix + "\n" if prefix else "") + ctx.t("pm.ask_price", price=won(product.price, ctx.lang))
    return expects_text(ctx, "producer.price", text, steps[:2], steps[2:], product=product.id)


async def price_ask(ctx: Ctx, args: list[str]) -> Screen:
    product = await _owned_product(ctx, args)
    return await _stale(ctx) if product is None else _price_prompt(ctx, product)


async def price_step(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    product, delta = await _owned_product(ctx, args), _arg_int(args, 1)
    if product is None or delta is None:
        return await _stale(ctx)
    changed = await catalog.update_price(ctx.services, ctx.uow, ctx.member.id, product.id, product.price + delta)
    return with_note(_product_card(ctx, changed), ctx.t("work.changed"))


async def price_typed(ctx: Ctx, args: list[str]) -> Screen:
    price, product_id = parse_amount(args[0]), ctx.data.get("product")
    if not isinstance(product_id, int):
        return await _stale(ctx)
    if price is None:
        return _price_prompt(ctx, await catalog.get(ctx.uow, product_id), ctx.t("work.number"))
    changed = await catalog.update_price(ctx.services, ctx.uow, ctx.member.id, product_id, price)
    ctx.go()
    return with_note(_product_card(ctx, changed), ctx.t("work.changed"))


async def event_choose(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    product = await _owned_product(ctx, args)
    if product is None:
        return await _stale(ctx)
    stages = [[ctx.button(f"work.stage.{s}", f"pevr:{product.id}:{s}")] for s in provenance.PRODUCER_STAGES]
    back = [Button(product.name, payload=f"pm:{product.id}")]
    if ctx.config.public_url:  # the product card has its six choices already: the label is one tap further
        back.insert(0, ctx.button("trust.label", f"plbl:{product.id}"))
    return ctx.say(ctx.t("pev.ask", name=product.name), *stages, back)


async def label_image(ctx: Ctx, args: list[str]) -> Screen:
    """The product's QR label as an image (served by ``GET /p/<code>/label.png``), to print and stick on."""
    ctx.go()
    product = await _owned_product(ctx, args)
    if product is None:
        return await _stale(ctx)
    code = product_code.encode(product.id)
    reply = Reply(
        ctx.t("trust.label_text", name=product.name, code=code),
        image_url=f"{ctx.config.public_url.rstrip('/')}/p/{code}/label.png",
        buttons=((Button(product.name, payload=f"pm:{product.id}"),),),
    )
    return ctx.screen(reply)


async def event_record(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    product = await _owned_product(ctx, args)
    stage = args[1] if len(args) > 1 else ""
    if product is None or stage not in provenance.PRODUCER_STAGES:
        return await _stale(ctx)
    event = await provenance.record_event(ctx.services, ctx.uow, ctx.member.id, product.id, stage=stage)
    done = ctx.t("pev.done", stage=ctx.t(f"work.stage.{stage}"), seq=event.seq)
    return with_note(_product_card(ctx, product), done)


# ----------------------------------------------------------------------------------------- orders


async def order_list(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    shop = await my_shop(ctx.uow, ctx.member.id)
    if shop is None or not shop.verified:
        return await shop_home(ctx, [])
    pending = await orders.list_for_shop(ctx.uow, shop.id, states=("paid", "accepted"))
    if not pending:
        return ctx.say(ctx.t("po.empty"), [ctx.button("home.work.producer", "ps")])
    lines = [ctx.t("po.title")]
    lines += [
        ctx.t("po.item", id=o.id, total=won(o.total, ctx.lang), state=_state_label(ctx, o.state))
        for o in pending[:PAGE]
    ]
    if len(pending) > PAGE:
        lines.append(ctx.t("work.and_more", n=len(pending) - PAGE))
    rows = [[ctx.button("po.button", f"pod:{o.id}", id=o.id)] for o in pending[:PAGE]]
    return ctx.say("\n".join(lines), *rows)


async def _shop_order(ctx: Ctx, args: list[str]) -> orders.Order | None:
    return await shop_delivery.shop_order(ctx, _arg_int(args, 0))


async def order_card(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order = await _shop_order(ctx, args)
    if order is None:
        return await _stale(ctx)
    lines = [ctx.t("pod.head", id=order.id, state=_state_label(ctx, order.state))]
    lines += [
        ctx.t("pod.line", name=ln.name, unit=ln.unit, qty=ln.qty, amount=won(ln.amount, ctx.lang)) for ln in order.lines
    ]
    lines.append(
        ctx.t(
            "pod.total",
            subtotal=won(order.subtotal, ctx.lang),
            fee=won(order.delivery_fee, ctx.lang),
            total=won(order.total, ctx.lang),
        )
    )
    try:
        job = await delivery.job(ctx.uow, order.id)
    except UnknownOrder:
        job = None
    if job is not None and order.pickup_at is None:
        lines.append(ctx.t("pod.delivery", status=ctx.t(f"work.job.{job.status}")))
    lines += await shop_delivery.destination_lines(ctx, order)
    rows: list[list[Button]] = []
    if order.state == "paid":
        rows.append([ctx.button("pod.accept", f"pacc:{order.id}"), ctx.button("pod.decline", f"pdec:{order.id}")])
    if job is not None and job.status == "open" and order.state in ("paid", "accepted"):
        rows.append([ctx.button("pod.assign", f"pasg:{order.id}")])
    rows.append(shop_delivery.handover_row(ctx, order))
    rows.append([ctx.button("pod.list", "po")])
    return ctx.say("\n".join(lines), *rows)


async def order_accept(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order = await _shop_order(ctx, args)
    if order is None:
        return await _stale(ctx)
    accepted = await orders.accept_order(ctx.services, ctx.uow, ctx.member.id, order.id)
    return ctx.say(
        ctx.t("pacc.done", id=accepted.id),
        [ctx.button("pod.assign", f"pasg:{accepted.id}"), ctx.button("pasg.open", "po")],
    )


async def order_assign(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order, shop = await _shop_order(ctx, args), await my_shop(ctx.uow, ctx.member.id)
    if order is None or shop is None:
        return await _stale(ctx)
    people = await couriers_near(ctx.uow, shop.region)
    if not people:
        return ctx.say(ctx.t("pasg.none"), [ctx.button("pod.list", "po")])
    rows = [[Button(name, payload=f"pasc:{order.id}:{cid}")] for cid, name in people]
    return ctx.say(ctx.t("pasg.ask", id=order.id), *rows, [ctx.button("pasg.open", "po")])


async def order_assign_to(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order, courier_id = await _shop_order(ctx, args), _arg_int(args, 1)
    if order is None or courier_id is None:
        return await _stale(ctx)
    await delivery.assign_courier(ctx.services, ctx.uow, ctx.member.id, order.id, courier_id)
    courier = await members.get(ctx.uow, courier_id)
    return ctx.say(ctx.t("pasg.done", name=courier.display_name, id=order.id), [ctx.button("pod.list", "po")])


async def order_decline(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order = await _shop_order(ctx, args)
    if order is None:
        return await _stale(ctx)
    return ctx.say(
        ctx.t("pdec.ask", id=order.id, total=won(order.total, ctx.lang)),
        [ctx.button("pdec.yes", f"pdecy:{order.id}"), ctx.button("work.no", f"pod:{order.id}")],
    )


async def order_decline_yes(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    order = await _shop_order(ctx, args)
    if order is None:
        return await _stale(ctx)
    cancelled = await orders.cancel_order(ctx.services, ctx.uow, ctx.member.id, order.id)
    return ctx.say(ctx.t("pdec.done", id=cancelled.id), [ctx.button("pod.list", "po")])


# ----------------------------------------------------------------------------------------- claims

RESOLUTION_OF = {"f": "refund_full", "p": "refund_partial", "r": "replacement", "x": "reject"}


async def claim_list(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    shop = await my_shop(ctx.uow, ctx.member.id)
    if shop is None or not shop.verified:
        return await shop_home(ctx, [])
    inbox = await claim_queries.for_shop(ctx.uow, shop.id)
    if not inbox:
        return ctx.say(ctx.t("pcl.empty"), [ctx.button("home.work.producer", "ps")])
    lines = [ctx.t("pcl.title")]
    lines += [ctx.t("pcl.item", id=c.id, order=c.order_id, kind=ctx.t(f"work.claim.{c.kind}")) for c in inbox[:PAGE]]
    return ctx.say("\n".join(lines), *[[ctx.button("pcl.button", f"pclv:{c.id}", id=c.id)] for c in inbox[:PAGE]])


async def _shop_claim(ctx: Ctx, claim_id: int | None) -> tuple[Claim, orders.Order] | None:
    if claim_id is None:
        return None
    try:
        claim = await claim_queries.get(ctx.uow, claim_id)
    except UnknownClaim:
        return None
    order = await _shop_order(ctx, [str(claim.order_id)])
    return None if order is None else (claim, order)


def claim_card_text(ctx: Ctx, claim: Claim, order: orders.Order) -> str:
    return ctx.t(
        "pcl.card",
        id=claim.id,
        order=order.id,
        total=won(order.total, ctx.lang),
        kind=ctx.t(f"work.claim.{claim.kind}"),
        text=claim.text,
        answer=claim.answer or ctx.t("work.none"),
    )


def resolution_buttons(ctx: Ctx, verb: str, claim_id: int) -> list[list[Button]]:
    return [
        [ctx.button("pcl.full", f"{verb}:{claim_id}:f"), ctx.button("pcl.partial", f"{verb}:{claim_id}:p")],
        [ctx.button("pcl.replace", f"{verb}:{claim_id}:r"), ctx.button("pcl.reject", f"{verb}:{claim_id}:x")],
    ]


async def claim_card(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await _shop_claim(ctx, _arg_int(args, 0))
    if found is None:
        return await _stale(ctx)
    claim, order = found
    if claim.status != "open":
        return ctx.say(claim_card_text(ctx, claim, order), [ctx.button("pcl.list", "pcl")])
    return ctx.say(claim_card_text(ctx, claim, order), *resolution_buttons(ctx, "pcla", claim.id))


def resolution_label(ctx: Ctx, resolution: str, amount: int | None) -> str:
    return ctx.t(f"work.res.{resolution}", amount=won(amount or 0, ctx.lang))


def _claim_confirm(ctx: Ctx, claim_id: int, resolution: str, amount: int | None, reason: str) -> Screen:
    ctx.go("producer.claim.confirm", claim=claim_id, resolution=resolution, amount=amount, reason=reason)
    text = ctx.t("pcl.confirm", id=claim_id, resolution=resolution_label(ctx, resolution, amount))
    if reason:
        text += "\n" + ctx.t("work.reason", reason=reason)
    if resolution in ("refund_full", "refund_partial"):
        text += "\n" + ctx.t("pcl.money_note")
    return ctx.say(text, [ctx.button("pcl.send", f"pcly:{claim_id}"), ctx.button("work.no", f"pclv:{claim_id}")])


async def claim_choose(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    found = await _shop_claim(ctx, _arg_int(args, 0))
    resolution = RESOLUTION_OF.get(args[1] if len(args) > 1 else "")
    if found is None or resolution is None:
        return await _stale(ctx)
    claim, order = found
    if resolution == "refund_partial":
        return expects_text(
            ctx,
            "producer.claim.amount",
            ctx.t("pcl.ask_amount", subtotal=won(order.subtotal, ctx.lang)),
            claim=claim.id,
        )
    if resolution == "reject":
        return expects_text(ctx, "producer.claim.reason", ctx.t("pcl.ask_reason"), claim=claim.id)
    return _claim_confirm(ctx, claim.id, resolution, None, "")


async def claim_amount_typed(ctx: Ctx, args: list[str]) -> Screen:
    amount, claim_id = parse_amount(args[0]), ctx.data.get("claim")
    if not isinstance(claim_id, int):
        return await _stale(ctx)
    if amount is None:
        return expects_text(ctx, ctx.state, ctx.t("work.number"), **ctx.data)
    return _claim_confirm(ctx, claim_id, "refund_partial", amount, "")


async def claim_reason_typed(ctx: Ctx, args: list[str]) -> Screen:
    reason, claim_id = clean_text(args[0], claims.MAX_TEXT), ctx.data.get("claim")
    if not isinstance(claim_id, int):
        return await _stale(ctx)
    if reason is None:
        return expects_text(ctx, ctx.state, ctx.t("work.text_long", max=claims.MAX_TEXT), **ctx.data)
    return _claim_confirm(ctx, claim_id, "reject", None, reason)


async def claim_send(ctx: Ctx, args: list[str]) -> Screen:
    d = _draft(ctx, "producer.claim.confirm", "claim", "resolution")
    if d is None or d["claim"] != _arg_int(args, 0):
        return await _stale(ctx)
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
    return ctx.say(ctx.t("pcl.done"), [ctx.button("pcl.list", "pcl"), ctx.button("home.work.producer", "ps")])


async def claim_still_choosing(ctx: Ctx, _args: list[str]) -> Screen:
    """Text while a confirmation waits: the confirmation again, with a word on which button to press."""
    d = _draft(ctx, "producer.claim.confirm", "claim", "resolution")
    if d is None:
        return await _stale(ctx)
    screen = _claim_confirm(ctx, d["claim"], d["resolution"], d.get("amount"), d.get("reason") or "")
    return with_note(screen, ctx.t("work.tap"))


# ----------------------------------------------------------------------------------------- sales


async def sales(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    shop = await my_shop(ctx.uow, ctx.member.id)
    if shop is None or not shop.verified:
        return await shop_home(ctx, [])
    done = await orders.list_for_shop(ctx.uow, shop.id, states=("delivered", "confirmed", "settled"))
    settled = [o for o in done if o.state == "settled"]
    b = await wallet.balances(ctx.services, ctx.uow, ctx.member.id)
    text = ctx.t(
        "psale.text",
        name=shop.name,
        count=len(done),
        sales=won(sum(o.subtotal for o in done), ctx.lang),
        settled=len(settled),
        btl=won(b.btl, ctx.lang),
        available=won(b.btl_available, ctx.lang),
        bnm=bnm(b.bnm_units),
    )
    return ctx.say(text, [ctx.button("ps.cashout", "pco"), ctx.button("home.work.producer", "ps")])


# ------------------------------------------------------------------- text where a button is wanted


def _tap_again(ask: Callable[[Ctx], Awaitable[Screen]]) -> Handler:
    """A waiting state that wants a button: typed text gets the same question again, with a hint."""

    async def handler(ctx: Ctx, _args: list[str]) -> Screen:
        return with_note(await ask(ctx), ctx.t("work.tap"))

    return handler


async def _again_kind(ctx: Ctx) -> Screen:
    return await _ask_kind(ctx, **ctx.data) if "name" in ctx.data else await _stale(ctx)


async def _again_market(ctx: Ctx) -> Screen:
    draft = {k: v for k, v in ctx.data.items() if k != "markets"}
    return await _ask_market(ctx, **draft) if "kind" in draft else await _stale(ctx)


async def _again_share(ctx: Ctx) -> Screen:
    return await _ask_share(ctx, **ctx.data) if "region" in ctx.data else await _stale(ctx)


async def _again_shop_confirm(ctx: Ctx) -> Screen:
    return await _shop_confirm(ctx, **ctx.data) if "fee" in ctx.data else await _stale(ctx)


async def _again_category(ctx: Ctx) -> Screen:
    return await _ask_category(ctx, 0, **ctx.data) if "name" in ctx.data else await _stale(ctx)


async def _again_add_confirm(ctx: Ctx) -> Screen:
    return await _add_confirm(ctx, **ctx.data) if "farm" in ctx.data else await _stale(ctx)


async def _again_photo(ctx: Ctx, _args: list[str]) -> Screen:
    """Text where a photo is wanted: a photo, or 'skip' — said again."""
    if ctx.msg.photo_url:
        return await add_photo_sent(ctx, _args)
    return with_note(await _ask_photo(ctx, **ctx.data), ctx.t("pa.photo_please"))


def register(router: Router) -> None:
    for verb, handler in (
        ("ps", shop_home),
        ("psn", shop_new),
        ("psk", shop_kind),
        ("psm", shop_market),
        ("psp", shop_phone),
        ("psb", shop_share),
        ("psf", shop_fee),
        ("psok", shop_submit),
        ("pa", add_start),
        ("pcat", add_category),
        ("punit", add_unit),
        ("pskip", add_skip_photo),
        ("psame", add_same),
        ("paok", add_submit),
        ("pl", products),
        ("pm", product_card),
        ("pst", stock_step),
        ("pstn", stock_ask),
        ("ppr", price_ask),
        ("pprd", price_step),
        ("pev", event_choose),
        ("pevr", event_record),
        ("plbl", label_image),
        ("po", order_list),
        ("pod", order_card),
        ("pacc", order_accept),
        ("pasg", order_assign),
        ("pasc", order_assign_to),
        ("pdec", order_decline),
        ("pdecy", order_decline_yes),
        ("pcl", claim_list),
        ("pclv", claim_card),
        ("pcla", claim_choose),
        ("pcly", claim_send),
        ("psale", sales),
    ):
        router.on(verb, handler)
    for state, waiting in (
        ("producer.shop.name", shop_name_typed),
        ("producer.shop.kind", _tap_again(_again_kind)),
        ("producer.shop.market", _tap_again(_again_market)),
        ("producer.shop.market_t", shop_market_typed),
        ("producer.shop.region", shop_region_typed),
        ("producer.shop.phone", shop_phone_typed),
        ("producer.shop.share", _tap_again(_again_share)),
        ("producer.shop.fee", shop_fee_typed),
        ("producer.shop.confirm", _tap_again(_again_shop_confirm)),
        ("producer.add.name", add_name_typed),
        ("producer.add.cat", _tap_again(_again_category)),
        ("producer.add.unit", add_unit_typed),
        ("producer.add.price", add_price_typed),
        ("producer.add.stock", add_stock_typed),
        ("producer.add.photo", _again_photo),
        ("producer.add.region", add_region_typed),
        ("producer.add.farm", add_farm_typed),
        ("producer.add.confirm", _tap_again(_again_add_confirm)),
        ("producer.stock", stock_typed),
        ("producer.price", price_typed),
        ("producer.claim.amount", claim_amount_typed),
        ("producer.claim.reason", claim_reason_typed),
        ("producer.claim.confirm", claim_still_choosing),
    ):
        router.waiting(state, waiting)
    router.label("home.work.producer", "ps")
