"""Paying: the confirmation with every won and where the order goes, the BNM share, and the pay button.

::

    담기 ─→ confirmation ─결제하기→ paid (the code shown)
             │  ├─ no phone yet → asks for it here (Telegram: the contact button) → back here
             │  ├─ no address yet → asks for one here (Telegram: the location button, or typing) → back here
             │  ├─ 받는 곳·시간 바꾸기 → bots.flows.delivery_choice → back here
             │  └─ 밤나무 비율 → share → back here
             └─ not enough 밤톨 → 충전 방법 (the top-up brings the member back here)

The "결제하기" button carries the total the member saw and a nonce naming this very confirmation (the
cart's version, the share, the total and where the order goes), so a changed price is refused (never
charged), a changed cart or destination shows the confirmation again, and a double tap pays once (the
nonce is the checkout's idempotency key).
"""

from __future__ import annotations

import hashlib

from bots.context import Ctx
from bots.flows import community, payload
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import bnm, window, won
from commerce.delivery import fulfilment, windows
from commerce.delivery import queries as delivery_queries
from commerce.errors import InvalidInput
from commerce.members import identity
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.shops import service as shops
from commerce.shops.rows import Shop

SHARES = (0, 10, 30, 50, 100)


def _int(arg: str, field: str = "id") -> int:
    return payload.required(arg, field)


def window_text(ctx: Ctx, chosen: windows.Window) -> str:
    today = windows.Window(ctx.services.clock(), ctx.services.clock()).starts().date()
    return window(ctx.lang, chosen.starts(), chosen.ends(), today)


def destination_lines(ctx: Ctx, shop: Shop, choice: fulfilment.Choice) -> list[str]:
    """Where the order goes, as the confirmation says it (the buyer's own address, so in full)."""
    if choice.pickup_at == "shop":
        return [ctx.t("delivery.confirm.pickup_shop", shop=shop.name, hours=shop.hours)]
    if choice.pickup_at == "office":
        return [ctx.t("delivery.confirm.pickup_office", hours=ctx.services.rules.office_hours)]
    address = choice.address
    if address is None:
        return [ctx.t("delivery.confirm.where_ask")]
    name = address.recipient_name or ctx.member.display_name
    phone = address.recipient_phone or ctx.member.phone or ""
    return [
        ctx.t("delivery.confirm.to_address", label=address.label, address=address.full()),
        ctx.t("delivery.confirm.recipient", name=name, phone=_phone(phone)),
        ctx.t("delivery.confirm.window", window=window_text(ctx, choice.window))
        if choice.window
        else ctx.t("delivery.confirm.no_window"),
    ]


def _phone(digits: str) -> str:
    if len(digits) == 11:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return digits


def where_rows(ctx: Ctx, shop: Shop, *, typing: bool = True) -> list[list[Button]]:
    """The ways to say where an order goes: a location (Telegram), typing, collecting."""
    rows: list[list[Button]] = []
    if ctx.msg.channel == "telegram":  # a reply-keyboard button: Telegram sends the location itself
        rows.append([Button(ctx.t("delivery.address.share_location"), share_location=True)])
    if typing:
        rows.append([ctx.button("delivery.address.type", f"dnew:{shop.id}")])
    for place in fulfilment.pickup_places(shop):
        rows.append([ctx.button(f"delivery.pickup.{place}_button", f"dpk:{shop.id}:{place[0]}")])
    return rows


