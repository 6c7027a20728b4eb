"""The wallet: balances in both tokens, the history, how to top up (office cash or the gateway), and the way
to cash out (bots/flows/cashout.py)."""

from __future__ import annotations

import datetime as dt

from bots.context import Ctx
from bots.flows import checkout
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import bnm, won
from commerce.members import identity
from commerce.members import service as members
from commerce.trust import queries as trust_queries
from commerce.wallet import queries as wallet_queries
from commerce.wallet import service as wallet
from ledger.links import login_link

KST = dt.timezone(dt.timedelta(hours=9))
GATEWAY_AMOUNTS = (10_000, 30_000, 50_000)
KIND_KEYS = {
    "cash.topup": "wallet.kind.topup",
    "order.pay": "wallet.kind.pay",
    "order.settle": "wallet.kind.settle",
    "order.cancel": "wallet.kind.refund",
    "order.refund": "wallet.kind.refund",
    "refund.after_settlement": "wallet.kind.refund",
    "cash.cashout": "wallet.kind.cashout",
}


def _amount(ctx: Ctx, token: str, amount: int) -> str:
    return won(amount, ctx.lang) if token == "BTL" else bnm(amount)  # noqa: S105 - a token name


def _token_lines(ctx: Ctx, token: str, total: int, available: int, holds: list[wallet_queries.Hold]) -> list[str]:
    """ "밤톨: 50,000원", or what of it is held and why, in words, then what can be spent now."""
    if not holds:
        return [ctx.t(f"wallet.amount.{token}", amount=_amount(ctx, token, total))]
    held = _amount(ctx, token, sum(h.amount for h in holds))
    total_text = _amount(ctx, token, total)
    if len(holds) == 1:
        (hold,) = holds
        why = ctx.t(f"wallet.hold.{hold.reason}", n=hold.count)
        then = ctx.t(f"wallet.hold.{hold.reason}.then")
        lines = [ctx.t(f"wallet.held_one.{token}", total=total_text, held=held, why=why, then=then)]
    else:
        lines = [ctx.t(f"wallet.held_many.{token}", total=total_text, held=held)]
        lines += [
            ctx.t(
                "wallet.held_line",
                why=ctx.t(f"wallet.hold.{h.reason}", n=h.count),
                amount=_amount(ctx, token, h.amount),
                then=ctx.t(f"wallet.hold.{h.reason}.then"),
            )
            for h in holds
        ]
    return [*lines, ctx.t(f"wallet.available.{token}", amount=_amount(ctx, token, available))]


