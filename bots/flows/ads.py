"""Ads in the chat: a member's ad settings, the ad message itself, and a producer's campaigns.

Member::

    더보기 ▶ ad (settings) ▶ adc ▶ adct:<i> (category on/off)   adr ▶ adrt:<i> (region on/off)
                        ▶ adn (night on/off)  adrc (re-confirm)  adi (ads received) ▶ ado:<c>:<token>
    the ad message: "(광고)" shop · contact · [자세히 보기 ado:<c>:<token>] [광고 그만 받기 adx:<c>]
    a sponsored search result: ads:<c>:<hmac> (paid like an open)

Producer (내 가게 ▶ 📢 광고)::

    adp ▶ adpn ▶ adpp:<product> ▶ ad.message (typed) ▶ adph:<0|1> ▶ adpa:<audience> ▶ adpr:<reward>
        ▶ adpl:<limit> ▶ adpb:<budget> ▶ confirmation ─adpy▶ running (dispatched in the background)
    adpc:<c> (report) ▶ adpz:<c> pause | adpg:<c> resume | adpe:<c> ▶ adpey:<c> end (unspent back)

``AdOutbox`` is dispatch's chat side: where each member is reached, the ad screen, the push.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Sequence
from typing import Any

from ads import campaigns, consent, reports, rewards, sponsored
from ads.campaigns import Audience, Campaign
from ads.dispatch import Item, SendLog
from ads.errors import OpenTokenReused
from bots.dialogue import Ctx, Router
from bots.messages import Button, Reply, Screen
from bots.notify import Notifier, PushFailed, record_reach
from bots.texts import t, won
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.shops.rows import Shop
from ledger.db import Database, UnitOfWork, in_clause

REWARDS = (50, 100, 300, 500)
LIMITS = (1, 2, 3)
BUDGETS = (10_000, 30_000, 50_000, 100_000)
AUDIENCES = ("consent", "buyers", "market")
KAKAO_BATCH = 100


# ------------------------------------------------------------------------------ the ad message


def ad_screen(
    lang: str, campaign: Campaign, shop: Shop, token: str, office_phone: str, *, kakao: bool = False
) -> Screen:
    """ "(광고)" first, the shop and a contact, the tracked open and the one-tap opt-out."""
    text = t(lang, "ad.message", shop=shop.name, message=campaign.message, phone=shop.phone or office_phone)
    buttons = (
        (Button(t(lang, "ad.open"), payload=f"ado:{campaign.id}:{token}"),),
        (Button(t(lang, "ad.stop"), payload=f"adx:{campaign.id}"),),
    )
    if kakao:  # one bubble of text, no buttons: the open and the opt-out are typed words in the chat
        return Screen((Reply(text + "\n" + t(lang, "ad.kakao_hint")),), (), lang=lang)
    return Screen((Reply(text, image_url=campaign.photo, buttons=buttons),), (), lang=lang)


class AdOutbox:
    """``ads.dispatch.Outbox`` over the messengers' notifiers (the web chat keeps ads in the inbox).

    Telegram messages are started one by one at the notifier's pace (``spacing_s``), each announced to
    dispatch's journal (``attempt``) just before its request — so after a crash only the requests then in
    flight are in doubt; Kakao goes in Event API batches of ≤ 100 users, each batch announced whole.
    """

    def __init__(self, notifiers: dict[str, Notifier], office_phone: str = "031-000-0000") -> None:
        self.notifiers, self.office_phone = notifiers, office_phone
        self._next: dict[str, float] = {}

    async def targets(self, uow: UnitOfWork, member_ids: Sequence[int]) -> dict[int, tuple[str, str, str]]:
        clause, params = in_clause("m", list(member_ids))
        rows = await uow.fetch(
            "SELECT i.member_id, i.channel, i.external_id, m.lang FROM member_identities i "
            "JOIN members m ON m.id = i.member_id LEFT JOIN bot_reach r "
            "ON r.channel = i.channel AND r.external_id = i.external_id "
            f"WHERE i.member_id IN {clause} AND (r.status IS NULL OR r.status = 'ok') ORDER BY i.created_ms",
            params,
        )
        out: dict[int, tuple[str, str, str]] = {}
        for mid, channel, external_id, lang in rows:
            usable = str(channel) in self.notifiers or str(channel) == "web"
            best = out.get(int(mid))
            if usable and (best is None or (best[0] == "web" and str(channel) != "web")):
                out[int(mid)] = (str(channel), str(external_id), str(lang))
        return out

    async def _pace(self, channel: str, spacing_s: float, catch_up_s: float) -> None:
        """Wait for this channel's next start slot (the notifier keeps the Bot API's limits anyway);
        a slot missed by timer overshoot is made up within ``catch_up_s``, as the notifier does."""
        now = time.monotonic()
        slot = max(now - catch_up_s, self._next.get(channel, 0.0))
        self._next[channel] = slot + spacing_s
        if slot > now:
            await asyncio.sleep(slot - now)

    async def send(self, db: Database, campaign: Campaign, items: Sequence[Item], log: SendLog) -> dict[int, str]:
        async with db.snapshot() as snap:
            shop = await shops.get(snap, campaign.shop_id)
        outcomes: dict[int, str] = {}
        web = [i for i in items if i.channel == "web"]
        log.attempt([i.member_id for i in web])
        outcomes.update({i.member_id: "ok" for i in web})  # the web chat shows it under "받은 광고"
        log.answered({i.member_id: "ok" for i in web})
        jobs: list[Coroutine[Any, Any, None]] = []
        kakao = [i for i in items if i.channel == "kakao"]
        if kakao:
            jobs.append(self._kakao(campaign, shop, kakao, outcomes, log))

        async def one(item: Item) -> None:
            screen = ad_screen(item.lang, campaign, shop, item.token, self.office_phone)
            try:
                outcome = await self.notifiers[item.channel].push(item.external_id, screen)
            except PushFailed:  # an ad is not retried: one that did not go out is counted as not reached
                outcome = "unreachable"
            outcomes[item.member_id] = outcome
            log.answered({item.member_id: outcome})

        started: list[asyncio.Task[None]] = []
        try:
            for item in (i for i in items if i.channel not in ("kakao", "web")):
                notifier = self.notifiers[item.channel]
                spacing, catch_up = getattr(notifier, "spacing_s", 0.0), getattr(notifier, "catch_up_s", 0.0)
                await self._pace(item.channel, float(spacing), float(catch_up))
                log.attempt([item.member_id])
                started.append(asyncio.create_task(one(item)))
            await asyncio.gather(*jobs)
        finally:
            await asyncio.gather(*started)
        return outcomes

    async def _kakao(
        self,
        campaign: Campaign,
        shop: Shop,
        items: list[Item],
        outcomes: dict[int, str],
        log: SendLog,
    ) -> None:
        notifier = self.notifiers["kakao"]
        push_many = getattr(notifier, "push_many", None)
        for lang in sorted({i.lang for i in items}):
            group = [i for i in items if i.lang == lang]
            screen = ad_screen(lang, campaign, shop, "", self.office_phone, kakao=True)
            if push_many is None:
                for i in group:
                    log.attempt([i.member_id])
                    outcomes[i.member_id] = await notifier.push(i.external_id, screen)
                    log.answered({i.member_id: outcomes[i.member_id]})
                continue
            for start in range(0, len(group), KAKAO_BATCH):  # the Event API takes ≤ 100 users a request
                batch = group[start : start + KAKAO_BATCH]
                log.attempt([i.member_id for i in batch])
                by_user = await push_many([i.external_id for i in batch], screen)
                answers = {i.member_id: by_user.get(i.external_id, "unreachable") for i in batch}
                outcomes.update(answers)
                log.answered(answers)

    async def record(self, uow: UnitOfWork, items: Sequence[Item], outcomes: dict[int, str], now_ms: int) -> None:
        for item in items:
            outcome = outcomes.get(item.member_id)
            if outcome in ("blocked", "unreachable"):
                await record_reach(uow, item.channel, item.external_id, item.member_id, outcome, now_ms)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ member: settings


async def _choices(ctx: Ctx) -> tuple[list[str], list[str]]:
    cats = [str(r[0]) for r in await ctx.uow.fetch("SELECT DISTINCT category FROM products ORDER BY category LIMIT 4")]
    regs = [str(r[0]) for r in await ctx.uow.fetch("SELECT DISTINCT region FROM shops ORDER BY region LIMIT 4")]
    if ctx.member.region and ctx.member.region not in regs:
        regs = [ctx.member.region, *regs[:3]]
    return [consent.ANY, *cats], [consent.ANY, *regs]


def _name(ctx: Ctx, value: str) -> str:
    return ctx.t("ad.any") if value == consent.ANY else value


async def settings(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    v = await consent.view(ctx.uow, ctx.member.id, ctx.services.clock())
    none = ctx.t("ad.none")
    text = ctx.t(
        "ad.settings",
        categories=", ".join(_name(ctx, c) for c in v.categories) or none,
        regions=", ".join(_name(ctx, r) for r in v.regions) or none,
        night=ctx.t("ad.on") if v.night else ctx.t("ad.off"),
    )
    if v.expired:
        text += "\n" + ctx.t("ad.expired")
    rows = [
        [ctx.button("ad.categories", "adc"), ctx.button("ad.regions", "adr")],
        [ctx.button("ad.night", "adn"), ctx.button("ad.inbox", "adi")],
        [ctx.button("ad.reconfirm", "adrc")] if v.expired else [ctx.button("ad.stop_all", "adx")],
    ]
    return ctx.say(text, *rows)


async def _toggle_list(ctx: Ctx, scope: str, verb: str, values: list[str]) -> Screen:
    v = await consent.view(ctx.uow, ctx.member.id, ctx.services.clock())
    on = set(v.categories if scope == "category" else v.regions)
    rows = [
        [Button(("✅ " if value in on else "⬜ ") + _name(ctx, value), payload=f"{verb}:{i}")]
        for i, value in enumerate(values[:5])
    ]
    return ctx.say(ctx.t(f"ad.choose_{scope}"), *rows, [ctx.button("ad.back", "ad")])


async def categories(ctx: Ctx, _args: list[str]) -> Screen:
    cats, _regs = await _choices(ctx)
    return await _toggle_list(ctx, "category", "adct", cats)


async def regions(ctx: Ctx, _args: list[str]) -> Screen:
    _cats, regs = await _choices(ctx)
    return await _toggle_list(ctx, "region", "adrt", regs)


async def _toggle(ctx: Ctx, args: list[str], scope: str) -> Screen:
    cats, regs = await _choices(ctx)
    values = cats if scope == "category" else regs
    if not args or not args[0].isdigit() or int(args[0]) >= len(values):
        return await settings(ctx, [])
    value = values[int(args[0])]
    v = await consent.view(ctx.uow, ctx.member.id, ctx.services.clock())
    on = value in (v.categories if scope == "category" else v.regions)
    await consent.set_consent(ctx.services, ctx.uow, ctx.member.id, scope, value, granted=not on)
    return await (categories if scope == "category" else regions)(ctx, [])


async def toggle_category(ctx: Ctx, args: list[str]) -> Screen:
    return await _toggle(ctx, args, "category")


async def toggle_region(ctx: Ctx, args: list[str]) -> Screen:
    return await _toggle(ctx, args, "region")


async def toggle_night(ctx: Ctx, _args: list[str]) -> Screen:
    v = await consent.view(ctx.uow, ctx.member.id, ctx.services.clock())
    await consent.set_consent(ctx.services, ctx.uow, ctx.member.id, "night", "", granted=not v.night)
    return await settings(ctx, [])


async def reconfirm(ctx: Ctx, _args: list[str]) -> Screen:
    await consent.reconfirm(ctx.services, ctx.uow, ctx.member.id)
    return await settings(ctx, [])


async def stop(ctx: Ctx, args: list[str]) -> Screen:
    """The one-tap opt-out: immediate, for every ad, no question asked."""
    campaign_id = int(args[0]) if args and args[0].isdigit() else None
    await consent.opt_out(ctx.services, ctx.uow, ctx.member.id, campaign_id=campaign_id)
    ctx.go()
    return ctx.say(ctx.t("ad.stopped"), [ctx.button("ad.settings_button", "ad")])


async def inbox(ctx: Ctx, _args: list[str]) -> Screen:
    rows = await ctx.uow.fetch(
        "SELECT r.campaign_id, r.token, s.name FROM ad_recipients r JOIN ad_campaigns c ON c.id = r.campaign_id "
        "JOIN shops s ON s.id = c.shop_id WHERE r.member_id = :m AND r.status IN ('sent', 'unknown') "
        "ORDER BY r.sent_ms DESC LIMIT 5",
        {"m": ctx.member.id},
    )
    if not rows:
        return ctx.say(ctx.t("ad.inbox_empty"), [ctx.button("ad.back", "ad")])
    buttons = [[Button(ctx.t("ad.inbox_item", shop=str(name)), payload=f"ado:{cid}:{tok}")] for cid, tok, name in rows]
    return ctx.say(ctx.t("ad.inbox_title"), *buttons)


async def _show_after_open(ctx: Ctx, product_id: int, key: str, **values: object) -> Screen:
    product = await catalog.get(ctx.uow, product_id)
    return ctx.say(
        ctx.t(key, **values) + "\n\n" + ctx.t("ad.product", name=product.name, price=won(product.price, ctx.lang)),
        [ctx.button("ad.see_product", f"p:{product.id}")],
    )


async def _opened(ctx: Ctx, result: rewards.OpenResult) -> Screen:
    key = {"paid": "ad.paid", "exhausted": "ad.thanks_exhausted", "held": "ad.thanks_held"}.get(
        result.outcome, "ad.thanks"
    )
    return await _show_after_open(ctx, result.campaign.product_id, key, amount=won(result.paid, ctx.lang))


async def open_(ctx: Ctx, args: list[str]) -> Screen:
    """The tracked "자세히 보기": pays the first open, then shows the product."""
    if len(args) < 2 or not args[0].isdigit():
        return ctx.say(ctx.t("ad.bad_button"))
    try:
        result = await rewards.open_ad(ctx.services, ctx.uow, ctx.member.id, int(args[0]), args[1])
    except OpenTokenReused:
        campaign = await campaigns.get(ctx.uow, int(args[0]))
        return await _show_after_open(ctx, campaign.product_id, "ad.thanks")
    return await _opened(ctx, result)


async def open_sponsored(ctx: Ctx, args: list[str]) -> Screen:
    if len(args) < 2 or not args[0].isdigit():
        return ctx.say(ctx.t("ad.bad_button"))
    try:
        result = await sponsored.open_sponsored(ctx.services, ctx.uow, ctx.member.id, int(args[0]), args[1])
    except OpenTokenReused:
        campaign = await campaigns.get(ctx.uow, int(args[0]))
        return await _show_after_open(ctx, campaign.product_id, "ad.thanks")
    return await _opened(ctx, result)


async def sponsored_button(ctx: Ctx, query: str) -> Button | None:
    """The one "(광고)" result for a search page (the search screen adds it), or None."""
    found = await sponsored.sponsored_for(ctx.uow, query, exclude_shop_owner=ctx.member.id)
    if found is None:
        return None
    product = await catalog.get(ctx.uow, found.product_id)
    token = await sponsored.open_token(ctx.services, ctx.uow, ctx.member.id, found.campaign_id)
    return Button(ctx.t("ad.sponsored", name=product.name), payload=f"ads:{found.campaign_id}:{token}")


# ------------------------------------------------------------------------------ producer: campaigns


async def _shop(ctx: Ctx) -> Shop | None:
    return await shops.owned_by(ctx.uow, ctx.member.id)


async def producer_home(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    shop = await _shop(ctx)
    if shop is None or not ctx.member.has("producer"):
        return ctx.say(ctx.t("ad.p_no_shop"), [ctx.button("home.work.producer", "ps")])
    mine = await campaigns.of_shop(ctx.uow, shop.id, limit=4)
    rows = [[ctx.button("ad.p_campaign", f"adpc:{c.id}", id=c.id, status=ctx.t(f"ad.status.{c.status}"))] for c in mine]
    return ctx.say(ctx.t("ad.p_home", shop=shop.name), *rows, [ctx.button("ad.p_new", "adpn")])


async def new_campaign(ctx: Ctx, _args: list[str]) -> Screen:
    shop = await _shop(ctx)
    if shop is None:
        return await producer_home(ctx, [])
    products = await catalog.list_products(ctx.uow, shop_id=shop.id, limit=5)
    if not products:
        return ctx.say(ctx.t("ad.p_no_products"), [ctx.button("home.work.producer", "ps")])
    rows = [[Button(p.name, payload=f"adpp:{p.id}")] for p in products]
    return ctx.say(ctx.t("ad.p_choose_product"), *rows)


async def chose_product(ctx: Ctx, args: list[str]) -> Screen:
    if not args or not args[0].isdigit():
        return await new_campaign(ctx, [])
    ctx.go("ad.message", product=int(args[0]))
    return ctx.say(ctx.t("ad.p_ask_message"), expects="text")


async def message_typed(ctx: Ctx, _args: list[str]) -> Screen:
    text = (ctx.msg.text or "").strip()
    if not text or len(text) > campaigns.MAX_MESSAGE:
        return ctx.say(ctx.t("ad.p_ask_message"), expects="text")
    ctx.go("ad.draft", **{**ctx.data, "message": text})
    return ctx.say(
        ctx.t("ad.p_ask_photo"), [ctx.button("ad.p_photo_yes", "adph:1"), ctx.button("ad.p_photo_no", "adph:0")]
    )


def _draft_ok(ctx: Ctx, *keys: str) -> bool:
    return ctx.state == "ad.draft" and all(k in ctx.data for k in keys)


async def chose_photo(ctx: Ctx, args: list[str]) -> Screen:
    if not _draft_ok(ctx, "product", "message"):
        return await producer_home(ctx, [])
    ctx.go("ad.draft", **{**ctx.data, "photo": args[:1] == ["1"]})
    rows = [[ctx.button(f"ad.p_audience.{a}", f"adpa:{i}")] for i, a in enumerate(AUDIENCES)]
    return ctx.say(ctx.t("ad.p_ask_audience"), *rows)


async def chose_audience(ctx: Ctx, args: list[str]) -> Screen:
    if not _draft_ok(ctx, "product", "message") or not args or not args[0].isdigit() or int(args[0]) >= len(AUDIENCES):
        return await producer_home(ctx, [])
    ctx.go("ad.draft", **{**ctx.data, "audience": int(args[0])})
    return ctx.say(ctx.t("ad.p_ask_reward"), [Button(won(r, ctx.lang), payload=f"adpr:{r}") for r in REWARDS])


async def chose_reward(ctx: Ctx, args: list[str]) -> Screen:
    if not _draft_ok(ctx, "audience") or not args or not args[0].isdigit():
        return await producer_home(ctx, [])
    ctx.go("ad.draft", **{**ctx.data, "reward": int(args[0])})
    return ctx.say(ctx.t("ad.p_ask_limit"), [ctx.button("ad.p_limit", f"adpl:{n}", n=n) for n in LIMITS])


async def chose_limit(ctx: Ctx, args: list[str]) -> Screen:
    if not _draft_ok(ctx, "reward") or not args or not args[0].isdigit():
        return await producer_home(ctx, [])
    ctx.go("ad.draft", **{**ctx.data, "limit": int(args[0])})
    rows = [Button(won(b, ctx.lang), payload=f"adpb:{b}") for b in BUDGETS]
    return ctx.say(ctx.t("ad.p_ask_budget"), rows[:2], rows[2:])


async def chose_budget(ctx: Ctx, args: list[str]) -> Screen:
    if not _draft_ok(ctx, "limit") or not args or not args[0].isdigit():
        return await producer_home(ctx, [])
    d = {**ctx.data, "budget": int(args[0])}
    ctx.go("ad.draft", **d)
    product = await catalog.get(ctx.uow, int(d["product"]))
    text = ctx.t(
        "ad.p_confirm",
        product=product.name,
        message=d["message"],
        audience=ctx.t(f"ad.p_audience.{AUDIENCES[int(d['audience'])]}"),
        reward=won(int(d["reward"]), ctx.lang),
        limit=int(d["limit"]),
        budget=won(int(d["budget"]), ctx.lang),
        opens=int(d["budget"]) // max(1, int(d["reward"])),
    )
    return ctx.say(
        text,
        [ctx.button("ad.p_start", "adpy", budget=won(int(d["budget"]), ctx.lang))],
        [ctx.button("ad.p_cancel", "adp")],
    )


async def confirm(ctx: Ctx, _args: list[str]) -> Screen:
    if not _draft_ok(ctx, "budget"):
        return await producer_home(ctx, [])
    d = ctx.data
    product = await catalog.get(ctx.uow, int(d["product"]))
    shop = await shops.get(ctx.uow, product.shop_id)
    which = AUDIENCES[int(d["audience"])]
    audience = Audience(
        past_buyers=which == "buyers", markets=(shop.market,) if which == "market" and shop.market else ()
    )
    campaign = await campaigns.create(
        ctx.services,
        ctx.uow,
        ctx.member.id,
        product_id=product.id,
        message=str(d["message"]),
        reward=int(d["reward"]),
        budget=int(d["budget"]),
        per_member_limit=int(d["limit"]),
        photo=product.photos[0] if d.get("photo") and product.photos else None,
        audience=audience,
    )
    campaign = await campaigns.start(ctx.services, ctx.uow, ctx.member.id, campaign.id)
    count = (await ctx.uow.fetch("SELECT COUNT(*) FROM ad_recipients WHERE campaign_id = :c", {"c": campaign.id}))[0][0]
    ctx.go()
    return ctx.say(
        ctx.t("ad.p_started", id=campaign.id, n=int(count), budget=won(campaign.budget, ctx.lang)),
        [ctx.button("ad.p_report", f"adpc:{campaign.id}")],
    )


async def campaign_card(ctx: Ctx, args: list[str]) -> Screen:
    if not args or not args[0].isdigit():
        return await producer_home(ctx, [])
    ctx.go()
    r = await reports.report(ctx.services, ctx.uow, ctx.member.id, int(args[0]))
    text = ctx.t(
        "ad.p_report_text",
        id=r.campaign_id,
        status=ctx.t(f"ad.status.{r.status}"),
        sent=r.sent,
        delivered=r.delivered,
        opened=r.opened,
        paid=won(r.paid, ctx.lang),
        remaining=won(r.remaining, ctx.lang),
        orders=r.orders,
        cpo=won(r.cost_per_order, ctx.lang) if r.cost_per_order is not None else "-",
    )
    cid = r.campaign_id
    actions = []
    if r.status == "running":
        actions.append(ctx.button("ad.p_pause", f"adpz:{cid}"))
    if r.status == "paused":
        actions.append(ctx.button("ad.p_resume", f"adpg:{cid}"))
    if r.status != "ended":
        actions.append(ctx.button("ad.p_end", f"adpe:{cid}"))
    return ctx.say(text, actions, [ctx.button("ad.p_back", "adp")])


async def pause(ctx: Ctx, args: list[str]) -> Screen:
    if args and args[0].isdigit():
        await campaigns.pause(ctx.services, ctx.uow, ctx.member.id, int(args[0]))
    return await campaign_card(ctx, args)


async def resume(ctx: Ctx, args: list[str]) -> Screen:
    if args and args[0].isdigit():
        await campaigns.resume(ctx.services, ctx.uow, ctx.member.id, int(args[0]))
    return await campaign_card(ctx, args)


async def end_ask(ctx: Ctx, args: list[str]) -> Screen:
    if not args or not args[0].isdigit():
        return await producer_home(ctx, [])
    return ctx.say(
        ctx.t("ad.p_end_ask"),
        [ctx.button("ad.p_end_yes", f"adpey:{args[0]}"), ctx.button("ad.p_back", f"adpc:{args[0]}")],
    )


async def end_yes(ctx: Ctx, args: list[str]) -> Screen:
    if not args or not args[0].isdigit():
        return await producer_home(ctx, [])
    campaign = await campaigns.end(ctx.services, ctx.uow, ctx.member.id, int(args[0]))
    return ctx.say(ctx.t("ad.p_ended", refund=won(campaign.refunded, ctx.lang)), [ctx.button("ad.p_back", "adp")])


def register(router: Router) -> None:
    for verb, handler in (
        ("ad", settings),
        ("adc", categories),
        ("adr", regions),
        ("adct", toggle_category),
        ("adrt", toggle_region),
        ("adn", toggle_night),
        ("adrc", reconfirm),
        ("adx", stop),
        ("adi", inbox),
        ("ado", open_),
        ("ads", open_sponsored),
        ("adp", producer_home),
        ("adpn", new_campaign),
        ("adpp", chose_product),
        ("adph", chose_photo),
        ("adpa", chose_audience),
        ("adpr", chose_reward),
        ("adpl", chose_limit),
        ("adpb", chose_budget),
        ("adpy", confirm),
        ("adpc", campaign_card),
        ("adpz", pause),
        ("adpg", resume),
        ("adpe", end_ask),
        ("adpey", end_yes),
    ):
        router.on(verb, handler)
    router.waiting("ad.message", message_typed)
    router.label("ad.typed_inbox", "adi")
    router.label("ad.typed_stop", "adx")
