"""Comments on a product — questions, answers, tips — and the brokering reward for the one that sold it.

A comment is validated text (1–500 characters, no control characters), signed by its author in a
``comment.post`` entry that carries the SHA-256 of the text, not the text: the ledger proves what was
said and when, the table shows it. Paying, the buyer may credit the comment that convinced them
(``credit_paid``, an ``OrderPaid`` handler bootstrap registers, in the paying transaction; or ``credit``
before the order settles; signed by the buyer); its author is then owed
``broker_bp`` of the goods' value (``ads.reward_settings``), paid at settlement from the shop's
proceeds — never to the buyer themself (``ads.fraud``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

from sqlalchemy import case

from ads import fraud, reward_settings
from ads.errors import AdsError
from commerce import validate
from commerce.errors import InvalidInput, InvalidState, NotAllowed
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders.events import OrderPaid
from commerce.orders.rows import Order
from commerce.services import Services
from commerce.statements import Query, param, params
from community import queries, schema
from community.queries import COMMENTS
from community.referrals import shareable
from community.rows import Comment
from ledger.errors import NotFound
from ledger.requests import Request
from ledger.storage.ops import in_clause
from ledger.storage.unit_of_work import UnitOfWork

ROLE = "broker"
KINDS = ("question", "answer", "tip")
MAX_LEN = 500
DAILY_LIMIT = 20  # comments per member per day: a conversation, not a flood
DAY_MS = 86_400_000
_comments = schema.product_comments
_VISIBLE = _comments.c.status == "visible"
ONE = Query(COMMENTS.where(_comments.c.id == param("id"), _VISIBLE))
FOR_PRODUCT = Query(
    COMMENTS.where(_comments.c.product_id == param("p"), _VISIBLE, _comments.c.id < param("before"))
    .order_by(_comments.c.id.desc())
    .limit(param("lim"))
)


@cache
def _creditable(products: int) -> Query:
    """Others' comments on any of ``products`` products (``:p0`` …): answers and tips first, newest first."""
    return Query(
        COMMENTS.where(
            _comments.c.product_id.in_(params("p", products)), _VISIBLE, _comments.c.author_id != param("me")
        )
        .order_by(case((_comments.c.kind == "question", 1), else_=0), _comments.c.id.desc())
        .limit(param("lim"))
    )


class UnknownComment(NotFound):
    code = "unknown_comment"


class TooManyComments(AdsError):
    code = "comment_limit_reached"
    http_status = 429


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def get(uow: UnitOfWork, comment_id: int) -> Comment:
    rows = await ONE.fetch(uow, {"id": comment_id})
    if not rows:
        raise UnknownComment(f"no comment {comment_id}", comment=comment_id)
    return Comment.from_row(rows[0])


async def for_product(uow: UnitOfWork, product_id: int, *, limit: int = 5, before: int | None = None) -> list[Comment]:
    """The product's visible comments, newest first."""
    values = {"p": product_id, "before": before if before is not None else 2**62, "lim": limit}
    return [Comment.from_row(row) for row in await FOR_PRODUCT.fetch(uow, values)]


async def count(uow: UnitOfWork, product_id: int) -> int:
    rows = await uow.fetch(
        "SELECT COUNT(*) FROM product_comments WHERE product_id = :p AND status = 'visible'", {"p": product_id}
    )
    return int(rows[0][0])


