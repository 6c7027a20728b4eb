"""The member's own cases ("내 기록 알림"): what the abuse rules found, what follows, and an appeal.

::

    도움말 / 지갑 ─📋 내 기록 알림→ cases (ab) ─one case→ case (ab:<id>)
    case (open) ─✍️ 이의 신청→ appeal (aba:<id>) → (type the words) → abuse.appeal → case, "received"
    a push ("abuse.case", from the "trust" batch) ─📋 자세히 보기→ case (ab:<id>)

Only the member a case is about sees it: another member's id in a payload is answered like an unknown
one, so nothing about that case shows. The rules, outcomes and appeals are ``commerce.trust.abuse``'s.
"""

from __future__ import annotations

from bots.context import Ctx
from bots.flows import payload
from bots.messages import Button, Screen
from bots.router import Router
from commerce.errors import InvalidState
from commerce.trust import abuse
from commerce.trust import queries as trust_queries
from commerce.trust.errors import UnknownCase
from commerce.trust.rows import Case

SHOWN = 5  # cases per screen: with the way back, six choices at most
APPEAL_STATE = "abuse.appeal"


def _rule(ctx: Ctx, case: Case) -> str:
    """What was found, in plain words (a rule the catalogue does not know yet: a general sentence)."""
    key = f"abuse.rule.{case.rule}"
    try:
        return ctx.t(key)
    except KeyError:
        return ctx.t("abuse.rule.other")


def _line(ctx: Ctx, case: Case) -> str:
    return ctx.t("abuse.line", id=case.id, rule=_rule(ctx, case), status=ctx.t(f"abuse.status.{case.status}"))


async def _mine(ctx: Ctx, case_id: int | None) -> Case | None:
    """The member's own case, or ``None`` (no such case, or someone else's: the same to the member)."""
    if case_id is None:
        return None
    try:
        case = await trust_queries.get(ctx.uow, case_id)
    except UnknownCase:
        return None
    return case if case.member_id == ctx.member.id else None


def _call(ctx: Ctx) -> Button:
    return Button(ctx.t("help.call"), phone=ctx.config.office_phone)


async def cases(ctx: Ctx, args: list[str]) -> Screen:
    """``ab``: the member's cases (open ones first); ``ab:<id>``: one of them."""
    if args:
        return await case(ctx, payload.number(args, 0))
    ctx.go()
    found = await trust_queries.member_cases(ctx.uow, ctx.member.id, limit=SHOWN + 1)
    if not found:
        return ctx.say(ctx.t("abuse.none"), [ctx.button("menu.home", "home")])
    lines = [ctx.t("abuse.title"), *(_line(ctx, c) for c in found[:SHOWN])]
    if len(found) > SHOWN:
        lines.append(ctx.t("abuse.more", phone=ctx.config.office_phone))
    rows = [[ctx.button("abuse.open", f"ab:{c.id}", id=c.id)] for c in found[:SHOWN]]
    return ctx.say("\n".join(lines), *rows, [_call(ctx)])


async def case(ctx: Ctx, case_id: int | None, *, before: str | None = None) -> Screen:
    ctx.go()
    found = await _mine(ctx, case_id)
    if found is None:
        return ctx.say(ctx.t("abuse.unknown"), [ctx.button("abuse.list", "ab")])
    lines = [before] if before else []
    lines += [
        ctx.t("abuse.case_title", id=found.id),
        ctx.t("abuse.found", rule=_rule(ctx, found)),
        ctx.t("abuse.reason", reason=found.reason),
        ctx.t(f"abuse.outcome.{found.outcome}"),
        ctx.t("abuse.state", status=ctx.t(f"abuse.status.{found.status}")),
    ]
    if found.appeal:
        lines.append(ctx.t("abuse.your_appeal", text=found.appeal))
    rows: list[list[Button]] = []
    if found.status == "open":
        lines.append(ctx.t("abuse.can_appeal", phone=ctx.config.office_phone))
        rows.append([ctx.button("abuse.appeal", f"aba:{found.id}")])
    rows.append([ctx.button("abuse.list", "ab"), _call(ctx)])
    return ctx.say("\n".join(lines), *rows)


async def _appealable(ctx: Ctx, case_id: object) -> Case | Screen:
    """The member's case if it may be appealed now, else the screen that says why and what next."""
    found = await _mine(ctx, case_id if isinstance(case_id, int) else None)
    if found is None:  # no such case, or someone else's (a forged or stale payload): nothing changes
        ctx.go()
        return ctx.say(ctx.t("abuse.unknown"), [ctx.button("abuse.list", "ab")])
    if found.status != "open":  # appealed already, or decided
        return await case(ctx, found.id, before=ctx.t(f"abuse.not_open.{found.status}"))
    return found


async def appeal(ctx: Ctx, args: list[str]) -> Screen:
    """``aba:<id>``: ask for the appeal's words."""
    found = await _appealable(ctx, payload.number(args, 0))
    if isinstance(found, Screen):
        return found
    ctx.go(APPEAL_STATE, case=found.id)
    return ctx.say(
        ctx.t("abuse.write", max=abuse.MAX_APPEAL), [ctx.button("abuse.back", f"ab:{found.id}")], expects="text"
    )


async def appealed(ctx: Ctx, args: list[str]) -> Screen:
    """The appeal's words, typed: checked here so a slip is answered with the next step, then sent."""
    found = await _appealable(ctx, ctx.data.get("case"))
    if isinstance(found, Screen):
        return found
    text = (args[0] if args else "").strip()
    back = [ctx.button("abuse.back", f"ab:{found.id}")]
    if not text:
        return ctx.say(ctx.t("abuse.write", max=abuse.MAX_APPEAL), back, expects="text")
    if len(text) > abuse.MAX_APPEAL:
        return ctx.say(ctx.t("abuse.too_long", n=len(text), max=abuse.MAX_APPEAL), back, expects="text")
    try:
        await abuse.appeal(ctx.services, ctx.uow, ctx.member.id, found.id, text)
    except InvalidState:  # decided a moment ago, before anything was written
        fresh = await trust_queries.get(ctx.uow, found.id)
        return await case(ctx, fresh.id, before=ctx.t(f"abuse.not_open.{fresh.status}"))
    return await case(ctx, found.id, before=ctx.t("abuse.received"))


def register(router: Router) -> None:
    router.on("ab", cases, writes=False)
    router.on("aba", appeal, writes=False)
    router.waiting(APPEAL_STATE, appealed, writes=True)
