"""``chestnut serve``: the web application with the work a server does in the background, by role.

- ``all``        HTTP, the ledger upkeep (expired holds, checkpoints, witnessing), the ads dispatch, the
                 push outbox's sender and the batch scheduler;
- ``web``        the same without the scheduler (several such workers share one PostgreSQL database);
- ``scheduler``  the ledger upkeep and the batch scheduler, no HTTP listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from chestnut.ads_wiring import dispatch_loop
from chestnut.bootstrap import App, batch_context
from ledger.errors import ChestnutError
from ledger.witnessing import Witnessing, parse_witnesses
from scheduler.wiring import SchedulerService
from web.app import make_web_app

log = logging.getLogger("chestnut.web")


async def ledger_upkeep(app: App, interval_s: float, on_checkpoint: Callable[[], None] | None = None) -> None:
    """Every few seconds: void expired holds, and sign a new checkpoint when the ledger grew.

    ``on_checkpoint`` is told of each new checkpoint (witnessing wakes up; it never blocks this loop).
    """
    while True:
        try:
            async with app.db.unit_of_work() as uow:
                if await app.ledger.void_expired(uow):
                    await uow.commit()
            async with app.db.unit_of_work() as uow:
                if await app.ledger.publish_checkpoint(uow):
                    await uow.commit()
                    if on_checkpoint is not None:
                        on_checkpoint()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ledger upkeep failed; retrying in %.1fs", interval_s)
        await asyncio.sleep(interval_s)


def witnessing_for(app: App) -> Witnessing | None:
    """The replicas that witness our checkpoints (``CHESTNUT_WITNESSES``), or None when there are none."""
    if not app.settings.witnesses:
        return None
    return Witnessing(
        app.db,
        app.ledger,
        parse_witnesses(app.settings.witnesses),
        quorum=app.settings.witness_quorum,
        timeout_s=app.settings.witness_timeout_s,
    )


def server_app(app: App, *, scheduler: bool = False) -> web.Application:
    """The web application with its background work (and the batch scheduler when ``scheduler``)."""
    web_app = make_web_app(app)

    async def background_tasks(_web_app: web.Application) -> AsyncIterator[None]:
        witnessing = witnessing_for(app)
        interval = app.settings.checkpoint_interval_s
        tasks = [asyncio.create_task(ledger_upkeep(app, interval, witnessing.wake if witnessing else None))]
        if witnessing is not None:
            tasks.append(asyncio.create_task(witnessing.run(interval)))
        # Ads go out from here, where the notifiers are (one process at a time: a lease).
        tasks.append(asyncio.create_task(dispatch_loop(app).run_forever(), name="ads-dispatch"))
        if app.pushes.notifiers:  # the push outbox's sender (several workers share its rows by claims)
            tasks.append(asyncio.create_task(app.pushes.run(), name="pushes"))
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    web_app.cleanup_ctx.append(background_tasks)
    if scheduler:

        async def batch_scheduler(_web_app: web.Application) -> AsyncIterator[None]:
            service = SchedulerService(batch_context(app))
            await service.start()
            yield
            await service.stop()

        web_app.cleanup_ctx.append(batch_scheduler)
    return web_app


async def serve_scheduler_only(app: App) -> None:
    """``serve --role scheduler``: the ledger upkeep and the batch scheduler, no HTTP listener."""
    upkeep = asyncio.create_task(ledger_upkeep(app, app.settings.checkpoint_interval_s))
    service = SchedulerService(batch_context(app))
    await service.start()
    print("Chestnut scheduler is standing by for the lease (role scheduler)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await service.stop()
        upkeep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await upkeep


class CannotListen(ChestnutError):
    code = "cannot_listen"


async def serve(app: App, host: str, port: int, *, role: str = "all") -> None:
    """Serve HTTP (roles ``all``, ``web``); run the batch scheduler too (roles ``all``, ``scheduler``)."""
    if role == "scheduler":
        await serve_scheduler_only(app)
        return
    runner = web.AppRunner(server_app(app, scheduler=role == "all"), access_log=None)
    await runner.setup()
    # Why the try starts before site.start() and the OSError becomes a typed refusal: a busy port used
    # to skip runner.cleanup(), so the background tasks kept running on a closed database (tracebacks in
    # the log), and the CLI reported "internal error (OSError)"
    # (tests/e2e/test_http_api.py::test_serve_on_a_busy_port_is_a_one_line_refusal).
    try:
        site = web.TCPSite(runner, host, port, backlog=1024)  # a burst of connects must not wait for SYN retries
        try:
            await site.start()
        except OSError as exc:
            raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}", host=host, port=port) from None
        log.info("Chestnut is serving on http://%s:%d (ledger: /ledger/checkpoint)", host, port)
        print(
            f"Chestnut is serving on http://{host}:{port}  —  chat in your browser: http://{host}:{port}/chat",
            flush=True,
        )
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
