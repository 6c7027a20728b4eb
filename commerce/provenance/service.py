"""Provenance: where a product came from, step by step, each step proven by a signed ledger entry.

The shop's owner records the producer's stages — ``harvested``, ``processed``, ``packed`` — in
entries of the kind ``provenance.<stage>`` that they sign themselves. The courier's stages are written
by delivery in the same transaction as its own entries (``handed_over`` with ``delivery.pickup``,
``delivered`` with ``delivery.confirm``); here the assigned courier of an order may add a note to
them, and nobody else may record them. ``history`` gathers a product's page: what it is and where it
is from (with the ``product.list`` entry's sequence number), its shop, every step in time order with
who did it and the sequence number that proves it, and how many reviews and claims it has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from commerce import validate
from commerce.errors import InvalidInput, InvalidState, NotAllowed
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.reviews.queries import RatingSummary, product_rating_read, rating_from_rows
from commerce.schema import products, provenance_events
from commerce.schema import shops as shops_table
from commerce.services import Services
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.shops.errors import UnknownProduct, UnknownShop
from commerce.shops.rows import PRODUCT_BY_ID, SHOP_COLUMNS, Product, Shop, product_of, shop_of
from commerce.statements import Statement
from ledger.requests import Request
from ledger.storage.ops import Op, Row, read
from ledger.storage.unit_of_work import UnitOfWork

PRODUCER_STAGES = ("harvested", "processed", "packed")
COURIER_STAGES = ("handed_over", "delivered")
STAGES = PRODUCER_STAGES + COURIER_STAGES  # what a producer or courier may record
# A pickup order handed over at the shop or the office (``delivery.hand_over``): written with the
# ``delivery.handover`` entry, never recorded by hand.
COLLECTED = "collected"
MAX_NOTE = 200
_REACHED = {
    "handed_over": ("picked_up", "delivered", "confirmed", "settled"),
    "delivered": ("delivered", "confirmed", "settled"),
}


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    stage: str
    actor_id: int
    role: str  # producer | courier: in which capacity the member acted
    note: str
    order_id: int | None
    time_ms: int
    seq: int  # the entry that proves this step


@dataclass(frozen=True, slots=True)
class ProductHistory:
    product: Product  # name, origin, certifications, produced_on, listed_seq
    shop: Shop
    events: tuple[Event, ...]  # in time order
    rating: RatingSummary  # visible reviews: rating.count is how many
    claims: int  # claims on orders that contained the product


def role_of(stage: str) -> str:
    return "courier" if stage in COURIER_STAGES else "producer"


def _event(row: Mapping[str, Any]) -> Event:
    order_id = row["order_id"]
    return Event(
        int(row["id"]),
        str(row["stage"]),
        int(row["actor_id"]),
        role_of(str(row["stage"])),
        str(row["note"]),
        None if order_id is None else int(order_id),
        int(row["time_ms"]),
        int(row["seq"]),
    )


def _events(of_one_order: bool) -> Statement:
    """A product's steps in time order; with ``of_one_order``, the producer's and that order's only."""
    e = provenance_events.c
    query = select(e.id, e.stage, e.actor_id, e.note, e.order_id, e.time_ms, e.seq).where(
        e.product_id == bindparam("p")
    )
    if of_one_order:
        query = query.where(e.order_id.is_(None) | (e.order_id == bindparam("o")))
    return Statement.of(query.order_by(e.time_ms, e.seq, e.id))


_EVENTS, _ORDER_EVENTS = _events(False), _events(True)  # the same columns: either one reads their rows
_SHOP_OF_PRODUCT = Statement.of(
    select(*SHOP_COLUMNS).where(
        shops_table.c.id == select(products.c.shop_id).where(products.c.id == bindparam("p")).scalar_subquery()
    )
)


