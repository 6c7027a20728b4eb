"""The market office's chat: approve shops, make couriers, check phones at the counter, record cash
top-ups; the disputes it decides are ``bots.flows.disputes``.

Buttons all the way, with typing only where a person has to say something (a phone, an amount, a
receipt number, a reason). Anything that moves money is shown once more before it is recorded::

    op ▶ opsh (shops waiting) ▶ opsv:<shop> ▶ opsa:<shop> (approve) | opsr:<shop> (not approved)
    op ▶ opc ▶ operator.courier (phone or member number) ▶ opcy:<member> (make a courier)
    op ▶ opph ▶ operator.phone.who (member number) ▶ operator.phone.number ▶ opphy:<member> (phone seen
        at the counter: the member may pay; for Kakao and web members when no SMS sender is configured)
    op ▶ optu ▶ operator.topup.who ▶ operator.topup.amount ▶ operator.topup.receipt
        ▶ operator.topup.confirm ─optuy▶ cash.topup (a repeated receipt number changes nothing)
    op ▶ opcl (escalated claims: bots.flows.disputes)

The services check the operator role on every step; the screens only avoid offering what a
non-operator could not do.
"""

from __future__ import annotations

import re

from bots.context import Ctx
from bots.flows.answers import expects_text, parse_amount, with_note
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import won
from commerce import validate
from commerce.claims import queries as claim_queries
from commerce.errors import InvalidInput
from commerce.members import identity
from commerce.members import service as members
from commerce.members.errors import UnknownMember
from commerce.members.rows import Member
from commerce.shops import service as shops
from commerce.shops.errors import UnknownShop
from commerce.shops.rows import Shop
from commerce.wallet import service as wallet

PAGE = 5


def mask_phone(phone: str | None) -> str:
    return f"{phone[:3]}-****-{phone[-4:]}" if phone and len(phone) >= 10 else "-"


async def find_member(ctx: Ctx, text: str) -> Member | None:
    """A member by the phone they gave at the counter or by their member number (shown in their wallet)."""
    raw = re.sub(r"[\s\-().]", "", text)
    if raw.startswith(("01", "+82", "82")) and len(raw) >= 10:
        try:
            return await members.by_phone(ctx.uow, validate.phone(raw))
        except InvalidInput:
            return None
    number = re.sub(r"^(#|m|회원번호|회원|no\.?)", "", raw.lower())
    if not number.isdigit() or len(number) > 12:
        return None
    try:
        return await members.get(ctx.uow, int(number))
    except UnknownMember:
        return None


def denied(ctx: Ctx) -> Screen:
    ctx.go()
    return ctx.say(ctx.t("operator.not_operator"), [ctx.button("menu.home", "home")])


async def _pending_shops(ctx: Ctx) -> list[Shop]:
    return await shops.waiting_for_review(ctx.uow)


