"""A member told of an abuse case by the "trust" batch, who reads it and appeals in the chat (both databases).

The case is scripted as in ``test_abuse``: the cast's courier delivers for the shop, then reviews it
(``tied_reviewer``: the review is held, and the member's rewards wait, ``review_spam``).
"""

from __future__ import annotations

import itertools

import pytest

from bots.dialogue import FloodGate
from bots.messages import Incoming
from chestnut.bootstrap import App, batch_context
from commerce.reviews import service as reviews
from commerce.trust import abuse
from commerce.trust import queries as trust_queries
from commerce.trust.rows import Case
from commerce.wallet import service as wallet
from scheduler.notices import RecordingAnnouncer
from scheduler.wiring import run_batch
from tests.integration.test_abuse import _deliver
from tests.support.chat import ChatUser, check_screen
from tests.support.inbox import Inbox
from tests.support.market import Cast, cast


@pytest.fixture
def app(app: App) -> App:
    """The conftest's app, with the journeys at human pace (a second or more per tap)."""
    seconds = itertools.count()
    config = app.dialogue.config
    app.dialogue.flood = FloodGate(config.flood_burst, config.flood_window_s, clock=lambda: float(next(seconds)))
    return app


async def _courier_reviews_the_shop_it_delivers_for(app: App, c: Cast) -> None:
    async with app.db.unit_of_work() as uow:
        await wallet.topup_at_office(app.services, uow, c.operator, c.courier, 50_000, receipt="R-c")
        await uow.commit()
    await _deliver(app, c, c.shopper, c.producer, [c.product])  # the courier now delivers for the shop
    order = await _deliver(app, c, c.courier, c.producer, [c.product])
    async with app.db.unit_of_work() as uow:
        await reviews.post_review(app.services, uow, c.courier, order, c.product, rating=5, text="좋아요")
        await uow.commit()


async def _cases(app: App, member_id: int) -> list[Case]:
    async with app.db.snapshot() as snap:
        return await trust_queries.member_cases(snap, member_id, limit=10)


async def test_the_trust_batch_tells_the_member_who_reads_the_case_and_appeals(app: App) -> None:
    c = await cast(app)
    await _courier_reviews_the_shop_it_delivers_for(app, c)

    # The scheduled scan: one transaction, a notice per opened case, announced after commit.
    ctx = batch_context(app)
    ctx.announcer = told = RecordingAnnouncer()
    report = await run_batch(ctx, "trust")
    assert report.details["trust"]["opened"] == 2
    assert {(n.member_id, n.kind, n.data["rule"], n.data["outcome"]) for n in told.notices} == {
        (c.courier, "abuse.case", "tied_reviewer", "hold_review"),
        (c.courier, "abuse.case", "review_spam", "withhold_reward"),
    }
    assert (await run_batch(ctx, "trust")).details["trust"]["opened"] == 0  # idempotent: nobody told twice

    # The member's messenger gets one kind screen per case, with a button to that very case.
    inbox = Inbox()
    app.pushes.add(inbox)
    held = next(n for n in told.notices if n.data["outcome"] == "hold_review")
    await app.pushes.announce([held])
    await app.pushes.drain()
    assert [who for who, _ in inbox.got] == ["c1"]
    pushed = check_screen(inbox.got[0][1])
    assert "후기를 잠시 가려 두었어요" in pushed.replies[0].text and "이의 신청" in pushed.replies[0].text

    courier = ChatUser(app.dialogue, "kakao", "c1", "박배달")
    courier.last = pushed
    await courier.tap("자세히 보기")
    assert f"{held.data['case']}번 알림" in courier.text
    assert "배달하시는 가게의 후기" in courier.text  # what was found, in plain words
    assert "시장 사무실이 확인할 때까지 잠시 가려" in courier.text  # what follows
    assert "확인 중" in courier.text

    # The same cases from help: the list, then the case, then the appeal typed in.
    await courier.tap("도움말")
    await courier.tap("내 기록 알림")
    assert "보상" in courier.text and courier.text.count("• ") == 2
    await courier.tap(f"{held.data['case']}번 알림 보기")
    await courier.tap("이의 신청")
    assert courier.last is not None and courier.last.expects == "text"
    words = "배달도 하지만 제 돈으로 사 먹어 보고 쓴 후기예요"
    await courier.send(words)
    assert "이의 신청을 받았어요" in courier.text
    assert f"보내신 이의: {words}" in courier.text and "이의 신청 받음" in courier.text
    assert "✍️" not in "".join(b.label for b in courier.buttons())  # appealed once: no second appeal button

    cases = {x.id: x for x in await _cases(app, c.courier)}
    assert cases[int(str(held.data["case"]))].status == "appealed"
    assert cases[int(str(held.data["case"]))].appeal == words


async def test_bad_appeals_are_refused_kindly_and_change_nothing(app: App) -> None:
    c = await cast(app)
    await _courier_reviews_the_shop_it_delivers_for(app, c)
    ctx = batch_context(app)
    ctx.announcer = told = RecordingAnnouncer()
    await run_batch(ctx, "trust")
    case_ids = sorted(int(str(n.data["case"])) for n in told.notices)
    before = await _cases(app, c.courier)

    # Someone else's case, by a forged payload: answered like an unknown case, nothing shown or changed.
    shopper = ChatUser(app.dialogue, "kakao", "s1", "이할머니")
    for forged in (f"ab:{case_ids[0]}", f"aba:{case_ids[0]}", "aba:99999", "aba:x", "aba"):
        screen = check_screen(await app.dialogue.handle(Incoming("kakao", "s1", payload=forged, key=f"f-{forged}")))
        text = "\n".join(r.text for r in screen.replies)
        assert "찾을 수 없어요" in text or "내 기록 알림" in text, (forged, text)
        assert "배달하시는" not in text and "좋아요" not in text
    await shopper.send("/start")
    await shopper.tap("도움말")
    await shopper.tap("내 기록 알림")
    assert "알림이 없어요" in shopper.text

    # The member's own case: a too-long appeal is refused with the limit, and the flow still waits.
    courier = ChatUser(app.dialogue, "kakao", "c1", "박배달")
    await courier.send("/start")
    await courier.tap("지갑")  # rewards are withheld: the wallet leads to the notices
    await courier.tap("내 기록 알림")
    await courier.tap(f"{case_ids[0]}번 알림 보기")
    await courier.tap("이의 신청")
    await courier.send("가" * (abuse.MAX_APPEAL + 1))
    assert f"{abuse.MAX_APPEAL}자까지만" in courier.text
    assert courier.last is not None and courier.last.expects == "text"
    assert await _cases(app, c.courier) == before

    # Decided by an operator meanwhile: the typed appeal is answered with the decision, nothing written.
    async with app.db.unit_of_work() as uow:
        await abuse.decide(app.services, uow, c.operator, case_ids[0], release=False)
        await uow.commit()
    decided = await _cases(app, c.courier)
    await courier.send("제 사정을 들어 주세요")
    assert "이미 결정했어요" in courier.text
    assert await _cases(app, c.courier) == decided
    assert next(x for x in decided if x.id == case_ids[0]).appeal is None
