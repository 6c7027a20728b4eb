"""Ads through the real services on both databases: consent, campaign money, dispatch, reward on open."""

from __future__ import annotations

from pathlib import Path

import pytest

from ads import campaigns, consent, dispatch, reports, rewards, signals, sponsored
from ads.errors import (
    BudgetOverBalance,
    EmptyAudience,
    InvalidCampaign,
    NoConsent,
    OpenTokenInvalid,
    OpenTokenReused,
)
from bots.ad_outbox import AdOutbox
from chestnut.bootstrap import App
from commerce.members import service as members
from ledger.verify import verify_ledger
from tests.support.market import Cast, cast

NOON_KST = 1_796_000_400_000 - (1_796_000_400_000 % 86_400_000) + 3 * 3_600_000  # 12:00 Asia/Seoul
NIGHT_KST = NOON_KST + 11 * 3_600_000  # 23:00 Asia/Seoul


async def _shoppers(app: App, n: int, *, night: bool = False) -> list[int]:
    ids = []
    async with app.db.unit_of_work() as uow:
        for i in range(n):
            m = await members.register(
                app.services, uow, channel="web", external_id=f"ad-s{i}", display_name=f"손님{i}"
            )
            await consent.set_consent(app.services, uow, m.id, "category", "과일", granted=True)
            await consent.set_consent(app.services, uow, m.id, "region", consent.ANY, granted=True)
            if night:
                await consent.set_consent(app.services, uow, m.id, "night", "", granted=True)
            ids.append(m.id)
        await uow.commit()
    return ids


async def _topup(app: App, c: Cast, amount: int) -> None:
    from commerce.wallet import service as wallet

    async with app.db.unit_of_work() as uow:
        await wallet.topup_at_office(app.services, uow, c.operator, c.producer, amount, receipt="R-ad")
        await uow.commit()


async def _campaign(app: App, c: Cast, *, reward: int = 100, budget: int = 250) -> campaigns.Campaign:
    async with app.db.unit_of_work() as uow:
        camp = await campaigns.create(
            app.services, uow, c.producer, product_id=c.product, message="햇사과 나왔어요", reward=reward, budget=budget
        )
        camp = await campaigns.start(app.services, uow, c.producer, camp.id)
        await uow.commit()
    return camp


async def _balance(app: App, account: str) -> int:
    async with app.db.snapshot() as snap:
        return (await app.ledger.account(snap, account)).balance


async def test_budget_is_conserved_and_only_first_opens_pay(app: App) -> None:
    app.services.clock = lambda: NOON_KST
    c = await cast(app)
    await _topup(app, c, 1000)
    people = await _shoppers(app, 4)
    camp = await _campaign(app, c)
    assert await _balance(app, members.wallet(c.producer)) == 750
    report = await dispatch.Dispatcher(app.db, app.services, AdOutbox({})).run(camp.id)
    assert report.sent == 4 and report.status == "done"
    again = await dispatch.Dispatcher(app.db, app.services, AdOutbox({})).run(camp.id)
    assert again.sent == 0  # exactly once: a second run sends nobody anything

    app.services.clock = lambda: NOON_KST + 5000
    outcomes, tokens = [], {}
    for m in people:
        async with app.db.unit_of_work() as uow:
            token = tokens[m] = (await uow.fetch("SELECT token FROM ad_recipients WHERE member_id = :m", {"m": m}))[0][
                0
            ]
            outcomes.append((await rewards.open_ad(app.services, uow, m, camp.id, token)).outcome)
            await uow.commit()
    assert outcomes == ["paid", "paid", "exhausted", "exhausted"]  # 250 covers two rewards of 100
    async with app.db.unit_of_work() as uow:
        with pytest.raises(OpenTokenReused):
            await rewards.open_ad(app.services, uow, people[0], camp.id, tokens[people[0]])
        with pytest.raises(OpenTokenInvalid):
            await rewards.open_ad(app.services, uow, people[0], camp.id, "forged-token-forged-token")
        with pytest.raises(OpenTokenInvalid):  # another member's token
            await rewards.open_ad(app.services, uow, people[1], camp.id, tokens[people[0]])
    paid = await _balance(app, members.wallet(people[0])) + await _balance(app, members.wallet(people[1]))
    assert paid == 200 and paid + await _balance(app, campaigns.account(camp.id)) == camp.budget
    async with app.db.unit_of_work() as uow:
        ended = await campaigns.end(app.services, uow, c.producer, camp.id)
        r = await reports.report(app.services, uow, c.producer, camp.id)
        await uow.commit()
    assert ended.refunded == 50 and await _balance(app, members.wallet(c.producer)) == 800
    assert (r.delivered, r.opened, r.paid_opens, r.paid, r.remaining) == (4, 4, 2, 200, 0)
    assert (await verify_ledger(app.db, app.ledger.origin)).ok


