"""Fraud signals on scripted abuse of recommendations and brokering (SQLite and PostgreSQL): each is
refused or held with its rule and reason recorded, nothing is paid for it at settlement — and an honest
recommendation and an honest credited comment raise no signal and are paid."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ads import fraud
from ads.signals import signals
from chestnut.bootstrap import App
from commerce.errors import InvalidState, NotAllowed
from commerce.members import service as members
from commerce.wallet import service as wallet
from community import comments, referrals
from tests.support.community import (
    FEE_DELIVERY,
    PRICE,
    advance,
    btl,
    buy,
    deliver_and_confirm,
    member,
    recommender,
    settle,
    verified,
)
from tests.support.market import cast


@pytest.fixture(autouse=True)
async def _ledger_verifies_after_each_test(app: App) -> AsyncIterator[None]:
    yield
    await verified(app)


async def status_of(app: App, order_id: int, role: str = "referral") -> tuple[str, str | None]:
    async with app.db.snapshot() as snap:
        rows = await snap.fetch(
            "SELECT status, reason FROM order_payees WHERE order_id = :o AND role = :r", {"o": order_id, "r": role}
        )
    return str(rows[0][0]), rows[0][1]


async def kinds(app: App) -> list[tuple[str, str]]:
    async with app.db.snapshot() as snap:
        return sorted((s.kind, s.status) for s in await signals(snap))


async def test_honest_recommendation_and_comment_raise_no_signal_and_are_paid(app: App) -> None:
    c = await cast(app)
    r = await recommender(app, c, commission_bp=500)
    async with app.db.unit_of_work() as uow:
        tip = await comments.post(app.services, uow, r, c.product, kind="tip", text="껍질째 드세요, 달아요")
        await uow.commit()
    order = await buy(app, c, r, comment=tip.id)
    assert await status_of(app, order.id) == ("due", None)
    assert await status_of(app, order.id, "broker") == ("due", None)
    await deliver_and_confirm(app, c, order.id)
    await settle(app, order.id)
    assert await btl(app, r) == 2 * PRICE * 500 // 10_000 + 2 * PRICE * 200 // 10_000
    assert await kinds(app) == []


async def test_self_recommendation_is_refused_with_the_reason(app: App) -> None:
    c = await cast(app)
    await recommender(app, c)  # the shop pays commissions
    async with app.db.unit_of_work() as uow:
        await referrals.share(app.services, uow, c.shopper, c.product)
        await uow.commit()
    order = await buy(app, c, raw_referrer=c.shopper)  # the buyer's own link (the chat never offers it)
    assert await status_of(app, order.id) == ("refused", "self_referral")
    async with app.db.snapshot() as snap:
        (signal,) = await signals(snap, kind="self_referral")
    assert (signal.member_id, signal.subject, signal.status) == (c.shopper, f"order:{order.id}", "refused")
    assert "own" in signal.reason
    before = await btl(app, c.shopper)
    await deliver_and_confirm(app, c, order.id)
    await settle(app, order.id)
    assert await btl(app, c.shopper) == before - (2 * PRICE + FEE_DELIVERY)  # the buyer got no commission back


async def test_a_second_account_behind_the_same_phone_or_device_is_held(app: App) -> None:
    c = await cast(app)
    r = await recommender(app, c)
    async with app.db.unit_of_work() as uow:
        await members.verified_phone(app.services, uow, r, "010-2222-3333")
        await members.request_phone_code(app.services, uow, c.shopper, "010-2222-3333")  # the shopper asks for it too
        await uow.commit()
    by_phone = await buy(app, c, r, qty=1)
    assert await status_of(app, by_phone.id) == ("held", "self_referral")

    other = await recommender(app, c, name="박추천")
    async with app.db.unit_of_work() as uow:
        await fraud.note_device(app.services, uow, other, "kakao-device-42")
        await fraud.note_device(app.services, uow, c.shopper, "kakao-device-42")
        await uow.commit()
    by_device = await buy(app, c, other, qty=1)
    assert await status_of(app, by_device.id) == ("held", "self_referral")
    async with app.db.snapshot() as snap:
        found = await signals(snap, kind="self_referral")
    assert sorted(s.evidence["via"] for s in found) == ["device", "phone"]
    for order in (by_phone, by_device):
        await deliver_and_confirm(app, c, order.id)
        await settle(app, order.id)
    assert await btl(app, r) == 0 and await btl(app, other) == 0  # held shares are not paid


async def test_circular_recommendations_are_held(app: App) -> None:
    c = await cast(app)
    a = await recommender(app, c, name="가나")  # A shares; the shopper B buys through A's link
    first = await buy(app, c, a, qty=1)
    assert await status_of(app, first.id) == ("due", None)
    async with app.db.unit_of_work() as uow:
        await referrals.share(app.services, uow, c.shopper, c.product)  # now B recommends to A
        await uow.commit()
    async with app.db.unit_of_work() as uow:
        await wallet.topup_at_office(app.services, uow, c.operator, a, 50_000, receipt="R-A")
        await uow.commit()
    back = await buy(app, c, c.shopper, qty=1, buyer=a)
    assert await status_of(app, back.id) == ("held", "circular_referral")
    async with app.db.snapshot() as snap:
        (signal,) = await signals(snap, kind="circular_referral")
    assert signal.member_id == c.shopper and signal.evidence["earlier_order"] == first.id


async def test_a_recommender_who_joined_minutes_ago_is_held(app: App) -> None:
    c = await cast(app)
    fresh = await recommender(app, c, age_ms=5 * 60_000)  # joined five minutes before the sale
    order = await buy(app, c, fresh, qty=1)
    assert await status_of(app, order.id) == ("held", "fresh_account")
    async with app.db.snapshot() as snap:
        (signal,) = await signals(snap, kind="fresh_account")
    assert signal.member_id == fresh and signal.evidence["minutes"] == 30


async def test_crediting_ones_own_comment_is_refused_and_never_paid(app: App) -> None:
    c = await cast(app)
    advance(app, 3_600_000)
    async with app.db.unit_of_work() as uow:
        mine = await comments.post(app.services, uow, c.shopper, c.product, kind="tip", text="제가 써 봤는데 좋아요")
        await uow.commit()
    order = await buy(app, c, comment=mine.id)
    assert await status_of(app, order.id, "broker") == ("refused", "self_brokering")
    before = await btl(app, c.shopper)
    await deliver_and_confirm(app, c, order.id)
    await settle(app, order.id)
    assert await btl(app, c.shopper) == before - (2 * PRICE + FEE_DELIVERY)  # no reward to oneself
    assert await kinds(app) == [("self_brokering", "refused")]


async def test_many_accounts_behind_one_phone_raise_one_signal(app: App) -> None:
    c = await cast(app)
    ids = [await member(app, f"부계정{i}") for i in range(3)]
    async with app.db.unit_of_work() as uow:
        for who in ids:
            await members.request_phone_code(app.services, uow, who, "010-9999-0000")
        assert len(await fraud.scan_shared_phones(app.services, uow)) == 1
        assert await fraud.scan_shared_phones(app.services, uow) == []  # once per phone
        await uow.commit()
    assert await kinds(app) == [("shared_phone", "held")]
    del c


async def test_an_operator_releases_a_held_share_before_settlement(app: App) -> None:
    c = await cast(app)
    fresh = await recommender(app, c, age_ms=60_000)
    released = await buy(app, c, fresh, qty=1)
    refused = await buy(app, c, fresh, qty=1)
    async with app.db.unit_of_work() as uow:
        with pytest.raises(NotAllowed):
            await referrals.review_share(app.services, uow, c.shopper, released.id, "referral", approve=True)
        assert (
            await referrals.review_share(app.services, uow, c.operator, released.id, "referral", approve=True) == "due"
        )
        assert (
            await referrals.review_share(app.services, uow, c.operator, refused.id, "referral", approve=False)
            == "refused"
        )
        with pytest.raises(InvalidState):  # decided once
            await referrals.review_share(app.services, uow, c.operator, refused.id, "referral", approve=True)
        await uow.commit()
    for order in (released, refused):
        await deliver_and_confirm(app, c, order.id)
        await settle(app, order.id)
    assert await btl(app, fresh) == PRICE * 500 // 10_000  # only the released one paid
