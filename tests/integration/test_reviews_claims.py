"""Reviews and claims (returns, after-sales): every flow and every bad input, on SQLite and PostgreSQL.

Each refusal is its own test: the error's type and code, and nothing changed — ledger size, review,
claim, order and provenance rows, every balance involved. Each money path ends with exact balances
and ``verify_ledger`` passing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from chestnut.bootstrap import App
from commerce.claims import queries as claim_queries
from commerce.claims import service as claims
from commerce.claims.errors import ClaimWindowClosed, UnknownClaim
from commerce.claims.rows import Claim
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.errors import InvalidInput, InvalidState, NotAllowed, UnknownOrder
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.orders import settlement
from commerce.orders.rows import Order
from commerce.reviews import queries as review_queries
from commerce.reviews import service as reviews
from commerce.reviews.errors import AlreadyReviewed, UnknownReview
from commerce.reviews.queries import RatingSummary
from commerce.shops import catalog
from commerce.shops.rows import Product
from commerce.wallet import queries as wallet_queries
from commerce.wallet import service as wallet
from ledger.errors import ChestnutError, InsufficientBalance
from ledger.model import Transfer, split_entry
from ledger.requests import Request
from ledger.storage.unit_of_work import UnitOfWork
from ledger.verify import verify_ledger
from tests.support.market import Cast, cast

DAY = claims.DAY_MS
FEE_BP = 150


# ------------------------------------------------------------------------------------------ helpers


async def state(app: App, c: Cast) -> dict[str, Any]:
    """Everything a refused action could have touched."""
    async with app.db.snapshot() as snap:
        head = await app.ledger.head(snap)
        money = {
            who: await wallet_queries.balances(app.services, snap, who) for who in (c.shopper, c.producer, c.courier)
        }
        fees = (await app.ledger.account(snap, settlement.PLATFORM_FEES)).balance
        rows = {
            table: await snap.fetch(f"SELECT * FROM {table} ORDER BY id")
            for table in ("reviews", "claims", "orders", "provenance_events")
        }
        stock = await snap.fetch("SELECT id, stock FROM products ORDER BY id")
    return {"size": head.size, "money": money, "fees": fees, "rows": rows, "stock": stock}


async def refused(
    app: App, c: Cast, error: type[ChestnutError], code: str, action: Callable[[UnitOfWork], Awaitable[object]]
) -> ChestnutError:
    before = await state(app, c)
    with pytest.raises(error) as caught:
        async with app.db.unit_of_work() as uow:
            await action(uow)
            await uow.commit()
    assert caught.value.code == code
    assert await state(app, c) == before, "a refused action changed something"
    return caught.value


async def run(app: App, action: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
    async with app.db.unit_of_work() as uow:
        result = await action(uow)
        await uow.commit()
    return result


async def paid_order(app: App, c: Cast, *, qty: int = 2, share: int = 0, extra: int | None = None) -> Order:
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.add_to_cart(m, uow, c.shopper, c.product, qty)
        if extra is not None:
            await orders.add_to_cart(m, uow, c.shopper, extra, 1)
        q = await orders.quote(m, uow, c.shopper, c.shop, bnm_share=share)
        order = await orders.checkout(m, uow, c.shopper, c.shop, expected_total=q.total, bnm_share=share)
        await uow.commit()
    return order


async def delivered_order(app: App, c: Cast, **kw: Any) -> Order:
    """An order through acceptance, pickup and the courier's confirmed delivery."""
    order = await paid_order(app, c, **kw)
    m = app.services
    async with app.db.unit_of_work() as uow:
        await orders.accept_order(m, uow, c.producer, order.id)
        await delivery.take_job(m, uow, c.courier, order.id)
        await delivery.confirm_pickup(m, uow, c.courier, order.id)
        code = await delivery_queries.delivery_code(uow, c.shopper, order.id)
        outcome = await delivery.confirm_delivery(m, uow, c.courier, order.id, code)
        assert outcome.ok
        await uow.commit()
    return outcome.order


async def confirmed_order(app: App, c: Cast, **kw: Any) -> Order:
    order = await delivered_order(app, c, **kw)
    return await run(app, lambda uow: orders.confirm_receipt(app.services, uow, c.shopper, order.id))  # type: ignore[no-any-return]


async def settled_order(app: App, c: Cast, **kw: Any) -> Order:
    order = await confirmed_order(app, c, **kw)
    return await run(app, lambda uow: settlement.settle_order(app.services, uow, order.id))  # type: ignore[no-any-return]


async def btl(app: App, *who: int) -> list[int]:
    async with app.db.snapshot() as snap:
        return [(await wallet_queries.balances(app.services, snap, w)).btl for w in who]


async def fees(app: App) -> int:
    async with app.db.snapshot() as snap:
        return (await app.ledger.account(snap, settlement.PLATFORM_FEES)).balance


async def action_of(app: App, seq: int) -> dict[str, Any]:
    async with app.db.snapshot() as snap:
        entry = await app.ledger.entry(snap, seq)
    action: dict[str, Any] = json.loads(split_entry(entry).action_bytes)
    return action


async def last_seq(app: App) -> int:
    async with app.db.snapshot() as snap:
        return (await app.ledger.head(snap)).size - 1


async def verified(app: App) -> None:
    report = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert report.ok, report.problem