async def post(
    market: Services,
    uow: UnitOfWork,
    member_id: int,
    product_id: int,
    *,
    kind: str,
    text: str,
    reply_to: int | None = None,
) -> Comment:
    """A member's question, answer (``reply_to`` a question of the same product) or tip, signed by them."""
    member = await members.get(uow, member_id)
    if kind not in KINDS:
        raise InvalidInput(f"a comment is one of {KINDS}", field="kind")
    clean = validate.text(text, "comment", max_len=MAX_LEN, multiline=True)
    product, _shop = await shareable(uow, product_id)
    if kind == "answer":
        if reply_to is None:
            raise InvalidInput("an answer answers a question", field="reply_to")
        question = await get(uow, reply_to)
        if question.product_id != product.id or question.kind != "question":
            raise InvalidInput("that is not a question about this product", field="reply_to")
    elif reply_to is not None:
        raise InvalidInput("only an answer replies to a question", field="reply_to")
    now = market.clock()
    recent = await uow.fetch(
        "SELECT COUNT(*) FROM product_comments WHERE author_id = :m AND created_ms > :since",
        {"m": member.id, "since": now - DAY_MS},
    )
    if int(recent[0][0]) >= DAILY_LIMIT:
        raise TooManyComments(f"at most {DAILY_LIMIT} comments a day", limit=DAILY_LIMIT)
    digest = text_hash(clean)
    recorded = await market.ledger.record(
        uow,
        Request(
            actor=member.key_label,
            kind="comment.post",
            body={"product": product.id, "kind": kind, "reply_to": reply_to, "text_sha256": digest},
        ),
    )
    rows = await uow.fetch(
        "INSERT INTO product_comments (product_id, author_id, kind, reply_to, text, text_hash, status, seq, "
        "created_ms) VALUES (:p, :m, :k, :r, :t, :h, 'visible', :seq, :now) RETURNING id",
        {
            "p": product.id,
            "m": member.id,
            "k": kind,
            "r": reply_to,
            "t": clean,
            "h": digest,
            "seq": recorded.seq,
            "now": now,
        },
    )
    return await get(uow, int(rows[0][0]))


async def creditable(uow: UnitOfWork, member_id: int, product_ids: list[int], *, limit: int = 4) -> list[Comment]:
    """Comments a buyer of these products could credit at checkout: others' answers and tips first."""
    if not product_ids:
        return []
    _clause, values = in_clause("p", product_ids)
    rows = await _creditable(len(product_ids)).fetch(uow, {"me": member_id, "lim": limit, **values})
    return [Comment.from_row(row) for row in rows]


@dataclass(frozen=True, slots=True)
class Credit:
    order_id: int
    comment_id: int
    author_id: int
    bp: int
    status: str  # due | held | refused
    reason: str | None


async def credit(market: Services, uow: UnitOfWork, buyer_id: int, order_id: int, comment_id: int) -> Credit:
    """The buyer credits the comment that convinced them; once per order, before it settles."""
    order = await order_queries.get(uow, order_id)
    if order.buyer_id != buyer_id:
        raise NotAllowed("only the buyer credits a comment for an order", order=order.id)
    return await _credit(market, uow, order, comment_id)


async def credit_paid(market: Services, uow: UnitOfWork, paid: OrderPaid) -> None:
    """``OrderPaid``, in the paying transaction: credit the comment the buyer chose when paying."""
    if paid.comment_id is not None:
        await _credit(market, uow, await order_queries.get(uow, paid.order_id), paid.comment_id)


async def _credit(market: Services, uow: UnitOfWork, order: Order, comment_id: int) -> Credit:
    existing = await queries.payee(uow, order.id, ROLE)
    if existing is not None:
        if existing.source != comment_id:
            raise InvalidState("this order already credits another comment", order=order.id, comment=existing.source)
        return Credit(order.id, existing.source, existing.member_id, existing.bp, existing.status, existing.reason)
    if order.state not in ("placed", "paid"):
        raise InvalidState(f"order {order.id} is {order.state}; a comment is credited at checkout", order=order.id)
    comment = await get(uow, comment_id)
    if comment.product_id not in {line.product_id for line in order.lines}:
        raise InvalidInput("that comment is about a product not in this order", field="comment")
    verdict = await fraud.judge_brokering(uow, order, comment.author_id)
    bp = await reward_settings.value(uow, "broker_bp")
    buyer = await members.get(uow, order.buyer_id)
    recorded = await market.ledger.record(
        uow,
        Request(
            actor=buyer.key_label,
            kind="comment.credit",
            body={"order": order.id, "comment": comment.id, "bp": bp, "status": verdict.status, "rule": verdict.kind},
        ),
    )
    await uow.execute(
        "INSERT INTO order_payees (order_id, role, member_id, bp, status, reason, source, created_ms, seq) "
        "VALUES (:o, :r, :m, :bp, :st, :why, :src, :now, :seq)",
        {
            "o": order.id,
            "r": ROLE,
            "m": comment.author_id,
            "bp": bp,
            "st": verdict.status,
            "why": verdict.kind,
            "src": comment.id,
            "now": market.clock(),
            "seq": recorded.seq,
        },
    )
    await fraud.record(market, uow, verdict, comment.author_id, f"order:{order.id}")
    return Credit(order.id, comment.id, comment.author_id, bp, verdict.status, verdict.kind)
