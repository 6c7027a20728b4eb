"""What the claim screens read: one claim, an order's claims, a shop's inbox, the operators' queue, and a
product's claim record for its public page."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import bindparam, exists, select

from commerce.claims.errors import UnknownClaim
from commerce.claims.rows import CLAIM_COLUMNS, Claim, claim_of
from commerce.schema import claims, order_lines, orders
from commerce.statements import Statement
from ledger.storage.ops import Op, Row
from ledger.storage.unit_of_work import UnitOfWork

CLAIM = Statement.of(select(*CLAIM_COLUMNS).where(claims.c.id == bindparam("id")))
_OF_ORDER = Statement.of(select(*CLAIM_COLUMNS).where(claims.c.order_id == bindparam("o")).order_by(claims.c.id))
_ESCALATED = Statement.of(
    select(*CLAIM_COLUMNS)
    .where(claims.c.status == "escalated")
    .order_by(claims.c.updated_ms, claims.c.id)
    .limit(bindparam("limit"))
)


# Claims on orders that held a product, newest first: the provenance page's claim record.
_OF_PRODUCT = Statement.of(
    select(*CLAIM_COLUMNS)
    .where(exists().where(order_lines.c.order_id == claims.c.order_id, order_lines.c.product_id == bindparam("p")))
    .order_by(claims.c.seq.desc())
    .limit(bindparam("limit"))
)


def product_claims_read(product_id: int, limit: int) -> Op:
    """A product's latest claims as a read to batch with others (``claims_from_rows`` reads its rows)."""
    return _OF_PRODUCT.read({"p": product_id, "limit": limit})


def claims_from_rows(rows: Sequence[Row]) -> list[Claim]:
    return [claim_of(_OF_PRODUCT.named(r)) for r in rows]


@functools.cache
def _of_shop(statuses: int) -> Statement:
    """A shop's claims in any of ``statuses`` statuses (given as ``:s0``, ``:s1`` …)."""
    return Statement.of(
        select(*CLAIM_COLUMNS)
        .select_from(claims.join(orders, orders.c.id == claims.c.order_id))
        .where(
            orders.c.shop_id == bindparam("shop"), claims.c.status.in_([bindparam(f"s{i}") for i in range(statuses)])
        )
        .order_by(claims.c.id)
    )


async def get(uow: UnitOfWork, claim_id: int) -> Claim:
    rows = await uow.fetch(CLAIM.sql, {"id": claim_id})
    if not rows:
        raise UnknownClaim(f"no claim {claim_id}", claim=claim_id)
    return claim_of(CLAIM.named(rows[0]))


async def for_order(uow: UnitOfWork, order_id: int) -> list[Claim]:
    rows = await uow.fetch(_OF_ORDER.sql, {"o": order_id})
    return [claim_of(_OF_ORDER.named(r)) for r in rows]


async def for_shop(uow: UnitOfWork, shop_id: int, *, statuses: tuple[str, ...] = ("open",)) -> list[Claim]:
    """A shop's claims in the given statuses (its inbox: the open ones), oldest first."""
    if not statuses:
        return []
    of_shop = _of_shop(len(statuses))
    rows = await uow.fetch(of_shop.sql, {"shop": shop_id, **{f"s{i}": status for i, status in enumerate(statuses)}})
    return [claim_of(of_shop.named(r)) for r in rows]


async def escalated(uow: UnitOfWork, *, limit: int = 20) -> list[Claim]:
    """The operators' queue, oldest first."""
    rows = await uow.fetch(_ESCALATED.sql, {"limit": limit})
    return [claim_of(_ESCALATED.named(r)) for r in rows]