async def stranger(app: App) -> int:
    async def make(uow: UnitOfWork) -> int:
        return (await members.register(app.services, uow, channel="web", external_id="x9", display_name="남")).id

    return await run(app, make)  # type: ignore[no-any-return]


async def member_named(app: App, c: Cast, who: str) -> int:
    """A member of the cast by role, or a fresh member who has nothing to do with the order."""
    return await stranger(app) if who == "stranger" else int(getattr(c, who))


async def open_claim(app: App, c: Cast, order_id: int, kind: str = "damaged", text: str = "깨져서 왔어요") -> int:
    claim = await run(app, lambda uow: claims.open_claim(app.services, uow, c.shopper, order_id, kind=kind, text=text))
    return claim.id  # type: ignore[no-any-return]


async def answer(app: App, c: Cast, claim_id: int, resolution: str, amount: int | None = None) -> Claim:
    return await run(  # type: ignore[no-any-return]
        app,
        lambda uow: claims.answer_claim(
            app.services, uow, c.producer, claim_id, resolution=resolution, amount=amount, text="죄송합니다"
        ),
    )


# ------------------------------------------------------------------------------------------ reviews


async def test_buyer_reviews_each_product_of_a_delivered_order(app: App) -> None:
    c = await cast(app)
    m = app.services

    async def add_pear(uow: UnitOfWork) -> Product:
        return await catalog.add_product(
            m, uow, c.producer, c.shop, name="배", category="과일", unit="1개", price=3000, stock=9,
            origin_region="전남 나주", origin_producer="김씨네 과수원",
        )  # fmt: skip

    pear = await run(app, add_pear)
    order = await delivered_order(app, c, extra=pear.id)
    apple_review = await run(
        app,
        lambda uow: reviews.post_review(
            m, uow, c.shopper, order.id, c.product, rating=5, text="달고 아삭해요.\n또 살게요", photo="tg:photo:AbC-1"
        ),
    )
    pear_review = await run(
        app, lambda uow: reviews.post_review(m, uow, c.shopper, order.id, pear.id, rating=3, text="")
    )
    assert (apple_review.rating, apple_review.text, apple_review.photo) == (
        5,
        "달고 아삭해요.\n또 살게요",
        "tg:photo:AbC-1",
    )
    assert (apple_review.status, pear_review.text, pear_review.photo) == ("visible", "", None)

    action = await action_of(app, apple_review.seq)
    assert action["kind"] == "review.post"
    assert action["body"] == {
        "review": apple_review.id,
        "order": order.id,
        "product": c.product,
        "rating": 5,
        "text": "달고 아삭해요.\n또 살게요",
        "photo": "tg:photo:AbC-1",
    }
    async with app.db.snapshot() as snap:
        buyer_key = await app.keys.get(snap, members.key_label(c.shopper))
        listed = await review_queries.reviews_for_product(snap, c.product, limit=10)
        product_sum = await review_queries.rating_summary(snap, product_id=c.product)
        shop_sum = await review_queries.rating_summary(snap, shop_id=c.shop)
        none_sum = await review_queries.rating_summary(snap, product_id=pear.id + 1000)
    import base64

    assert base64.b64decode(action["actor"]) == buyer_key.public_key
    assert [r.id for r in listed] == [apple_review.id]
    assert (product_sum.count, product_sum.total, product_sum.average_x10, product_sum.display) == (1, 5, 50, "5.0")
    assert (shop_sum.count, shop_sum.total, shop_sum.average_x10, shop_sum.display) == (2, 8, 40, "4.0")
    assert (none_sum.count, none_sum.average_x10, none_sum.display) == (0, None, "-")
    await verified(app)


async def test_reviews_list_newest_first_with_paging(app: App) -> None:
    c = await cast(app)
    m = app.services

    async def review(rating: int) -> int:
        order = await delivered_order(app, c, qty=1)
        made = await run(
            app, lambda uow: reviews.post_review(m, uow, c.shopper, order.id, c.product, rating=rating, text="")
        )
        return made.id  # type: ignore[no-any-return]

    ids = [await review(rating) for rating in (4, 5, 4, 4)]
    async with app.db.snapshot() as snap:
        first = await review_queries.reviews_for_product(snap, c.product, limit=3)
        rest = await review_queries.reviews_for_product(snap, c.product, limit=3, offset=3)
        summary = await review_queries.rating_summary(snap, product_id=c.product)
    assert [r.id for r in first + rest] == ids[::-1]
    assert [r.seq for r in first] == sorted((r.seq for r in first), reverse=True)
    # 17 / 4 = 4.25 → 43 (half up), exact pair kept for anyone who needs more.
    assert (summary.count, summary.total, summary.average_x10, summary.display) == (4, 17, 43, "4.3")


def test_average_is_whole_number_arithmetic_rounded_half_up() -> None:
    cases = {(3, 13): 43, (3, 14): 47, (2, 9): 45, (4, 17): 43, (4, 19): 48, (6, 29): 48, (1, 1): 10}
    for (count, total), x10 in cases.items():
        assert RatingSummary(count, total).average_x10 == x10, (count, total)


async def test_review_without_a_purchase_is_refused(app: App) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    other = await stranger(app)
    await refused(
        app,
        c,
        NotAllowed,
        "not_allowed",
        lambda uow: reviews.post_review(app.services, uow, other, order.id, c.product, rating=5, text="좋아요"),
    )


async def test_review_by_the_producer_is_refused(app: App) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    await refused(
        app,
        c,
        NotAllowed,
        "not_allowed",
        lambda uow: reviews.post_review(app.services, uow, c.producer, order.id, c.product, rating=5, text="최고"),
    )


