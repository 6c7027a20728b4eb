"""What review screens and pages read: one review, a product's reviews, an order's products still to
review, and ratings.

Averages are never floats: ``RatingSummary`` carries the exact pair (sum of ratings, count) and the
average ×10 rounded half up (4.25 → 43, shown as "4.3"), which is all a chat or a page needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, exists, func, select

from commerce import validate
from commerce.errors import InvalidInput
from commerce.reviews.errors import UnknownReview
from commerce.reviews.rows import REVIEW_COLUMNS, Review, review_of
from commerce.schema import order_lines, products, reviews
from commerce.statements import Statement
from ledger.storage.ops import Op, Row
from ledger.storage.unit_of_work import UnitOfWork

MAX_PAGE = 100

_REVIEW = Statement.of(select(*REVIEW_COLUMNS).where(reviews.c.id == bindparam("id")))
# Held reviews count as written: the buyer is not asked again.
_NOT_REVIEWED = Statement.of(
    select(order_lines.c.product_id)
    .where(
        order_lines.c.order_id == bindparam("o"),
        ~exists().where(reviews.c.order_id == order_lines.c.order_id, reviews.c.product_id == order_lines.c.product_id),
    )
    .order_by(order_lines.c.product_id)
)
_OF_PRODUCT = Statement.of(
    select(*REVIEW_COLUMNS)
    .where(reviews.c.product_id == bindparam("p"), reviews.c.status == "visible")
    .order_by(reviews.c.seq.desc(), reviews.c.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_RATING = (func.count().label("count"), func.coalesce(func.sum(reviews.c.rating), 0).label("total"))
_PRODUCT_RATING = Statement.of(
    select(*_RATING).where(reviews.c.product_id == bindparam("p"), reviews.c.status == "visible")
)
_SHOP_RATING = Statement.of(
    select(*_RATING)
    .select_from(reviews.join(products, products.c.id == reviews.c.product_id))
    .where(products.c.shop_id == bindparam("s"), reviews.c.status == "visible")
)


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


async def get(uow: UnitOfWork, review_id: int) -> Review:
    rows = await uow.fetch(_REVIEW.sql, {"id": review_id})
    if not rows:
        raise UnknownReview(f"no review {review_id}", review=review_id)
    return review_of(_REVIEW.named(rows[0]))


async def not_reviewed(uow: UnitOfWork, order_id: int) -> list[int]:
    """The products of an order that have no review yet (held ones count as written), by product id."""
    rows = await uow.fetch(_NOT_REVIEWED.sql, {"o": order_id})
    return [int(_NOT_REVIEWED.named(r)["product_id"]) for r in rows]


async def reviews_for_product(uow: UnitOfWork, product_id: int, *, limit: int = 10, offset: int = 0) -> list[Review]:
    """Visible reviews of a product, newest first (by ledger sequence)."""
    validate.whole_number(limit, "limit", low=1, high=MAX_PAGE)
    validate.whole_number(offset, "offset", low=0, high=10**9)
    rows = await uow.fetch(_OF_PRODUCT.sql, {"p": product_id, "limit": limit, "offset": offset})
    return [review_of(_OF_PRODUCT.named(r)) for r in rows]


def product_reviews_read(product_id: int, limit: int) -> Op:
    """The first page of ``reviews_for_product`` as a read to batch with others (``reviews_from_rows``)."""
    return _OF_PRODUCT.read({"p": product_id, "limit": limit, "offset": 0})


def reviews_from_rows(rows: Sequence[Row]) -> list[Review]:
    return [review_of(_OF_PRODUCT.named(r)) for r in rows]


def product_rating_read(product_id: int) -> Op:
    """One product's ``rating_summary`` as a read to batch with others; ``rating_from_rows`` reads its rows."""
    return _PRODUCT_RATING.read({"p": product_id})


def _rating(statement: Statement, rows: Sequence[Row]) -> RatingSummary:
    rating = statement.named(rows[0])
    return RatingSummary(int(rating["count"]), int(rating["total"]))


def rating_from_rows(rows: Sequence[Row]) -> RatingSummary:
    return _rating(_PRODUCT_RATING, rows)


async def rating_summary(
    uow: UnitOfWork, *, product_id: int | None = None, shop_id: int | None = None
) -> RatingSummary:
    """Count and sum of the visible ratings of one product, or of every product of one shop."""
    if (product_id is None) == (shop_id is None):
        raise InvalidInput("name a product or a shop", field="product")
    if product_id is not None:
        (rows,) = await uow.batch([product_rating_read(product_id)])
        return rating_from_rows(rows)
    return _rating(_SHOP_RATING, await uow.fetch(_SHOP_RATING.sql, {"s": shop_id}))
