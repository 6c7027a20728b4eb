"""The settlement batch (hourly): auto-confirm what buyers forgot, then settle every confirmed order.

Phase ``auto_confirm``: orders delivered more than ``MarketRules.auto_confirm_days`` ago, with no claim
open, are confirmed by the operator (``order.auto_confirm``) — the buyer had their days to complain.
Phase ``settle``: every confirmed order with no claim open is settled with the very transfers
``commerce.orders.settlement`` uses for one order (escrow → producer, courier fee → courier, platform fee →
``fees:platform``), one ``order.settle`` entry per order, a few hundred per transaction through
``ledger.record_many``. Orders with an open claim wait for the next run.

Each chunk locks its order rows first (PostgreSQL) and only then reads their claims, the lock order of
``commerce.orders.queries.lock``: a claim opened meanwhile either committed before our read (we skip the order)
or waits for our commit (and finds it settled, which a claim allows).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from commerce import schema
from commerce.claims.service import DAY_MS
from commerce.orders import settlement
from commerce.orders.rows import ORDER_COLUMNS, Order
from commerce.services import Services
from commerce.statements import Query, param
from ledger.requests import Recorded, Request
from ledger.storage.ops import Op, in_clause, write_many
from ledger.storage.unit_of_work import UnitOfWork
from scheduler.runs import Advance, Run

KIND = "settlement"
CHUNK = 1000

_orders, _shops = schema.orders, schema.shops
# Orders without their lines (settlement needs only the money columns), with their shop's owner.
_CHUNK = (
    select(*(_orders.c[name] for name in ORDER_COLUMNS), _shops.c.owner_id)
    .join_from(_orders, _shops, _shops.c.id == _orders.c.shop_id)
    .where(_orders.c.id > param("cursor"))
    .order_by(_orders.c.id)
    .limit(param("limit"))
)
DELIVERED = Query(_CHUNK.where(_orders.c.state == "delivered", _orders.c.delivered_ms <= param("cutoff")))
CONFIRMED = Query(_CHUNK.where(_orders.c.state == "confirmed"))


async def _locked_orders(uow: UnitOfWork, query: Query, values: dict[str, object]) -> list[tuple[Order, int]]:
    lock = " FOR UPDATE OF orders" if uow.dialect == "postgresql" else ""
    return [(Order.from_row(row), int(row["owner_id"])) for row in await query.fetch(uow, values, lock=lock)]


async def _with_open_claims(uow: UnitOfWork, order_ids: list[int]) -> set[int]:
    if not order_ids:
        return set()
    clause, params = in_clause("o", order_ids)
    states = ", ".join(f"'{s}'" for s in settlement.OPEN_CLAIM_STATES)
    rows = await uow.fetch(
        f"SELECT DISTINCT order_id FROM claims WHERE order_id IN {clause} AND status IN ({states})", params
    )
    return {int(r[0]) for r in rows}


@dataclass
class SettlementBatch:
    market: Services
    auto_confirm_days: int | None = None  # default: MarketRules.auto_confirm_days
    chunk: int = CHUNK
    kind: str = KIND
    first_phase: str = "auto_confirm"

    @property
    def days(self) -> int:
        return self.market.rules.auto_confirm_days if self.auto_confirm_days is None else self.auto_confirm_days

    async def step(self, uow: UnitOfWork, run: Run) -> Advance:
        if run.phase == "auto_confirm":
            return await self._auto_confirm(uow, run)
        return await self._settle(uow, run)

    async def _auto_confirm(self, uow: UnitOfWork, run: Run) -> Advance:
        cutoff = self.market.clock() - self.days * DAY_MS
        found = await _locked_orders(uow, DELIVERED, {"cutoff": cutoff, "cursor": run.cursor, "limit": self.chunk})
        if not found:
            return Advance("settle", 0)
        waiting = await _with_open_claims(uow, [o.id for o, _ in found])
        due = [o for o, _ in found if o.id not in waiting]
        now = self.market.clock()
        if due:
            prepared = await self.market.ledger.prepare(
                uow,
                [
                    Request(
                        actor="system:operator",
                        kind="order.auto_confirm",
                        body={"order": o.id, "days": self.days},
                    )
                    for o in due
                ],
            )
            await uow.batch(
                [
                    *prepared.ops,
                    write_many(
                        "UPDATE orders SET state = 'confirmed', updated_ms = :now WHERE id = :o",
                        [{"now": now, "o": o.id} for o in due],
                    ),
                    write_many(
                        "UPDATE deliveries SET status = 'delivered', updated_ms = :now WHERE order_id = :o",
                        [{"now": now, "o": o.id} for o in due],
                    ),
                ]
            )
        last = found[-1][0].id
        return Advance("auto_confirm", last, entries=len(due))

    async def _settle(self, uow: UnitOfWork, run: Run) -> Advance:
        found = await _locked_orders(uow, CONFIRMED, {"cursor": run.cursor, "limit": self.chunk})
        if not found:
            return Advance("settle", run.cursor, done=True)
        waiting = await _with_open_claims(uow, [o.id for o, _ in found])
        due = [(o, owner) for o, owner in found if o.id not in waiting]
        owed = await settlement.payees(uow, [o.id for o, _ in due])  # recommenders, brokers: same entry
        now = self.market.clock()
        requests = [
            Request(
                actor="system:operator",
                kind="order.settle",
                body={"order": o.id, "fee": settlement.platform_fee(self.market, o), "refund": o.refund_due},
                transfers=settlement.settlement_transfers(self.market, o, owner, owed.get(o.id, ())),
            )
            for o, owner in due
        ]

        def rows(recs: list[Recorded]) -> list[Op]:
            return [
                write_many(
                    "UPDATE orders SET state = 'settled', settled_seq = :seq, updated_ms = :now WHERE id = :o",
                    [{"seq": r.seq, "now": now, "o": o.id} for (o, _), r in zip(due, recs, strict=True)],
                )
            ]

        if requests:
            prepared = await self.market.ledger.prepare(uow, requests)
            await uow.batch([*prepared.ops, *rows(prepared.recorded)])
        moved = sum((o.btl_amount or 0) for o, _ in due)
        return Advance("settle", found[-1][0].id, items=len(due), amount=moved, entries=len(due))