async def test_bad_campaigns_are_refused_and_nothing_moves(app: App) -> None:
    app.services.clock = lambda: NOON_KST
    c = await cast(app)
    await _topup(app, c, 1000)
    async with app.db.unit_of_work() as uow:
        for reward in (0, -5):
            with pytest.raises(InvalidCampaign):
                await campaigns.create(
                    app.services, uow, c.producer, product_id=c.product, message="x", reward=reward, budget=500
                )
        camp = await campaigns.create(
            app.services, uow, c.producer, product_id=c.product, message="x", reward=10, budget=100
        )
        with pytest.raises(EmptyAudience):  # nobody agreed to ads
            await campaigns.start(app.services, uow, c.producer, camp.id)
    await _shoppers(app, 1)
    async with app.db.unit_of_work() as uow:
        big = await campaigns.create(
            app.services, uow, c.producer, product_id=c.product, message="x", reward=10, budget=5000
        )
        with pytest.raises(BudgetOverBalance) as over:
            await campaigns.start(app.services, uow, c.producer, big.id)
        assert over.value.data["missing"] == 4000
    assert await _balance(app, members.wallet(c.producer)) == 1000


async def test_no_ad_without_valid_consent_quiet_hours_and_opt_out(app: App) -> None:
    app.services.clock = lambda: NIGHT_KST
    c = await cast(app)
    await _topup(app, c, 10_000)
    day, night = await _shoppers(app, 2), await _shoppers_night(app)
    camp = await _campaign(app, c, reward=10, budget=1000)
    report = await dispatch.Dispatcher(app.db, app.services, AdOutbox({})).run(camp.id)
    assert (report.sent, report.deferred, report.status) == (1, 2, "quiet_hours")  # only the night consent
    async with app.db.unit_of_work() as uow:
        with pytest.raises(NoConsent) as refused:
            await consent.require(
                uow, day[0], categories=["과일"], regions=["수원시"], now_ms=NIGHT_KST, quiet=consent.QuietHours()
            )
        assert refused.value.data["reason"] == "quiet_hours"
        await consent.opt_out(app.services, uow, day[0], campaign_id=camp.id)  # before the morning
        await uow.commit()
    app.services.clock = lambda: NOON_KST + 86_400_000
    morning = await dispatch.Dispatcher(app.db, app.services, AdOutbox({})).run(camp.id)
    assert (morning.sent, morning.refused) == (1, 1)
    # two years later, consent no longer counts until re-confirmed
    later = NOON_KST + consent.TTL_MS + 86_400_000
    async with app.db.unit_of_work() as uow:
        decision = await consent.check(
            uow, night, categories=["과일"], regions=["수원시"], now_ms=later, quiet=consent.QuietHours()
        )
        assert decision.reason == "expired"
    assert night not in day


async def _shoppers_night(app: App) -> int:
    async with app.db.unit_of_work() as uow:
        m = await members.register(app.services, uow, channel="web", external_id="ad-night", display_name="올빼미")
        for scope, value in (("category", "과일"), ("region", "수원시"), ("night", "")):
            await consent.set_consent(app.services, uow, m.id, scope, value, granted=True)
        await uow.commit()
    return m.id


async def test_fast_opens_are_held_and_sponsored_opens_pay_once(app: App) -> None:
    app.services.clock = lambda: NOON_KST
    c = await cast(app)
    await _topup(app, c, 10_000)
    people = await _shoppers(app, 2)
    camp = await _campaign(app, c, reward=30, budget=300)
    await dispatch.Dispatcher(app.db, app.services, AdOutbox({})).run(camp.id)
    async with app.db.unit_of_work() as uow:
        token = (await uow.fetch("SELECT token FROM ad_recipients WHERE member_id = :m", {"m": people[0]}))[0][0]
        held = await rewards.open_ad(app.services, uow, people[0], camp.id, token)  # 0 ms after delivery
        await uow.commit()
    assert (held.outcome, held.paid) == ("held", 0)
    async with app.db.snapshot() as snap:
        found = await signals.signals(snap, member_id=people[0])
    assert [s.kind for s in found] == ["fast_open"] and found[0].status == "held"

    async with app.db.unit_of_work() as uow:
        await sponsored.place_bid(app.services, uow, c.producer, camp.id, keyword="사과", bid=50)
        hit = await sponsored.sponsored_for(uow, "맛있는 사과")
        assert hit is not None and hit.product_id == c.product
        tok = await sponsored.open_token(app.services, uow, people[1], camp.id)
        with pytest.raises(OpenTokenInvalid):
            await sponsored.open_sponsored(app.services, uow, people[1], camp.id, tok[:-2] + "xx")
        first = await sponsored.open_sponsored(app.services, uow, people[1], camp.id, tok)
        with pytest.raises(OpenTokenReused):
            await sponsored.open_sponsored(app.services, uow, people[1], camp.id, tok)
        await uow.commit()
    assert first.paid == 30 and await _balance(app, members.wallet(people[1])) == 30


