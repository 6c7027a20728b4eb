"""Housekeeping (every few minutes): stale carts, orders placed but never paid, producers to remind,
phone-code sends older than the hour their limit counts.

None of this moves money, so it needs no batch run: each step is idempotent by its own ``WHERE``.
- Cart lines untouched for ``cart_days`` are removed (a cart reserves nothing; this only tidies).
- Orders still ``placed`` (stock reserved, never paid) after ``unpaid_minutes`` are cancelled by the
  operator (``order.expire``), putting the stock back — the same release as a buyer's cancel.
- Producers are reminded of orders paid ``remind_after_minutes`` ago and not yet accepted, once per
  order: the reminder is written down (``order_reminders``) in the transaction that picks it, so a late,
  repeated or overlapping run neither repeats a reminder nor skips one.
- Phone-code sends (the per-number SMS limit's record) older than its hour are forgotten
  (``members.forget_code_sends``): kept, they would only say who asked codes for which number.
- Orders' delivery addresses (with recipient and phone) are erased once no claim can be opened
  (``fulfilment.erase_finished``: ``claim_window_days`` after delivery, at once when cancelled).
- Chat message keys (``bot_inbox``, the record that drops a repeated delivery) older than
  ``inbox_days`` are forgotten. Telegram redelivers an update for at most 24 hours, so two days keep
  every repeat caught; and after a week without updates it picks the next update id at random, so a
  key kept longer could drop a new message as a repeat. Deleted in chunks: SQLite has one writer.
Expired ledger holds (pending transfers with a timeout) are voided by the server's ledger upkeep.
"""

from __future__ import annotations

from dataclasses import dataclass

from commerce.delivery import fulfilment
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders import service as orders
from commerce.services import Services
from ledger.storage.ops import in_clause
from ledger.storage.unit_of_work import Database
from scheduler.notices import Announcer, Notice, stage, tell

MINUTE_MS = 60_000
EXPIRE_CHUNK = 200
REMIND_LIMIT = 500  # per run; the rest are reminded by the next run
INBOX_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class HousekeepingReport:
    carts_removed: int
    orders_expired: int
    reminders: tuple[Notice, ...]
    code_sends_forgotten: int = 0
    addresses_erased: int = 0
    messages_forgotten: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "addresses_erased": self.addresses_erased,
            "carts_removed": self.carts_removed,
            "orders_expired": self.orders_expired,
            "reminders": len(self.reminders),
            "code_sends_forgotten": self.code_sends_forgotten,
            "messages_forgotten": self.messages_forgotten,
        }


async def housekeeping(
    market: Services,
    db: Database,
    *,
    cart_days: int = 7,
    unpaid_minutes: int = 60,
    remind_after_minutes: int = 120,
    announcer: Announcer | None = None,
    inbox_days: int = 2,
) -> HousekeepingReport:
    """One run of every step; the producers' reminders go to ``announcer`` (written with their claim
    where it keeps an outbox, else told after it commits)."""
    now = market.clock()
    async with db.unit_of_work() as uow:
        rows = await uow.fetch(
            "DELETE FROM cart_lines WHERE updated_ms < :cut RETURNING member_id",
            {"cut": now - cart_days * 1440 * MINUTE_MS},
        )
        forgotten = await members.forget_code_sends(uow, now)
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
                order = await order_queries.lock(uow, int(order_id))
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
    async with db.unit_of_work() as uow:  # after the expiries: an order cancelled just now goes too
        erased = await fulfilment.erase_finished(market, uow)
        await uow.commit()
    async with db.unit_of_work() as uow:
        # One statement claims the reminders: a run racing this one conflicts on the key and gets none.
        # Claimed before it is told: a reminder lost to a failing messenger is not worth a second one.
        claimed = await uow.fetch(
            "INSERT INTO order_reminders (order_id, sent_ms) SELECT o.id, :now FROM orders o "
            "WHERE o.state = 'paid' AND o.paid_ms <= :due "
            "AND NOT EXISTS (SELECT 1 FROM order_reminders r WHERE r.order_id = o.id) ORDER BY o.id LIMIT :n "
            "ON CONFLICT (order_id) DO NOTHING RETURNING order_id",
            {"now": now, "due": now - remind_after_minutes * MINUTE_MS, "n": REMIND_LIMIT},
        )
        owners: list[tuple[int, int]] = []
        if claimed:
            clause, params = in_clause("o", [int(r[0]) for r in claimed])
            owners = [
                (int(oid), int(owner))
                for oid, owner in await uow.fetch(
                    f"SELECT o.id, s.owner_id FROM orders o JOIN shops s ON s.id = o.shop_id WHERE o.id IN {clause} "
                    "ORDER BY o.id",
                    params,
                )
            ]
        reminders = tuple(Notice(owner, "order.reminder", {"order": oid}) for oid, owner in owners)
        left = await stage(announcer, uow, reminders)
        await uow.commit()
    await tell(announcer, left)
    messages = await forget_message_keys(db, now - inbox_days * 1440 * MINUTE_MS)
    return HousekeepingReport(carts, expired, reminders, forgotten, erased, messages)


async def forget_message_keys(db: Database, before_ms: int) -> int:
    """Delete the chat message keys recorded before ``before_ms``; how many went."""
    total = 0
    while True:
        async with db.unit_of_work() as uow:
            rows = await uow.fetch(
                "DELETE FROM bot_inbox WHERE (channel, key) IN (SELECT channel, key FROM bot_inbox "
                "WHERE created_ms < :cut ORDER BY created_ms LIMIT :n) RETURNING created_ms",
                {"cut": before_ms, "n": INBOX_CHUNK},
            )
            await uow.commit()
        total += len(rows)
        if len(rows) < INBOX_CHUNK:
            return total
