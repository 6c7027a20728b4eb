"""Housekeeping (every few minutes): stale carts, orders placed but never paid, producers to remind.

None of this moves money, so it needs no batch run: each step is idempotent by its own ``WHERE``.
- Cart lines untouched for ``cart_days`` are removed (a cart reserves nothing; this only tidies).
- Orders still ``placed`` (stock reserved, never paid) after ``unpaid_minutes`` are cancelled by the
  operator (``order.expire``), putting the stock back — the same release as a buyer's cancel.
- Producers are reminded of orders paid ``remind_after_minutes`` ago and not yet accepted; the window is
  one scheduling interval wide, so an order is reminded once when the job runs on time.
Expired ledger holds (pending transfers with a timeout) are voided by the server's ledger upkeep.
"""

from __future__ import annotations

from dataclasses import dataclass

from commerce import orders
from commerce.context import Market
from ledger.db import Database
from scheduler.notices import Notice

MINUTE_MS = 60_000
EXPIRE_CHUNK = 200


@dataclass(frozen=True, slots=True)
class HousekeepingReport:
    carts_removed: int
    orders_expired: int
    reminders: tuple[Notice, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "carts_removed": self.carts_removed,
            "orders_expired": self.orders_expired,
            "reminders": len(self.reminders),
        }


async def housekeeping(
    market: Market,
    db: Database,
    *,
    cart_days: int = 7,
    unpaid_minutes: int = 60,
    remind_after_minutes: int = 120,
    interval_minutes: int = 10,
) -> HousekeepingReport:
    now = market.clock()
    async with db.unit_of_work() as uow:
        rows = await uow.fetch(
            "DELETE FROM cart_lines WHERE updated_ms < :cut RETURNING member_id",
            {"cut": now - cart_days * 1440 * MINUTE_MS},
        )
        await uow.commit()
    carts = len(rows)
    expired = 0
    while True:
        async with db.unit_of_work() as uow:
            stale = await uow.fetch(
                "SELECT id FROM orders WHERE state = 'placed' AND created_ms < :cut ORDER BY id LIMIT :n",
                {"cut": now - unpaid_minutes * MINUTE_MS, "n": EXPIRE_CHUNK},
            )
            for (order_id,) in stale:
                order = await orders.lock(uow, int(order_id))
                if order.state != "placed":  # paid meanwhile
                    continue
                await orders.release_holds(
                    market, uow, order, actor="system:operator", kind="order.expire", countersign=False
                )
                await uow.execute(
                    "UPDATE orders SET state = 'cancelled', updated_ms = :now WHERE id = :o",
                    {"now": now, "o": order.id},
                )
                expired += 1
            await uow.commit()
        if len(stale) < EXPIRE_CHUNK:
            break
    async with db.snapshot() as snap:
        due = now - remind_after_minutes * MINUTE_MS
        rows = await snap.fetch(
            "SELECT o.id, s.owner_id FROM orders o JOIN shops s ON s.id = o.shop_id WHERE o.state = 'paid' "
            "AND o.paid_ms <= :due AND o.paid_ms > :since ORDER BY o.id",
            {"due": due, "since": due - interval_minutes * MINUTE_MS},
        )
    reminders = tuple(Notice(int(owner), "order.reminder", {"order": int(oid)}) for oid, owner in rows)
    return HousekeepingReport(carts, expired, reminders)
