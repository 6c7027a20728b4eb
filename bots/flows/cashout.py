"""Cash-out: any member with a verified phone takes 밤톨 out to a bank account — a shopper's ad and
recommendation rewards as much as a producer's sales or a courier's fees.

Reached from the wallet (💸 현금으로 찾기), the shop's sales screen and the courier's earnings, all by
the ``pco`` verb. Waiting states (text expected) and the buttons between them::

    pco ▶ [pbk ▶ bank.code ▶ bank.account ▶ bank.holder] ▶ pcoa:<account> ▶ cashout.amount ▶ cashout.confirm ─pcoy▶
          held until the cash-out batch pays it

The service checks every rule (``commerce.wallet.cashouts``: a verified phone, one's own account, no more than
is available); the flow asks for the phone first so nobody types an account number only to be refused.
A button from a step already passed is answered with "that screen has passed" and the wallet.
"""

from __future__ import annotations

import re
from typing import Any

from bots.context import Ctx
from bots.flows import payload
from bots.flows.answers import clean_text, expects_text, parse_amount, with_note
from bots.flows.wallet import balances
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import won
from commerce.members import identity
from commerce.wallet import cashouts
from commerce.wallet import queries as wallet_queries

BANKS = ("011", "004", "088", "020", "081")  # NH, KB, Shinhan, Woori, Hana: the five most asked for


async def _stale(ctx: Ctx) -> Screen:
    return with_note(await balances(ctx, []), ctx.t("work.stale"))


def _waiting(ctx: Ctx, state: str, *keys: str) -> dict[str, Any] | None:
    """The conversation's draft if the flow is waiting in ``state`` and the draft has ``keys``."""
    if ctx.state != state or any(k not in ctx.data for k in keys):
        return None
    return dict(ctx.data)


def _bank_name(ctx: Ctx, code: str) -> str:
    return ctx.t(f"cashout.bank_name.{code}") if code in BANKS else code


async def cashout_start(ctx: Ctx, _args: list[str]) -> Screen:
    """Choose the account (or register one), then the amount."""
    ctx.go()
    identity.require(ctx.member, identity.PHONE, action="cashout")  # refused kindly, with the way to verify
    accounts = await wallet_queries.bank_accounts(ctx.uow, ctx.member.id)
    if not accounts:
        return with_note(await bank_start(ctx, []), ctx.t("cashout.account.none"))
    rows = [
        [Button(f"{_bank_name(ctx, a.bank_code)} {a.account_masked}", payload=f"pcoa:{a.id}")] for a in accounts[:4]
    ]
    return ctx.say(ctx.t("cashout.account.choose"), *rows, [ctx.button("cashout.account.add", "pbk")])


