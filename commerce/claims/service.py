"""Claims, returns and after-sales service: the buyer complains, the shop answers, an operator decides.

```
open ──answer (shop)──▶ answered ──accept (buyer)──▶ resolved | rejected
  │                        │
  └──escalate (buyer)──────┴──▶ escalated ──decide (operator)──▶ resolved | rejected
```

- Only the buyer opens a claim, only after delivery (delivered, confirmed or settled) and within
  ``MarketRules.claim_window_days`` of ``delivered_ms``; an ``after_sales`` claim (durable goods that
  fail later) has ``AFTER_SALES_WINDOW_DAYS``. One claim at a time per order: while it is open,
  answered or escalated, ``settlement.settle_order`` waits.
- The shop answers with ``refund_full`` | ``refund_partial`` (an amount, at most the goods' subtotal
  less what earlier claims of the order returned) | ``replacement`` | ``reject`` (a reason). The buyer
  accepts it (for a replacement: confirms it arrived) or escalates; an operator decides escalated claims.
- Money moves when the claim resolves, read under the ledger's lock:
  before settlement, ``refund_full`` voids the order's escrow holds (every won back, kind
  ``order.refund``) and ``refund_partial`` adds to ``orders.refund_due``, which settlement pays back
  from escrow; after settlement, both move BTL from the producer's wallet to the buyer's in a
  ``refund.after_settlement`` entry, and ``refund_full`` is the goods' subtotal less earlier refunds:
  the courier and the cooperative were paid for work done, and the producer returns only what they
  sold. (Before settlement the courier has not been paid yet, so the void returns the fee as well.)
  A producer whose wallet no longer holds the amount is refused (``insufficient_balance``, nothing
  written): the claim stays where it was until the market office settles it with them.
  The refund entry is signed with the cooperative's key (``system:operator``): its authority is the
  shop's signed answer and the buyer's signed acceptance, or the deciding operator (``by``).
- Every step is one signed entry (``claim.open``, ``claim.answer``, ``claim.accept``, ``claim.escalate``,
  ``claim.decide``) whose body names the claim and ``prev``, the sequence number of the claim's
  previous entry, so the row's one ``seq`` column leads to the whole provable history.
- Claim texts are private (they may hold a phone number or an address), so the ledger carries only a
  salted digest of each (``text_ref``); the rows keep the words: the buyer's in ``text`` (an escalation
  is appended after a blank line), the shop's answer and then the operator's decision in ``answer``.
"""

from __future__ import annotations

from dataclasses import dataclass

from commerce import events, validate
from commerce.claims.errors import ClaimWindowClosed, UnknownClaim
from commerce.claims.events import ClaimOpened
from commerce.claims.queries import CLAIM, get
from commerce.claims.rows import Claim, claim_of
from commerce.errors import InvalidInput, InvalidState, NotAllowed
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.orders import settlement
from commerce.services import Services
from commerce.shops import service as shops
from commerce.trust import queries as trust_queries
from ledger.keys import ROLE_OPERATOR
from ledger.requests import Request
from ledger.storage.ops import in_clause, write
from ledger.storage.unit_of_work import UnitOfWork

KINDS = ("wrong_item", "damaged", "missing", "quality", "after_sales")
RESOLUTIONS = ("refund_full", "refund_partial", "replacement", "reject")
OPEN_STATES = settlement.OPEN_CLAIM_STATES  # open | answered | escalated: settlement waits
CLAIMABLE_ORDER_STATES = ("delivered", "confirmed", "settled")
AFTER_SALES_WINDOW_DAYS = 365  # durable goods: a year from delivery
DAY_MS = 86_400_000
# Two messages share one String(1000) column (claim + escalation, answer + decision), with "\n\n" between.
MAX_TEXT = 490


@dataclass(frozen=True, slots=True)
class _Decision:
    resolution: str
    amount: int  # refund_partial's amount; 0 for the others
    text: str


async def _locked(uow: UnitOfWork, claim_id: int) -> Claim:
    """The claim, its row locked until commit (PostgreSQL), so two answers cannot both pass the checks.

    Lock order (as everywhere, see ``order_queries.lock``): the order row, then this row, then the ledger head.
    """
    first = await get(uow, claim_id)
    await order_queries.lock(uow, first.order_id)
    rows = await uow.fetch(CLAIM.sql + uow.for_update, {"id": claim_id})
    if not rows:
        raise UnknownClaim(f"no claim {claim_id}", claim=claim_id)
    return claim_of(CLAIM.named(rows[0]))


