"""Sign-up by phone: Telegram's contact button (the platform vouches), or a typed number and a code.

A verified phone is what links identities: the same number confirmed on KakaoTalk after Telegram makes
one member of the two (``commerce.members`` merges them), so the order history and wallet follow.
The code would go out by SMS; until an SMS sender is configured, development and test show it in the
chat (``ChatConfig.show_codes``) — production never does.
"""

from __future__ import annotations

from bots.dialogue import Ctx, Router
from bots.flows.home import home
from bots.messages import Button, Reply, Screen
from commerce import members


async def ask_phone(ctx: Ctx, _args: list[str]) -> Screen:
    if ctx.msg.channel == "telegram":
        ctx.go("signup.phone")
        return ctx.say(
            ctx.t("signup.share_phone"),
            [Button(ctx.t("signup.share_button"), share_contact=True)],
            [ctx.button("signup.later", "home")],
            expects="phone",
        )
    ctx.go("signup.phone")
    return ctx.say(ctx.t("signup.type_phone"), [ctx.button("signup.later", "home")], expects="phone")


async def shared_phone(ctx: Ctx, args: list[str]) -> Screen:
    """A phone the channel vouched for (the adapter checked it is the sender's own)."""
    ctx.member = await members.verified_phone(ctx.market, ctx.uow, ctx.member.id, args[0])
    return await _welcome(ctx)


async def typed_phone(ctx: Ctx, args: list[str]) -> Screen:
    code = await members.request_phone_code(ctx.market, ctx.uow, ctx.member.id, args[0] if args else "")
    ctx.go("signup.code")
    text = ctx.t("signup.code_sent")
    if ctx.config.show_codes:
        text += "\n" + ctx.t("signup.code_shown", code=code)
    return ctx.say(text, [ctx.button("signup.again", "phone"), ctx.button("signup.later", "home")], expects="code")


async def typed_code(ctx: Ctx, args: list[str]) -> Screen:
    check = await members.confirm_phone_code(ctx.market, ctx.uow, ctx.member.id, args[0] if args else "")
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
    screen = await home(ctx, [])
    return Screen((first, *screen.replies), screen.menu, screen.expects, screen.lang)


async def bnm_preference(ctx: Ctx, args: list[str]) -> Screen:
    """The BNM share every confirmation starts from (each shop still caps it)."""
    if args and args[0].isdigit():
        ctx.member = await members.set_preferences(ctx.uow, ctx.member.id, bnm_share_pref=int(args[0]))
        return ctx.say(ctx.t("pref.saved", share=ctx.member.bnm_share_pref), [ctx.button("menu.home", "home")])
    options = [Button(f"{n}%", payload=f"pref:{n}") for n in (0, 10, 30, 50, 100)]
    return ctx.say(ctx.t("pref.choose", share=ctx.member.bnm_share_pref), options[:3], options[3:])


def register(router: Router) -> None:
    router.on("phone", ask_phone)
    router.on("pref", bnm_preference)
    router.phone = shared_phone
    router.waiting("signup.phone", typed_phone)
    router.waiting("signup.code", typed_code)