async def bank_start(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go("cashout.bank.code")
    banks = [Button(_bank_name(ctx, code), payload=f"pbkc:{code}") for code in BANKS]
    return ctx.say(
        ctx.t("cashout.account.ask_bank"), banks[:3], [*banks[3:], ctx.button("cashout.account.bank_other", "pbkc:o")]
    )


async def bank_code(ctx: Ctx, args: list[str]) -> Screen:
    if ctx.state != "cashout.bank.code" or not args:
        return await _stale(ctx)
    if args[0] == "o":
        return expects_text(ctx, "cashout.bank.code", ctx.t("cashout.account.ask_bank_code"))
    if args[0] not in BANKS:
        return await _stale(ctx)
    return expects_text(ctx, "cashout.bank.account", ctx.t("cashout.account.ask_number"), bank=args[0])


async def bank_code_typed(ctx: Ctx, args: list[str]) -> Screen:
    code = args[0].strip()
    if not (len(code) == 3 and code.isdigit()):
        return with_note(await bank_start(ctx, []), ctx.t("cashout.account.ask_bank_code"))
    return expects_text(ctx, "cashout.bank.account", ctx.t("cashout.account.ask_number"), bank=code)


async def bank_account_typed(ctx: Ctx, args: list[str]) -> Screen:
    number = re.sub(r"\s", "", args[0])
    if not re.fullmatch(r"[\d-]{8,20}", number):
        return expects_text(
            ctx, ctx.state, ctx.t("cashout.account.bad_number") + "\n" + ctx.t("cashout.account.ask_number"), **ctx.data
        )
    return expects_text(ctx, "cashout.bank.holder", ctx.t("cashout.account.ask_holder"), **ctx.data, account=number)


async def bank_holder_typed(ctx: Ctx, args: list[str]) -> Screen:
    holder = clean_text(args[0], 40)
    if holder is None or "bank" not in ctx.data or "account" not in ctx.data:
        return expects_text(
            ctx, ctx.state, ctx.t("work.text_long", max=40) + "\n" + ctx.t("cashout.account.ask_holder"), **ctx.data
        )
    account = await cashouts.register_bank_account(
        ctx.services, ctx.uow, ctx.member.id, ctx.data["bank"], ctx.data["account"], holder
    )
    screen = await _ask_amount(ctx, account.id, f"{_bank_name(ctx, account.bank_code)} {account.account_masked}")
    return with_note(screen, ctx.t("cashout.account.registered"))


async def _ask_amount(ctx: Ctx, account_id: int, account_label: str) -> Screen:
    b = await wallet_queries.balances(ctx.services, ctx.uow, ctx.member.id)
    rows = (
        [[ctx.button("cashout.amount.all", f"pcoh:{b.btl_available}", amount=won(b.btl_available, ctx.lang))]]
        if b.btl_available
        else []
    )
    return expects_text(
        ctx,
        "cashout.amount",
        ctx.t("cashout.amount.ask", available=won(b.btl_available, ctx.lang)),
        *rows,
        account=account_id,
        label=account_label,
    )


async def cashout_account(ctx: Ctx, args: list[str]) -> Screen:
    account_id = payload.number(args, 0)
    mine = {a.id: a for a in await wallet_queries.bank_accounts(ctx.uow, ctx.member.id)}
    if account_id not in mine:
        return await _stale(ctx)
    a = mine[account_id]
    return await _ask_amount(ctx, a.id, f"{_bank_name(ctx, a.bank_code)} {a.account_masked}")


def _confirm(ctx: Ctx, amount: int) -> Screen:
    draft = {**ctx.data, "amount": amount}
    ctx.go("cashout.confirm", **draft)
    return ctx.say(
        ctx.t("cashout.confirm.text", amount=won(amount, ctx.lang), account=draft["label"]),
        [ctx.button("cashout.confirm.yes", f"pcoy:{amount}"), ctx.button("work.cancel", "pco")],
    )


async def amount_typed(ctx: Ctx, args: list[str]) -> Screen:
    amount = parse_amount(args[0])
    if "account" not in ctx.data or "label" not in ctx.data:
        return await _stale(ctx)
    if amount is None:  # the question again, with its "all of it" button
        return with_note(await _ask_amount(ctx, int(ctx.data["account"]), str(ctx.data["label"])), ctx.t("work.number"))
    return _confirm(ctx, amount)


async def cashout_all(ctx: Ctx, args: list[str]) -> Screen:
    amount = payload.number(args, 0)
    if _waiting(ctx, "cashout.amount", "account", "label") is None or amount is None:
        return await _stale(ctx)
    return _confirm(ctx, amount)


async def cashout_yes(ctx: Ctx, args: list[str]) -> Screen:
    d = _waiting(ctx, "cashout.confirm", "account", "amount")
    if d is None or d["amount"] != payload.number(args, 0):
        return await _stale(ctx)
    cashout = await cashouts.request_cashout(ctx.services, ctx.uow, ctx.member.id, int(d["account"]), int(d["amount"]))
    ctx.go()
    return ctx.say(
        ctx.t("cashout.confirm.done", amount=won(cashout.amount, ctx.lang)), [ctx.button("home.wallet", "w")]
    )


async def confirm_again(ctx: Ctx, _args: list[str]) -> Screen:
    """Text while the confirmation waits: the confirmation again, with a word on which button to press."""
    if "amount" not in ctx.data or "label" not in ctx.data:
        return await _stale(ctx)
    return with_note(_confirm(ctx, int(ctx.data["amount"])), ctx.t("work.tap"))


def register(router: Router) -> None:
    router.on("pco", cashout_start, writes=False)
    router.on("pbk", bank_start, writes=False)
    # A button or answer from a step already passed shows the wallet (``_stale``), which may write.
    for verb, handler in (("pcoa", cashout_account), ("pcoh", cashout_all), ("pbkc", bank_code), ("pcoy", cashout_yes)):
        router.on(verb, handler, writes=True)
    router.waiting("cashout.bank.code", bank_code_typed, writes=False)
    router.waiting("cashout.bank.account", bank_account_typed, writes=False)
    for state, waiting in (
        ("cashout.bank.holder", bank_holder_typed),
        ("cashout.amount", amount_typed),
        ("cashout.confirm", confirm_again),
    ):
        router.waiting(state, waiting, writes=True)