def window_days(market: Services, kind: str) -> int:
    return AFTER_SALES_WINDOW_DAYS if kind == "after_sales" else market.rules.claim_window_days


async def _refunded(uow: UnitOfWork, order_id: int, *, besides: int) -> int:
    """What the order's other, resolved claims gave (or, before settlement, agreed to give) back."""
    rows = await uow.fetch(
        "SELECT COALESCE(SUM(refund_amount), 0) FROM claims WHERE order_id = :o AND status = 'resolved' AND id <> :c",
        {"o": order_id, "c": besides},
    )
    return int(rows[0][0])


async def _other_open(uow: UnitOfWork, order_id: int, *, besides: int = 0) -> None:
    clause, params = in_clause("s", list(OPEN_STATES))
    rows = await uow.fetch(
        f"SELECT id FROM claims WHERE order_id = :o AND id <> :c AND status IN {clause} ORDER BY id LIMIT 1",
        {"o": order_id, "c": besides, **params},
    )
    if rows:
        raise InvalidState(
            f"order {order_id} already has an open claim", order=order_id, claim=int(rows[0][0]), state="claim_open"
        )


def _text(value: object, field: str, *, required: bool = True) -> str:
    return validate.text(value, field, max_len=MAX_TEXT, required=required, multiline=True)


def _join(first: str | None, then: str) -> str:
    return f"{first}\n\n{then}" if first and then else (first or then)


async def _text_ref(market: Services, uow: UnitOfWork, text: str) -> str:
    return await market.personal_ref(uow, "claim-text", text)


def _decision(resolution: object, amount: object, text: object, *, cap: int, reason_required: bool) -> _Decision:
    if not isinstance(resolution, str) or resolution not in RESOLUTIONS:
        raise InvalidInput(f"resolution must be one of {RESOLUTIONS}", field="resolution")
    clean = _text(text, "text", required=reason_required or resolution == "reject")
    if resolution != "refund_partial":
        if amount is not None:
            raise InvalidInput("an amount goes only with refund_partial", field="amount")
        return _Decision(resolution, 0, clean)
    if cap < 1:
        raise InvalidInput("everything this order's goods cost was refunded already", field="amount", high=0)
    return _Decision(resolution, validate.whole_number(amount, "amount", low=1, high=cap), clean)


# ------------------------------------------------------------------------------------------- steps


async def open_claim(
    market: Services, uow: UnitOfWork, member_id: int, order_id: int, *, kind: str, text: str
) -> Claim:
    """The buyer reports a problem with a delivered order."""
    if not isinstance(kind, str) or kind not in KINDS:
        raise InvalidInput(f"claim kind must be one of {KINDS}", field="kind")
    clean = _text(text, "text")
    member = await members.get(uow, member_id)
    await trust_queries.require_claims_allowed(uow, member.id)  # habitual returns: the office approves further claims
    order = await order_queries.lock(uow, order_id)
    if order.buyer_id != member.id:
        raise NotAllowed("only the buyer can open a claim on an order", order=order.id)
    if order.state not in CLAIMABLE_ORDER_STATES or order.delivered_ms is None:
        raise InvalidState(
            f"order {order.id} is {order.state}; a claim opens once the goods arrive", order=order.id, state=order.state
        )
    now = market.clock()
    days = window_days(market, kind)
    closes_ms = order.delivered_ms + days * DAY_MS
    if now > closes_ms:
        raise ClaimWindowClosed(
            f"claims of this kind close {days} days after delivery", order=order.id, days=days, closed_ms=closes_ms
        )
    await _other_open(uow, order.id)
    rows = await uow.fetch(
        "INSERT INTO claims (order_id, member_id, kind, text, status, resolution, refund_amount, answer, seq, "
        "created_ms, updated_ms) VALUES (:o, :m, :k, :t, 'open', NULL, 0, NULL, 0, :now, :now) RETURNING id",
        {"o": order.id, "m": member.id, "k": kind, "t": clean, "now": now},
    )
    claim_id = int(rows[0][0])
    prepared = await market.ledger.prepare(
        uow,
        [
            Request(
                actor=member.key_label,
                kind="claim.open",
                body={
                    "claim": claim_id,
                    "order": order.id,
                    "kind": kind,
                    "text_ref": await _text_ref(market, uow, clean),
                },
            )
        ],
    )
    await uow.batch(
        [
            *prepared.ops,
            write("UPDATE claims SET seq = :seq WHERE id = :id", {"seq": prepared.recorded[0].seq, "id": claim_id}),
        ]
    )
    # Checked again under the ledger's head lock, which every writer now waits for until we commit:
    # of two buyers' taps racing past the first check, the second finds the first's claim here.
    await _other_open(uow, order.id, besides=claim_id)
    await events.emit(market, uow, ClaimOpened(claim_id, order.id, order.shop_id))
    return await get(uow, claim_id)