async def home(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    if not ctx.member.has("operator"):
        return denied(ctx)
    waiting = await _pending_shops(ctx)
    disputes = await claim_queries.escalated(ctx.uow, limit=100)
    return ctx.say(
        ctx.t("operator.home.title", shops=len(waiting), claims=len(disputes)),
        [ctx.button("operator.home.shops", "opsh", n=len(waiting)), ctx.button("operator.home.courier", "opc")],
        [ctx.button("operator.home.topup", "optu"), ctx.button("operator.home.claims", "opcl", n=len(disputes))],
        [ctx.button("operator.home.phone", "opph")],
    )


# ----------------------------------------------------------------------------------------- shops


async def shop_list(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    if not ctx.member.has("operator"):
        return denied(ctx)
    waiting = await _pending_shops(ctx)
    if not waiting:
        return ctx.say(ctx.t("operator.shops.empty"), [ctx.button("home.work.operator", "op")])
    rows = [[Button(s.name, payload=f"opsv:{s.id}")] for s in waiting[:PAGE]]
    text = ctx.t("operator.shops.title", n=len(waiting))
    return ctx.say(text, *rows, [ctx.button("home.work.operator", "op")])


async def _shop(ctx: Ctx, args: list[str]) -> Shop | None:
    if not args or not args[0].isdigit() or len(args[0]) > 12:
        return None
    try:
        return await shops.get(ctx.uow, int(args[0]))
    except UnknownShop:
        return None


async def shop_card(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    shop = await _shop(ctx, args)
    if shop is None or not ctx.member.has("operator"):
        return with_note(await shop_list(ctx, []), ctx.t("work.stale"))
    owner = await members.get(ctx.uow, shop.owner_id)
    text = ctx.t(
        "operator.shop.card",
        name=shop.name,
        kind=ctx.t(f"work.kind.{shop.kind}"),
        market=shop.market or ctx.t("work.none"),
        region=shop.region,
        phone=shop.phone or ctx.t("work.none"),
        owner=owner.display_name,
        owner_id=owner.id,
        share=shop.bnm_max_share,
        fee=won(shop.delivery_fee, ctx.lang),
        status=ctx.t(f"work.shop.{shop.status}"),
    )
    rows = [
        [ctx.button("operator.shop.approve", f"opsa:{shop.id}"), ctx.button("operator.shop.reject", f"opsr:{shop.id}")]
    ]
    if shop.status != "pending":
        rows = []
    return ctx.say(text, *rows, [ctx.button("operator.shop.list", "opsh")])


async def _decide_shop(ctx: Ctx, args: list[str], approve: bool) -> Screen:
    ctx.go()
    shop = await _shop(ctx, args)
    if shop is None or shop.status != "pending":
        return with_note(await shop_list(ctx, []), ctx.t("work.stale"))
    decided = await shops.verify_shop(ctx.services, ctx.uow, ctx.member.id, shop.id, approve=approve)
    key = "operator.shop.approved" if approve else "operator.shop.refused"
    return with_note(await shop_list(ctx, []), ctx.t(key, name=decided.name))


async def shop_approve(ctx: Ctx, args: list[str]) -> Screen:
    return await _decide_shop(ctx, args, True)


async def shop_reject(ctx: Ctx, args: list[str]) -> Screen:
    return await _decide_shop(ctx, args, False)


# -------------------------------------------------------------------------------------- couriers


async def courier_ask(ctx: Ctx, _args: list[str]) -> Screen:
    if not ctx.member.has("operator"):
        return denied(ctx)
    return expects_text(ctx, "operator.courier", ctx.t("operator.courier.ask"))


async def courier_typed(ctx: Ctx, args: list[str]) -> Screen:
    member = await find_member(ctx, args[0])
    if member is None:
        return expects_text(ctx, ctx.state, ctx.t("operator.member_unknown"))
    ctx.go()
    return ctx.say(
        ctx.t("operator.courier.confirm", name=member.display_name, id=member.id, phone=mask_phone(member.phone)),
        [ctx.button("operator.courier.yes", f"opcy:{member.id}"), ctx.button("work.cancel", "op")],
    )


async def courier_yes(ctx: Ctx, args: list[str]) -> Screen:
    ctx.go()
    if not args or not args[0].isdigit() or len(args[0]) > 12:
        return with_note(await home(ctx, []), ctx.t("work.stale"))
    member = await members.grant_role(ctx.services, ctx.uow, ctx.member.id, int(args[0]), "courier")
    return with_note(await home(ctx, []), ctx.t("operator.courier.done", name=member.display_name))


# ----------------------------------------------------------------------------- phones at the counter


async def phone_ask(ctx: Ctx, _args: list[str]) -> Screen:
    if not ctx.member.has("operator"):
        return denied(ctx)
    return expects_text(ctx, "operator.phone.who", ctx.t("operator.phone.ask_who"))


async def phone_who_typed(ctx: Ctx, args: list[str]) -> Screen:
    member = await find_member(ctx, args[0])
    if member is None:
        return expects_text(ctx, ctx.state, ctx.t("operator.member_unknown"))
    text = ctx.t("operator.phone.ask_phone", name=member.display_name, id=member.id)
    return expects_text(ctx, "operator.phone.number", text, member=member.id, name=member.display_name)


async def phone_number_typed(ctx: Ctx, args: list[str]) -> Screen:
    if "member" not in ctx.data:
        return await home(ctx, [])
    phone = validate.phone(args[0])  # refused kindly here; this step still waits
    ctx.go("operator.phone.confirm", **ctx.data, phone=phone)
    return ctx.say(
        ctx.t("operator.phone.confirm", name=ctx.data["name"], id=ctx.data["member"], phone=mask_phone(phone)),
        [ctx.button("operator.phone.yes", f"opphy:{ctx.data['member']}"), ctx.button("work.cancel", "op")],
    )


async def phone_yes(ctx: Ctx, args: list[str]) -> Screen:
    d = ctx.data
    if ctx.state != "operator.phone.confirm" or "phone" not in d or not args or args[0] != str(d.get("member")):
        ctx.go()
        return with_note(await home(ctx, []), ctx.t("work.stale"))
    member = await identity.phone_checked_at_office(
        ctx.services, ctx.uow, ctx.member.id, int(d["member"]), str(d["phone"])
    )
    ctx.go()
    return with_note(await home(ctx, []), ctx.t("operator.phone.done", name=member.display_name))


# --------------------------------------------------------------------------------------- top-ups


async def topup_ask(ctx: Ctx, _args: list[str]) -> Screen:
    if not ctx.member.has("operator"):
        return denied(ctx)
    return expects_text(ctx, "operator.topup.who", ctx.t("operator.topup.ask_who"))


async def topup_who_typed(ctx: Ctx, args: list[str]) -> Screen:
    member = await find_member(ctx, args[0])
    if member is None:
        return expects_text(ctx, ctx.state, ctx.t("operator.member_unknown"))
    return expects_text(
        ctx,
        "operator.topup.amount",
        ctx.t("operator.topup.ask_amount", name=member.display_name, id=member.id, phone=mask_phone(member.phone)),
        member=member.id,
        name=member.display_name,
    )


async def topup_amount_typed(ctx: Ctx, args: list[str]) -> Screen:
    amount = parse_amount(args[0])
    if "member" not in ctx.data:
        return await home(ctx, [])
    if amount is None:
        return expects_text(ctx, ctx.state, ctx.t("work.number"), **ctx.data)
    validate.whole_number(amount, "amount", low=1, high=wallet.MAX_TOPUP)  # refused here, this step still waits
    return expects_text(ctx, "operator.topup.receipt", ctx.t("operator.topup.ask_receipt"), **ctx.data, amount=amount)


def _topup_confirm(ctx: Ctx) -> Screen:
    d = ctx.data
    ctx.go("operator.topup.confirm", **d)
    return ctx.say(
        ctx.t(
            "operator.topup.confirm",
            name=d["name"],
            id=d["member"],
            amount=won(int(d["amount"]), ctx.lang),
            receipt=d["receipt"],
        ),
        [ctx.button("operator.topup.yes", f"optuy:{d['member']}"), ctx.button("work.cancel", "op")],
    )


async def topup_receipt_typed(ctx: Ctx, args: list[str]) -> Screen:
    receipt = args[0].strip().upper()
    if "amount" not in ctx.data:
        return await home(ctx, [])
    if not (0 < len(receipt) <= 40 and receipt.isascii() and receipt.replace("-", "").isalnum()):
        return expects_text(
            ctx, ctx.state, ctx.t("operator.topup.bad_receipt") + "\n" + ctx.t("operator.topup.ask_receipt"), **ctx.data
        )
    ctx.data = {**ctx.data, "receipt": receipt}
    return _topup_confirm(ctx)


async def topup_still_choosing(ctx: Ctx, _args: list[str]) -> Screen:
    if "receipt" not in ctx.data:
        return await home(ctx, [])
    return with_note(_topup_confirm(ctx), ctx.t("work.tap"))


async def topup_yes(ctx: Ctx, args: list[str]) -> Screen:
    d = ctx.data
    if ctx.state != "operator.topup.confirm" or "receipt" not in d or not args or args[0] != str(d.get("member")):
        ctx.go()
        return with_note(await home(ctx, []), ctx.t("work.stale"))
    seq = await wallet.topup_at_office(
        ctx.services, ctx.uow, ctx.member.id, int(d["member"]), int(d["amount"]), receipt=str(d["receipt"])
    )
    ctx.go()
    done = ctx.t("operator.topup.done", name=d["name"], amount=won(int(d["amount"]), ctx.lang), seq=seq)
    return ctx.say(done, [ctx.button("operator.home.topup", "optu"), ctx.button("home.work.operator", "op")])


def register(router: Router) -> None:
    for verb, handler in (
        ("op", home),
        ("opsh", shop_list),
        ("opsv", shop_card),
        ("opc", courier_ask),
        ("optu", topup_ask),
        ("opph", phone_ask),
    ):
        router.on(verb, handler, writes=False)
    for verb, handler in (
        ("opsa", shop_approve),
        ("opsr", shop_reject),
        ("opcy", courier_yes),
        ("optuy", topup_yes),
        ("opphy", phone_yes),
    ):
        router.on(verb, handler, writes=True)
    for state, waiting in (
        ("operator.courier", courier_typed),
        ("operator.topup.who", topup_who_typed),
        ("operator.phone.who", phone_who_typed),
        ("operator.phone.number", phone_number_typed),
        ("operator.phone.confirm", phone_number_typed),
        ("operator.topup.amount", topup_amount_typed),
        ("operator.topup.receipt", topup_receipt_typed),
        ("operator.topup.confirm", topup_still_choosing),
    ):
        router.waiting(state, waiting, writes=False)
    router.label("home.work.operator", "op")