async def test_review_before_delivery_is_refused(app: App) -> None:
    c = await cast(app)
    order = await paid_order(app, c)
    err = await refused(
        app,
        c,
        InvalidState,
        "invalid_state",
        lambda uow: reviews.post_review(app.services, uow, c.shopper, order.id, c.product, rating=5, text="좋아요"),
    )
    assert err.data["state"] == "paid"


async def test_a_buyer_refunded_after_delivery_may_still_review(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    await answer(app, c, claim_id, "refund_full")
    await run(app, lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))
    review = await run(
        app, lambda uow: reviews.post_review(m, uow, c.shopper, order.id, c.product, rating=1, text="깨져서 왔어요")
    )
    assert review.rating == 1
    await verified(app)


async def test_review_of_a_cancelled_order_is_refused(app: App) -> None:
    c = await cast(app)
    order = await paid_order(app, c)
    await run(app, lambda uow: orders.cancel_order(app.services, uow, c.shopper, order.id))
    err = await refused(
        app,
        c,
        InvalidState,
        "invalid_state",
        lambda uow: reviews.post_review(app.services, uow, c.shopper, order.id, c.product, rating=1, text="별로"),
    )
    assert err.data["state"] == "cancelled"


async def test_review_of_an_unknown_order_is_refused(app: App) -> None:
    c = await cast(app)
    await refused(
        app,
        c,
        UnknownOrder,
        "unknown_order",
        lambda uow: reviews.post_review(app.services, uow, c.shopper, 999, c.product, rating=5, text="좋아요"),
    )


async def test_review_of_a_product_not_in_the_order_is_refused(app: App) -> None:
    c = await cast(app)

    async def add_pear(uow: UnitOfWork) -> Product:
        return await catalog.add_product(
            app.services, uow, c.producer, c.shop, name="배", category="과일", unit="1개", price=3000, stock=9,
            origin_region="전남 나주", origin_producer="김씨네 과수원",
        )  # fmt: skip

    pear = await run(app, add_pear)
    order = await delivered_order(app, c)
    err = await refused(
        app,
        c,
        InvalidInput,
        "invalid_input",
        lambda uow: reviews.post_review(app.services, uow, c.shopper, order.id, pear.id, rating=5, text="좋아요"),
    )
    assert err.data["field"] == "product"


async def test_second_review_of_the_same_line_is_refused(app: App) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    await run(
        app, lambda uow: reviews.post_review(app.services, uow, c.shopper, order.id, c.product, rating=4, text="1")
    )
    await refused(
        app,
        c,
        AlreadyReviewed,
        "already_reviewed",
        lambda uow: reviews.post_review(app.services, uow, c.shopper, order.id, c.product, rating=1, text="2"),
    )


async def test_two_racing_reviews_of_one_line_make_one(app: App) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)

    async def post(text: str) -> object:
        try:
            return await run(
                app,
                lambda uow: reviews.post_review(app.services, uow, c.shopper, order.id, c.product, rating=4, text=text),
            )
        except AlreadyReviewed as exc:
            return exc

    results = await asyncio.gather(post("a"), post("b"))
    assert sorted(type(r).__name__ for r in results) == ["AlreadyReviewed", "Review"]
    async with app.db.snapshot() as snap:
        assert len(await review_queries.reviews_for_product(snap, c.product)) == 1
    await verified(app)


@pytest.mark.parametrize("rating", [0, 6, -1, "5", 4.5, True, None], ids=repr)
async def test_rating_outside_one_to_five_is_refused(app: App, rating: Any) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    err = await refused(
        app,
        c,
        InvalidInput,
        "invalid_input",
        lambda uow: reviews.post_review(
            app.services, uow, c.shopper, order.id, c.product, rating=rating, text="좋아요"
        ),
    )
    assert err.data["field"] == "rating"


@pytest.mark.parametrize(
    ("text", "photo", "field"),
    [
        ("가" * 1001, None, "text"),
        ("좋아요\x07", None, "text"),
        ("좋아요\r\n또 살게요", None, "text"),
        ("탭\t문자", None, "text"),
        ("방향\u202e문자", None, "text"),
        (5, None, "text"),
        ("좋아요", "p" * 201, "photo"),
        ("좋아요", "", "photo"),
        ("좋아요", "photo\x00", "photo"),
    ],
    ids=[
        "too-long",
        "bell",
        "carriage-return",
        "tab",
        "bidi",
        "not-text",
        "photo-too-long",
        "photo-empty",
        "photo-nul",
    ],
)
async def test_bad_review_text_or_photo_is_refused(app: App, text: Any, photo: Any, field: str) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    err = await refused(
        app,
        c,
        InvalidInput,
        "invalid_input",
        lambda uow: reviews.post_review(
            app.services, uow, c.shopper, order.id, c.product, rating=4, text=text, photo=photo
        ),
    )
    assert err.data["field"] == field


async def test_review_of_exactly_1000_characters_is_taken(app: App) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    text = ("맛있어요\n" * 200)[:1000]
    review = await run(
        app, lambda uow: reviews.post_review(app.services, uow, c.shopper, order.id, c.product, rating=4, text=text)
    )
    assert review.text == text.strip()
    await verified(app)