async def answer_claim(
    market: Services,
    uow: UnitOfWork,
    producer_id: int,
    claim_id: int,
    *,
    resolution: str,
    amount: int | None = None,
    text: str,
) -> Claim:
    """The shop's answer to an open claim; a rejection needs a reason."""
    producer = await members.get(uow, producer_id)
    claim = await _locked(uow, claim_id)
    order = await order_queries.get(uow, claim.order_id)
    await shops.require_owner(uow, producer.id, order.shop_id)
    if claim.status != "open":
        raise InvalidState(f"claim {claim.id} is {claim.status}", claim=claim.id, state=claim.status)
    cap = order.subtotal - await _refunded(uow, order.id, besides=claim.id)
    decision = _decision(resolution, amount, text, cap=cap, reason_required=False)
    body: dict[str, object] = {"claim": claim.id, "order": order.id, "resolution": decision.resolution}
    if decision.resolution == "refund_partial":
        body["amount"] = decision.amount
    recorded = await market.ledger.record(
        uow,
        Request(
            actor=producer.key_label,
            kind="claim.answer",
            body={**body, "text_ref": await _text_ref(market, uow, decision.text), "prev": claim.seq},
        ),
    )
    await uow.execute(
        "UPDATE claims SET status = 'answered', resolution = :r, refund_amount = :a, answer = :t, seq = :seq, "
        "updated_ms = :now WHERE id = :id",
        {
            "r": decision.resolution,
            "a": decision.amount,
            "t": decision.text,
            "seq": recorded.seq,
            "now": market.clock(),
            "id": claim.id,
        },
    )
    return await get(uow, claim.id)


async def accept_answer(market: Services, uow: UnitOfWork, member_id: int, claim_id: int) -> Claim:
    """The buyer takes the shop's answer (for a replacement: says it arrived); any refund is paid now."""
    member = await members.get(uow, member_id)
    claim = await _locked(uow, claim_id)
    if claim.member_id != member.id:
        raise NotAllowed("only the buyer who opened the claim can accept its answer", claim=claim.id)
    if claim.status != "answered" or claim.resolution is None:
        raise InvalidState(f"claim {claim.id} is {claim.status}", claim=claim.id, state=claim.status)
    body: dict[str, object] = {"claim": claim.id, "order": claim.order_id, "resolution": claim.resolution}
    if claim.resolution == "refund_partial":
        body["amount"] = claim.refund_amount
    recorded = await market.ledger.record(
        uow, Request(actor=member.key_label, kind="claim.accept", body={**body, "prev": claim.seq})
    )
    returned = await _carry_out(market, uow, claim, claim.resolution, claim.refund_amount, by=None)
    await _close(market, uow, claim, claim.resolution, returned, seq=recorded.seq, answer=claim.answer)
    return await get(uow, claim.id)


async def escalate(market: Services, uow: UnitOfWork, member_id: int, claim_id: int, *, text: str) -> Claim:
    """The buyer asks the cooperative to decide (the shop's answer is not acceptable, or it never came)."""
    clean = _text(text, "text")
    member = await members.get(uow, member_id)
    claim = await _locked(uow, claim_id)
    if claim.member_id != member.id:
        raise NotAllowed("only the buyer who opened the claim can escalate it", claim=claim.id)
    if claim.status not in ("open", "answered"):
        raise InvalidState(f"claim {claim.id} is {claim.status}", claim=claim.id, state=claim.status)
    recorded = await market.ledger.record(
        uow,
        Request(
            actor=member.key_label,
            kind="claim.escalate",
            body={
                "claim": claim.id,
                "order": claim.order_id,
                "text_ref": await _text_ref(market, uow, clean),
                "prev": claim.seq,
            },
        ),
    )
    await uow.execute(
        "UPDATE claims SET status = 'escalated', text = :t, seq = :seq, updated_ms = :now WHERE id = :id",
        {"t": _join(claim.text, clean), "seq": recorded.seq, "now": market.clock(), "id": claim.id},
    )
    return await get(uow, claim.id)


