"""Members' standing and shops' reputation, computed from the ledger's entries alone.

Why from the ledger and not from our tables: a shop's stars, its claim rate and its delivery time are
claims the cooperative makes in public, so they must be recomputable from the entries with the rules
written here — no private table is read. Stars and the claim record come from public entries, so anyone
recomputes them (``GET /ledger/entries``); the rates that need orders and payments come from restricted
entries (``commerce.visibility``), which every accredited replica reads and recomputes them from. ``Facts`` is what the
entries say (who joined with which key, which shop listed which product, who ordered from whom, when
an order was paid and delivered, every review and claim, and every review an operator held or
released); ``reputation`` and ``standing`` are plain functions of it, and ``commerce.trust.abuse`` reads
the same facts for its rules. Everything is taken at a ledger size (a checkpoint), so a figure can be
checked against exactly the entries it came from.

Integers only: rates in basis points (1 % = 100), times in minutes, averages as (sum, count).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from commerce.reviews.queries import RatingSummary
from ledger import reads
from ledger.model import split_entry
from ledger.storage.unit_of_work import UnitOfWork

KINDS = (
    "member.join",
    "shop.open",
    "product.list",
    "order.place",
    "order.pay",
    "delivery.pickup",
    "delivery.confirm",
    "delivery.handover",
    "review.post",
    "claim.open",
    "abuse.hold",
    "abuse.decide",
)


@dataclass(frozen=True, slots=True)
class ReviewFact:
    seq: int
    review: int
    member: int | None
    order: int
    product: int
    shop: int | None
    rating: int
    text: str
    time_ms: int


@dataclass(frozen=True, slots=True)
class ClaimFact:
    seq: int
    claim: int
    member: int | None
    order: int
    shop: int | None
    time_ms: int


@dataclass
class Facts:
    size: int = 0
    member_of_key: dict[str, int] = field(default_factory=dict)  # base64 public key → member id
    shop_owner: dict[int, int] = field(default_factory=dict)
    product_shop: dict[int, int] = field(default_factory=dict)
    order_shop: dict[int, int] = field(default_factory=dict)
    order_buyer: dict[int, int] = field(default_factory=dict)
    paid_ms: dict[int, int] = field(default_factory=dict)
    delivered_ms: dict[int, int] = field(default_factory=dict)
    delivered_seq: dict[int, int] = field(default_factory=dict)
    courier: dict[int, int] = field(default_factory=dict)  # order → the courier who picked it up
    courier_seq: dict[int, int] = field(default_factory=dict)
    reviews: list[ReviewFact] = field(default_factory=list)
    claims: list[ClaimFact] = field(default_factory=list)
    held_reviews: set[int] = field(default_factory=set)  # held by an operator and not released

    def add(self, seq: int, action: dict[str, Any]) -> None:
        kind, body, actor = action.get("kind"), action.get("body") or {}, str(action.get("actor", ""))
        t = int(action.get("time", 0))
        who = self.member_of_key.get(actor)
        if kind == "member.join" and isinstance(body.get("member"), int):
            self.member_of_key[actor] = int(body["member"])
        elif kind == "shop.open" and who is not None:
            self.shop_owner[int(body["shop"])] = who
        elif kind == "product.list":
            self.product_shop[int(body["product"])] = int(body["shop"])
        elif kind == "order.place":
            self.order_shop[int(body["order"])] = int(body["shop"])
            if who is not None:
                self.order_buyer[int(body["order"])] = who
        elif kind == "order.pay":
            self.paid_ms[int(body["order"])] = t
        elif kind == "delivery.pickup" and who is not None:
            self.courier[int(body["order"])] = who
            self.courier_seq[int(body["order"])] = seq
        elif kind in ("delivery.confirm", "delivery.handover"):  # by a courier, or collected at the shop
            self.delivered_ms[int(body["order"])] = t
            self.delivered_seq[int(body["order"])] = seq
        elif kind == "review.post":
            product = int(body["product"])
            self.reviews.append(
                ReviewFact(
                    seq,
                    int(body["review"]),
                    who,
                    int(body["order"]),
                    product,
                    self.product_shop.get(product),
                    int(body["rating"]),
                    str(body.get("text", "")),
                    t,
                )
            )
        elif kind == "claim.open":
            order = int(body["order"])
            self.claims.append(ClaimFact(seq, int(body["claim"]), who, order, self.order_shop.get(order), t))
        elif kind == "abuse.hold" and isinstance(body.get("review"), int):
            self.held_reviews.add(int(body["review"]))
        elif kind == "abuse.decide" and isinstance(body.get("review"), int) and body.get("decision") == "release":
            self.held_reviews.discard(int(body["review"]))


def facts_from(entries: Iterable[tuple[int, bytes]], size: int) -> Facts:
    """The facts in these entry bytes (the same function for us and for anyone with the entries)."""
    facts = Facts(size=size)
    for seq, raw in entries:
        action = json.loads(split_entry(raw).action_bytes)
        if action.get("kind") in KINDS:
            facts.add(seq, action)
    return facts


async def load_facts(uow: UnitOfWork, size: int | None = None, *, since: Facts | None = None) -> Facts:
    """The facts of the first ``size`` entries (default: the whole ledger).

    With ``since`` (facts at a smaller size), only the newer entries are read and added to it: the
    facts are a left fold over the entries, so the result is the same as reading them all.
    """
    if size is None:
        size = await reads.size(uow)
    facts = since if since is not None and since.size <= size else Facts()
    for seq, raw in await reads.entries_of_kinds(uow, KINDS, facts.size, size):
        action = json.loads(split_entry(raw).action_bytes)
        facts.add(seq, action)
    facts.size = size
    return facts


@dataclass(frozen=True, slots=True)
class ShopReputation:
    shop_id: int
    rating: RatingSummary  # reviews not held by an operator
    delivered: int  # orders delivered
    claims: int
    claim_rate_bp: int  # claims per delivered order, basis points
    median_delivery_min: int | None  # paid → delivered


@dataclass(frozen=True, slots=True)
class MemberStanding:
    member_id: int
    delivered: int  # orders the member received
    claims: int
    claim_shops: int  # how many different shops they claimed against
    claim_rate_bp: int
    reviews: int
    reviews_held: int


def _rate_bp(part: int, whole: int) -> int:
    return 0 if whole <= 0 else part * 10_000 // whole


def market_claim_rate_bp(facts: Facts) -> int:
    return _rate_bp(len(facts.claims), len(facts.delivered_ms))


def reputation(facts: Facts, shop_id: int) -> ShopReputation:
    visible = [r for r in facts.reviews if r.shop == shop_id and r.review not in facts.held_reviews]
    delivered = [o for o in facts.delivered_ms if facts.order_shop.get(o) == shop_id]
    claims = sum(1 for c in facts.claims if c.shop == shop_id)
    waits = sorted((facts.delivered_ms[o] - facts.paid_ms[o]) // 60_000 for o in delivered if o in facts.paid_ms)
    return ShopReputation(
        shop_id,
        RatingSummary(len(visible), sum(r.rating for r in visible)),
        len(delivered),
        claims,
        _rate_bp(claims, len(delivered)),
        waits[len(waits) // 2] if waits else None,
    )


def standing(facts: Facts, member_id: int) -> MemberStanding:
    delivered = sum(1 for o in facts.delivered_ms if facts.order_buyer.get(o) == member_id)
    mine = [c for c in facts.claims if c.member == member_id]
    reviews = [r for r in facts.reviews if r.member == member_id]
    return MemberStanding(
        member_id,
        delivered,
        len(mine),
        len({c.shop for c in mine}),
        _rate_bp(len(mine), delivered),
        len(reviews),
        sum(1 for r in reviews if r.review in facts.held_reviews),
    )


class FactsCache:
    """The facts of the ledger, folded forward from the new entries as readers ask (public pages read it).

    One fold at a time (a lock): the fold adds to the facts in place, and two folds of the same entries
    would count them twice.
    """

    def __init__(self) -> None:
        self._facts: Facts | None = None
        self._lock = asyncio.Lock()

    async def at_least(self, uow: UnitOfWork, size: int) -> Facts:
        """The facts of at least the first ``size`` entries, which ``uow`` must see.

        Why: a page rendered at ledger size ``size`` and cached until the ledger grows must not show
        figures from fewer entries than that, or it would keep them until the next entry.
        """
        async with self._lock:
            if self._facts is None or self._facts.size < size:
                self._facts = await load_facts(uow, size, since=self._facts)
            return self._facts

    def forget(self) -> None:
        self._facts = None