async def confirmation(ctx: Ctx, args: list[str], *, note: str = "") -> Screen:
    """Every won before anything is charged, with where the order goes and the BNM part valued at the
    reference price. What is still missing (a phone, an address) is asked for right here."""
    shop_id = _int(args[0]) if args else 0
    share = payload.number(args, 1)
    q = await orders.quote(ctx.services, ctx.uow, ctx.member.id, shop_id, bnm_share=share)
    owner = await shops.get(ctx.uow, shop_id)
    version = await order_queries.cart_version(ctx.uow, ctx.member.id, shop_id)
    nonce = confirmation_nonce(ctx.member.id, shop_id, q, version)
    lines = [note] if note else []
    lines.append(ctx.t("pay.title", shop=owner.name))
    lines += [ctx.t("cart.line", name=x.name, unit=x.unit, qty=x.qty, amount=won(x.amount, ctx.lang)) for x in q.lines]
    lines += [
        ctx.t("pay.subtotal", amount=won(q.subtotal, ctx.lang)),
        ctx.t("pay.delivery", amount=won(q.delivery_fee, ctx.lang)),
        ctx.t("pay.total", amount=won(q.total, ctx.lang)),
    ]
    if q.split.bnm_units:
        lines.append(
            ctx.t("pay.split_mixed", btl=won(q.split.btl, ctx.lang), bnm=bnm(q.split.bnm_units), share=q.split.share)
        )
    else:
        lines.append(ctx.t("pay.split_btl", btl=won(q.split.btl, ctx.lang)))
    phone_missing = identity.level_of(ctx.member) < identity.PHONE
    if not (phone_missing and q.choice.needs_address):  # one question at a time: the phone first
        lines += destination_lines(ctx, owner, q.choice)
    credit_lines, credit, credit_row = await community.confirmation_extras(
        ctx, shop_id, q.split.share, args, [x.product_id for x in q.lines]
    )
    lines += credit_lines
    back = [ctx.button("cart.more", f"sh:{shop_id}"), ctx.button("cart.open", f"cart:{shop_id}")]
    if phone_missing:
        return _ask_phone(ctx, lines, shop_id, back)
    if q.choice.needs_address:
        return _ask_address(ctx, lines, owner, back)
    rows = [
        [
            ctx.button(
                "pay.confirm", f"ok:{shop_id}:{q.split.share}:{q.total}:{nonce}{credit}", amount=won(q.total, ctx.lang)
            )
        ],
        [ctx.button("delivery.confirm.change", f"dst:{shop_id}")],
    ]
    if q.max_share > 0:
        rows.append([ctx.button("pay.change_share", f"shr:{shop_id}")])
    rows.append(credit_row)  # "이 댓글 덕분에 샀어요", when others commented on what is in the cart
    rows.append(back)
    return ctx.say("\n".join(lines), *rows)


def _ask_phone(ctx: Ctx, lines: list[str], shop_id: int, back: list[Button]) -> Screen:
    """Paying needs a verified phone: ask for it on this very screen, then come back here.

    Telegram vouches for a shared contact (one tap); elsewhere the member types the number and the code.
    """
    resume = f"pay:{shop_id}"
    if ctx.msg.channel == "telegram":
        ctx.go("signup.phone", resume=resume)
        button = Button(ctx.t("signup.share_button"), share_contact=True)
        lines.append(ctx.t("pay.need_phone_share", button=button.label))
        return ctx.say("\n".join(lines), [button], back, expects="phone")
    if ctx.services.sms is None and not ctx.config.show_codes:
        lines.append(ctx.t("pay.need_phone"))
        return ctx.say("\n".join(lines), [ctx.button("identity.verify_phone", f"phone:pay:{shop_id}")], back)
    ctx.go("signup.phone", resume=resume)
    lines.append(ctx.t("pay.need_phone_typed"))
    return ctx.say("\n".join(lines), back, expects="phone")


def _ask_address(ctx: Ctx, lines: list[str], shop: Shop, back: list[Button]) -> Screen:
    """No address yet: ask for one here — a location (Telegram) or typed, or collecting it."""
    ctx.go("addr.new", shop=shop.id)
    if ctx.msg.channel == "telegram":
        lines.append(ctx.t("delivery.address.ask_location", button=ctx.t("delivery.address.share_location")))
    else:
        lines.append(ctx.t("delivery.address.ask_typed"))
    # Typing needs no button: this screen already waits for the address (on Telegram, for a location too).
    return ctx.say("\n".join(lines), *where_rows(ctx, shop, typing=False), back, expects="text")


def confirmation_nonce(member_id: int, shop_id: int, q: orders.Quote, version: int) -> str:
    seen = f"{member_id}:{shop_id}:{q.split.share}:{q.total}:{version}:{q.choice.key()}".encode()
    return hashlib.sha256(seen).hexdigest()[:10]