@pytest.mark.parametrize("page", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "3"}], ids=repr)
async def test_bad_review_page_is_refused(app: App, page: dict[str, Any]) -> None:
    await cast(app)
    async with app.db.snapshot() as snap:
        with pytest.raises(InvalidInput) as caught:
            await review_queries.reviews_for_product(snap, 1, **page)
    assert caught.value.code == "invalid_input"


async def test_rating_summary_needs_a_product_or_a_shop(app: App) -> None:
    c = await cast(app)
    async with app.db.snapshot() as snap:
        for kw in ({}, {"product_id": c.product, "shop_id": c.shop}):
            with pytest.raises(InvalidInput) as caught:
                await review_queries.rating_summary(snap, **kw)
            assert caught.value.code == "invalid_input"


async def test_unknown_review_is_not_found(app: App) -> None:
    await cast(app)
    async with app.db.snapshot() as snap:
        with pytest.raises(UnknownReview) as caught:
            await review_queries.get(snap, 42)
    assert (caught.value.code, caught.value.http_status) == ("unknown_review", 404)


# ------------------------------------------------------------------------------------------- claims


async def test_full_refund_before_settlement_voids_the_escrow(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await delivered_order(app, c)  # 2 × 6,000 + 3,000 delivery = 15,000
    claim_id = await open_claim(app, c, order.id)
    await run(app, lambda uow: orders.confirm_receipt(m, uow, c.shopper, order.id))
    err = await refused(app, c, InvalidState, "invalid_state", lambda uow: settlement.settle_order(m, uow, order.id))
    assert "claim" in err.message

    answered = await answer(app, c, claim_id, "refund_full")
    assert (answered.status, answered.resolution, answered.answer) == ("answered", "refund_full", "죄송합니다")
    await refused(app, c, InvalidState, "invalid_state", lambda uow: settlement.settle_order(m, uow, order.id))
    resolved = await run(app, lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))
    assert (resolved.status, resolved.refund_amount) == ("resolved", 15_000)

    async with app.db.snapshot() as snap:
        after = await order_queries.get(snap, order.id)
        shopper = await wallet_queries.balances(m, snap, c.shopper)
    assert after.state == "refunded"
    assert (shopper.btl, shopper.btl_available) == (100_000, 100_000)
    assert await btl(app, c.producer, c.courier) == [0, 0]
    assert await fees(app) == 0
    await refused(app, c, InvalidState, "invalid_state", lambda uow: settlement.settle_order(m, uow, order.id))

    # The claim's entries chain through ``prev``; the refund entry names the claim.
    kinds = []
    seq = resolved.seq
    while True:
        action = await action_of(app, seq)
        kinds.append(action["kind"])
        assert action["body"]["claim"] == claim_id
        if "prev" not in action["body"]:
            break
        seq = action["body"]["prev"]
    assert kinds == ["claim.accept", "claim.answer", "claim.open"]
    refund = await action_of(app, await last_seq(app))
    assert (refund["kind"], refund["body"]) == ("order.refund", {"order": order.id, "claim": claim_id})
    await verified(app)


async def test_partial_refund_is_paid_back_at_settlement(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await confirmed_order(app, c)
    claim_id = await open_claim(app, c, order.id, kind="quality", text="몇 개가 물러요")
    answered = await answer(app, c, claim_id, "refund_partial", 4_000)
    assert (answered.refund_amount, answered.resolution) == (4_000, "refund_partial")
    resolved = await run(app, lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))
    assert (resolved.status, resolved.refund_amount) == ("resolved", 4_000)
    assert (await action_of(app, resolved.seq))["body"] == {
        "claim": claim_id,
        "order": order.id,
        "resolution": "refund_partial",
        "amount": 4_000,
        "prev": answered.seq,
    }
    async with app.db.snapshot() as snap:
        assert (await order_queries.get(snap, order.id)).refund_due == 4_000
    settled = await run(app, lambda uow: settlement.settle_order(m, uow, order.id))
    assert settled.state == "settled"
    fee = (12_000 - 4_000) * FEE_BP // 10_000
    assert await btl(app, c.shopper, c.producer, c.courier) == [100_000 - 15_000 + 4_000, 12_000 - 4_000 - fee, 3_000]
    assert await fees(app) == fee
    await verified(app)


async def test_partial_refund_of_the_whole_subtotal_still_pays_the_courier(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await confirmed_order(app, c)
    claim_id = await open_claim(app, c, order.id, kind="missing", text="상자가 비었어요")
    await answer(app, c, claim_id, "refund_partial", 12_000)
    await run(app, lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))
    await run(app, lambda uow: settlement.settle_order(m, uow, order.id))
    assert await btl(app, c.shopper, c.producer, c.courier) == [100_000 - 3_000, 0, 3_000]
    assert await fees(app) == 0
    await verified(app)


async def grant_bnm(app: App, member_id: int, units: int) -> None:
    """BNM for the shopper as a contribution reward (the operator issues it from the treasury)."""
    await run(
        app,
        lambda uow: app.ledger.record(
            uow,
            Request(
                actor="system:operator",
                kind="bnm.contribution",
                body={"member": member_id},
                transfers=[
                    Transfer(f"bnm-{member_id}", "treasury:bnm", members.wallet(member_id, "BNM"), units, "BNM")
                ],
            ),
        ),
    )


async def bnm(app: App, *who: int) -> list[int]:
    async with app.db.snapshot() as snap:
        return [(await wallet_queries.balances(app.services, snap, w)).bnm_units for w in who]