async def balances(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    b = await wallet_queries.balances(ctx.services, ctx.uow, ctx.member.id)
    held = await wallet_queries.holds(ctx.uow, ctx.member.id)
    by_token = {token: [h for h in held if h.token == token] for token in ("BTL", "BNM")}
    lines = [
        ctx.t("wallet.title"),
        *_token_lines(ctx, "BTL", b.btl, b.btl_available, by_token["BTL"]),
        *_token_lines(ctx, "BNM", b.bnm_units, b.bnm_available, by_token["BNM"]),
    ]
    text = "\n".join(lines)
    level = identity.level_of(ctx.member)
    text += "\n" + ctx.t("identity.level", level=ctx.t(f"identity.level.{level.code}"))
    rows = [
        [ctx.button("wallet.history", "wh"), ctx.button("wallet.topup", "wt")],
        [ctx.button("bnm.open", "bnm")],  # the 밤나무 market (bots/flows/bnm.py)
    ]
    if level < identity.PHONE:
        rows.append([ctx.button("identity.verify_phone", "phone")])
    else:  # rewards from ads and recommendations are money too: out to a bank account (bots/flows/cashout.py)
        rows.append([ctx.button("cashout.start.wallet_button", "pco")])
    if ctx.config.public_url:  # the member's own entries on the public ledger, by a signed 10-minute link
        key = await ctx.services.keys.get(ctx.uow, ctx.member.key_label)
        link = await login_link(ctx.services.keys, ctx.uow, ctx.config.public_url, key.public_key)
        rows[1].append(Button(ctx.t("trust.my_ledger"), url=link))
    if await trust_queries.has_cases(ctx.uow, ctx.member.id):  # withheld rewards are explained there
        rows.append([ctx.button("abuse.list", "ab")])
    return ctx.say(text, *rows)


async def history(ctx: Ctx, _args: list[str]) -> Screen:
    items = await wallet_queries.history(ctx.services, ctx.uow, ctx.member.id, limit=8)
    if not items:
        return ctx.say(ctx.t("wallet.history_none"), [ctx.button("wallet.topup", "wt")])
    lines = [ctx.t("wallet.history_title")]
    for item in items[:8]:
        when = dt.datetime.fromtimestamp(item.time_ms // 1000, KST).strftime("%m/%d %H:%M")
        amount = won(item.amount, ctx.lang) if item.token == "BTL" else bnm(item.amount)  # noqa: S105 - a token name
        sign = "+" if item.amount > 0 else ""
        held = " " + ctx.t("wallet.held") if item.state == "pending" else ""
        voided = " " + ctx.t("wallet.voided") if item.state == "voided" else ""
        lines.append(f"{when} {ctx.t(KIND_KEYS.get(item.kind, 'wallet.kind.other'))} {sign}{amount}{held}{voided}")
    return ctx.say("\n".join(lines), [ctx.button("home.wallet", "w")])


def resume_of(args: list[str]) -> str | None:
    """``pay:<shop>``: the order confirmation a member left to top up, to go back to afterwards."""
    return f"pay:{args[1]}" if len(args) == 2 and args[0] == "pay" and args[1].isdigit() else None


async def topup(ctx: Ctx, args: list[str]) -> Screen:
    """Cash at the market office first — most of our shoppers pay cash — and the gateway when there is one.

    Reached from a payment that lacked 밤톨 (``wt:pay:<shop>``), the top-up brings the member back to that
    order's confirmation: at once for play money, by the "money arrived" message for the office and the
    gateway (``bots.pushes``, which reads the ``resume`` note kept here).
    """
    resume = resume_of(args)
    if resume is not None:
        ctx.go("wallet.topup", resume=resume)
    text = ctx.t("wallet.topup_office", member=ctx.member.id, phone=ctx.config.office_phone)
    rows: list[list[Button]] = []
    if ctx.config.topup_url:
        text += "\n" + ctx.t("wallet.topup_gateway")
        rows.append([Button(won(a, ctx.lang), payload=f"wtg:{a}") for a in GATEWAY_AMOUNTS])
    if ctx.config.trial_topup and not await wallet_queries.office_receipt_recorded(ctx.uow, _trial_receipt(ctx)):
        rows.append([ctx.button("wallet.trial", "wtt", amount=won(ctx.config.trial_topup, ctx.lang))])
    rows.append([Button(ctx.t("help.call"), phone=ctx.config.office_phone), ctx.button("home.wallet", "w")])
    return ctx.say(text, *rows)


def _trial_receipt(ctx: Ctx) -> str:
    return f"trial-{ctx.member.id}"


async def trial(ctx: Ctx, _args: list[str]) -> Screen:
    """Development only: play money, once per member, recorded as an office top-up by the first operator."""
    operators = await members.with_role(ctx.uow, "operator", limit=1)
    if not ctx.config.trial_topup or not operators:
        return await topup(ctx, [])
    amount = ctx.config.trial_topup
    # One receipt per member: the ledger answers a second tap (an old button, or two at once) with the
    # first top-up, minting nothing, and the member is told they had it rather than that money came.
    minted = False
    if not await wallet_queries.office_receipt_recorded(ctx.uow, _trial_receipt(ctx)):
        given = await wallet.office_topup(
            ctx.services, ctx.uow, operators[0].id, ctx.member.id, amount, receipt=_trial_receipt(ctx), notify=False
        )
        minted = given.minted
    resume = ctx.data.get("resume")
    if minted and ctx.state == "wallet.topup" and isinstance(resume, str) and resume_of(resume.split(":")):
        ctx.go()
        note = ctx.t("wallet.trial_done", amount=won(amount, ctx.lang))
        return await checkout.confirmation(ctx, [resume.split(":")[1]], note=note)
    screen = await balances(ctx, [])
    said = ctx.t("wallet.trial_done" if minted else "wallet.trial_had", amount=won(amount, ctx.lang))
    return ctx.say(said + "\n\n" + screen.replies[0].text, *[list(row) for row in screen.replies[0].buttons])


async def gateway_link(ctx: Ctx, args: list[str]) -> Screen:
    if not ctx.config.topup_url or not args or not args[0].isdigit():
        return await topup(ctx, [])
    intent = await wallet.request_topup(ctx.services, ctx.uow, ctx.member.id, int(args[0]))
    url = f"{ctx.config.topup_url}?orderId={intent.order_id}&amount={intent.amount}"
    return ctx.say(
        ctx.t("wallet.topup_link", amount=won(intent.amount, ctx.lang)),
        [Button(ctx.t("wallet.topup_open"), url=url)],
        [ctx.button("home.wallet", "w")],
    )


def register(router: Router) -> None:
    router.on("wh", history, writes=False)
    router.on("wt", topup, writes=False)
    # The balances' "my ledger" link makes the explorer's key the first time one is issued.
    for verb, handler in (("w", balances), ("wtg", gateway_link), ("wtt", trial)):
        router.on(verb, handler, writes=True)
