"""Comments and the shares owed on an order as they are stored (``community.schema``): frozen dataclasses,
one mapper per table, each reading its row by column name."""

from __future__ import annotations

from dataclasses import dataclass, fields

from commerce.statements import Named


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    product_id: int
    author_id: int
    author: str  # display name
    kind: str
    reply_to: int | None
    text: str
    text_hash: str
    seq: int
    created_ms: int

    @classmethod
    def from_row(cls, row: Named) -> Comment:
        """From a row of ``queries.COMMENTS`` (the comment, its author's display name as ``author``)."""
        return cls(**{name: row[name] for name in COMMENT_COLUMNS})


@dataclass(frozen=True, slots=True)
class OrderPayee:
    """Someone owed a share of an order's proceeds at settlement: its recommender or a comment's author."""

    order_id: int
    role: str  # referral | broker
    member_id: int
    bp: int
    status: str  # due | held | refused
    reason: str | None  # the fraud rule that held or refused it
    source: int  # the shared product, or the credited comment

    @classmethod
    def from_row(cls, row: Named) -> OrderPayee:
        return cls(**{name: row[name] for name in PAYEE_COLUMNS})


COMMENT_COLUMNS = tuple(f.name for f in fields(Comment))
PAYEE_COLUMNS = tuple(f.name for f in fields(OrderPayee))