async def test_a_search_shows_one_sponsored_result_and_opening_it_pays(app: App) -> None:
    from tests.support.chat import ChatUser

    app.services.clock = lambda: NOON_KST
    c = await cast(app)
    await _topup(app, c, 10_000)
    (someone,) = await _shoppers(app, 1)
    camp = await _campaign(app, c, reward=40, budget=400)
    async with app.db.unit_of_work() as uow:
        await sponsored.place_bid(app.services, uow, c.producer, camp.id, keyword="사과", bid=50)
        await uow.commit()
    shopper = ChatUser(app.dialogue, "web", "ad-s0")  # the member with consent (any member sees it)
    await shopper.send("사과 좀 주세요")
    labels = [b.label for r in shopper.last.replies for b in r.all_buttons] if shopper.last else []
    ads = [label for label in labels if label.startswith("(광고)")]
    assert ads == ["(광고) 사과"] and labels[0] == ads[0]  # once, first, marked
    await shopper.tap("(광고) 사과")
    assert "40원" in shopper.text
    await shopper.send("사과")
    await shopper.tap("(광고) 사과")  # a second open is thanked, not paid
    assert await _balance(app, members.wallet(someone)) == 40


async def test_a_restart_reads_the_journal_resends_the_unsent_and_never_the_doubtful(app: App, tmp_path: Path) -> None:
    app.services.clock = lambda: NOON_KST
    c = await cast(app)
    await _topup(app, c, 10_000)
    answered, on_wire, never = await _shoppers(app, 3)
    camp = await _campaign(app, c, reward=10, budget=100)
    async with app.db.unit_of_work() as uow:  # a dispatcher died with all three claimed
        await uow.execute("UPDATE ad_recipients SET status = 'sending' WHERE campaign_id = :c", {"c": camp.id})
        await uow.commit()
    journal = dispatch.Journal(tmp_path / f"campaign-{camp.id}.journal", app.services.clock)
    journal.attempt([answered, on_wire])
    journal.answered({answered: "ok"})
    journal.close()
    report = await dispatch.Dispatcher(app.db, app.services, AdOutbox({}), journal_dir=tmp_path).run(camp.id)
    assert (report.settled, report.recovered, report.resumed, report.sent) == (1, 1, 1, 1)
    async with app.db.snapshot() as snap:
        rows = dict(await snap.fetch("SELECT member_id, status FROM ad_recipients", {}))
    assert rows == {answered: "sent", on_wire: "unknown", never: "sent"}
    assert not (tmp_path / f"campaign-{camp.id}.journal").exists()  # done: the journal is dropped


class _OptsOutWhileSending(AdOutbox):
    """The messengers' outbox, with one member tapping "광고 그만 받기" while the first message goes out."""

    def __init__(self, app: App, member_id: int) -> None:
        super().__init__({})
        self.app, self.member_id, self.sent_to = app, member_id, []  # type: list[int]

    async def send(self, db, campaign, items, log):  # type: ignore[no-untyped-def]
        if not self.sent_to:
            async with self.app.db.unit_of_work() as uow:
                await consent.opt_out(self.app.services, uow, self.member_id, campaign_id=campaign.id)
                await uow.commit()
        self.sent_to.extend(i.member_id for i in items)
        return await super().send(db, campaign, items, log)


async def test_an_opt_out_during_dispatch_stops_the_next_message(app: App) -> None:
    app.services.clock = lambda: NOON_KST
    c = await cast(app)
    await _topup(app, c, 10_000)
    people = await _shoppers(app, 4)
    camp = await _campaign(app, c, reward=10, budget=1000)
    quitter = people[1]  # next in line: claimed, maybe, before they opted out, but not yet sent
    outbox = _OptsOutWhileSending(app, quitter)
    report = await dispatch.Dispatcher(app.db, app.services, outbox, chunk=1, depth=1).run(camp.id)
    assert quitter not in outbox.sent_to
    assert (report.sent, report.refused) == (3, 1)
    async with app.db.snapshot() as snap:
        status = dict(
            await snap.fetch("SELECT member_id, status FROM ad_recipients WHERE campaign_id = :c", {"c": camp.id})
        )
    assert status[quitter] == "refused" and sorted(m for m, s in status.items() if s == "sent") == sorted(
        m for m in people if m != quitter
    )
    assert (await verify_ledger(app.db, app.ledger.origin)).ok
