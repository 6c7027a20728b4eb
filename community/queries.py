"""Reads shared by recommendations and comments: comments with their authors, an order's payees."""

from __future__ import annotations

from sqlalchemy import select

from commerce import schema as commerce_schema
from commerce.statements import Query, param
from community import schema
from community.rows import COMMENT_COLUMNS, PAYEE_COLUMNS, OrderPayee
from ledger.storage.unit_of_work import UnitOfWork

_comments, _authors, _payees = schema.product_comments, commerce_schema.members, schema.order_payees
# Comments with their author's display name (``Comment.from_row``); add the conditions, then the order.
COMMENTS = select(
    *(_comments.c[name] for name in COMMENT_COLUMNS if name != "author"), _authors.c.display_name.label("author")
).select_from(_comments.join(_authors, _authors.c.id == _comments.c.author_id))
PAYEE = Query(
    select(*(_payees.c[name] for name in PAYEE_COLUMNS)).where(
        _payees.c.order_id == param("o"), _payees.c.role == param("r")
    )
)


async def payee(uow: UnitOfWork, order_id: int, role: str) -> OrderPayee | None:
    """Who is owed the order's share of ``role`` (referral | broker), once decided."""
    rows = await PAYEE.fetch(uow, {"o": order_id, "r": role})
    return OrderPayee.from_row(rows[0]) if rows else None
