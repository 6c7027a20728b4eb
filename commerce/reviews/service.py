"""Reviews: the buyer of a delivered order rates each product in it once, in a signed public entry.

A review belongs to one order line (order, product): only that order's buyer may write it, only once
the goods arrived (delivered, confirmed or settled — or refunded after delivery: a refund through a
claim must not silence the buyer's review), and only once. Reviews are public, so the rating,
the text and the photo reference go on the ledger as they are (``review.post``, signed by the buyer);
the row keeps the entry's sequence number, so a page can show the proof beside each review.
What pages and chats read of reviews is ``commerce.reviews.queries``.
"""

from __future__ import annotations

from commerce import validate
from commerce.errors import InvalidInput, InvalidState, NotAllowed
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.reviews.errors import AlreadyReviewed
from commerce.reviews.queries import get
from commerce.reviews.rows import Review
from commerce.services import Services
from ledger.requests import Request
from ledger.storage.ops import write
from ledger.storage.unit_of_work import UnitOfWork

REVIEWABLE_STATES = ("delivered", "confirmed", "settled")
MAX_TEXT = 1000
MAX_PHOTO = 200


async def post_review(
    market: Services,
    uow: UnitOfWork,
    member_id: int,
    order_id: int,
    product_id: int,
    *,
    rating: int,
    text: str,
    photo: str | None = None,
) -> Review:
    """The buyer's review of one product of a delivered order. A rating alone is a review: text may be empty."""
    clean_rating = validate.whole_number(rating, "rating", low=1, high=5)
    clean_text = validate.text(text, "text", max_len=MAX_TEXT, required=False, multiline=True)
    clean_photo = None if photo is None else validate.text(photo, "photo", max_len=MAX_PHOTO)
    member = await members.get(uow, member_id)
    order = await order_queries.get(uow, order_id)
    if order.buyer_id != member.id:
        raise NotAllowed("only the buyer of an order can review it", order=order.id)
    if order.delivered_ms is None or order.state not in (*REVIEWABLE_STATES, "refunded"):
        raise InvalidState(
            f"order {order.id} is {order.state}; reviews open when the goods arrive", order=order.id, state=order.state
        )
    if all(line.product_id != product_id for line in order.lines):
        raise InvalidInput("that product is not in this order", field="product", order=order.id, product=product_id)
    now = market.clock()
    # The unique (order, product) key decides a race between two taps: the loser inserts nothing.
    inserted = await uow.fetch(
        "INSERT INTO reviews (order_id, product_id, member_id, rating, text, photo, status, seq, created_ms) "
        "VALUES (:o, :p, :m, :r, :t, :photo, 'visible', 0, :now) "
        "ON CONFLICT (order_id, product_id) DO NOTHING RETURNING id",
        {
            "o": order.id,
            "p": product_id,
            "m": member.id,
            "r": clean_rating,
            "t": clean_text,
            "photo": clean_photo,
            "now": now,
        },
    )
    if not inserted:
        raise AlreadyReviewed("this product of this order has a review already", order=order.id, product=product_id)
    review_id = int(inserted[0][0])
    body: dict[str, object] = {
        "review": review_id,
        "order": order.id,
        "product": product_id,
        "rating": clean_rating,
        "text": clean_text,
    }
    if clean_photo is not None:
        body["photo"] = clean_photo
    prepared = await market.ledger.prepare(uow, [Request(actor=member.key_label, kind="review.post", body=body)])
    await uow.batch(
        [
            *prepared.ops,
            write("UPDATE reviews SET seq = :seq WHERE id = :id", {"seq": prepared.recorded[0].seq, "id": review_id}),
        ]
    )
    return await get(uow, review_id)
