"""Reviews: the buyer of a delivered order rates each product in it once, in a signed public entry.

A review belongs to one order line (order, product): only that order's buyer may write it, only once
the goods arrived (delivered, confirmed or settled — or refunded after delivery: a refund through a
claim must not silence the buyer's review), and only once. Reviews are public, so the rating,
the text and the photo reference go on the ledger as they are (``review.post``, signed by the buyer);
the row keeps the entry's sequence number, so a page can show the proof beside each review.

Averages are never floats: ``RatingSummary`` carries the exact pair (sum of ratings, count) and the
average ×10 rounded half up (4.25 → 43, shown as "4.3"), which is all a chat or a page needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from commerce import validate
from commerce.errors import AlreadyReviewed, CommerceError, InvalidInput, InvalidState, NotAllowed
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.services import Services
from ledger.errors import NotFound
from ledger.requests import Request
from ledger.storage.ops import Op, Row, read, write
from ledger.storage.unit_of_work import UnitOfWork

REVIEWABLE_STATES = ("delivered", "confirmed", "settled")
MAX_TEXT = 1000
MAX_PHOTO = 200
MAX_PAGE = 100
_COLUMNS = "id, order_id, product_id, member_id, rating, text, photo, status, seq, created_ms"


class UnknownReview(CommerceError, NotFound):
    code = "unknown_review"


@dataclass(frozen=True, slots=True)
class Review:
    id: int
    order_id: int
    product_id: int
    member_id: int
    rating: int
    text: str
    photo: str | None
    status: str  # visible | held
    seq: int  # the ``review.post`` entry that proves it
    created_ms: int


@dataclass(frozen=True, slots=True)
class RatingSummary:
    """Visible reviews of a product or a shop: the exact average is ``total / count``."""

    count: int
    total: int  # sum of the ratings

    @property
    def average_x10(self) -> int | None:
        """The average ×10, rounded half up (43 means 4.3); None when there is no review yet."""
        if not self.count:
            return None
        return (20 * self.total + self.count) // (2 * self.count)

    @property
    def display(self) -> str:
        """ "4.3" (or "-" with no review): integer arithmetic only."""
        x10 = self.average_x10
        return "-" if x10 is None else f"{x10 // 10}.{x10 % 10}"


def _review(row: tuple[object, ...]) -> Review:
    rid, order_id, product_id, member_id, rating, text, photo, status, seq, created = row
    return Review(
        int(rid),  # type: ignore[call-overload]
        int(order_id),  # type: ignore[call-overload]
        int(product_id),  # type: ignore[call-overload]
        int(member_id),  # type: ignore[call-overload]
        int(rating),  # type: ignore[call-overload]
        str(text),
        None if photo is None else str(photo),
        str(status),
        int(seq),  # type: ignore[call-overload]
        int(created),  # type: ignore[call-overload]
    )


async def get(uow: UnitOfWork, review_id: int) -> Review:
    rows = await uow.fetch(f"SELECT {_COLUMNS} FROM reviews WHERE id = :id", {"id": review_id})
    if not rows:
        raise UnknownReview(f"no review {review_id}", review=review_id)
    return _review(rows[0])


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


async def not_reviewed(uow: UnitOfWork, order_id: int) -> list[int]:
    """The products of an order that have no review yet (held ones count as written), by product id."""
    rows = await uow.fetch(
        "SELECT l.product_id FROM order_lines l WHERE l.order_id = :o AND NOT EXISTS "
        "(SELECT 1 FROM reviews r WHERE r.order_id = l.order_id AND r.product_id = l.product_id) "
        "ORDER BY l.product_id",
        {"o": order_id},
    )
    return [int(r[0]) for r in rows]


async def reviews_for_product(uow: UnitOfWork, product_id: int, *, limit: int = 10, offset: int = 0) -> list[Review]:
    """Visible reviews of a product, newest first (by ledger sequence)."""
    validate.whole_number(limit, "limit", low=1, high=MAX_PAGE)
    validate.whole_number(offset, "offset", low=0, high=10**9)
    rows = await uow.fetch(
        f"SELECT {_COLUMNS} FROM reviews WHERE product_id = :p AND status = 'visible' "
        "ORDER BY seq DESC, id DESC LIMIT :limit OFFSET :offset",
        {"p": product_id, "limit": limit, "offset": offset},
    )
    return [_review(r) for r in rows]


def product_rating_read(product_id: int) -> Op:
    """One product's ``rating_summary`` as a read to batch with others; ``rating_from_rows`` reads its rows."""
    return read(
        "SELECT COUNT(*), COALESCE(SUM(rating), 0) FROM reviews WHERE product_id = :p AND status = 'visible'",
        {"p": product_id},
    )


def rating_from_rows(rows: Sequence[Row]) -> RatingSummary:
    return RatingSummary(int(rows[0][0]), int(rows[0][1]))


async def rating_summary(
    uow: UnitOfWork, *, product_id: int | None = None, shop_id: int | None = None
) -> RatingSummary:
    """Count and sum of the visible ratings of one product, or of every product of one shop."""
    if (product_id is None) == (shop_id is None):
        raise InvalidInput("name a product or a shop", field="product")
    if product_id is not None:
        (rows,) = await uow.batch([product_rating_read(product_id)])
    else:
        rows = await uow.fetch(
            "SELECT COUNT(*), COALESCE(SUM(r.rating), 0) FROM reviews r JOIN products p ON p.id = r.product_id "
            "WHERE p.shop_id = :s AND r.status = 'visible'",
            {"s": shop_id},
        )
    return rating_from_rows(rows)
