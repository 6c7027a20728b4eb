"""Domain events: how what happened in one place reaches whoever acts on it.

A service *emits* an event inside the unit of work that made it happen (``emit``), and it is told twice:

- **in the transaction**: the handlers bootstrap registered for its type (``Services.handlers``, e.g. a
  paid order → attribute its recommendation, credit its comment) run at once in that same unit of work,
  so what must happen with the change commits with it or not at all — however the change was asked for
  (a chat, an HTTP call, a batch, a test calling the service);
- **after commit**: the event is queued on the unit of work (``uow.publish``); the push outbox writes it
  just before COMMIT and subscribers hear of it only once it is durable (``ledger.db``), so nobody is
  told of an order that was rolled back.

Events carry ids only; a handler reads what it needs itself and is idempotent (a repeat finds its work
done). Each package declares its own events (``commerce.orders.events``, ``commerce.delivery.events``…).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ledger.storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from commerce.services import Services

EventHandler = Callable[["Services", UnitOfWork, Any], Awaitable[object]]
Handlers = Mapping[type[Any], Sequence[EventHandler]]


async def emit(services: Services, uow: UnitOfWork, event: object) -> None:
    """Run the event's in-transaction handlers, in the order registered, then queue it for after commit."""
    for handler in services.handlers.get(type(event), ()):
        await handler(services, uow, event)
    uow.publish(event)