async def decide(
    market: Services,
    uow: UnitOfWork,
    operator_id: int,
    claim_id: int,
    *,
    resolution: str,
    amount: int | None = None,
    text: str,
) -> Claim:
    """An operator's final decision on an escalated claim, with its reason; any refund is paid now."""
    operator = await members.require_role(uow, operator_id, "operator")
    claim = await _locked(uow, claim_id)
    if claim.status != "escalated":
        raise InvalidState(f"claim {claim.id} is {claim.status}, not escalated", claim=claim.id, state=claim.status)
    order = await order_queries.get(uow, claim.order_id)
    cap = order.subtotal - await _refunded(uow, order.id, besides=claim.id)
    decision = _decision(resolution, amount, text, cap=cap, reason_required=True)
    body: dict[str, object] = {"claim": claim.id, "order": order.id, "resolution": decision.resolution}
    if decision.resolution == "refund_partial":
        body["amount"] = decision.amount
    recorded = await market.ledger.record(
        uow,
        Request(
            actor=ROLE_OPERATOR,
            kind="claim.decide",
            body={
                **body,
                "by": operator.id,
                "text_ref": await _text_ref(market, uow, decision.text),
                "prev": claim.seq,
            },
        ),
    )
    returned = await _carry_out(market, uow, claim, decision.resolution, decision.amount, by=operator.id)
    await _close(
        market, uow, claim, decision.resolution, returned, seq=recorded.seq, answer=_join(claim.answer, decision.text)
    )
    return await get(uow, claim.id)


# ---------------------------------------------------------------------------------------- money


async def _carry_out(
    market: Services, uow: UnitOfWork, claim: Claim, resolution: str, amount: int, *, by: int | None
) -> int:
    """Pay what the claim's resolution gives back; returns the won this claim returned."""
    if resolution not in ("refund_full", "refund_partial"):
        return 0  # a replacement moves no money; a rejection neither
    # Read now, under the ledger's head lock taken by the claim's entry: settled or not decides the path.
    order = await order_queries.get(uow, claim.order_id)
    earlier = await _refunded(uow, order.id, besides=claim.id)
    note: dict[str, object] = {"claim": claim.id} if by is None else {"claim": claim.id, "by": by}
    if order.state == "settled":
        cap = await settlement.refundable_after_settlement(uow, order)
        due = cap if resolution == "refund_full" else amount
        if due <= 0:
            return 0
        await settlement.pay_back(market, uow, order, due, reference=f"claim-{claim.id}", note=note)
        return due
    if order.state not in ("delivered", "confirmed"):
        raise InvalidState(f"order {order.id} is {order.state}", order=order.id, state=order.state)
    now = market.clock()
    if resolution == "refund_full":
        await orders.release_holds(
            market, uow, order, actor=ROLE_OPERATOR, kind="order.refund", countersign=False, note=note
        )
        await uow.execute(
            "UPDATE orders SET state = 'refunded', updated_ms = :now WHERE id = :o", {"now": now, "o": order.id}
        )
        return order.total - earlier
    await uow.execute(
        "UPDATE orders SET refund_due = refund_due + :a, updated_ms = :now WHERE id = :o",
        {"a": amount, "now": now, "o": order.id},
    )
    return amount


async def _close(
    market: Services, uow: UnitOfWork, claim: Claim, resolution: str, returned: int, *, seq: int, answer: str | None
) -> None:
    await uow.execute(
        "UPDATE claims SET status = :s, resolution = :r, refund_amount = :a, answer = :t, seq = :seq, "
        "updated_ms = :now WHERE id = :id",
        {
            "s": "rejected" if resolution == "reject" else "resolved",
            "r": resolution,
            "a": returned,
            "t": answer,
            "seq": seq,
            "now": market.clock(),
            "id": claim.id,
        },
    )
