"""Ads leaving through the messengers: dispatch's chat side (``ads.dispatch.Outbox``).

Where each member is reached (their oldest usable identity, a messenger before the web chat), the ad
screen itself — "(광고)" first, the shop and a contact, the tracked open and the one-tap opt-out — and
the push, paced per messenger, each message announced to dispatch's journal before its request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Sequence
from typing import Any

from ads.campaigns import Campaign
from ads.dispatch import Item, SendLog
from bots.messages import Button, Reply, Screen
from bots.notify import Notifier, PushFailed, reachable_of, record_reach
from bots.texts import t
from commerce.shops import service as shops
from commerce.shops.rows import Shop
from ledger.storage.unit_of_work import Database, UnitOfWork

KAKAO_BATCH = 100


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
        """Where each member is reached: their oldest usable identity, a messenger before the web chat."""
        out: dict[int, tuple[str, str, str]] = {}
        for r in await reachable_of(uow, member_ids):
            usable = r.channel in self.notifiers or r.channel == "web"
            best = out.get(r.member_id)
            if usable and (best is None or (best[0] == "web" and r.channel != "web")):
                out[r.member_id] = (r.channel, r.external_id, r.lang)
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