async def share(ctx: Ctx, args: list[str]) -> Screen:
    shop_id = _int(args[0]) if args else 0
    q = await orders.quote(ctx.services, ctx.uow, ctx.member.id, shop_id, bnm_share=0)
    options = sorted({s for s in SHARES if s <= q.max_share} | {q.max_share})
    buttons = [Button(f"{s}%", payload=f"pay:{shop_id}:{s}") for s in options][:6]
    return ctx.say(ctx.t("pay.share_choose", max=q.max_share), buttons[:3], buttons[3:])


async def pay(ctx: Ctx, args: list[str]) -> Screen:
    if len(args) < 4:
        raise InvalidInput("this payment button is incomplete", field="payload")
    shop_id, bnm_share, total = _int(args[0]), _int(args[1], "share"), _int(args[2], "total")
    nonce = args[3][:16]
    identity.require(ctx.member, identity.PHONE, action="pay")  # an old button: say what is missing first
    key = f"chat:{ctx.member.id}:{nonce}"
    earlier = await order_queries.by_idempotency_key(ctx.uow, key)
    if earlier is None:
        # What the member saw must still be what would be charged: same cart, share, total and place.
        q = await orders.quote(ctx.services, ctx.uow, ctx.member.id, shop_id, bnm_share=bnm_share)
        version = await order_queries.cart_version(ctx.uow, ctx.member.id, shop_id)
        if confirmation_nonce(ctx.member.id, shop_id, q, version) != nonce:
            # A price the member did not see (the cart keeps the price each line was added at) is said
            # as such; any other change (the cart, the place) just shows the confirmation again.
            seen = {i.product_id: i.price_seen for i in await order_queries.cart(ctx.uow, ctx.member.id, shop_id)}
            repriced = any(seen.get(line.product_id) != line.price for line in q.lines)
            changed = "pay.changed_price" if repriced else "pay.changed"
            return await confirmation(ctx, [str(shop_id), str(bnm_share), *args[4:5]], note=ctx.t(changed))
        choice = q.choice
    referrer = ctx.data.get("referrer")
    comment = _int(args[4]) if len(args) > 4 and args[4] else None  # the comment the member credited
    order = earlier or await orders.checkout(
        ctx.services,
        ctx.uow,
        ctx.member.id,
        shop_id,
        expected_total=total,
        bnm_share=bnm_share,
        address_id=choice.address.id if choice.address else None,
        pickup_at=choice.pickup_at,
        window=choice.window,
        referrer_id=referrer if isinstance(referrer, int) and referrer != ctx.member.id else None,
        comment_id=comment,
        idempotency_key=key,
    )
    ctx.go()
    ctx.data.pop("referrer", None)  # one recommendation, one order
    code = await delivery_queries.delivery_code(ctx.uow, ctx.member.id, order.id)
    parts = [won(order.btl_amount or 0, ctx.lang)] + ([bnm(order.bnm_units)] if order.bnm_units else [])
    done = "pay.done_pickup" if order.pickup_at else "pay.done"
    return ctx.say(
        ctx.t(done, order=order.id, paid=" + ".join(parts), code=code),
        [ctx.button("order.view", f"o:{order.id}")],
        [ctx.button("menu.home", "home")],
    )


async def again(ctx: Ctx, _args: list[str]) -> Screen:
    """지난번처럼: the last order's goods back in the cart at today's prices, going where it went."""
    q = await orders.reorder(ctx.services, ctx.uow, ctx.member.id)
    if not q.lines:
        return ctx.say(ctx.t("reorder.none_left"), [ctx.button("home.shop", "mk")])
    return await confirmation(ctx, [str(q.shop_id)])


def register(router: Router) -> None:
    # Each quotes the cart, and a quote forgets a delivery choice that no longer holds (a write).
    for verb, handler in (("pay", confirmation), ("shr", share), ("ok", pay), ("re", again)):
        router.on(verb, handler, writes=True)
