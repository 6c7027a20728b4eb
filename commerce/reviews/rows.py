"""Review rows: ``reviews`` into ``Review``, read by column name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from commerce.schema import reviews

REVIEW_COLUMNS = tuple(reviews.c)


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


def review_of(row: Mapping[str, Any]) -> Review:
    photo = row["photo"]
    return Review(
        int(row["id"]),
        int(row["order_id"]),
        int(row["product_id"]),
        int(row["member_id"]),
        int(row["rating"]),
        str(row["text"]),
        None if photo is None else str(photo),
        str(row["status"]),
        int(row["seq"]),
        int(row["created_ms"]),
    )