async def test_partial_refund_of_a_token_mix_payment_comes_back_in_btl_then_bnm(app: App) -> None:
    c = await cast(app, bnm_max_share=50)
    m = app.services
    await grant_bnm(app, c.shopper, 20_000)
    order = await confirmed_order(app, c, share=40)  # 15,000원: 6,000 BNM units + 9,000 BTL
    assert (order.bnm_units, order.btl_amount) == (6_000, 9_000)
    claim_id = await open_claim(app, c, order.id, kind="quality")
    await answer(app, c, claim_id, "refund_partial", 8_000)
    await run(app, lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))
    await run(app, lambda uow: settlement.settle_order(m, uow, order.id))
    fee = (12_000 - 8_000) * FEE_BP // 10_000  # 60
    refund_btl = 9_000 - 3_000 - fee  # all the BTL the escrow can spare: 5,940
    refund_units = 8_000 - refund_btl  # the rest in BNM at 1,000원 per 1,000 units: 2,060
    assert await btl(app, c.shopper, c.producer, c.courier) == [100_000 - 9_000 + refund_btl, 0, 3_000]
    assert await bnm(app, c.shopper, c.producer) == [20_000 - 6_000 + refund_units, 6_000 - refund_units]
    assert await fees(app) == fee
    await verified(app)


async def test_full_refund_of_a_token_mix_payment_voids_both_holds(app: App) -> None:
    c = await cast(app, bnm_max_share=50)
    m = app.services
    await grant_bnm(app, c.shopper, 20_000)
    order = await delivered_order(app, c, share=40)
    claim_id = await open_claim(app, c, order.id, kind="wrong_item", text="다른 물건")
    await run(app, lambda uow: claims.escalate(m, uow, c.shopper, claim_id, text="답이 없어요"))
    decided = await run(
        app, lambda uow: claims.decide(m, uow, c.operator, claim_id, resolution="refund_full", text="전액 환불")
    )
    assert (decided.status, decided.refund_amount) == ("resolved", 15_000)
    assert await btl(app, c.shopper, c.producer, c.courier) == [100_000, 0, 0]
    assert await bnm(app, c.shopper, c.producer) == [20_000, 0]
    last = await last_seq(app)
    refund = await action_of(app, last)
    assert refund["kind"] == "order.refund"
    assert refund["body"] == {"order": order.id, "claim": claim_id, "by": c.operator}
    assert sorted(t["type"] for t in refund["transfers"]) == ["void", "void"]
    await verified(app)


async def test_refund_after_settlement_moves_btl_from_producer_to_buyer(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await settled_order(app, c)
    fee = 12_000 * FEE_BP // 10_000
    assert await btl(app, c.shopper, c.producer) == [85_000, 12_000 - fee]
    claim_id = await open_claim(app, c, order.id, kind="quality")
    await answer(app, c, claim_id, "refund_partial", 5_000)
    resolved = await run(app, lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))
    assert (resolved.status, resolved.refund_amount) == ("resolved", 5_000)
    assert await btl(app, c.shopper, c.producer, c.courier) == [90_000, 12_000 - fee - 5_000, 3_000]
    assert await fees(app) == fee
    last = await last_seq(app)
    refund = await action_of(app, last)
    assert refund["kind"] == settlement.REFUND_AFTER_SETTLEMENT
    assert refund["body"] == {"order": order.id, "amount": 5_000, "claim": claim_id, "reference": f"claim-{claim_id}"}
    assert refund["transfers"] == [
        {
            "amount": 5_000,
            "credit": members.wallet(c.shopper, "BTL"),
            "debit": members.wallet(c.producer, "BTL"),
            "id": f"order-{order.id}-payback-claim-{claim_id}",
            "token": "BTL",
            "type": "single",
        }
    ]
    await verified(app)

    # A second claim may follow the first; the cap is what is left of the subtotal: 12,000 − 5,000.
    second = await open_claim(app, c, order.id, kind="after_sales", text="또 문제가 생겼어요")
    err = await refused(
        app,
        c,
        InvalidInput,
        "invalid_input",
        lambda uow: claims.answer_claim(m, uow, c.producer, second, resolution="refund_partial", amount=7_001, text=""),
    )
    assert err.data["high"] == 7_000


