"""The aiohttp server: assembles every package's routes, turns errors into JSON, runs background work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from chestnut.bootstrap import App
from commerce.api import PaymentsApi
from ledger.api import LedgerApi, json_dumps
from ledger.errors import ChestnutError

log = logging.getLogger("chestnut.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Typed errors become ``{"error": code, "message": …}``; anything unexpected is logged, never shown."""
    try:
        return await handler(request)
    except ChestnutError as exc:
        return web.json_response(dumps=json_dumps, data=exc.to_json(), status=exc.http_status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
        return web.json_response(dumps=json_dumps, data={"error": code, "message": exc.reason}, status=exc.status)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return web.json_response(
            dumps=json_dumps,
            data={"error": "internal_error", "message": "something went wrong on our side; please try again"},
            status=500,
        )


async def ledger_upkeep(app: App, interval_s: float) -> None:
    """Every few seconds: void expired holds, and sign a new checkpoint when the ledger grew."""
    while True:
        try:
            async with app.db.unit_of_work() as uow:
                if await app.ledger.void_expired(uow):
                    await uow.commit()
            async with app.db.unit_of_work() as uow:
                if await app.ledger.publish_checkpoint(uow):
                    await uow.commit()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ledger upkeep failed; retrying in %.1fs", interval_s)
        await asyncio.sleep(interval_s)


def make_web_app(app: App, *, background: bool = True) -> web.Application:
    web_app = web.Application(middlewares=[error_middleware], client_max_size=1024 * 1024)
    web_app.add_routes(LedgerApi(app.db, app.ledger).routes())
    if app.gateway is not None:
        secret = app.settings.gateway_webhook_secret
        web_app.add_routes(
            PaymentsApi(
                app.db, app.market, app.gateway, webhook_secret=secret.get_secret_value().encode() if secret else b""
            ).routes()
        )

    async def health(_request: web.Request) -> web.Response:
        return web.json_response(dumps=json_dumps, data={"ok": True})

    web_app.add_routes([web.get("/health", health)])

    if background:

        async def background_tasks(_web_app: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(ledger_upkeep(app, app.settings.checkpoint_interval_s))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        web_app.cleanup_ctx.append(background_tasks)
    return web_app


class CannotListen(ChestnutError):
    code = "cannot_listen"


async def serve(app: App, host: str, port: int) -> None:
    runner = web.AppRunner(make_web_app(app), access_log=None)
    await runner.setup()
    # Why the try starts before site.start() and the OSError becomes a typed refusal: a busy port used
    # to skip runner.cleanup(), so the background tasks kept running on a closed database (tracebacks in
    # the log), and the CLI reported "internal error (OSError)"
    # (tests/e2e/test_http_api.py::test_serve_on_a_busy_port_is_a_one_line_refusal).
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}", host=host, port=port) from None
        log.info("Chestnut is serving on http://%s:%d (ledger: /ledger/checkpoint)", host, port)
        print(
            f"Chestnut is serving on http://{host}:{port}  —  try http://{host}:{port}/ledger/checkpoint",
            flush=True,
        )
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