async def record_event(
    market: Services,
    uow: UnitOfWork,
    actor_id: int,
    product_id: int,
    *,
    stage: str,
    note: str = "",
    order_id: int | None = None,
) -> Event:
    """One step of a product's way: a producer stage by the shop's owner, or a courier's note on a delivery."""
    if not isinstance(stage, str) or stage not in STAGES:
        raise InvalidInput(f"stage must be one of {STAGES}", field="stage")
    clean_note = validate.text(note, "note", max_len=MAX_NOTE, required=False, multiline=True)
    actor = await members.get(uow, actor_id)
    product = await catalog.get(uow, product_id)
    order = None if order_id is None else await order_queries.get(uow, order_id)
    if stage in PRODUCER_STAGES:
        await shops.require_owner(uow, actor.id, product.shop_id)
    elif order is None:
        raise InvalidInput(f"{stage} belongs to a delivery: name the order", field="order")
    elif order.courier_id != actor.id:
        raise NotAllowed(f"{stage} is recorded by the order's courier", order=order.id)
    elif order.state not in _REACHED[stage]:
        # A note on a step must not claim the step before delivery's own proven entry made it so.
        raise InvalidState(f"order {order.id} is {order.state}: not yet {stage}", order=order.id, state=order.state)
    if order is not None and all(line.product_id != product.id for line in order.lines):
        raise InvalidInput("that product is not in this order", field="order", order=order.id, product=product.id)
    body: dict[str, object] = {"product": product.id, "note": clean_note}
    if order is not None:
        body["order"] = order.id
    recorded = await market.ledger.record(uow, Request(actor=actor.key_label, kind=f"provenance.{stage}", body=body))
    now = market.clock()
    rows = await uow.fetch(
        "INSERT INTO provenance_events (product_id, order_id, stage, actor_id, note, seq, time_ms) "
        "VALUES (:p, :o, :s, :a, :n, :seq, :now) RETURNING id",
        {
            "p": product.id,
            "o": None if order is None else order.id,
            "s": stage,
            "a": actor.id,
            "n": clean_note,
            "seq": recorded.seq,
            "now": now,
        },
    )
    return Event(
        int(rows[0][0]),
        stage,
        actor.id,
        role_of(stage),
        clean_note,
        None if order is None else order.id,
        now,
        recorded.seq,
    )


def history_reads(product_id: int, *, order_id: int | None = None) -> list[Op]:
    """The reads of ``history``, for a caller that batches them with its own (one round trip in all).

    ``history_from_rows`` makes the history of their results, in the same order.
    """
    params: dict[str, object] = {"p": product_id}
    if order_id is not None:
        params["o"] = order_id
    return [
        PRODUCT_BY_ID.read({"id": product_id}),
        _SHOP_OF_PRODUCT.read({"p": product_id}),
        (_EVENTS if order_id is None else _ORDER_EVENTS).read(params),
        read(
            "SELECT COUNT(*) FROM claims c WHERE EXISTS "
            "(SELECT 1 FROM order_lines l WHERE l.order_id = c.order_id AND l.product_id = :p)",
            {"p": product_id},
        ),
        product_rating_read(product_id),
    ]


def history_from_rows(product_id: int, results: Sequence[Sequence[Row]]) -> ProductHistory:
    """The history from the results of ``history_reads`` (an unknown product: ``UnknownProduct``)."""
    product_rows, shop_rows, events, claims, rating = results
    if not product_rows:
        raise UnknownProduct(f"no product {product_id}", product=product_id)
    product = product_of(PRODUCT_BY_ID.named(product_rows[0]))
    if not shop_rows:
        raise UnknownShop(f"no shop {product.shop_id}", shop=product.shop_id)
    return ProductHistory(
        product,
        shop_of(_SHOP_OF_PRODUCT.named(shop_rows[0])),
        tuple(_event(_EVENTS.named(r)) for r in events),
        rating_from_rows(rating),
        int(claims[0][0]),
    )


async def history(uow: UnitOfWork, product_id: int, *, order_id: int | None = None) -> ProductHistory:
    """A product's page. With ``order_id``: the producer's steps and that one order's delivery only."""
    return history_from_rows(product_id, await uow.batch(history_reads(product_id, order_id=order_id)))