async def test_full_refund_after_settlement_by_an_operator_returns_the_subtotal(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await settled_order(app, c)
    fee = 12_000 * FEE_BP // 10_000
    claim_id = await open_claim(app, c, order.id, kind="wrong_item", text="사과가 아니라 배가 왔어요")
    await answer(app, c, claim_id, "reject")
    escalated = await run(app, lambda uow: claims.escalate(m, uow, c.shopper, claim_id, text="사진 보냈어요"))
    assert escalated.status == "escalated"
    assert escalated.text == "사과가 아니라 배가 왔어요\n\n사진 보냈어요"

    def decide(uow: UnitOfWork) -> Awaitable[Claim]:
        return claims.decide(m, uow, c.operator, claim_id, resolution="refund_full", text="사진 확인, 전액 환불")

    # The producer received 12,000 − fee and holds no more: refused, nothing written, the claim waits.
    err = await refused(app, c, InsufficientBalance, "insufficient_balance", decide)
    assert err.data["missing"] == fee
    async with app.db.unit_of_work() as uow:
        await wallet.topup_at_office(m, uow, c.operator, c.producer, 1_000, receipt="R-P")
        await uow.commit()
    decided = await run(app, decide)
    assert (decided.status, decided.resolution, decided.refund_amount) == ("resolved", "refund_full", 12_000)
    assert decided.answer == "죄송합니다\n\n사진 확인, 전액 환불"
    assert await btl(app, c.shopper, c.producer, c.courier) == [97_000, 12_000 - fee + 1_000 - 12_000, 3_000]
    assert await fees(app) == fee
    action = await action_of(app, decided.seq)
    assert action["kind"] == "claim.decide"
    assert action["body"]["by"] == c.operator and action["body"]["resolution"] == "refund_full"
    assert "사진" not in json.dumps(action, ensure_ascii=False)  # claim words stay off the public ledger
    await verified(app)


async def test_replacement_resolves_when_the_buyer_confirms_it(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await confirmed_order(app, c)
    claim_id = await open_claim(app, c, order.id, kind="damaged")
    answered = await answer(app, c, claim_id, "replacement")
    assert (answered.status, answered.refund_amount) == ("answered", 0)
    await refused(app, c, InvalidState, "invalid_state", lambda uow: settlement.settle_order(m, uow, order.id))
    resolved = await run(app, lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))
    assert (resolved.status, resolved.resolution, resolved.refund_amount) == ("resolved", "replacement", 0)
    await run(app, lambda uow: settlement.settle_order(m, uow, order.id))
    fee = 12_000 * FEE_BP // 10_000
    assert await btl(app, c.shopper, c.producer, c.courier) == [85_000, 12_000 - fee, 3_000]
    await verified(app)


async def test_rejection_accepted_by_the_buyer_lets_settlement_proceed(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await confirmed_order(app, c)
    claim_id = await open_claim(app, c, order.id, kind="quality")
    await answer(app, c, claim_id, "reject")
    rejected = await run(app, lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))
    assert (rejected.status, rejected.resolution) == ("rejected", "reject")
    await run(app, lambda uow: settlement.settle_order(m, uow, order.id))
    assert (await btl(app, c.shopper))[0] == 85_000
    await verified(app)


async def test_escalated_without_an_answer_then_partial_refund_decided(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id, kind="missing", text="한 봉지가 없어요")
    await run(app, lambda uow: claims.escalate(m, uow, c.shopper, claim_id, text="가게가 답이 없어요"))
    async with app.db.snapshot() as snap:
        queue = await claim_queries.escalated(snap)
        inbox = await claim_queries.for_shop(snap, c.shop, statuses=claims.OPEN_STATES)
    assert [q.id for q in queue] == [claim_id] == [i.id for i in inbox]
    # The producer can no longer answer it: the operator decides.
    await refused(
        app,
        c,
        InvalidState,
        "invalid_state",
        lambda uow: claims.answer_claim(m, uow, c.producer, claim_id, resolution="replacement", text=""),
    )
    decided = await run(
        app,
        lambda uow: claims.decide(
            m, uow, c.operator, claim_id, resolution="refund_partial", amount=6_000, text="한 봉지 값 환불"
        ),
    )
    assert (decided.status, decided.refund_amount, decided.answer) == ("resolved", 6_000, "한 봉지 값 환불")
    await run(app, lambda uow: orders.confirm_receipt(m, uow, c.shopper, order.id))
    await run(app, lambda uow: settlement.settle_order(m, uow, order.id))
    fee = 6_000 * FEE_BP // 10_000
    assert await btl(app, c.shopper, c.producer, c.courier) == [91_000, 6_000 - fee, 3_000]
    async with app.db.snapshot() as snap:
        assert [x.status for x in await claim_queries.for_order(snap, order.id)] == ["resolved"]
    await verified(app)


async def test_operator_rejection_closes_the_claim(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await confirmed_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    await run(app, lambda uow: claims.escalate(m, uow, c.shopper, claim_id, text="확인해 주세요"))
    decided = await run(
        app, lambda uow: claims.decide(m, uow, c.operator, claim_id, resolution="reject", text="정상 배송 확인")
    )
    assert (decided.status, decided.refund_amount) == ("rejected", 0)
    await run(app, lambda uow: settlement.settle_order(m, uow, order.id))
    await verified(app)


async def test_settlement_waits_for_an_escalated_claim(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await confirmed_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    await run(app, lambda uow: claims.escalate(m, uow, c.shopper, claim_id, text="확인해 주세요"))
    await refused(app, c, InvalidState, "invalid_state", lambda uow: settlement.settle_order(m, uow, order.id))


async def test_claim_window_is_counted_from_delivery(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await delivered_order(app, c)
    assert order.delivered_ms is not None
    delivered_ms = order.delivered_ms
    m.clock = lambda: delivered_ms + 7 * DAY + 1
    err = await refused(
        app,
        c,
        ClaimWindowClosed,
        "claim_window_closed",
        lambda uow: claims.open_claim(m, uow, c.shopper, order.id, kind="damaged", text="늦게 봤어요"),
    )
    assert (err.data["days"], err.data["closed_ms"]) == (7, delivered_ms + 7 * DAY)
    # Durable goods: after-sales claims have a year.
    claim = await run(
        app, lambda uow: claims.open_claim(m, uow, c.shopper, order.id, kind="after_sales", text="고장 났어요")
    )
    assert claim.kind == "after_sales"
    await verified(app)


async def test_claim_on_the_last_moment_of_the_window_is_taken(app: App) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    assert order.delivered_ms is not None
    delivered_ms = order.delivered_ms
    app.services.clock = lambda: delivered_ms + 7 * DAY
    claim_id = await open_claim(app, c, order.id)
    assert claim_id


async def test_after_sales_claim_after_a_year_is_refused(app: App) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    assert order.delivered_ms is not None
    delivered_ms = order.delivered_ms
    app.services.clock = lambda: delivered_ms + 365 * DAY + 1
    err = await refused(
        app,
        c,
        ClaimWindowClosed,
        "claim_window_closed",
        lambda uow: claims.open_claim(app.services, uow, c.shopper, order.id, kind="after_sales", text="고장"),
    )
    assert err.data["days"] == 365


@pytest.mark.parametrize("stage", ["paid", "accepted", "picked_up"])
async def test_claim_before_delivery_is_refused(app: App, stage: str) -> None:
    c = await cast(app)
    m = app.services
    order = await paid_order(app, c)
    async with app.db.unit_of_work() as uow:
        if stage != "paid":
            await orders.accept_order(m, uow, c.producer, order.id)
        if stage == "picked_up":
            await delivery.take_job(m, uow, c.courier, order.id)
            await delivery.confirm_pickup(m, uow, c.courier, order.id)
        await uow.commit()
    err = await refused(
        app,
        c,
        InvalidState,
        "invalid_state",
        lambda uow: claims.open_claim(m, uow, c.shopper, order.id, kind="missing", text="안 왔어요"),
    )
    assert err.data["state"] == stage


async def test_claim_on_a_refunded_order_is_refused(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    await answer(app, c, claim_id, "refund_full")
    await run(app, lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))
    await refused(
        app,
        c,
        InvalidState,
        "invalid_state",
        lambda uow: claims.open_claim(m, uow, c.shopper, order.id, kind="quality", text="또"),
    )


@pytest.mark.parametrize("who", ["stranger", "producer", "courier"])
async def test_claim_by_someone_other_than_the_buyer_is_refused(app: App, who: str) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    member = await member_named(app, c, who)
    await refused(
        app,
        c,
        NotAllowed,
        "not_allowed",
        lambda uow: claims.open_claim(app.services, uow, member, order.id, kind="damaged", text="깨졌어요"),
    )


async def test_second_open_claim_on_an_order_is_refused(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await delivered_order(app, c)
    first = await open_claim(app, c, order.id)
    for status_step in ("open", "answered", "escalated"):
        if status_step == "answered":
            await answer(app, c, first, "reject")
        if status_step == "escalated":
            await run(app, lambda uow: claims.escalate(m, uow, c.shopper, first, text="다시 봐주세요"))
        err = await refused(
            app,
            c,
            InvalidState,
            "invalid_state",
            lambda uow: claims.open_claim(m, uow, c.shopper, order.id, kind="quality", text="하나 더"),
        )
        assert err.data["claim"] == first


async def test_two_racing_claims_on_one_order_make_one(app: App) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)

    async def attempt(text: str) -> object:
        try:
            return await run(
                app,
                lambda uow: claims.open_claim(app.services, uow, c.shopper, order.id, kind="damaged", text=text),
            )
        except InvalidState as exc:
            return exc

    results = await asyncio.gather(*(attempt(f"깨졌어요 {i}") for i in range(4)))
    assert sorted(type(r).__name__ for r in results) == ["Claim"] + ["InvalidState"] * 3
    async with app.db.snapshot() as snap:
        assert len(await claim_queries.for_order(snap, order.id)) == 1
    await verified(app)


async def test_two_racing_acceptances_pay_one_refund(app: App) -> None:
    c = await cast(app)
    order = await confirmed_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    await answer(app, c, claim_id, "refund_partial", 2_000)

    async def attempt() -> object:
        try:
            return await run(app, lambda uow: claims.accept_answer(app.services, uow, c.shopper, claim_id))
        except InvalidState as exc:
            return exc

    results = await asyncio.gather(*(attempt() for _ in range(4)))
    assert sorted(type(r).__name__ for r in results) == ["Claim"] + ["InvalidState"] * 3
    async with app.db.snapshot() as snap:
        assert (await order_queries.get(snap, order.id)).refund_due == 2_000
    await verified(app)


@pytest.mark.parametrize(
    ("kind", "text", "field"),
    [
        ("broken", "깨졌어요", "kind"),
        (None, "깨졌어요", "kind"),
        ("damaged", "", "text"),
        ("damaged", "   ", "text"),
        ("damaged", "가" * 491, "text"),
        ("damaged", "깨졌어요\x1b[31m", "text"),
        ("damaged", None, "text"),
    ],
    ids=["unknown-kind", "no-kind", "empty", "blank", "too-long", "escape", "none"],
)
async def test_bad_claim_input_is_refused(app: App, kind: Any, text: Any, field: str) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    err = await refused(
        app,
        c,
        InvalidInput,
        "invalid_input",
        lambda uow: claims.open_claim(app.services, uow, c.shopper, order.id, kind=kind, text=text),
    )
    assert err.data["field"] == field


@pytest.mark.parametrize(
    ("resolution", "amount", "text", "field"),
    [
        ("refund_partial", 12_001, "", "amount"),  # over the subtotal (the delivery fee is not the goods)
        ("refund_partial", 0, "", "amount"),
        ("refund_partial", None, "", "amount"),
        ("refund_partial", "4000", "", "amount"),
        ("refund_full", 4_000, "", "amount"),
        ("replacement", 1, "", "amount"),
        ("reject", None, "", "text"),
        ("reject", None, "   ", "text"),
        ("refund", None, "", "resolution"),
        ("replacement", None, "가" * 491, "text"),
    ],
    ids=[
        "over-subtotal",
        "zero",
        "missing",
        "text-amount",
        "amount-with-full",
        "amount-with-replacement",
        "reject-without-reason",
        "reject-blank-reason",
        "unknown-resolution",
        "answer-too-long",
    ],
)
async def test_bad_answer_is_refused(app: App, resolution: str, amount: Any, text: str, field: str) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    err = await refused(
        app,
        c,
        InvalidInput,
        "invalid_input",
        lambda uow: claims.answer_claim(
            app.services, uow, c.producer, claim_id, resolution=resolution, amount=amount, text=text
        ),
    )
    assert err.data["field"] == field


async def test_partial_refund_of_the_whole_subtotal_is_allowed(app: App) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    answered = await answer(app, c, claim_id, "refund_partial", 12_000)
    assert answered.refund_amount == 12_000


@pytest.mark.parametrize("who", ["stranger", "shopper", "courier", "operator"])
async def test_answer_by_someone_other_than_the_shop_owner_is_refused(app: App, who: str) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    member = await member_named(app, c, who)
    await refused(
        app,
        c,
        NotAllowed,
        "not_allowed",
        lambda uow: claims.answer_claim(app.services, uow, member, claim_id, resolution="refund_full", text=""),
    )


async def test_second_answer_is_refused(app: App) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    await answer(app, c, claim_id, "replacement")
    await refused(
        app,
        c,
        InvalidState,
        "invalid_state",
        lambda uow: claims.answer_claim(app.services, uow, c.producer, claim_id, resolution="refund_full", text=""),
    )


async def test_accept_before_an_answer_or_twice_is_refused(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    await refused(app, c, InvalidState, "invalid_state", lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))
    await answer(app, c, claim_id, "refund_partial", 1_000)
    await run(app, lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))
    await refused(app, c, InvalidState, "invalid_state", lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))


@pytest.mark.parametrize("who", ["producer", "operator", "stranger"])
async def test_accept_by_someone_other_than_the_buyer_is_refused(app: App, who: str) -> None:
    c = await cast(app)
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    await answer(app, c, claim_id, "refund_partial", 1_000)
    member = await member_named(app, c, who)
    await refused(
        app, c, NotAllowed, "not_allowed", lambda uow: claims.accept_answer(app.services, uow, member, claim_id)
    )


async def test_escalation_by_another_or_after_resolution_is_refused(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    await refused(
        app, c, NotAllowed, "not_allowed", lambda uow: claims.escalate(m, uow, c.producer, claim_id, text="이의")
    )
    await refused(
        app, c, InvalidInput, "invalid_input", lambda uow: claims.escalate(m, uow, c.shopper, claim_id, text="")
    )
    await answer(app, c, claim_id, "replacement")
    await run(app, lambda uow: claims.accept_answer(m, uow, c.shopper, claim_id))
    await refused(
        app, c, InvalidState, "invalid_state", lambda uow: claims.escalate(m, uow, c.shopper, claim_id, text="이의")
    )


@pytest.mark.parametrize("who", ["producer", "shopper", "courier"])
async def test_decide_by_a_non_operator_is_refused(app: App, who: str) -> None:
    c = await cast(app)
    m = app.services
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    await run(app, lambda uow: claims.escalate(m, uow, c.shopper, claim_id, text="확인해 주세요"))
    member = await member_named(app, c, who)
    err = await refused(
        app,
        c,
        NotAllowed,
        "not_allowed",
        lambda uow: claims.decide(m, uow, member, claim_id, resolution="refund_full", text="환불"),
    )
    assert err.data["role"] == "operator"


async def test_decide_on_a_claim_that_is_not_escalated_is_refused(app: App) -> None:
    c = await cast(app)
    m = app.services
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    await refused(
        app,
        c,
        InvalidState,
        "invalid_state",
        lambda uow: claims.decide(m, uow, c.operator, claim_id, resolution="refund_full", text="환불"),
    )


@pytest.mark.parametrize(
    ("resolution", "amount", "text", "field"),
    [
        ("refund_partial", 12_001, "사유", "amount"),
        ("refund_full", None, "", "text"),  # an operator always gives the reason
        ("settle", None, "사유", "resolution"),
    ],
    ids=["over-subtotal", "no-reason", "unknown-resolution"],
)
async def test_bad_decision_is_refused(app: App, resolution: str, amount: Any, text: str, field: str) -> None:
    c = await cast(app)
    m = app.services
    order = await delivered_order(app, c)
    claim_id = await open_claim(app, c, order.id)
    await run(app, lambda uow: claims.escalate(m, uow, c.shopper, claim_id, text="확인해 주세요"))
    err = await refused(
        app,
        c,
        InvalidInput,
        "invalid_input",
        lambda uow: claims.decide(m, uow, c.operator, claim_id, resolution=resolution, amount=amount, text=text),
    )
    assert err.data["field"] == field


async def test_unknown_claim_is_not_found(app: App) -> None:
    c = await cast(app)
    err = await refused(
        app,
        c,
        UnknownClaim,
        "unknown_claim",
        lambda uow: claims.accept_answer(app.services, uow, c.shopper, 404),
    )
    assert err.http_status == 404
