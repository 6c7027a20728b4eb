"""Sign-up by phone: Telegram's contact button (the platform vouches), or a typed number and a code.

A verified phone is what links identities: the same number confirmed on KakaoTalk after Telegram makes
one member of the two (``commerce.members.service`` merges them), so the order history and wallet follow.
It is also what paying needs (``commerce.members.identity``)::

    confirmation ─📱 전화번호 인증하기→ phone:pay:<shop> ─(telegram) share contact ─┐
                                                     └─(kakao, web) type number → code ─┴→ done → confirmation again

The code goes out by SMS when an SMS sender is configured (``commerce.members.identity.send_phone_code``);
without one, development and test show it in the chat (``ChatConfig.show_codes``) and production offers
Telegram's contact button or the market office instead. A ``resume`` note (only ``pay:<shop>`` or
``cart[:<shop>]``) brings the member back to where the need for a phone stopped them.
"""

from __future__ import annotations

from bots.context import Ctx
from bots.flows import checkout
from bots.flows.home import home
from bots.flows.shopper import cart
from bots.messages import Button, Reply, Screen
from bots.router import Router
from commerce.members import identity
from commerce.members import service as members
from ledger.errors import ChestnutError

RESUMABLE = ("pay", "cart")  # verbs a verified member is brought back to (never one that charges)


def _resume_of(args: list[str]) -> str | None:
    if args and args[0] in RESUMABLE and all(a.isdigit() for a in args[1:2]) and len(args) <= 2:
        return ":".join(args)
    return None


def _resume(ctx: Ctx) -> dict[str, str]:
    resume = ctx.data.get("resume")
    return {"resume": resume} if isinstance(resume, str) and _resume_of(resume.split(":")) else {}


async def ask_phone(ctx: Ctx, args: list[str]) -> Screen:
    resume = _resume_of(args)
    notes = {"resume": resume} if resume else _resume(ctx) if ctx.state.startswith("signup.") else {}
    if resume and ctx.member.phone:  # verified meanwhile (an old button): straight back
        ctx.go()
        screen = await _back_to(ctx, resume)
        if screen is not None:
            return screen
    later = ctx.button("signup.later", "home")
    if ctx.msg.channel == "telegram":
        ctx.go("signup.phone", **notes)
        return ctx.say(
            ctx.t("signup.share_phone", button=ctx.t("signup.share_button")),
            [Button(ctx.t("signup.share_button"), share_contact=True)],
            [later],
            expects="phone",
        )
    if ctx.services.sms is None and not ctx.config.show_codes:
        ctx.go()
        return _no_sms(ctx)
    ctx.go("signup.phone", **notes)
    return ctx.say(ctx.t("signup.type_phone"), [later], expects="phone")


def _no_sms(ctx: Ctx) -> Screen:
    """Production without an SMS sender: Telegram's contact button or the market office instead."""
    rows = [[Button(ctx.t("help.call"), phone=ctx.config.office_phone)]]
    if ctx.config.bot_username:
        rows.append([Button(ctx.t("signup.on_telegram"), url=f"https://t.me/{ctx.config.bot_username}")])
    return ctx.say(ctx.t("refusal.sms_not_configured", share_button=ctx.t("signup.share_button")), *rows)


async def shared_phone(ctx: Ctx, args: list[str]) -> Screen:
    """A phone the channel vouched for (the adapter checked it is the sender's own)."""
    ctx.member = await members.verified_phone(ctx.services, ctx.uow, ctx.member.id, args[0])
    return await _welcome(ctx)


async def typed_phone(ctx: Ctx, args: list[str]) -> Screen:
    if ctx.services.sms is None and not ctx.config.show_codes:
        ctx.go()
        return _no_sms(ctx)
    code = await identity.send_phone_code(
        ctx.services, ctx.uow, ctx.member.id, args[0] if args else "", reveal=ctx.config.show_codes
    )
    ctx.go("signup.code", **_resume(ctx))
    text = ctx.t("signup.code_sent")
    if code is not None:
        text += "\n" + ctx.t("signup.code_shown", code=code)
    return ctx.say(text, [ctx.button("signup.again", "phone"), ctx.button("signup.later", "home")], expects="code")


async def typed_code(ctx: Ctx, args: list[str]) -> Screen:
    check = await members.confirm_phone_code(ctx.services, ctx.uow, ctx.member.id, args[0] if args else "")
    if not check.ok:
        return ctx.say(
            ctx.t("signup.code_wrong", left=check.attempts_left),
            [ctx.button("signup.again", "phone"), ctx.button("signup.later", "home")],
            expects="code",
        )
    assert check.member is not None
    ctx.member = check.member
    return await _welcome(ctx)


async def _welcome(ctx: Ctx) -> Screen:
    first = Reply(ctx.t("signup.done"))
    resume = _resume(ctx).get("resume")
    ctx.go()
    screen = await _back_to(ctx, resume) if resume else None
    if screen is None:
        screen = await home(ctx, [])
    return Screen((first, *screen.replies), screen.menu, screen.expects, screen.lang)


async def _back_to(ctx: Ctx, resume: str) -> Screen | None:
    """The screen the member left for the phone (their order's confirmation, or the cart).

    Both only read; if the cart changed meanwhile (emptied, a member merged into another), the refusal
    would roll back the phone just verified, so the member lands on the home screen instead.
    """
    verb, *args = resume.split(":")
    try:
        if verb == "pay" and args:
            return await checkout.confirmation(ctx, args)
        return await cart.cart(ctx, args)
    except ChestnutError:
        return None


async def bnm_preference(ctx: Ctx, args: list[str]) -> Screen:
    """The BNM share every confirmation starts from (each shop still caps it)."""
    if args and args[0].isdigit():
        ctx.member = await members.set_preferences(ctx.uow, ctx.member.id, bnm_share_pref=int(args[0]))
        return ctx.say(
            ctx.t("preference.bnm_share.saved", share=ctx.member.bnm_share_pref), [ctx.button("menu.home", "home")]
        )
    options = [Button(f"{n}%", payload=f"pref:{n}") for n in (0, 10, 30, 50, 100)]
    return ctx.say(ctx.t("preference.bnm_share.choose", share=ctx.member.bnm_share_pref), options[:3], options[3:])


def register(router: Router) -> None:
    # Asking for the phone may go straight back to the confirmation, which may forget a stale choice.
    router.on("phone", ask_phone, writes=True)
    router.on("pref", bnm_preference, writes=True)
    router.on_phone(shared_phone, writes=True)
    router.waiting("signup.phone", typed_phone, writes=True)
    router.waiting("signup.code", typed_code, writes=True)
