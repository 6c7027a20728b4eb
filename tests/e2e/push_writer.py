"""A market process for the push crash test: it commits an order's delivery and dies before the push.

Run as a subprocess (``python tests/e2e/push_writer.py HOME --telegram-base URL --token TOKEN [--url URL]``):
with the real ``build()``, services and ``TelegramNotifier`` against the Bot API stand-in, it sets up a
shop and a Telegram shopper (chat 555), has her order paid, accepted, given to a courier and picked up,
sends those pushes, then commits the delivery and SIGKILLs itself the moment the COMMIT has returned —
before anyone could push "delivered". Lines on stdout (flushed at once):

- ``pushed <n>``         the pushes so far went out (n outbox rows, all sent);
- ``committing <order>`` the delivery's unit of work is about to commit; nothing follows it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr
from telegram import Bot

from bots.telegram.bot import TelegramBot
from bots.telegram.push import TelegramNotifier
from chestnut.bootstrap import build
from chestnut.settings import Settings
from commerce.delivery import queries as delivery_queries
from commerce.delivery import service as delivery
from commerce.members import service as members
from commerce.orders import service as orders
from commerce.wallet import service as wallet
from tests.support.identity import verify
from tests.support.market import cast


def out(line: str) -> None:
    print(line, flush=True)


async def die(_events: Sequence[object]) -> None:
    """In place of the after-commit hook: the transaction is durable, and nothing was sent."""
    os.kill(os.getpid(), signal.SIGKILL)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path)
    parser.add_argument("--url", default=None)
    parser.add_argument("--telegram-base", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    settings = Settings(
        home=args.home,
        database_url=args.url,
        environment="test",
        telegram_token=SecretStr(args.token),
        telegram_base_url=args.telegram_base,
    )
    app = await build(settings)
    TelegramBot(app.dialogue, args.token, base_url=args.telegram_base)  # PTB's timedelta periods, as serve does
    async with Bot(args.token, base_url=args.telegram_base) as bot:
        app.pushes.add(TelegramNotifier(bot, per_chat_s=0.05))
        c = await cast(app)
        async with app.db.unit_of_work() as uow:
            shopper = await members.register(
                app.services, uow, channel="telegram", external_id="555", display_name="할매"
            )
            await verify(app, uow, shopper.id)
            await wallet.topup_at_office(app.services, uow, c.operator, shopper.id, 50_000, receipt="R-555")
            await orders.add_to_cart(app.services, uow, shopper.id, c.product, 1)
            order = await orders.checkout(app.services, uow, shopper.id, c.shop, expected_total=9_000)
            await orders.accept_order(app.services, uow, c.producer, order.id)
            await delivery.assign_courier(app.services, uow, c.producer, order.id, c.courier)
            await uow.commit()
        async with app.db.unit_of_work() as uow:
            await delivery.confirm_pickup(app.services, uow, c.courier, order.id)
            code = await delivery_queries.delivery_code(uow, shopper.id, order.id)
            await uow.commit()
        await app.pushes.drain()
        async with app.db.snapshot() as snap:
            (rows,) = await snap.fetch(
                "SELECT COUNT(*), SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) FROM push_outbox"
            )
        assert rows[0] == rows[1], rows
        out(f"pushed {rows[0]}")

        app.db.after_commit = die
        async with app.db.unit_of_work() as uow:
            await delivery.confirm_delivery(app.services, uow, c.courier, order.id, code)
            out(f"committing {order.id}")
            await uow.commit()
    out("survived")  # never: the commit's hook killed the process
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
